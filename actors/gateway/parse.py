"""Parsers for the Jobmon v3 routes the swarm uses (docs/server-api.md section 1).

Pure functions: decoded JSON in, typed values (``actors.gateway.types``) out, or a
``ProtocolMismatch`` naming the route and the offending field. The gateway calls them on every
2xx answer; tests call them on recorded answers of real servers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actors.errors import ProtocolMismatch
from actors.gateway import _shapes as s
from actors.gateway.types import (
    Cluster,
    Queue,
    QueueResult,
    StatusUpdates,
    TaskEdges,
    TaskRow,
    WorkflowMetadata,
)
from messages.values import ArrayId, RunStatus, TaskId, TaskStatus, WorkflowId

__all__ = [
    "parse_bind_resources",
    "parse_cluster",
    "parse_downstream_tasks",
    "parse_health",
    "parse_max_concurrently_running",
    "parse_queue",
    "parse_queue_result",
    "parse_run_status",
    "parse_status_updates",
    "parse_tasks",
    "parse_time",
    "parse_workflow_metadata",
    "queue_from_row",
    "tasks_by_status",
]


def parse_time(route: str, body: Any) -> str:
    """``{"time": "YYYY-MM-DD HH:MM:SS"}`` -> the time string."""
    return s.strict_str(route, s.get(route, s.obj(route, body), "time"), "time")


def parse_health(route: str, body: Any) -> str:
    """``{"status": "OK"}`` -> the status string."""
    return s.strict_str(route, s.get(route, s.obj(route, body), "status"), "status")


def parse_workflow_metadata(route: str, body: Any) -> WorkflowMetadata | None:
    """``{"workflow": [wf_id, dag_id, max_concurrently_running]}``; ``[]`` (unknown) -> None."""
    row = s.get(route, s.obj(route, body), "workflow")
    if row is None or row == []:
        return None
    if not isinstance(row, list) or len(row) < 3:
        raise s.mismatch(route, "workflow", "[workflow_id, dag_id, max_concurrently_running]",
                         row)
    return WorkflowMetadata(
        workflow_id=WorkflowId(s.strict_int(route, row[0], "workflow[0]")),
        dag_id=s.strict_int(route, row[1], "workflow[1]"),
        max_concurrently_running=s.strict_int(route, row[2], "workflow[2]"),
    )


def _scales(route: str, value: Any, where: str) -> dict[str, float]:
    raw = s.literal(route, value, where, dict)
    return {str(k): s.number(route, v, f"{where}[{k!r}]") for k, v in raw.items()}


def _task_row(route: str, key: Any, row: Any) -> TaskRow:
    where = f"tasks[{key!r}]"
    task_id = s.int_key(route, key, where)
    if not isinstance(row, list) or len(row) != 9:
        raise s.mismatch(route, where, "a list of 9 task fields", row)
    (array_id, status, max_attempts, scales, fallback, resources, cluster, queue,
     array_limit) = row
    try:
        fallback_queues = s.str_list(route, s.literal(route, fallback, f"{where}[4]", list),
                                     f"{where}[4]")
        resource_scales = _scales(route, scales, f"{where}[3]")
        requested = s.literal(route, resources, f"{where}[5]", dict)
    except ProtocolMismatch as exc:
        raise ProtocolMismatch(f"task {task_id}: {exc}") from exc
    return TaskRow(
        task_id=TaskId(task_id),
        array_id=ArrayId(s.strict_int(route, array_id, f"{where}[0]")),
        status=s.enum_value(route, TaskStatus, status, f"{where}[1]"),
        max_attempts=s.strict_int(route, max_attempts, f"{where}[2]"),
        resource_scales=resource_scales,
        fallback_queues=fallback_queues,
        requested_resources={str(k): v for k, v in requested.items()},
        cluster_name=s.opt_str(route, cluster, f"{where}[6]"),
        queue_name=s.opt_str(route, queue, f"{where}[7]"),
        array_max_concurrently_running=s.strict_int(route, array_limit, f"{where}[8]"),
    )


def parse_tasks(route: str, body: Any) -> tuple[TaskRow, ...]:
    """``{"tasks": {"<id>": [9 fields]}}`` -> rows ordered by task id."""
    tasks = s.obj(route, s.get(route, s.obj(route, body), "tasks"), "tasks")
    rows = [_task_row(route, key, row) for key, row in tasks.items()]
    return tuple(sorted(rows, key=lambda r: r.task_id))


def parse_downstream_tasks(route: str, body: Any) -> Mapping[TaskId, TaskEdges]:
    """``{"downstream_tasks": {"<task_id>": [node_id, downstream_node_ids]}}``.

    ``downstream_node_ids`` may be null, a list, or a JSON string of a list.
    """
    table = s.obj(route, s.get(route, s.obj(route, body), "downstream_tasks"),
                  "downstream_tasks")
    result: dict[TaskId, TaskEdges] = {}
    for key, row in table.items():
        where = f"downstream_tasks[{key!r}]"
        task_id = TaskId(s.int_key(route, key, where))
        if not isinstance(row, list) or len(row) != 2:
            raise s.mismatch(route, where, "[node_id, downstream_node_ids]", row)
        result[task_id] = TaskEdges(
            task_id=task_id,
            node_id=s.strict_int(route, row[0], f"{where}[0]"),
            downstream_node_ids=s.node_list(route, row[1], f"{where}[1]"),
        )
    return result


def _params(route: str, value: Any, where: str) -> dict[str, Any]:
    """Cluster/queue params: an object, or its JSON or Python-literal text (Jobmon)."""
    return {str(k): v for k, v in s.literal(route, value, where, dict).items()}


def parse_cluster(route: str, body: Any, key: str = "cluster") -> Cluster | None:
    """``{"cluster": [id, name, type, params]}``; null (Jobmon's unknown name) -> None."""
    row = s.get(route, s.obj(route, body), key)
    if row is None:
        return None
    if not isinstance(row, list) or len(row) != 4:
        raise s.mismatch(route, key, "[id, name, type, params]", row)
    return Cluster(cluster_id=s.strict_int(route, row[0], f"{key}[0]"),
                   name=s.strict_str(route, row[1], f"{key}[1]"),
                   cluster_type=s.strict_str(route, row[2], f"{key}[2]"),
                   params=_params(route, row[3], f"{key}[3]"))


def queue_from_row(route: str, row: Any, where: str) -> Queue:
    """``[id, name, params]`` -> a Queue."""
    if not isinstance(row, list) or len(row) != 3:
        raise s.mismatch(route, where, "[id, name, params]", row)
    return Queue(queue_id=s.strict_int(route, row[0], f"{where}[0]"),
                 name=s.strict_str(route, row[1], f"{where}[1]"),
                 params=_params(route, row[2], f"{where}[2]"))


def parse_queue(route: str, body: Any) -> Queue | None:
    """``{"queue": [id, name, params]}``; null (Jobmon's unknown queue) -> None."""
    row = s.get(route, s.obj(route, body), "queue")
    return None if row is None else queue_from_row(route, row, "queue")


def parse_bind_resources(route: str, body: Any) -> int:
    """A bare integer id (also accepted: ``{"task_resources_id": n}``)."""
    if isinstance(body, dict):
        return s.strict_int(route, s.get(route, body, "task_resources_id"), "task_resources_id")
    return s.strict_int(route, body, "body")


def parse_run_status(route: str, body: Any) -> RunStatus:
    """``{"status": "<letter>"}`` -> a RunStatus (heartbeat, update_status)."""
    return s.enum_value(route, RunStatus, s.get(route, s.obj(route, body), "status"), "status")


def tasks_by_status(route: str, value: Any,
                    where: str = "tasks_by_status") -> dict[TaskStatus, tuple[TaskId, ...]]:
    """``{"<letter>": [ids]}`` -> task ids by TaskStatus."""
    table = s.obj(route, value, where)
    result: dict[TaskStatus, tuple[TaskId, ...]] = {}
    for letter, ids in table.items():
        status = s.enum_value(route, TaskStatus, letter, f"{where} key")
        if not isinstance(ids, list):
            raise s.mismatch(route, f"{where}[{letter!r}]", "a list of task ids", ids)
        result[status] = tuple(TaskId(s.strict_int(route, v, f"{where}[{letter!r}][{i}]"))
                               for i, v in enumerate(ids))
    return result


def parse_status_updates(route: str, body: Any) -> StatusUpdates:
    """``{"tasks_by_status": {...}, "time": "...", "cursor"?: "..."}``."""
    table = s.obj(route, body)
    cursor = table.get("cursor")
    return StatusUpdates(
        tasks_by_status=tasks_by_status(route, s.get(route, table, "tasks_by_status")),
        time=s.strict_str(route, s.get(route, table, "time"), "time"),
        cursor=None if cursor is None else s.strict_str(route, cursor, "cursor"),
    )


def parse_max_concurrently_running(route: str, body: Any) -> int:
    """``{"max_concurrently_running": n}``."""
    value = s.get(route, s.obj(route, body), "max_concurrently_running")
    return s.strict_int(route, value, "max_concurrently_running")


def parse_queue_result(route: str, body: Any) -> QueueResult:
    """``{"tasks_by_status": {...}}`` of queue_task_batch."""
    table = s.obj(route, body)
    return QueueResult(tasks_by_status=tasks_by_status(route,
                                                       s.get(route, table, "tasks_by_status")))
