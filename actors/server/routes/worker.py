"""Worker routes (Jobmon names): running, report-by, done, error.

Worker wrapper of one instance → these routes → ``ops.work``. Every answer carries the
instance's status; anything but ``"R"`` (``"K"`` above all) tells the worker to stop.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from actors.server import fsm
from actors.server.models import Empty, LogErrorBody, LogReportByBody, LogRunningBody
from actors.server.ops import work
from actors.server.routes.deps import PathId, StateDep

__all__ = ["router"]

router = APIRouter()


@router.post("/task_instance/{task_instance_id}/log_running")
def log_running(task_instance_id: PathId, body: LogRunningBody,
                state: StateDep) -> dict[str, str]:
    """I/O → R with the worker's node, process group, log paths and report-by."""
    values: dict[str, Any] = {"report_increment": body.next_report_increment}
    for key in ("nodename", "process_group_id", "stdout_path", "stderr_path", "distributor_id"):
        value = getattr(body, key)
        if value is not None:
            values[key] = value
    status = state.db.transact(work.log_running, task_instance_id, body.next_report_increment,
                               values)
    return {"status": status.value}


@router.post("/task_instance/{task_instance_id}/log_report_by")
def log_report_by(task_instance_id: PathId, body: LogReportByBody,
                  state: StateDep) -> dict[str, str]:
    """The worker is alive: a new report-by; T → R."""
    status = state.db.transact(work.log_report_by, task_instance_id,
                               body.next_report_increment)
    return {"status": status.value}


@router.post("/task_instance/{task_instance_id}/log_done")
def log_done(task_instance_id: PathId, state: StateDep,
             body: Empty | None = None) -> dict[str, str]:
    """The command exited 0: → D."""
    status = state.db.transact(work.worker_report, task_instance_id,
                               fsm.InstanceStatus.DONE, {})
    return {"status": status.value}


@router.post("/task_instance/{task_instance_id}/log_error_worker_node")
def log_error_worker_node(task_instance_id: PathId, body: LogErrorBody,
                          state: StateDep) -> dict[str, str]:
    """The command failed: → E/Z/U (K → F) and the task's error policy."""
    message = body.error_message if body.error_message is not None else body.error_description
    values: dict[str, Any] = {"error_message": message or ""}
    if body.exit_code is not None:
        values["exit_code"] = body.exit_code
    status = state.db.transact(work.worker_report, task_instance_id,
                               fsm.InstanceStatus(body.error_state), values)
    return {"status": status.value}
