"""Our distributor routes, batched: started, claim, launched, heartbeat, results.

Distributor process of one run → these routes → ``ops.runs`` / ``ops.queueing`` /
``ops.work``. Every route takes many instances per request.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from actors.server import fsm
from actors.server.models import (
    ClaimBody,
    DistributorHeartbeatBody,
    Empty,
    LaunchedBody,
    ResultsBody,
)
from actors.server.ops import queueing, runs, work
from actors.server.routes.deps import PathId, StateDep

__all__ = ["router"]

router = APIRouter()


def _statuses(after: dict[int, fsm.InstanceStatus]) -> dict[str, Any]:
    return {"task_instances": {str(k): v.value for k, v in after.items()}}


@router.post("/distributor/{workflow_run_id}/started")
def started(workflow_run_id: PathId, state: StateDep,
            body: Empty | None = None) -> dict[str, str]:
    """The distributor is up: run B → I."""
    return {"status": state.db.transact(runs.distributor_started, workflow_run_id).value}


@router.post("/distributor/{workflow_run_id}/claim")
def claim(workflow_run_id: PathId, body: ClaimBody, state: StateDep) -> dict[str, Any]:
    """Up to ``max`` oldest Q instances of the run, moved to I."""
    return state.db.transact(queueing.claim, workflow_run_id, body.max,
                            body.include_unlaunched)


@router.post("/distributor/{workflow_run_id}/launched")
def launched(workflow_run_id: PathId, body: LaunchedBody, state: StateDep) -> dict[str, Any]:
    """I → O with distributor ids (null: I → W); the run I → O."""
    after = state.db.transact(work.launched, workflow_run_id, body.task_instances,
                              body.next_report_increment)
    return _statuses(after)


@router.post("/distributor/{workflow_run_id}/heartbeat")
def heartbeat(workflow_run_id: PathId, body: DistributorHeartbeatBody,
              state: StateDep) -> dict[str, Any]:
    """Extend report-by of listed O/R instances; answer run status, K and T instances."""
    return state.db.transact(work.distributor_heartbeat, workflow_run_id,
                             body.task_instance_ids, body.next_report_increment)


@router.post("/distributor/{workflow_run_id}/results")
def results(workflow_run_id: PathId, body: ResultsBody, state: StateDep) -> dict[str, Any]:
    """Outcomes learned by the backend (R, D, E, Z, U, F); repeats are no-ops."""
    items = [(r.task_instance_id, fsm.InstanceStatus(r.status), r.error_message, r.exit_code)
             for r in body.results]
    after = state.db.transact(work.results, workflow_run_id, items)
    return _statuses(after)
