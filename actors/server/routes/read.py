"""Read routes for the CLI's ``status`` and ``logs`` commands."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from actors.server.ops import reads
from actors.server.routes.deps import PathId, StateDep

__all__ = ["router"]

router = APIRouter()


@router.get("/workflows")
def workflows(state: StateDep) -> dict[str, Any]:
    """Summaries of every workflow."""
    with state.db.read() as conn:
        return {"workflows": reads.workflow_summaries(conn)}


@router.get("/workflow/{workflow_id}/status")
def workflow_status(workflow_id: PathId, state: StateDep) -> dict[str, Any]:
    """One workflow's summary: task counts, buckets, runs."""
    with state.db.read() as conn:
        return reads.workflow_summaries(conn, workflow_id)[0]


@router.get("/workflow/{workflow_id}/task_instances")
def task_instances(workflow_id: PathId, state: StateDep,
                   task_name: Annotated[str | None,
                                        Query(max_length=255, pattern=r"^[^\x00]+$")] = None
                   ) -> dict[str, Any]:
    """Instances of the workflow (or of one task by name), oldest first."""
    with state.db.read() as conn:
        return {"task_instances": reads.task_instances(conn, workflow_id, task_name)}
