"""From the server's rows to ``SwarmState.build`` input (pure; no I/O).

Who uses it: the orchestrator actor at start-up (and on resume), with the rows of
GET get_tasks and POST get_downstream_tasks as the synchronizer relayed them. Any object with
the fields of ``TaskRowLike`` / ``EdgesLike`` will do (the gateway's ``TaskRow`` and
``TaskEdges`` do). Bad resources raise ``ResourceError`` naming the task.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from actors.orchestrator.state import BoundTask
from actors.resources import ResourceError, ResourcePolicy, resources_from_mapping
from messages.values import ArrayId, TaskId, TaskStatus

__all__ = [
    "EdgesLike",
    "TaskRowLike",
    "array_limits_from_rows",
    "bound_task_from_row",
    "downstream_from_edges",
]


class TaskRowLike(Protocol):
    """The fields of a get_tasks row the orchestrator needs (``actors.gateway.types.TaskRow``)."""

    @property
    def task_id(self) -> TaskId: ...
    @property
    def array_id(self) -> ArrayId: ...
    @property
    def status(self) -> TaskStatus: ...
    @property
    def max_attempts(self) -> int: ...
    @property
    def resource_scales(self) -> Mapping[str, float]: ...
    @property
    def fallback_queues(self) -> tuple[str, ...]: ...
    @property
    def requested_resources(self) -> Mapping[str, Any]: ...
    @property
    def cluster_name(self) -> str | None: ...
    @property
    def queue_name(self) -> str | None: ...
    @property
    def array_max_concurrently_running(self) -> int: ...


class EdgesLike(Protocol):
    """One task's node and downstream nodes (``actors.gateway.types.TaskEdges``)."""

    @property
    def task_id(self) -> int: ...
    @property
    def node_id(self) -> int: ...
    @property
    def downstream_node_ids(self) -> tuple[int, ...]: ...


def bound_task_from_row(row: TaskRowLike) -> BoundTask:
    """A BoundTask from a get_tasks row; bad resources raise ResourceError naming the task."""
    where = f"task {row.task_id}"
    if not row.cluster_name:
        raise ResourceError("cluster_name", row.cluster_name, "a cluster name is required",
                            where)
    resources = resources_from_mapping(row.requested_resources, cluster=row.cluster_name,
                                       queue=row.queue_name, where=where)
    policy = ResourcePolicy.from_wire(row.resource_scales, row.fallback_queues, where)
    return BoundTask(task_id=row.task_id, array_id=row.array_id, status=row.status,
                     max_attempts=row.max_attempts, resources=resources, policy=policy)


def array_limits_from_rows(rows: Iterable[TaskRowLike]) -> dict[ArrayId, int]:
    """Each array's max_concurrently_running as the get_tasks rows carry it."""
    return {row.array_id: row.array_max_concurrently_running for row in rows}


def downstream_from_edges(edges: Iterable[EdgesLike]) -> dict[TaskId, tuple[TaskId, ...]]:
    """Upstream task id -> downstream task ids, mapping node ids through the given tasks.

    Downstream nodes of tasks not given (tasks already D, which get_tasks does not send) are
    dropped: they can never become ready again.
    """
    edges = list(edges)
    task_of_node = {e.node_id: TaskId(e.task_id) for e in edges}
    return {TaskId(e.task_id): tuple(task_of_node[n] for n in e.downstream_node_ids
                                     if n in task_of_node) for e in edges}
