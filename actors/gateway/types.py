"""Typed values the gateway returns (and the few request values it takes).

Who uses it: every caller of :class:`~actors.gateway.Gateway`. The gateway builds these from
the server's JSON (``actors.gateway.parse``); raw dicts never leak out. All are frozen; mapping
fields are read-only views (``types.MappingProxyType``), so they compare equal by content but
are not hashable.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any

import attrs

from messages.values import (
    ArrayId,
    RunStatus,
    TaskId,
    TaskInstanceId,
    TaskInstanceStatus,
    TaskStatus,
    WorkflowId,
    WorkflowRunId,
)

__all__ = [
    "ArraySpec",
    "BindSummary",
    "Buckets",
    "Cluster",
    "Features",
    "Queue",
    "QueueResult",
    "RunSummary",
    "StatusUpdates",
    "TaskEdges",
    "TaskInstanceRow",
    "TaskRow",
    "TaskSpec",
    "TerminateResult",
    "UpsertedCluster",
    "WorkflowBinding",
    "WorkflowMetadata",
    "WorkflowRunCreated",
    "WorkflowSummary",
    "frozen_map",
]

def frozen_map(value: Mapping[Any, Any]) -> Mapping[Any, Any]:
    """A read-only copy of ``value`` (attrs converter for mapping fields)."""
    return types.MappingProxyType(dict(value))




@attrs.frozen
class Features:
    """GET /features: what the server supports beyond Jobmon (a Jobmon server: all False)."""

    long_poll: bool
    server: str
    version: str | None = None


@attrs.frozen
class WorkflowMetadata:
    """GET /workflow/{wf}/fetch_workflow_metadata."""

    workflow_id: WorkflowId
    dag_id: int
    max_concurrently_running: int


@attrs.frozen(hash=False)
class TaskRow:
    """One task of GET /workflow/get_tasks/{wf} (a task not DONE, for resume)."""

    task_id: TaskId
    array_id: ArrayId
    status: TaskStatus
    max_attempts: int
    resource_scales: Mapping[str, float] = attrs.field(converter=frozen_map)
    fallback_queues: tuple[str, ...]
    requested_resources: Mapping[str, Any] = attrs.field(converter=frozen_map)
    cluster_name: str | None
    queue_name: str | None
    array_max_concurrently_running: int


@attrs.frozen
class TaskEdges:
    """One entry of POST /task/get_downstream_tasks: a task's node and its downstream nodes."""

    task_id: TaskId
    node_id: int
    downstream_node_ids: tuple[int, ...]


@attrs.frozen(hash=False)
class Cluster:
    """GET /cluster/{name}: ``params`` are the cluster's connection parameters."""

    cluster_id: int
    name: str
    cluster_type: str
    params: Mapping[str, Any] = attrs.field(converter=frozen_map)


@attrs.frozen(hash=False)
class Queue:
    """GET /cluster/{id}/queue/{name}: ``params`` use Jobmon's min_/max_ keys."""

    queue_id: int
    name: str
    params: Mapping[str, Any] = attrs.field(converter=frozen_map)


@attrs.frozen(hash=False)
class UpsertedCluster:
    """POST /cluster: the cluster and its queues by name."""

    cluster: Cluster
    queues: Mapping[str, Queue] = attrs.field(converter=frozen_map)


@attrs.frozen(hash=False)
class StatusUpdates:
    """POST /workflow/{wf}/task_status_updates: task ids by status and the server's time.

    ``time`` is the next ``last_sync``; updates are inclusive at 1 s resolution, so the same
    change can appear twice. ``cursor`` (our server on SQLite; None from others) is an exact
    next ``last_sync``: only changes after this answer come again.
    """

    tasks_by_status: Mapping[TaskStatus, tuple[TaskId, ...]] = attrs.field(converter=frozen_map)
    time: str
    cursor: str | None = None

    @property
    def next_sync(self) -> str:
        """What the next incremental sync sends as ``last_sync``."""
        return self.cursor if self.cursor is not None else self.time


@attrs.frozen(hash=False)
class QueueResult:
    """POST /array/{array}/queue_task_batch: every requested task id by its status after."""

    tasks_by_status: Mapping[TaskStatus, tuple[TaskId, ...]] = attrs.field(converter=frozen_map)


@attrs.frozen
class TerminateResult:
    """PUT /workflow_run/{wfr}/terminate_task_instances."""

    workflow_run_id: WorkflowRunId


@attrs.frozen
class WorkflowBinding:
    """POST /workflow/bind."""

    workflow_id: WorkflowId
    dag_id: int
    newly_created: bool


@attrs.frozen
class ArraySpec:
    """One array to bind (request value of POST /workflow/{wf}/bind_arrays)."""

    name: str
    max_concurrently_running: int


@attrs.frozen(hash=False)
class TaskSpec:
    """One task to bind (request value of POST /workflow/{wf}/bind_tasks)."""

    name: str
    command: str
    array: str
    max_attempts: int
    requested_resources: Mapping[str, Any] = attrs.field(converter=frozen_map)
    resource_scales: Mapping[str, float] = attrs.field(converter=frozen_map)
    fallback_queues: tuple[str, ...]
    cluster_name: str
    queue_name: str
    upstream: tuple[str, ...]


@attrs.frozen
class BindSummary:
    """POST /workflow/{wf}/bind_done."""

    workflow_id: WorkflowId
    num_tasks: int
    num_edges: int


@attrs.frozen
class WorkflowRunCreated:
    """POST /workflow_run."""

    workflow_run_id: WorkflowRunId
    status: RunStatus


@attrs.frozen
class RunSummary:
    """One run inside a workflow summary (section 7)."""

    workflow_run_id: WorkflowRunId
    status: RunStatus
    heartbeat_date: str | None
    created_date: str | None


@attrs.frozen
class Buckets:
    """Task counts by CLI bucket."""

    pending: int
    running: int
    done: int
    fatal: int


@attrs.frozen(hash=False)
class WorkflowSummary:
    """GET /workflow/{wf}/status (and each entry of GET /workflows)."""

    workflow_id: WorkflowId
    name: str
    max_concurrently_running: int
    task_counts: Mapping[TaskStatus, int] = attrs.field(converter=frozen_map)
    buckets: Buckets
    runs: tuple[RunSummary, ...]


@attrs.frozen
class TaskInstanceRow:
    """One entry of GET /workflow/{wf}/task_instances."""

    task_instance_id: TaskInstanceId
    task_id: TaskId
    task_name: str
    attempt: int
    status: TaskInstanceStatus
    distributor_id: str | None
    stdout_path: str | None
    stderr_path: str | None
    error_message: str | None
    exit_code: int | None
    submitted_date: str | None
    status_date: str | None
