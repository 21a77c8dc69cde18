"""Our distributor routes, batched: started, claim, launched, heartbeat, results.

Distributor process of one run → these routes → ``ops.runs`` / ``ops.queueing`` /
``ops.work``. Every route takes many instances per request.

A claim may wait: with ``wait`` (seconds, at most ``MAX_CLAIM_WAIT``) a claim that finds
nothing to hand out waits until the run's workflow changes (the long-poll hub: a queued batch
wakes it) and tries once more, instead of the distributor sleeping its idle pause and asking
again; ``started`` answers ``claim_wait: true`` so a distributor knows it may send it.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
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
from actors.server.ops.common import require_row
from actors.server.routes.deps import PathId, StateDep
from actors.server.schema import workflow_run
from actors.server.state import ServerState

__all__ = ["router"]

router = APIRouter()


def _statuses(after: dict[int, fsm.InstanceStatus]) -> dict[str, Any]:
    return {"task_instances": {str(k): v.value for k, v in after.items()}}


@router.post("/distributor/{workflow_run_id}/started")
def started(workflow_run_id: PathId, state: StateDep,
            body: Empty | None = None) -> dict[str, Any]:
    """The distributor is up: run B → I. ``claim_wait``: claims may carry ``wait``."""
    return {"status": state.db.transact(runs.distributor_started, workflow_run_id).value,
            "claim_wait": True}


def _workflow_of(state: ServerState, wfr_id: int) -> int:
    with state.db.read() as conn:
        return int(require_row(conn, workflow_run, wfr_id, "workflow run",
                               ("id", "workflow_id")).workflow_id)


@router.post("/distributor/{workflow_run_id}/claim")
async def claim(workflow_run_id: PathId, body: ClaimBody, state: StateDep) -> dict[str, Any]:
    """Up to ``max`` oldest Q instances of the run, moved to I; with ``wait``, when there are
    none, once more after the workflow changed (or the wait ended)."""
    def attempt() -> dict[str, Any]:
        return state.db.transact(queueing.claim, workflow_run_id, body.max,
                                 body.include_unlaunched)

    if not body.wait or body.max <= 0:
        return await anyio.to_thread.run_sync(attempt)
    workflow_id = await anyio.to_thread.run_sync(_workflow_of, state, workflow_run_id)
    version = state.hub.version(workflow_id)  # before the claim: no change slips between
    answer = await anyio.to_thread.run_sync(attempt)
    if answer["task_instances"] or answer["run_status"] not in fsm.CLAIMABLE_RUN_STATUSES:
        return answer
    if await state.hub.wait_change(workflow_id, version, body.wait):
        answer = await anyio.to_thread.run_sync(attempt)
    return answer


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
