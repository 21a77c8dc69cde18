"""Reports from the distributor (launched, heartbeat, results) and the worker (running,
report-by, done, error). Every report is a ``Report`` through ``apply_reports``, which locks
the instances and their tasks before deciding; the run's I → O on launch is a conditional
``UPDATE ... WHERE status = 'I'`` (a run another process just moved elsewhere stays there)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update

from actors.server import fsm
from actors.server.db import Tx
from actors.server.errors import UnknownId
from actors.server.ops.common import chunks, require_row
from actors.server.ops.instances import InstanceRow, Report, apply_reports, load_instances
from actors.server.schema import task_instance, workflow_run

__all__ = [
    "distributor_heartbeat",
    "launched",
    "log_report_by",
    "log_running",
    "results",
    "worker_report",
]


def _run_instances(tx: Tx, wfr_id: int, ids: Sequence[int]) -> dict[int, InstanceRow]:
    rows = load_instances(tx, ids)
    foreign = sorted(i for i, r in rows.items() if r.workflow_run_id != wfr_id)
    if foreign:
        raise UnknownId(f"task instance(s) {foreign[:20]} are not part of workflow run "
                        f"{wfr_id}", location="task_instance_id")
    return rows


def launched(tx: Tx, wfr_id: int, items: Sequence[tuple[int, str | None]],
             increment: float) -> dict[int, fsm.InstanceStatus]:
    """I → O with the distributor id and a report-by (null id: I → W); run I → O."""
    run = require_row(tx.conn, workflow_run, wfr_id, "workflow run",
                      ("id", "workflow_id", "status"))
    rows = _run_instances(tx, wfr_id, [i for i, _ in items])
    report_by = tx.now + dt.timedelta(seconds=increment)
    reports = []
    for ti_id, dist_id in items:
        if dist_id is None:
            reports.append(Report(ti_id, fsm.InstanceStatus.NO_DISTRIBUTOR_ID, {
                "error_message": "the distributor could not launch the instance"}))
            continue
        values: dict[str, Any] = {"distributor_id": dist_id}
        if rows[ti_id].status == fsm.InstanceStatus.INSTANTIATED:
            values.update(report_by_date=report_by, report_increment=increment,
                          submitted_date=tx.now)
        reports.append(Report(ti_id, fsm.InstanceStatus.LAUNCHED, values))
    if run.status == fsm.RunStatus.INSTANTIATED:
        moved = tx.conn.execute(update(workflow_run).where(
            workflow_run.c.id == wfr_id,
            workflow_run.c.status == fsm.RunStatus.INSTANTIATED.value).values(
            status=fsm.RunStatus.LAUNCHED.value, status_date=tx.now))
        if moved.rowcount:
            tx.touched.add(run.workflow_id)
    return apply_reports(tx, reports, rows)


def distributor_heartbeat(tx: Tx, wfr_id: int, ids: Sequence[int],
                          increment: float) -> dict[str, Any]:
    """Extend the report-by of the listed O/R instances; tell the distributor what to kill
    (K) and what triage wants checked (T)."""
    run = require_row(tx.conn, workflow_run, wfr_id, "workflow run", ("id", "status"))
    wanted = sorted(set(ids))
    found: set[int] = set()
    for part in chunks(wanted):
        found.update(tx.conn.execute(select(task_instance.c.id).where(
            task_instance.c.id.in_(part), task_instance.c.workflow_run_id == wfr_id)).scalars())
        tx.conn.execute(update(task_instance).where(
            task_instance.c.id.in_(part), task_instance.c.workflow_run_id == wfr_id,
            task_instance.c.status.in_([fsm.InstanceStatus.LAUNCHED.value,
                                        fsm.InstanceStatus.RUNNING.value]))
            .values(report_by_date=tx.now + dt.timedelta(seconds=increment),
                    report_increment=increment))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise UnknownId(f"task instance(s) {missing[:20]} are not part of workflow run "
                        f"{wfr_id}", location="task_instance_ids")
    flagged = tx.conn.execute(select(task_instance.c.id, task_instance.c.status).where(
        task_instance.c.workflow_run_id == wfr_id,
        task_instance.c.status.in_([fsm.InstanceStatus.KILL_SELF.value,
                                    fsm.InstanceStatus.TRIAGING.value]))
        .order_by(task_instance.c.id)).all()
    return {"run_status": run.status,
            "kill_self": [i for i, s in flagged if s == fsm.InstanceStatus.KILL_SELF],
            "triaging": [i for i, s in flagged if s == fsm.InstanceStatus.TRIAGING]}


def results(tx: Tx, wfr_id: int,
            items: Sequence[tuple[int, fsm.InstanceStatus, str | None, int | None]]
            ) -> dict[int, fsm.InstanceStatus]:
    """Outcomes the distributor learned itself (R, D, E, Z, U, F); repeats are no-ops."""
    require_row(tx.conn, workflow_run, wfr_id, "workflow run")
    rows = _run_instances(tx, wfr_id, [i[0] for i in items])
    reports = []
    for ti_id, status, message, exit_code in items:
        values: dict[str, Any] = {}
        if message is not None:
            values["error_message"] = message
        if exit_code is not None:
            values["exit_code"] = exit_code
        reports.append(Report(ti_id, status, values))
    return apply_reports(tx, reports, rows)


def log_running(tx: Tx, ti_id: int, increment: float, values: dict[str, Any]
                ) -> fsm.InstanceStatus:
    """The worker started the command: → R with a report-by of now + ``increment``."""
    values = dict(values, report_by_date=tx.now + dt.timedelta(seconds=increment))
    return worker_report(tx, ti_id, fsm.InstanceStatus.RUNNING, values)


def worker_report(tx: Tx, ti_id: int, target: fsm.InstanceStatus,
                  values: dict[str, Any]) -> fsm.InstanceStatus:
    """One report from the worker of ``ti_id``; returns the instance's status afterwards."""
    return apply_reports(tx, [Report(ti_id, target, values)])[ti_id]


def log_report_by(tx: Tx, ti_id: int, increment: float) -> fsm.InstanceStatus:
    """The worker is alive: new report-by for a live instance; T → R."""
    rows = load_instances(tx, [ti_id])
    status = rows[ti_id].status
    if status in (fsm.InstanceStatus.LAUNCHED, fsm.InstanceStatus.RUNNING,
                  fsm.InstanceStatus.TRIAGING, fsm.InstanceStatus.INSTANTIATED):
        tx.conn.execute(update(task_instance).where(task_instance.c.id == ti_id).values(
            report_by_date=tx.now + dt.timedelta(seconds=increment),
            report_increment=increment))
    if status == fsm.InstanceStatus.TRIAGING:
        return apply_reports(tx, [Report(ti_id, fsm.InstanceStatus.RUNNING)], rows)[ti_id]
    return status
