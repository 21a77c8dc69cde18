"""Orchestrator protocol: commands it accepts and the events it publishes.

Commands (to the orchestrator):
- ``StopRun`` (tell, from the root on Ctrl-C/SIGTERM or an embedding host): end the run now
  with status S; the result reports the reason.
- ``Subscribe`` / ``Unsubscribe`` (tell): add or remove an actor (by name) that receives events.
- ``GetProgress`` (ask) -> ``Progress``; ``GetResult`` (ask) -> ``OrchestratorResult`` or None.
Events (orchestrator -> subscribers, tells):
- ``RunStatusChanged`` when the run's status changes; ``TasksChanged`` with task status changes
  (batched per sync); ``Progress`` at most every second while anything changes;
  ``RunFinished`` once, with the ``OrchestratorResult``.
"""

from __future__ import annotations

import attrs

from messages.codec import message
from messages.values import RunStatus, TaskStatus

__all__ = [
    "ErrorInfo",
    "GetProgress",
    "GetResult",
    "OrchestratorResult",
    "Progress",
    "RunFinished",
    "RunStatusChanged",
    "StopRun",
    "Subscribe",
    "TasksChanged",
    "Unsubscribe",
]


@message("orchestrator.ErrorInfo")
@attrs.frozen
class ErrorInfo:
    """Why a run did not end D: the error class name (``actors.errors``) and a message."""

    type: str
    message: str


def _short(ids: tuple[object, ...]) -> str:
    return f"<{len(ids)} entries>" if len(ids) > 8 else repr(ids)


@message("orchestrator.OrchestratorResult")
@attrs.frozen
class OrchestratorResult:
    """The frozen outcome of one workflow run (Jobmon's fields, plus ids and restarts)."""

    final_status: RunStatus
    elapsed_time: float
    total_tasks: int
    done_count: int
    failed_count: int
    num_previously_complete: int
    task_final_statuses: tuple[tuple[int, TaskStatus], ...] = attrs.field(repr=_short)
    done_task_ids: tuple[int, ...] = attrs.field(repr=_short)
    failed_task_ids: tuple[int, ...] = attrs.field(repr=_short)
    error: ErrorInfo | None
    workflow_id: int = 0
    workflow_run_id: int = 0


@message("orchestrator.StopRun")
@attrs.frozen
class StopRun:
    """Root/host -> orchestrator: stop the run now (status S); ``reason`` goes in the result."""

    reason: str = "interrupted"


@message("orchestrator.Subscribe")
@attrs.frozen
class Subscribe:
    """Anyone -> orchestrator: send run events to the actor named ``name``."""

    name: str


@message("orchestrator.Unsubscribe")
@attrs.frozen
class Unsubscribe:
    """Anyone -> orchestrator: stop sending events to ``name``."""

    name: str


@message("orchestrator.GetProgress")
@attrs.frozen
class GetProgress:
    """Anyone -> orchestrator (ask): reply with the current ``Progress``."""


@message("orchestrator.GetResult")
@attrs.frozen
class GetResult:
    """Anyone -> orchestrator (ask): reply with the ``OrchestratorResult`` once finished, else None."""


@message("orchestrator.Progress")
@attrs.frozen
class Progress:
    """Orchestrator -> subscribers: counts by bucket and the run's pace."""

    workflow_run_id: int
    run_status: RunStatus
    total: int
    done: int
    failed: int
    running: int
    queued: int
    pending: int
    elapsed: float
    previously_done: int = 0


@message("orchestrator.RunStatusChanged")
@attrs.frozen
class RunStatusChanged:
    """Orchestrator -> subscribers: the run moved from ``previous`` to ``status``."""

    workflow_run_id: int
    status: RunStatus
    previous: RunStatus


@message("orchestrator.TasksChanged")
@attrs.frozen
class TasksChanged:
    """Orchestrator -> subscribers: task status changes applied in one step. Every task it
    queues is listed Q once per attempt, before any later status of that attempt (also when a
    sync showed the later status before the queue answer came)."""

    workflow_run_id: int
    changes: tuple[tuple[int, TaskStatus], ...]


@message("orchestrator.RunFinished")
@attrs.frozen
class RunFinished:
    """Orchestrator -> subscribers: the run is over; ``result`` is final."""

    result: OrchestratorResult
