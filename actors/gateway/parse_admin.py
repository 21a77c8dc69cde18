"""Parsers for our own routes: clusters, binding, workflow runs, read routes, features.

docs/server-api.md sections 1 (features), 2, 3, 4 and 7. Pure functions like
``actors.gateway.parse``: decoded JSON in, typed values out, ``ProtocolMismatch`` otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actors.gateway import _shapes as s
from actors.gateway.parse import parse_cluster, queue_from_row
from actors.gateway.types import (
    BindSummary,
    Buckets,
    Features,
    RunSummary,
    TaskInstanceRow,
    UpsertedCluster,
    WorkflowBinding,
    WorkflowRunCreated,
    WorkflowSummary,
)
from messages.values import (
    RunStatus,
    TaskId,
    TaskInstanceId,
    TaskInstanceStatus,
    TaskStatus,
    WorkflowId,
    WorkflowRunId,
)

__all__ = [
    "parse_arrays_bound",
    "parse_bind_summary",
    "parse_features",
    "parse_task_instances",
    "parse_task_names",
    "parse_tasks_bound",
    "parse_upserted_cluster",
    "parse_workflow_binding",
    "parse_workflow_run_created",
    "parse_workflow_summaries",
    "parse_workflow_summary",
]


def parse_features(route: str, body: Any) -> Features:
    """``{"long_poll": bool, "server": str, "version": str}`` (unknown keys ignored)."""
    table = s.obj(route, body)
    return Features(long_poll=s.strict_bool(route, table.get("long_poll", False), "long_poll"),
                    server=s.strict_str(route, s.get(route, table, "server"), "server"),
                    version=s.opt_str(route, table.get("version"), "version"))


def parse_upserted_cluster(route: str, body: Any) -> UpsertedCluster:
    """``{"cluster": [id, name, type, params], "queues": {"<name>": [id, name, params]}}``."""
    table = s.obj(route, body)
    cluster = parse_cluster(route, table)
    if cluster is None:
        raise s.mismatch(route, "cluster", "[id, name, type, params]", None)
    queues = s.obj(route, s.get(route, table, "queues"), "queues")
    return UpsertedCluster(cluster=cluster, queues={
        str(name): queue_from_row(route, row, f"queues[{name!r}]") for name, row in queues.items()
    })


def parse_workflow_binding(route: str, body: Any) -> WorkflowBinding:
    """``{"workflow_id", "dag_id", "newly_created"}``."""
    table = s.obj(route, body)
    return WorkflowBinding(
        workflow_id=WorkflowId(s.strict_int(route, s.get(route, table, "workflow_id"),
                                            "workflow_id")),
        dag_id=s.strict_int(route, s.get(route, table, "dag_id"), "dag_id"),
        newly_created=s.strict_bool(route, s.get(route, table, "newly_created"),
                                    "newly_created"),
    )


def _ids_by_name(route: str, body: Any, key: str) -> dict[str, int]:
    table = s.obj(route, s.get(route, s.obj(route, body), key), key)
    return {str(name): s.strict_int(route, value, f"{key}[{name!r}]")
            for name, value in table.items()}


def parse_arrays_bound(route: str, body: Any) -> dict[str, int]:
    """``{"arrays": {"<name>": array_id}}``."""
    return _ids_by_name(route, body, "arrays")


def parse_tasks_bound(route: str, body: Any) -> dict[str, int]:
    """``{"tasks": {"<name>": task_id}}``."""
    return _ids_by_name(route, body, "tasks")


def parse_bind_summary(route: str, body: Any) -> BindSummary:
    """``{"workflow_id", "num_tasks", "num_edges"}``."""
    table = s.obj(route, body)
    return BindSummary(
        workflow_id=WorkflowId(s.strict_int(route, s.get(route, table, "workflow_id"),
                                            "workflow_id")),
        num_tasks=s.strict_int(route, s.get(route, table, "num_tasks"), "num_tasks"),
        num_edges=s.strict_int(route, s.get(route, table, "num_edges"), "num_edges"),
    )


def parse_task_names(route: str, body: Any) -> Mapping[TaskId, str]:
    """``{"tasks": {"<task_id>": "<name>"}}``."""
    table = s.obj(route, s.get(route, s.obj(route, body), "tasks"), "tasks")
    return {TaskId(s.int_key(route, key, f"tasks[{key!r}]")):
            s.strict_str(route, name, f"tasks[{key!r}]") for key, name in table.items()}


def parse_workflow_run_created(route: str, body: Any) -> WorkflowRunCreated:
    """``{"workflow_run_id", "status"}``."""
    table = s.obj(route, body)
    return WorkflowRunCreated(
        workflow_run_id=WorkflowRunId(s.strict_int(route, s.get(route, table, "workflow_run_id"),
                                                   "workflow_run_id")),
        status=s.enum_value(route, RunStatus, s.get(route, table, "status"), "status"),
    )


def _run_summary(route: str, value: Any, where: str) -> RunSummary:
    run = s.obj(route, value, where)
    return RunSummary(
        workflow_run_id=WorkflowRunId(s.strict_int(
            route, s.get(route, run, "workflow_run_id", where), f"{where}.workflow_run_id")),
        status=s.enum_value(route, RunStatus, s.get(route, run, "status", where),
                            f"{where}.status"),
        heartbeat_date=s.opt_str(route, run.get("heartbeat_date"), f"{where}.heartbeat_date"),
        created_date=s.opt_str(route, run.get("created_date"), f"{where}.created_date"),
    )


def parse_workflow_summary(route: str, body: Any, where: str = "body") -> WorkflowSummary:
    """One workflow summary of section 7."""
    table = s.obj(route, body, where)
    counts = s.obj(route, s.get(route, table, "task_counts", where), f"{where}.task_counts")
    buckets = s.obj(route, s.get(route, table, "buckets", where), f"{where}.buckets")
    runs = s.get(route, table, "runs", where)
    if not isinstance(runs, list):
        raise s.mismatch(route, f"{where}.runs", "a list of runs", runs)

    def bucket(name: str) -> int:
        return s.strict_int(route, s.get(route, buckets, name, f"{where}.buckets"),
                            f"{where}.buckets.{name}")

    return WorkflowSummary(
        workflow_id=WorkflowId(s.strict_int(route, s.get(route, table, "workflow_id", where),
                                            f"{where}.workflow_id")),
        name=s.strict_str(route, s.get(route, table, "name", where), f"{where}.name"),
        max_concurrently_running=s.strict_int(
            route, s.get(route, table, "max_concurrently_running", where),
            f"{where}.max_concurrently_running"),
        task_counts={s.enum_value(route, TaskStatus, k, f"{where}.task_counts key"):
                     s.strict_int(route, v, f"{where}.task_counts[{k!r}]")
                     for k, v in counts.items()},
        buckets=Buckets(pending=bucket("pending"), running=bucket("running"),
                        done=bucket("done"), fatal=bucket("fatal")),
        runs=tuple(_run_summary(route, r, f"{where}.runs[{i}]") for i, r in enumerate(runs)),
    )


def parse_workflow_summaries(route: str, body: Any) -> tuple[WorkflowSummary, ...]:
    """``{"workflows": [<summary>, ...]}``."""
    rows = s.get(route, s.obj(route, body), "workflows")
    if not isinstance(rows, list):
        raise s.mismatch(route, "workflows", "a list of workflow summaries", rows)
    return tuple(parse_workflow_summary(route, r, f"workflows[{i}]") for i, r in enumerate(rows))


def _task_instance(route: str, value: Any, where: str) -> TaskInstanceRow:
    row = s.obj(route, value, where)

    def req(key: str) -> Any:
        return s.get(route, row, key, where)

    return TaskInstanceRow(
        task_instance_id=TaskInstanceId(s.strict_int(route, req("task_instance_id"),
                                                     f"{where}.task_instance_id")),
        task_id=TaskId(s.strict_int(route, req("task_id"), f"{where}.task_id")),
        task_name=s.strict_str(route, req("task_name"), f"{where}.task_name"),
        attempt=s.strict_int(route, req("attempt"), f"{where}.attempt"),
        status=s.enum_value(route, TaskInstanceStatus, req("status"), f"{where}.status"),
        distributor_id=s.opt_str(route, row.get("distributor_id"), f"{where}.distributor_id"),
        stdout_path=s.opt_str(route, row.get("stdout_path"), f"{where}.stdout_path"),
        stderr_path=s.opt_str(route, row.get("stderr_path"), f"{where}.stderr_path"),
        error_message=s.opt_str(route, row.get("error_message"), f"{where}.error_message"),
        exit_code=s.opt_int(route, row.get("exit_code"), f"{where}.exit_code"),
        submitted_date=s.opt_str(route, row.get("submitted_date"), f"{where}.submitted_date"),
        status_date=s.opt_str(route, row.get("status_date"), f"{where}.status_date"),
    )


def parse_task_instances(route: str, body: Any) -> tuple[TaskInstanceRow, ...]:
    """``{"task_instances": [{...}, ...]}``."""
    rows = s.get(route, s.obj(route, body), "task_instances")
    if not isinstance(rows, list):
        raise s.mismatch(route, "task_instances", "a list of task instances", rows)
    return tuple(_task_instance(route, r, f"task_instances[{i}]") for i, r in enumerate(rows))
