"""The distributor's bookkeeping (pure; no I/O; time passed in from an injected clock).

``Tracker`` maps the instances this distributor launched and has not yet seen end to their
distributor ids. ``Pacer`` decides when the next distributor heartbeat is due and how long the
loop sleeps when idle (growing from ``min_idle`` to ``max_idle``, back to zero when busy).
``plan_heartbeat`` turns a heartbeat answer into the backend calls and reports it implies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from actors.distributor.backend import DistributorId, Outcome, Reporter
from messages.values import TaskInstanceId, TaskInstanceStatus

__all__ = ["HeartbeatPlan", "Pacer", "Tracker", "plan_heartbeat", "triage_reports"]


@attrs.define
class Tracker:
    """Launched, unfinished instances: task instance id ↔ distributor id."""

    _by_ti: dict[TaskInstanceId, DistributorId] = attrs.field(factory=dict)
    _by_did: dict[DistributorId, TaskInstanceId] = attrs.field(factory=dict)

    def add(self, ti: TaskInstanceId, did: DistributorId) -> None:
        """Record a launched instance."""
        self._by_ti[ti] = did
        self._by_did[did] = ti

    def forget(self, ti: TaskInstanceId) -> None:
        """The instance ended; stop tracking it."""
        did = self._by_ti.pop(ti, None)
        if did is not None:
            self._by_did.pop(did, None)

    def did(self, ti: TaskInstanceId) -> DistributorId | None:
        """The distributor id of ``ti``, or None if not tracked."""
        return self._by_ti.get(ti)

    def ti(self, did: DistributorId) -> TaskInstanceId | None:
        """The task instance id launched as ``did``, or None if not tracked."""
        return self._by_did.get(did)

    def active(self) -> list[TaskInstanceId]:
        """Tracked instance ids, oldest first."""
        return list(self._by_ti)

    def __len__(self) -> int:
        return len(self._by_ti)

    def absorb(self, outcomes: Iterable[Outcome]) -> list[Outcome]:
        """Forget instances with final outcomes; return the outcomes the distributor reports."""
        to_report = []
        for outcome in outcomes:
            if outcome.final:
                self.forget(outcome.task_instance_id)
            if outcome.reporter is Reporter.DISTRIBUTOR:
                to_report.append(outcome)
        return to_report


@attrs.define
class Pacer:
    """Heartbeat schedule and idle backoff of the distributor loop."""

    heartbeat_interval: float
    min_idle: float = 0.01
    max_idle: float = 0.25
    next_heartbeat: float = 0.0
    idle: float = 0.0

    def heartbeat_due(self, now: float) -> bool:
        """Whether a distributor heartbeat should be sent at ``now``."""
        return now >= self.next_heartbeat

    def heartbeat_sent(self, now: float) -> None:
        """Schedule the next heartbeat one interval after ``now``."""
        self.next_heartbeat = now + self.heartbeat_interval

    def pause(self, busy: bool) -> float:
        """Seconds to sleep after a tick: none when busy, else a growing backoff."""
        if busy:
            self.idle = 0.0
        else:
            self.idle = min(self.max_idle, max(self.min_idle, self.idle * 2))
        return self.idle


@attrs.frozen
class HeartbeatPlan:
    """What a heartbeat answer asks of the distributor."""

    kill: tuple[DistributorId, ...]
    check_alive: tuple[DistributorId, ...]
    reports: tuple[Outcome, ...]


def plan_heartbeat(tracker: Tracker, kill_self: Sequence[TaskInstanceId],
                   triaging: Sequence[TaskInstanceId]) -> HeartbeatPlan:
    """Kill tracked K instances; F for untracked ones; triage tracked T, U for untracked."""
    kill: list[DistributorId] = []
    check: list[DistributorId] = []
    reports: list[Outcome] = []
    for ti in kill_self:
        did = tracker.did(ti)
        if did is None:
            reports.append(Outcome(ti, DistributorId(""), TaskInstanceStatus.ERROR_FATAL,
                                   "killed on KILL_SELF (not running on this distributor)"))
        else:
            kill.append(did)
    for ti in triaging:
        did = tracker.did(ti)
        if did is None:
            reports.append(Outcome(ti, DistributorId(""), TaskInstanceStatus.UNKNOWN_ERROR,
                                   "missed its report-by and is not running on this "
                                   "distributor"))
        else:
            check.append(did)
    return HeartbeatPlan(tuple(kill), tuple(check), tuple(reports))


def triage_reports(tracker: Tracker, alive: dict[DistributorId, bool]) -> list[Outcome]:
    """R for triaged instances still alive (dead ones end through the backend's poll)."""
    out = []
    for did, is_alive in alive.items():
        ti = tracker.ti(did)
        if is_alive and ti is not None:
            out.append(Outcome(ti, did, TaskInstanceStatus.RUNNING))
    return out
