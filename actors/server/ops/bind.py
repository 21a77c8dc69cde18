"""Binding a workflow: the workflow, its arrays, its tasks with edges (chunked, idempotent).

Client (``actors.main`` binder) → bind routes → these functions. A chunk of tasks costs a
handful of statements whatever its size: one lookup per kind, then bulk inserts.

Several binders at once (several server processes): workflows, arrays, tasks and resources
have unique keys, so of two processes binding the same thing one insert fails and its
transaction is run again (``db.Database.transact``), finding the other's rows; node ids come
from the database, so binders of different workflows never collide.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import attrs
from sqlalchemy import func, insert, select, tuple_, update

from actors.server import fsm
from actors.server.db import Tx
from actors.server.errors import InvalidInput
from actors.server.ops.clusters import resources_hash
from actors.server.ops.common import chunks, dumps, executemany_insert, require_row
from actors.server.schema import (
    array,
    cluster,
    dag,
    edge,
    node,
    queue,
    task,
    task_resources,
    workflow,
)

__all__ = ["TaskSpec", "bind_arrays", "bind_done", "bind_tasks", "bind_workflow"]


@attrs.frozen
class TaskSpec:
    """One task of a ``bind_tasks`` chunk, already validated for types."""

    name: str
    command: str
    array: str
    max_attempts: int
    requested_resources: dict[str, Any]
    resource_scales: dict[str, Any]
    fallback_queues: list[str]
    cluster_name: str
    queue_name: str
    upstream: list[str]


def bind_workflow(tx: Tx, name: str, workflow_args: str, max_running: int,
                  user: str | None) -> dict[str, Any]:
    """Create the workflow identified by ``workflow_args`` or return the existing one."""
    digest = hashlib.sha256(workflow_args.encode()).hexdigest()
    row = tx.conn.execute(select(workflow.c.id, workflow.c.dag_id)
                          .where(workflow.c.workflow_args_hash == digest)).first()
    if row is not None:
        tx.conn.execute(update(workflow).where(workflow.c.id == row.id)
                        .values(name=name, max_concurrently_running=max_running))
        return {"workflow_id": row.id, "dag_id": row.dag_id, "newly_created": False}
    dag_pk = tx.conn.execute(insert(dag).values(created_date=tx.now)).inserted_primary_key
    dag_id = int(dag_pk[0]) if dag_pk else 0
    wf_pk = tx.conn.execute(insert(workflow).values(
        dag_id=dag_id, name=name, workflow_args=workflow_args, workflow_args_hash=digest,
        user=user, max_concurrently_running=max_running, created_date=tx.now)
    ).inserted_primary_key
    return {"workflow_id": int(wf_pk[0]) if wf_pk else 0, "dag_id": dag_id,
            "newly_created": True}


def bind_arrays(tx: Tx, workflow_id: int, arrays: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Create or update arrays by name; returns name → array id."""
    require_row(tx.conn, workflow, workflow_id, "workflow")
    names = [n for n, _ in arrays]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InvalidInput(f"array name {dup!r} appears twice", location="arrays")
    existing = {r.name: r.id for r in tx.conn.execute(
        select(array.c.id, array.c.name).where(array.c.workflow_id == workflow_id,
                                               array.c.name.in_(names)))}
    for aname, limit in arrays:
        if aname in existing:
            tx.conn.execute(update(array).where(array.c.id == existing[aname])
                            .values(max_concurrently_running=limit))
        else:
            pk = tx.conn.execute(insert(array).values(
                workflow_id=workflow_id, name=aname, max_concurrently_running=limit)
            ).inserted_primary_key
            existing[aname] = int(pk[0]) if pk else 0
    return {n: existing[n] for n in names}


def _queue_ids(tx: Tx, specs: Sequence[TaskSpec]) -> dict[tuple[str, str], int]:
    pairs = sorted({(s.cluster_name, s.queue_name) for s in specs})
    rows = tx.conn.execute(
        select(cluster.c.name, queue.c.name, queue.c.id)
        .join(cluster, cluster.c.id == queue.c.cluster_id)
        .where(tuple_(cluster.c.name, queue.c.name).in_(pairs)))
    found = {(r[0], r[1]): r[2] for r in rows}
    for i, s in enumerate(specs):
        if (s.cluster_name, s.queue_name) not in found:
            raise InvalidInput(f"task {s.name!r}: queue {s.queue_name!r} of cluster "
                               f"{s.cluster_name!r} does not exist",
                               location=f"tasks[{i}].queue_name")
    return found


def _resource_ids(tx: Tx, keys: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
    by_hash = {(q, resources_hash(t)): (q, t) for q, t in keys}

    def lookup() -> dict[tuple[int, str], int]:
        found: dict[tuple[int, str], int] = {}
        for part in chunks(sorted(by_hash)):
            for r in tx.conn.execute(
                    select(task_resources.c.id, task_resources.c.queue_id,
                           task_resources.c.requested_resources_hash)
                    .where(task_resources.c.resources_type == "O",
                           tuple_(task_resources.c.queue_id,
                                  task_resources.c.requested_resources_hash).in_(part))):
                found[by_hash[(r.queue_id, r.requested_resources_hash)]] = r.id
        return found

    found = lookup()
    missing = [k for k in sorted(keys) if k not in found]
    if missing:
        tx.conn.execute(insert(task_resources), [
            {"queue_id": q, "resources_type": "O", "requested_resources": t,
             "requested_resources_hash": resources_hash(t)} for q, t in missing])
        found = lookup()
    return found


def bind_tasks(tx: Tx, workflow_id: int, specs: Sequence[TaskSpec]) -> dict[str, int]:
    """Bind a chunk of tasks (upstreams bound before or earlier in the chunk); name → id."""
    wf = require_row(tx.conn, workflow, workflow_id, "workflow", ("id", "dag_id"))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InvalidInput(f"task name {dup!r} appears twice in this chunk", location="tasks")
    arrays = {r.name: r.id for r in tx.conn.execute(
        select(array.c.id, array.c.name).where(array.c.workflow_id == workflow_id))}
    wanted_names = sorted(set(names) | {u for s in specs for u in s.upstream})
    known: dict[str, tuple[int, int]] = {}
    for part in chunks(wanted_names):
        for r in tx.conn.execute(select(task.c.name, task.c.id, task.c.node_id).where(
                task.c.workflow_id == workflow_id, task.c.name.in_(part))):
            known[r.name] = (r.id, r.node_id)
    new = [s for s in specs if s.name not in known]
    seen = set(known)
    for i, s in enumerate(specs):
        if s.array not in arrays:
            raise InvalidInput(f"task {s.name!r}: array {s.array!r} is not bound",
                               location=f"tasks[{i}].array")
        for up in s.upstream:
            if up not in seen:
                raise InvalidInput(f"task {s.name!r}: upstream {up!r} is not bound yet "
                                   "(bind upstream tasks first)", location=f"tasks[{i}].upstream")
        seen.add(s.name)
    if new:
        queues = _queue_ids(tx, new)
        res_key = {s.name: (queues[(s.cluster_name, s.queue_name)], dumps(s.requested_resources))
                   for s in new}
        res_ids = _resource_ids(tx, set(res_key.values()))
        # the database assigns node ids (one sequence for every server process); nodes
        # differ only by id, so the order RETURNING gives them in does not matter
        node_ids = sorted(tx.conn.execute(insert(node).returning(node.c.id),
                                          [{"dag_id": wf.dag_id} for _ in new]).scalars())
        if len(node_ids) != len(new):
            raise AssertionError(f"inserted {len(new)} nodes, got {len(node_ids)} ids back")
        executemany_insert(tx.conn, task, [
            {"workflow_id": workflow_id, "array_id": arrays[s.array], "node_id": nid,
             "task_resources_id": res_ids[res_key[s.name]], "name": s.name,
             "command": s.command, "max_attempts": s.max_attempts, "num_attempts": 0,
             "resource_scales": dumps(s.resource_scales),
             "fallback_queues": dumps(s.fallback_queues),
             "status": fsm.TaskStatus.REGISTERING.value, "status_date": tx.now}
            for s, nid in zip(new, node_ids, strict=True)])
        for part in chunks([s.name for s in new]):
            for r in tx.conn.execute(select(task.c.name, task.c.id, task.c.node_id).where(
                    task.c.workflow_id == workflow_id, task.c.name.in_(part))):
                known[r.name] = (r.id, r.node_id)
        edges = {(known[u][1], known[s.name][1]) for s in new for u in s.upstream}
        if edges:
            executemany_insert(tx.conn, edge, [{"dag_id": wf.dag_id, "upstream_node_id": u,
                                                "downstream_node_id": d}
                                               for u, d in sorted(edges)])
    return {n: known[n][0] for n in names}


def bind_done(tx: Tx, workflow_id: int) -> dict[str, Any]:
    """Mark binding finished (runs may start); returns the workflow's size."""
    wf = require_row(tx.conn, workflow, workflow_id, "workflow",
                     ("id", "dag_id", "bind_done_date"))
    if wf.bind_done_date is None:
        tx.conn.execute(update(workflow).where(workflow.c.id == workflow_id)
                        .values(bind_done_date=tx.now))
    num_tasks = tx.conn.execute(select(func.count()).select_from(task)
                                .where(task.c.workflow_id == workflow_id)).scalar_one()
    num_edges = tx.conn.execute(select(func.count()).select_from(edge)
                                .where(edge.c.dag_id == wf.dag_id)).scalar_one()
    return {"workflow_id": workflow_id, "num_tasks": num_tasks, "num_edges": num_edges}
