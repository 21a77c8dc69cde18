"""Workflow-run lifecycle: create (with task reset), status, heartbeat, resume, terminate,
triage and the distributor's start. Called by the swarm, bind and distributor routes.

Concurrency (several server processes on PostgreSQL): a run transition locks the run row
(``FOR UPDATE``) before reading its status, so two requests cannot both act on the same old
status; ``create_run`` locks the workflow row first, so two swarms starting one workflow at
once get one run and one 409 (the unique key "one active run per workflow" backs this up).
Instances picked by status (terminate, triage, kill) are locked, then re-decided from their
current status.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, and_, insert, select, update

from actors.server import fsm
from actors.server.db import Tx
from actors.server.errors import Conflict
from actors.server.ops.common import require_row
from actors.server.ops.instances import Report, apply_reports, load_instances
from actors.server.schema import task, task_instance, workflow, workflow_run

__all__ = [
    "DEFAULT_RUN_REPORT_INCREMENT",
    "create_run",
    "distributor_started",
    "heartbeat",
    "kill_live_instances",
    "set_resume",
    "terminate",
    "triage",
    "update_status",
]

DEFAULT_RUN_REPORT_INCREMENT = 93.0  # Jobmon: 30 s heartbeat x 3.1 report-by buffer


def _run(tx: Tx, wfr_id: int) -> Any:
    """The run row, locked for this transaction's transition."""
    return require_row(tx.conn, workflow_run, wfr_id, "workflow run",
                       ("id", "workflow_id", "status", "heartbeat_date"), lock="update")


def _set_run_status(tx: Tx, run: Any, status: fsm.RunStatus) -> None:
    tx.conn.execute(update(workflow_run).where(workflow_run.c.id == run.id)
                    .values(status=status.value, status_date=tx.now))
    tx.touched.add(run.workflow_id)


def kill_live_instances(tx: Tx, where: ColumnElement[bool], hot: bool, reason: str) -> int:
    """Tell live instances matching ``where`` to die: Q → K → F at once (nothing runs yet),
    I/O → K, R → K unless ``hot``. Returns how many instances were told."""
    live = (fsm.InstanceStatus.QUEUED, fsm.InstanceStatus.INSTANTIATED,
            fsm.InstanceStatus.LAUNCHED, fsm.InstanceStatus.RUNNING)
    candidates = tx.conn.execute(select(task_instance.c.id).where(
        where, task_instance.c.status.in_([s.value for s in live]))).scalars().all()
    if not candidates:
        return 0
    rows = load_instances(tx, candidates)  # locked: decide on their current status
    reports: list[Report] = []
    for ti_id, row in rows.items():
        target = fsm.terminate_target(row.status, hot)
        if target is None:
            continue
        reports.append(Report(ti_id, target))
        if row.status == fsm.InstanceStatus.QUEUED:
            reports.append(Report(ti_id, fsm.InstanceStatus.ERROR_FATAL,
                                  {"error_message": reason}))
    if reports:
        apply_reports(tx, reports, rows)
    return len({r.ti_id for r in reports})


def create_run(tx: Tx, workflow_id: int, user: str | None, jobmon_version: str | None,
               reset_running_jobs: bool, next_report_increment: float,
               request_key: str | None = None) -> dict[str, Any]:
    """Create a run (G→L→B) and reset every task not D (nor R, for a hot resume) to G.

    An active run whose swarm stopped heartbeating is reaped first (C/H → T, others → E,
    their live instances told to die); a live active run is a Conflict. A ``request_key``
    already used for this workflow answers with that run (its status now) and changes
    nothing: the client repeated a request whose answer it lost.
    """
    # the workflow's lock serialises run creation: a second swarm waits, then sees our run
    wf = require_row(tx.conn, workflow, workflow_id, "workflow", ("id", "bind_done_date"),
                     lock="update")
    if wf.bind_done_date is None:
        raise Conflict(f"workflow {workflow_id} is still binding (call bind_done first)",
                       location="workflow_id")
    if request_key is not None:
        earlier = tx.conn.execute(select(workflow_run.c.id, workflow_run.c.status).where(
            workflow_run.c.workflow_id == workflow_id,
            workflow_run.c.request_key == request_key)).first()
        if earlier is not None:
            return {"workflow_run_id": int(earlier.id), "status": earlier.status}
    active = tx.conn.execute(select(workflow_run.c.id, workflow_run.c.workflow_id,
                                    workflow_run.c.status, workflow_run.c.heartbeat_date)
                             .where(workflow_run.c.workflow_id == workflow_id,
                                    workflow_run.c.status.in_(
                                        [s.value for s in fsm.ACTIVE_RUN_STATUSES]))
                             .order_by(workflow_run.c.id).with_for_update()).all()
    for run in active:
        if run.heartbeat_date > tx.now:
            raise Conflict(f"workflow {workflow_id} has an active workflow run {run.id} "
                           f"in status {run.status}", location="workflow_id",
                           extra={"active_workflow_run_id": run.id, "status": run.status})
    for run in active:
        resuming = run.status in (fsm.RunStatus.COLD_RESUME, fsm.RunStatus.HOT_RESUME)
        _set_run_status(tx, run, fsm.RunStatus.TERMINATED if resuming else fsm.RunStatus.ERROR)
    kill_live_instances(tx, task_instance.c.task_id.in_(
        select(task.c.id).where(task.c.workflow_id == workflow_id)),
        hot=not reset_running_jobs, reason="a new workflow run replaced this one")
    status = fsm.RunStatus.BOUND
    pk = tx.conn.execute(insert(workflow_run).values(
        workflow_id=workflow_id, user=user, jobmon_version=jobmon_version,
        reset_running_jobs=reset_running_jobs, status=status.value, status_date=tx.now,
        created_date=tx.now, request_key=request_key,
        heartbeat_date=tx.now + dt.timedelta(seconds=next_report_increment))
    ).inserted_primary_key
    keep = [fsm.TaskStatus.DONE.value]
    if not reset_running_jobs:
        keep.append(fsm.TaskStatus.RUNNING.value)
    tx.conn.execute(update(task).where(
        task.c.workflow_id == workflow_id, task.c.status.not_in(keep),
        ~and_(task.c.status == fsm.TaskStatus.REGISTERING.value, task.c.num_attempts == 0))
        .values(status=fsm.TaskStatus.REGISTERING.value, num_attempts=0, status_date=tx.now))
    tx.touched.add(workflow_id)
    return {"workflow_run_id": int(pk[0]) if pk else 0, "status": status.value}


def update_status(tx: Tx, wfr_id: int, status: fsm.RunStatus) -> fsm.RunStatus:
    """Apply a run transition if legal; returns the run's status afterwards."""
    run = _run(tx, wfr_id)
    step = fsm.run_step(fsm.RunStatus(run.status), status)
    if step.changed:
        _set_run_status(tx, run, step.status)
    return step.status


def heartbeat(tx: Tx, wfr_id: int, status: fsm.RunStatus, increment: float) -> fsm.RunStatus:
    """The swarm's heartbeat: maybe a transition, a new report-by; returns the server status."""
    run = _run(tx, wfr_id)
    step, record = fsm.heartbeat_step(fsm.RunStatus(run.status), status)
    if step.changed:
        _set_run_status(tx, run, step.status)
    if record:
        tx.conn.execute(update(workflow_run).where(workflow_run.c.id == wfr_id).values(
            heartbeat_date=tx.now + dt.timedelta(seconds=increment)))
    return step.status


def set_resume(tx: Tx, workflow_id: int, reset_running_jobs: bool) -> int | None:
    """Move the workflow's active (B/R) run to C (cold) or H (hot); returns its id or None."""
    require_row(tx.conn, workflow, workflow_id, "workflow")
    runs = tx.conn.execute(select(workflow_run.c.id, workflow_run.c.workflow_id,
                                  workflow_run.c.status)
                           .where(workflow_run.c.workflow_id == workflow_id,
                                  workflow_run.c.status.in_(
                                      [s.value for s in fsm.ACTIVE_RUN_STATUSES]))
                           .order_by(workflow_run.c.id.desc()).with_for_update()).all()
    for run in runs:
        target = fsm.resume_target(fsm.RunStatus(run.status), reset_running_jobs)
        if target is not None:
            _set_run_status(tx, run, target)
            return int(run.id)
    return None


def terminate(tx: Tx, wfr_id: int) -> dict[str, Any]:
    """Drain a run's instances: Q → F, I/O → K, R → K unless the run is a hot resume (H)."""
    run = _run(tx, wfr_id)
    hot = run.status == fsm.RunStatus.HOT_RESUME
    kill_live_instances(tx, task_instance.c.workflow_run_id == wfr_id, hot=hot,
                        reason="workflow run terminated before launch")
    return {"workflow_run_id": wfr_id}


def triage(tx: Tx, wfr_id: int) -> None:
    """Overdue instances of the run: R → T; T unresolved for a window → U; O silent for two
    windows → X → E. Errors go through the error policy."""
    require_row(tx.conn, workflow_run, wfr_id, "workflow run")
    watched = [fsm.InstanceStatus.RUNNING.value, fsm.InstanceStatus.TRIAGING.value,
               fsm.InstanceStatus.LAUNCHED.value]
    candidates = tx.conn.execute(select(task_instance.c.id)
                                 .where(task_instance.c.workflow_run_id == wfr_id,
                                        task_instance.c.status.in_(watched),
                                        task_instance.c.report_by_date <= tx.now)
                                 ).scalars().all()
    if not candidates:
        return
    rows = load_instances(tx, candidates)  # locked: a report that raced us has landed
    reports: list[Report] = []
    for ti_id, row in rows.items():
        increment = row.report_increment
        target = fsm.triage_target(row.status, row.report_by, increment, tx.now)
        if target is None:
            continue
        if target == fsm.InstanceStatus.TRIAGING:
            deadline = tx.now + dt.timedelta(seconds=increment)
            reports.append(Report(ti_id, target, {"report_by_date": deadline}))
        elif target == fsm.InstanceStatus.UNKNOWN_ERROR:
            reports.append(Report(ti_id, target, {"error_message": (
                "triage: the instance stopped reporting and nobody resolved it")}))
        else:
            reports.append(Report(ti_id, target))
            reports.append(Report(ti_id, fsm.InstanceStatus.ERROR, {"error_message": (
                "triage: no heartbeat from the distributor for two report-by windows")}))
    if reports:
        apply_reports(tx, reports, rows)


def distributor_started(tx: Tx, wfr_id: int) -> fsm.RunStatus:
    """The run's distributor is up: B → I (idempotent); returns the run status."""
    run = _run(tx, wfr_id)
    if run.status == fsm.RunStatus.BOUND:
        _set_run_status(tx, run, fsm.RunStatus.INSTANTIATED)
        return fsm.RunStatus.INSTANTIATED
    return fsm.RunStatus(run.status)

