"""Jobmon v3 routes the swarm drives a run with (status sync lives in ``sync``).

Swarm gateway → these routes → ``ops.runs`` / ``ops.queueing`` / ``ops.reads``.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query

from actors.server import fsm
from actors.server.models import (
    MAX_INT,
    DownstreamBody,
    Empty,
    MaxTasksBody,
    QueueBatchBody,
    ResumeBody,
    RunHeartbeatBody,
    RunStatusBody,
)
from actors.server.ops import queueing, reads, runs
from actors.server.ops.common import require_row
from actors.server.routes.deps import PathId, StateDep
from actors.server.schema import array, workflow

__all__ = ["router"]

router = APIRouter()


@router.get("/workflow/{workflow_id}/fetch_workflow_metadata")
def fetch_workflow_metadata(workflow_id: PathId, state: StateDep) -> dict[str, Any]:
    """``{"workflow": [id, dag_id, max_concurrently_running]}``, ``[]`` when unknown."""
    with state.db.read() as conn:
        return {"workflow": reads.workflow_metadata(conn, workflow_id)}


@router.get("/workflow/get_tasks/{workflow_id}")
def get_tasks(workflow_id: PathId, state: StateDep,
              max_task_id: Annotated[int, Query(ge=0, le=MAX_INT)],
              chunk_size: Annotated[int, Query(ge=1, le=100_000)]) -> dict[str, Any]:
    """Tasks not D with id > max_task_id (resume), Jobmon's nine-field rows."""
    with state.db.read() as conn:
        return {"tasks": reads.get_tasks(conn, workflow_id, max_task_id, chunk_size)}


@router.post("/task/get_downstream_tasks")
def get_downstream_tasks(body: DownstreamBody, state: StateDep,
                         client_jobmon_version: str | None = None) -> dict[str, Any]:
    """``{"downstream_tasks": {task_id: [node_id, [downstream node ids]]}}``.

    A client older than Jobmon 3.6 gets each list as a JSON string (null for none), as
    Jobmon's servers send it: its swarm ``json.loads`` them.
    """
    with state.db.read() as conn:
        rows = reads.downstream_tasks(conn, body.task_ids, body.dag_id)
    if _before_3_6(client_jobmon_version):
        rows = {t: [n, json.dumps(down) if down else None] for t, (n, down) in rows.items()}
    return {"downstream_tasks": rows}


def _before_3_6(version: str | None) -> bool:
    """True for a ``client_jobmon_version`` such as ``3.4.8`` (not for none or unparsable)."""
    match = re.match(r"(\d+)\.(\d+)", version or "")
    return match is not None and (int(match[1]), int(match[2])) < (3, 6)


@router.post("/workflow_run/{workflow_run_id}/log_heartbeat")
def log_heartbeat(workflow_run_id: PathId, body: RunHeartbeatBody,
                  state: StateDep) -> dict[str, str]:
    """The swarm is alive; the answer is the server's run status (resume/stop signals)."""
    status = state.db.transact(runs.heartbeat, workflow_run_id, fsm.RunStatus(body.status),
                               body.next_report_increment)
    return {"status": status.value}


@router.put("/workflow_run/{workflow_run_id}/update_status")
def update_status(workflow_run_id: PathId, body: RunStatusBody,
                  state: StateDep) -> dict[str, str]:
    """Run transition; an illegal one answers 200 with the unchanged status."""
    status = state.db.transact(runs.update_status, workflow_run_id, fsm.RunStatus(body.status))
    return {"status": status.value}


@router.post("/workflow_run/{workflow_run_id}/set_status_for_triaging")
def set_status_for_triaging(workflow_run_id: PathId, state: StateDep,
                            body: Empty | None = None) -> dict[str, Any]:
    """Triage the run's overdue instances (R → T, T → U, O → X → E)."""
    state.db.transact(runs.triage, workflow_run_id)
    return {}


@router.put("/workflow_run/{workflow_run_id}/terminate_task_instances")
def terminate_task_instances(workflow_run_id: PathId, state: StateDep,
                             body: Empty | None = None) -> dict[str, Any]:
    """Drain the run: Q → F, I/O → K, R → K unless hot resume."""
    return state.db.transact(runs.terminate, workflow_run_id)


@router.post("/workflow/{workflow_id}/set_resume")
def set_resume(workflow_id: PathId, body: ResumeBody, state: StateDep) -> dict[str, Any]:
    """Active (B/R) run → C (reset_running_jobs) or H."""
    state.db.transact(runs.set_resume, workflow_id, body.reset_running_jobs)
    return {}


@router.get("/workflow/{workflow_id}/get_max_concurrently_running")
def get_max_concurrently_running(workflow_id: PathId, state: StateDep) -> dict[str, int]:
    """The workflow's concurrency limit (0 pauses)."""
    with state.db.read() as conn:
        row = require_row(conn, workflow, workflow_id, "workflow",
                          ("max_concurrently_running",))
    return {"max_concurrently_running": row.max_concurrently_running}


@router.put("/workflow/{workflow_id}/update_max_concurrently_running")
def update_max_concurrently_running(workflow_id: PathId, body: MaxTasksBody,
                                    state: StateDep) -> dict[str, str]:
    """Operator: set the workflow's limit (0 pauses)."""
    return {"message": state.db.transact(reads.set_max_running, workflow_id, body.max_tasks)}


@router.get("/array/{array_id}/get_array_max_concurrently_running")
def get_array_max_concurrently_running(array_id: PathId, state: StateDep) -> dict[str, int]:
    """The array's concurrency limit."""
    with state.db.read() as conn:
        row = require_row(conn, array, array_id, "array", ("max_concurrently_running",))
    return {"max_concurrently_running": row.max_concurrently_running}


@router.post("/array/{array_id}/queue_task_batch")
def queue_task_batch(array_id: PathId, body: QueueBatchBody, state: StateDep) -> dict[str, Any]:
    """G/A tasks → Q with a new instance; ``tasks_by_status`` for every requested id."""
    by_status = state.db.transact(queueing.queue_task_batch, array_id, body.task_ids,
                                  body.task_resources_id, body.workflow_run_id,
                                  body.cluster_id)
    return {"tasks_by_status": by_status}
