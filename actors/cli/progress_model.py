"""Pure progress bookkeeping: the latest counts, the completion rate and the ETA.

Fed by the progress displays (``actors.cli.progress``) with the orchestrator's events
(``messages.orchestrator.Progress`` / ``RunStatusChanged`` / ``RunFinished``), which the
composition root hands to the CLI's ``on_event`` callback. No clock is read here: the rate is
computed from the ``elapsed`` field the orchestrator puts in each ``Progress``, over a sliding
window, so the same events always give the same numbers.
"""

from __future__ import annotations

import collections
import math

import attrs

from messages.orchestrator import OrchestratorResult, Progress, RunFinished, RunStatusChanged
from messages.values import RunStatus, TaskStatus

__all__ = ["ProgressSnapshot", "ProgressTracker", "format_duration", "format_rate",
           "format_snapshot"]

#: Seconds of history the rate is computed over.
RATE_WINDOW = 30.0


@attrs.frozen
class ProgressSnapshot:
    """What a display shows at one moment; ``rate`` (tasks/s) and ``eta`` (s) may be unknown.

    ``has_counts`` is False until a ``Progress`` with the workflow loaded (total > 0) arrived.
    """

    run_status: RunStatus | None
    total: int
    done: int
    failed: int
    running: int
    queued: int
    pending: int
    elapsed: float
    rate: float | None
    eta: float | None
    finished: bool
    has_counts: bool = True

    @property
    def completed(self) -> int:
        """Tasks in a final state (done or failed)."""
        return self.done + self.failed


class ProgressTracker:
    """Keeps the latest counts and a window of (elapsed, completed) samples."""

    def __init__(self, window: float = RATE_WINDOW) -> None:
        self._window = window
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self._last: Progress | None = None
        self._status: RunStatus | None = None
        self._finished = False

    def feed(self, event: object) -> bool:
        """Take one event; True when it changed what a display shows."""
        if isinstance(event, Progress):
            self._last = event
            self._status = event.run_status
            completed = event.done + event.failed - event.previously_done
            if self._samples and event.elapsed < self._samples[-1][0]:
                self._samples.clear()  # a new run (resume) restarted the clock
            self._samples.append((event.elapsed, completed))
            while len(self._samples) > 2 and event.elapsed - self._samples[0][0] > self._window:
                self._samples.popleft()
            return True
        if isinstance(event, RunStatusChanged):
            changed = event.status != self._status
            self._status = event.status
            return changed
        if isinstance(event, RunFinished):
            self._last = _final_counts(event.result, self._last)
            self._status = event.result.final_status
            self._finished = True
            return True
        return False

    def _rate(self) -> float | None:
        if not self._samples:
            return None
        t1, c1 = self._samples[-1]
        t0, c0 = self._samples[0]
        if t1 - t0 > 1e-9 and len(self._samples) > 1:
            return max(0.0, (c1 - c0) / (t1 - t0))
        return c1 / t1 if t1 > 1e-9 else None

    def snapshot(self) -> ProgressSnapshot:
        """The current view (zeros before the first ``Progress``)."""
        p = self._last
        rate = self._rate()
        remaining = (p.total - p.done - p.failed) if p is not None else 0
        eta: float | None = None
        if p is not None and remaining <= 0:
            eta = 0.0
        elif rate is not None and rate > 0:
            eta = remaining / rate
        return ProgressSnapshot(
            run_status=self._status,
            total=p.total if p else 0, done=p.done if p else 0, failed=p.failed if p else 0,
            running=p.running if p else 0, queued=p.queued if p else 0,
            pending=p.pending if p else 0, elapsed=p.elapsed if p else 0.0,
            rate=rate, eta=eta, finished=self._finished,
            has_counts=p is not None and p.total > 0)


_RUNNING = frozenset({TaskStatus.RUNNING})
_QUEUED = frozenset({TaskStatus.QUEUED, TaskStatus.INSTANTIATING, TaskStatus.LAUNCHED})


def _final_counts(result: OrchestratorResult, last: Progress | None) -> Progress:
    """The counts of the final result, in the shape of a ``Progress``."""
    statuses = [status for _, status in result.task_final_statuses]
    running = sum(1 for s in statuses if s in _RUNNING)
    queued = sum(1 for s in statuses if s in _QUEUED)
    pending = max(0, result.total_tasks - result.done_count - result.failed_count - running
                  - queued)
    elapsed = max(result.elapsed_time, last.elapsed if last is not None else 0.0)
    return Progress(result.workflow_run_id, result.final_status, result.total_tasks,
                    result.done_count, result.failed_count, running, queued, pending, elapsed,
                    result.num_previously_complete)


def format_duration(seconds: float | None) -> str:
    """``"?"`` for unknown, else ``"45s"``, ``"3m05s"``, ``"2h01m"``."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def format_rate(rate: float | None) -> str:
    """``"?"`` or ``"12.3 tasks/s"``."""
    return "?" if rate is None else f"{rate:.1f} tasks/s"


def format_snapshot(snap: ProgressSnapshot) -> str:
    """One log line: status, counts by bucket, rate and ETA."""
    status = snap.run_status.value if snap.run_status is not None else "-"
    return (f"[{format_duration(snap.elapsed):>6}] run {status}: {snap.done}/{snap.total} done, "
            f"{snap.running} running, {snap.queued} queued, {snap.pending} pending, "
            f"{snap.failed} failed | {format_rate(snap.rate)} | "
            f"ETA {format_duration(snap.eta)}")
