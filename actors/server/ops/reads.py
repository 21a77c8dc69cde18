"""Read-only queries: resume data (get_tasks, downstream edges), status sync, limits,
summaries for the CLI. Callers: swarm and read routes, inside ``Database.read()``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select, update

from actors.server import fsm
from actors.server.db import Tx
from actors.server.errors import UnknownId
from actors.server.ops.common import chunks, require_row
from actors.server.schema import (
    array,
    cluster,
    dag,
    edge,
    queue,
    task,
    task_instance,
    task_resources,
    workflow,
    workflow_run,
)

__all__ = [
    "BUCKETS",
    "downstream_tasks",
    "get_tasks",
    "set_max_running",
    "task_instances",
    "task_names",
    "task_status_updates",
    "workflow_metadata",
    "workflow_summaries",
]

BUCKETS = {"pending": "GQAE", "running": "IOR", "done": "D", "fatal": "F"}


def workflow_metadata(conn: Connection, workflow_id: int) -> list[int]:
    """``[workflow_id, dag_id, max_concurrently_running]`` or ``[]`` if unknown (Jobmon)."""
    row = conn.execute(select(workflow.c.id, workflow.c.dag_id,
                              workflow.c.max_concurrently_running)
                       .where(workflow.c.id == workflow_id)).first()
    return [] if row is None else [row[0], row[1], row[2]]


def get_tasks(conn: Connection, workflow_id: int, max_task_id: int,
              chunk_size: int) -> dict[str, list[Any]]:
    """Tasks not D with id > max_task_id, by id, at most chunk_size (Jobmon's row shape)."""
    require_row(conn, workflow, workflow_id, "workflow")
    rows = conn.execute(
        select(task.c.id, task.c.array_id, task.c.status, task.c.max_attempts,
               task.c.resource_scales, task.c.fallback_queues,
               task_resources.c.requested_resources, cluster.c.name, queue.c.name,
               array.c.max_concurrently_running)
        .join(task_resources, task_resources.c.id == task.c.task_resources_id)
        .join(queue, queue.c.id == task_resources.c.queue_id)
        .join(cluster, cluster.c.id == queue.c.cluster_id)
        .join(array, array.c.id == task.c.array_id)
        .where(task.c.workflow_id == workflow_id, task.c.status != fsm.TaskStatus.DONE.value,
               task.c.id > max_task_id)
        .order_by(task.c.id).limit(chunk_size))
    return {str(r[0]): [r[1], r[2], r[3], str(json.loads(r[4])), str(json.loads(r[5])),
                        str(json.loads(r[6])), r[7], r[8], r[9]] for r in rows}


def downstream_tasks(conn: Connection, task_ids: Sequence[int],
                     dag_id: int) -> dict[str, list[Any]]:
    """``{task_id: [node_id, [downstream node ids]]}`` for tasks of the dag."""
    require_row(conn, dag, dag_id, "dag")
    ids = sorted(set(task_ids))
    nodes: dict[int, int] = {}
    for part in chunks(ids):
        nodes.update((r[0], r[1]) for r in conn.execute(
            select(task.c.id, task.c.node_id).join(workflow, workflow.c.id == task.c.workflow_id)
            .where(task.c.id.in_(part), workflow.c.dag_id == dag_id)))
    missing = [i for i in ids if i not in nodes]
    if missing:
        raise UnknownId(f"task(s) {missing[:20]} are not in dag {dag_id}", location="task_ids")
    down: dict[int, list[int]] = {n: [] for n in nodes.values()}
    for part in chunks(sorted(down)):
        for up, dn in conn.execute(select(edge.c.upstream_node_id, edge.c.downstream_node_id)
                                   .where(edge.c.dag_id == dag_id,
                                          edge.c.upstream_node_id.in_(part))
                                   .order_by(edge.c.downstream_node_id)):
            down[up].append(dn)
    return {str(t): [n, down[n]] for t, n in nodes.items()}


def task_status_updates(conn: Connection, workflow_id: int,
                        since: dt.datetime | None) -> dict[str, list[int]]:
    """``{status: [task ids]}`` of tasks changed at or after ``since`` (all when None)."""
    require_row(conn, workflow, workflow_id, "workflow")
    stmt = select(task.c.status, task.c.id).where(task.c.workflow_id == workflow_id)
    if since is not None:
        stmt = stmt.where(task.c.status_date >= since)
    out: dict[str, list[int]] = {}
    for status, tid in conn.execute(stmt.order_by(task.c.id)):
        out.setdefault(status, []).append(tid)
    return out


def set_max_running(tx: Tx, workflow_id: int, limit: int) -> str:
    """Operator: change the workflow's concurrency limit (0 pauses)."""
    require_row(tx.conn, workflow, workflow_id, "workflow")
    tx.conn.execute(update(workflow).where(workflow.c.id == workflow_id)
                    .values(max_concurrently_running=limit))
    tx.touched.add(workflow_id)
    return f"Workflow ID {workflow_id} max concurrently running updated to {limit}"


def workflow_summaries(conn: Connection, workflow_id: int | None = None) -> list[dict[str, Any]]:
    """Status summaries (task counts, buckets, runs) of one or all workflows."""
    stmt = select(workflow.c.id, workflow.c.name, workflow.c.max_concurrently_running)
    if workflow_id is not None:
        require_row(conn, workflow, workflow_id, "workflow")
        stmt = stmt.where(workflow.c.id == workflow_id)
    wfs = conn.execute(stmt.order_by(workflow.c.id)).all()
    ids = [w.id for w in wfs]
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    for wf, status, n in conn.execute(
            select(task.c.workflow_id, task.c.status, func.count())
            .where(task.c.workflow_id.in_(ids)).group_by(task.c.workflow_id, task.c.status)):
        counts[wf][status] = n
    runs: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for r in conn.execute(select(workflow_run).where(workflow_run.c.workflow_id.in_(ids))
                          .order_by(workflow_run.c.id)):
        runs[r.workflow_id].append({"workflow_run_id": r.id, "status": r.status,
                                    "heartbeat_date": _fmt(r.heartbeat_date),
                                    "created_date": _fmt(r.created_date)})
    return [{"workflow_id": w.id, "name": w.name,
             "max_concurrently_running": w.max_concurrently_running,
             "task_counts": counts[w.id],
             "buckets": {b: sum(counts[w.id].get(s, 0) for s in letters)
                         for b, letters in BUCKETS.items()},
             "runs": runs[w.id]} for w in wfs]


def task_names(conn: Connection, workflow_id: int) -> dict[str, str]:
    """``{task_id: name}`` of the workflow."""
    require_row(conn, workflow, workflow_id, "workflow")
    return {str(i): n for i, n in conn.execute(
        select(task.c.id, task.c.name).where(task.c.workflow_id == workflow_id)
        .order_by(task.c.id))}


def task_instances(conn: Connection, workflow_id: int,
                   task_name: str | None) -> list[dict[str, Any]]:
    """Instances of the workflow's tasks (optionally one task), oldest first."""
    require_row(conn, workflow, workflow_id, "workflow")
    stmt = (select(task_instance, task.c.name.label("task_name"))
            .join(task, task.c.id == task_instance.c.task_id)
            .where(task.c.workflow_id == workflow_id))
    if task_name is not None:
        stmt = stmt.where(task.c.name == task_name)
    return [{"task_instance_id": r.id, "task_id": r.task_id, "task_name": r.task_name,
             "attempt": r.attempt, "status": r.status, "distributor_id": r.distributor_id,
             "stdout_path": r.stdout_path, "stderr_path": r.stderr_path,
             "error_message": r.error_message, "exit_code": r.exit_code,
             "submitted_date": _fmt(r.submitted_date), "status_date": _fmt(r.status_date)}
            for r in conn.execute(stmt.order_by(task_instance.c.id))]


def _fmt(value: dt.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S")
