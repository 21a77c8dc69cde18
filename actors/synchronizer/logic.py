"""The synchronizer's plan (pure; no I/O, no clock): what each sync round asks, what it reports.

Who uses it: the synchronizer actor. Each round it calls ``plan_round`` and runs the plan's four
legs concurrently through the gateway: triage (set_status_for_triaging), the status delta
(task_status_updates, full or incremental, long-polling when the server supports it), the
workflow limit and the array limits. It hands what came back (``RoundResult``; a failed leg is a
``LegFailure``) to ``apply_round`` and sends the effects to the orchestrator:

- ``TaskChanges``: task statuses that changed (``full``: from a full sync, all of them);
- ``WorkflowLimitChanged`` / ``ArrayLimitsChanged``: limits that differ from the last ones sent;
- ``LegFailed``: a leg failed; the other legs' results are kept, the round goes on.

Rules: the first round, a forced round (the orchestrator asked) and every round
``wedged_interval`` seconds after the last successful full sync are full (no ``last_sync``: a
status changed without a timestamp bump is still seen). The server's time becomes the next
``last_sync`` only when the status leg succeeded: its exact ``cursor`` when it sent one (our
server on SQLite: the next round gets only newer changes), else its ``time``. Updates are
inclusive (at 1 s resolution without a cursor), so the same update can come twice: an
incremental round drops entries equal to what the previous response said (``window``); a full
round reports everything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs

from actors.errors import ConfigError
from messages.values import ArrayId, TaskId, TaskStatus

__all__ = [
    "MAX_LONG_POLL_WAIT",
    "ArrayLimitsChanged",
    "LegFailed",
    "LegFailure",
    "RoundResult",
    "StatusDelta",
    "SyncConfig",
    "SyncEffect",
    "SyncPlan",
    "SyncState",
    "TaskChanges",
    "WorkflowLimitChanged",
    "apply_round",
    "next_round_delay",
    "on_features",
    "plan_round",
    "request_full",
]

#: The longest wait our server accepts in task_status_updates.
MAX_LONG_POLL_WAIT = 60.0


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    """attrs validator: a finite number above 0, else a ConfigError naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"synchronizer {attribute.name}: expected a number above 0, "
                          f"got {value!r}")


@attrs.frozen
class SyncConfig:
    """Sync timing: full-sync period (Jobmon: 600 s), poll period, long-poll wait (<= 60 s)."""

    wedged_interval: float = attrs.field(default=600.0, validator=_positive)
    poll_interval: float = attrs.field(default=1.0, validator=_positive)
    long_poll_wait: float = attrs.field(default=10.0, validator=_positive)


@attrs.frozen
class SyncPlan:
    """One round: a full or incremental status delta (``wait``: long-poll seconds or None)."""

    full: bool
    last_sync: str | None
    wait: float | None
    arrays: tuple[ArrayId, ...]


@attrs.frozen
class StatusDelta:
    """A successful status leg: task ids by status, the server's time and, from our server,
    the exact cursor to sync from next."""

    tasks_by_status: Mapping[TaskStatus, Sequence[TaskId]] = attrs.field(eq=False)
    time: str
    cursor: str | None = None

    @property
    def next_sync(self) -> str:
        """The next round's ``last_sync``: the cursor when there is one, else the time."""
        return self.cursor if self.cursor is not None else self.time


@attrs.frozen
class LegFailure:
    """A failed leg: the error's class name and message."""

    error_type: str
    message: str


@attrs.frozen
class RoundResult:
    """What each leg returned (a LegFailure when it failed)."""

    triage: LegFailure | None
    status: StatusDelta | LegFailure
    workflow_limit: int | LegFailure
    array_limits: Mapping[ArrayId, int | LegFailure] = attrs.field(factory=dict, eq=False)


@attrs.frozen
class TaskChanges:
    """Effect: synchronizer -> orchestrator: statuses that changed (all of them if ``full``)."""

    changes: Mapping[TaskId, TaskStatus] = attrs.field(eq=False)
    full: bool
    server_time: str


@attrs.frozen
class WorkflowLimitChanged:
    """Effect: synchronizer -> orchestrator: the workflow's max_concurrently_running."""

    limit: int


@attrs.frozen
class ArrayLimitsChanged:
    """Effect: synchronizer -> orchestrator: arrays whose max_concurrently_running changed."""

    limits: Mapping[ArrayId, int] = attrs.field(eq=False)


@attrs.frozen
class LegFailed:
    """Effect: a leg failed this round (``leg``: triage, status, workflow_limit, array N)."""

    leg: str
    failure: LegFailure


SyncEffect = TaskChanges | WorkflowLimitChanged | ArrayLimitsChanged | LegFailed


@attrs.frozen
class SyncState:
    """What the synchronizer remembers between rounds."""

    arrays: tuple[ArrayId, ...] = ()
    last_sync: str | None = None          #: server time of the last successful status leg
    last_full_at: float | None = None     #: monotonic time of the last successful full sync
    full_requested: bool = False          #: the orchestrator asked for a full sync
    long_poll: bool = False               #: the server supports ``wait``
    window: Mapping[TaskId, TaskStatus] = attrs.field(factory=dict, eq=False)
    window_time: str | None = None        #: server time of the response(s) in ``window``
    workflow_limit: int | None = None     #: last limit sent to the orchestrator
    array_limits: Mapping[ArrayId, int] = attrs.field(factory=dict, eq=False)


def on_features(state: SyncState, long_poll: bool) -> SyncState:
    """What GET /features said (a Jobmon server: 404, so ``long_poll=False``)."""
    return attrs.evolve(state, long_poll=long_poll)


def request_full(state: SyncState) -> SyncState:
    """The orchestrator asked for a full sync: the next round is full."""
    return attrs.evolve(state, full_requested=True)


def _full_due(state: SyncState, config: SyncConfig, now: float) -> bool:
    return (state.full_requested or state.last_sync is None or state.last_full_at is None
            or now - state.last_full_at >= config.wedged_interval)


def plan_round(state: SyncState, config: SyncConfig, now: float) -> SyncPlan:
    """The next round: full when due, else incremental from ``last_sync`` (long-polled)."""
    full = _full_due(state, config, now)
    wait = None
    if state.long_poll and not full and state.last_full_at is not None:
        until_full = state.last_full_at + config.wedged_interval - now
        wait = max(0.0, min(config.long_poll_wait, MAX_LONG_POLL_WAIT, until_full))
    return SyncPlan(full=full, last_sync=None if full else state.last_sync, wait=wait,
                    arrays=state.arrays)


def next_round_delay(state: SyncState, config: SyncConfig, result: RoundResult | None) -> float:
    """Seconds to wait before the next round: none after a long poll that worked."""
    if state.long_poll and result is not None and isinstance(result.status, StatusDelta):
        return 0.0
    return config.poll_interval


def _status(state: SyncState, plan: SyncPlan, delta: StatusDelta, now: float
            ) -> tuple[SyncState, TaskChanges | None]:
    """Dedupe the status leg against the previous response and advance ``last_sync``."""
    window = state.window if not plan.full else {}
    mark = delta.next_sync
    seen: dict[TaskId, TaskStatus] = dict(window) if mark == state.window_time else {}
    changes: dict[TaskId, TaskStatus] = {}
    for status, ids in delta.tasks_by_status.items():
        status = TaskStatus(status)
        for task_id in ids:
            if window.get(task_id) is not status:
                changes[task_id] = status
            seen[task_id] = status
    state = attrs.evolve(state, last_sync=mark, window=seen, window_time=mark)
    if plan.full:
        state = attrs.evolve(state, last_full_at=now, full_requested=False)
    effect = (TaskChanges(changes=changes, full=plan.full, server_time=delta.time)
              if changes or plan.full else None)
    return state, effect


def apply_round(state: SyncState, plan: SyncPlan, result: RoundResult,
                now: float) -> tuple[SyncState, tuple[SyncEffect, ...]]:
    """Fold one round's legs into the state; each leg counts on its own."""
    effects: list[SyncEffect] = []
    if result.triage is not None:
        effects.append(LegFailed("triage", result.triage))
    if isinstance(result.status, StatusDelta):
        state, changed = _status(state, plan, result.status, now)
        if changed is not None:
            effects.append(changed)
    else:
        effects.append(LegFailed("status", result.status))
    if isinstance(result.workflow_limit, LegFailure):
        effects.append(LegFailed("workflow_limit", result.workflow_limit))
    elif result.workflow_limit != state.workflow_limit:
        state = attrs.evolve(state, workflow_limit=result.workflow_limit)
        effects.append(WorkflowLimitChanged(result.workflow_limit))
    limits = dict(state.array_limits)
    changed_limits: dict[ArrayId, int] = {}
    for array_id, limit in result.array_limits.items():
        if isinstance(limit, LegFailure):
            effects.append(LegFailed(f"array {array_id}", limit))
        elif limits.get(array_id) != limit:
            limits[array_id] = changed_limits[array_id] = limit
    if changed_limits:
        state = attrs.evolve(state, array_limits=limits)
        effects.append(ArrayLimitsChanged(changed_limits))
    return state, tuple(effects)
