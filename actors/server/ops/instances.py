"""Task-instance reports applied in bulk, with their task's error policy in the same transaction.

Callers (distributor, worker, triage, terminate routes) → ``apply_reports`` → one SELECT of
the instances with their tasks, the pure ``fsm.instance_step`` per report, then one
executemany UPDATE per table. Reports of one instance in one call apply in order.

Concurrency (PostgreSQL, several server processes): ``load_instances`` locks the instances
and their tasks (``FOR UPDATE``, in instance-id order) before anything is decided, and reads
each task's newest instance only after that, so every decision is made on current rows that
nobody else can change until this transaction ends. Callers that pick instances by status
(terminate, triage) re-decide from the locked rows, never from an earlier unlocked read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from sqlalchemy import func, select

from actors.server import fsm
from actors.server.db import Tx
from actors.server.errors import UnknownId
from actors.server.ops.common import chunks, executemany_update
from actors.server.schema import task, task_instance

__all__ = ["InstanceRow", "Report", "apply_reports", "load_instances"]


@attrs.frozen
class Report:
    """Move instance ``ti_id`` to ``target``; ``values`` are stored when it is not refused."""

    ti_id: int
    target: fsm.InstanceStatus
    values: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.define
class InstanceRow:
    """An instance and the task fields the error policy needs (mutable while applying)."""

    id: int
    status: fsm.InstanceStatus
    task_id: int
    workflow_run_id: int
    workflow_id: int
    task_status: fsm.TaskStatus
    attempts: int
    max_attempts: int
    is_current: bool
    report_by: dt.datetime | None = None
    report_increment: float = 0.0


def load_instances(tx: Tx, ids: Sequence[int]) -> dict[int, InstanceRow]:
    """The instances ``ids`` with their tasks, locked; UnknownId naming the missing ones."""
    out: dict[int, InstanceRow] = {}
    wanted = sorted(set(ids))
    for part in chunks(wanted):
        rows = tx.conn.execute(
            select(task_instance.c.id, task_instance.c.status, task_instance.c.task_id,
                   task_instance.c.workflow_run_id, task.c.workflow_id, task.c.status,
                   task.c.num_attempts, task.c.max_attempts, task_instance.c.report_by_date,
                   task_instance.c.report_increment)
            .join(task, task.c.id == task_instance.c.task_id)
            .where(task_instance.c.id.in_(part)).order_by(task_instance.c.id)
            .with_for_update()).all()
        for r in rows:
            out[r[0]] = InstanceRow(r[0], fsm.InstanceStatus(r[1]), r[2], r[3], r[4],
                                    fsm.TaskStatus(r[5]), r[6], r[7], False, r[8], r[9])
    missing = [i for i in wanted if i not in out]
    if missing:
        raise UnknownId(f"task instance(s) {missing[:20]} do not exist",
                        location="task_instance_id")
    # read after the locks: a newer instance needs the task's lock, which we now hold
    latest: dict[int, int] = {}
    for part in chunks(sorted({r.task_id for r in out.values()})):
        latest.update((t, n) for t, n in tx.conn.execute(
            select(task_instance.c.task_id, func.max(task_instance.c.id))
            .where(task_instance.c.task_id.in_(part)).group_by(task_instance.c.task_id)))
    for row in out.values():
        row.is_current = latest.get(row.task_id) == row.id
    return out


def apply_reports(tx: Tx, reports: Sequence[Report],
                  rows: dict[int, InstanceRow] | None = None) -> dict[int, fsm.InstanceStatus]:
    """Apply ``reports``; returns each reported instance's status afterwards."""
    if rows is None:
        rows = load_instances(tx, [r.ti_id for r in reports])
    ti_updates: dict[int, dict[str, Any]] = {}
    task_updates: dict[int, dict[str, Any]] = {}
    by_task: dict[int, list[InstanceRow]] = {}  # a task may appear through several instances
    for loaded in rows.values():
        by_task.setdefault(loaded.task_id, []).append(loaded)
    for rep in reports:
        row = rows[rep.ti_id]
        step = fsm.instance_step(row.status, rep.target, row.task_status, row.attempts,
                                 row.max_attempts, row.is_current)
        if step.refused:
            continue
        upd = ti_updates.setdefault(row.id, {"id": row.id})
        upd.update(rep.values)
        if step.changed:
            row.status = step.instance_status
            upd["status"] = row.status.value
            upd["status_date"] = tx.now
        if step.task_status != row.task_status:
            row.task_status = step.task_status
            for other in by_task[row.task_id]:
                other.task_status = step.task_status
            task_updates[row.task_id] = {"id": row.task_id, "status": step.task_status.value,
                                         "status_date": tx.now}
            tx.touched.add(row.workflow_id)
    executemany_update(tx.conn, task_instance, (u for u in ti_updates.values() if len(u) > 1))
    executemany_update(tx.conn, task, task_updates.values())
    return {r.ti_id: rows[r.ti_id].status for r in reports}
