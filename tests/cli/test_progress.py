"""Progress bookkeeping (pure), the plain display (non-TTY) and the live display (rich)."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from actors.cli.progress import LiveProgress, NullProgress, PlainProgress, choose_display
from actors.cli.progress_model import ProgressTracker, format_duration, format_snapshot
from messages.orchestrator import ErrorInfo, Progress, RunFinished, RunStatusChanged, TasksChanged
from messages.values import RunStatus, TaskStatus
from tests.cli.helpers import FakeClock, evolve_result, result


def progress(elapsed: float, done: int, *, total: int = 100, failed: int = 0,
             running: int = 4, queued: int = 6, previously: int = 0,
             status: RunStatus = RunStatus.RUNNING) -> Progress:
    pending = max(0, total - done - failed - running - queued)
    return Progress(workflow_run_id=9, run_status=status, total=total, done=done, failed=failed,
                    running=running, queued=queued, pending=pending, elapsed=elapsed,
                    previously_done=previously)


def test_rate_and_eta_from_the_events() -> None:
    t = ProgressTracker()
    assert t.snapshot().rate is None and t.snapshot().eta is None
    t.feed(progress(10.0, 20))
    t.feed(progress(20.0, 40))
    snap = t.snapshot()
    assert (snap.done, snap.running, snap.queued, snap.total) == (40, 4, 6, 100)
    assert snap.rate == 2.0 and snap.eta == 30.0


def test_previously_done_tasks_do_not_count_in_the_rate() -> None:
    t = ProgressTracker()
    t.feed(progress(5.0, 50, previously=50))
    assert t.snapshot().rate == 0.0 and t.snapshot().eta is None
    t.feed(progress(10.0, 60, previously=50))
    assert t.snapshot().rate == 2.0 and t.snapshot().eta == 20.0


def test_the_rate_window_slides() -> None:
    t = ProgressTracker(window=10.0)
    t.feed(progress(0.0, 0))
    t.feed(progress(5.0, 50))   # fast at first
    t.feed(progress(20.0, 51))  # then slow
    t.feed(progress(25.0, 52))
    assert t.snapshot().rate == 0.2


def test_status_changes_and_the_end() -> None:
    t = ProgressTracker()
    assert t.feed(RunStatusChanged(9, RunStatus.RUNNING, RunStatus.LAUNCHED))
    assert not t.feed(RunStatusChanged(9, RunStatus.RUNNING, RunStatus.RUNNING))
    assert not t.feed(TasksChanged(9, ((1, TaskStatus.DONE),)))
    assert not t.snapshot().has_counts
    t.feed(progress(3.0, 100, running=0, queued=0))
    assert t.feed(RunFinished(result()))
    snap = t.snapshot()
    assert snap.finished and snap.run_status is RunStatus.DONE and snap.eta == 0.0


@given(st.lists(st.tuples(st.floats(0, 1e5), st.integers(0, 1000), st.integers(0, 1000)),
                min_size=1, max_size=30))
def test_rate_and_eta_are_never_negative(samples: list[tuple[float, int, int]]) -> None:
    t = ProgressTracker()
    for elapsed, done, failed in sorted(samples):
        t.feed(progress(elapsed, done, failed=failed, total=2000))
    snap = t.snapshot()
    assert snap.rate is None or snap.rate >= 0
    assert snap.eta is None or snap.eta >= 0


def test_format_duration() -> None:
    assert [format_duration(s) for s in (None, 0, 59.4, 61, 3600 + 120)] == [
        "?", "0s", "59s", "1m01s", "1h02m"]


def test_plain_lines_are_rate_limited_on_the_clock() -> None:
    stream, clock = io.StringIO(), FakeClock()
    display = PlainProgress(stream, clock, interval=5.0)
    display.on_event(RunStatusChanged(9, RunStatus.RUNNING, RunStatus.LAUNCHED))
    assert stream.getvalue() == ""  # no counts yet: nothing worth a line
    display.on_event(progress(1.0, 1))
    for i in range(2, 10):
        clock.advance(1.0)
        display.on_event(progress(float(i), i))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines  # at t=100 and t=105
    assert "run R: 1/100 done, 4 running, 6 queued" in lines[0]
    assert "6/100 done" in lines[1] and "tasks/s" in lines[1] and "ETA" in lines[1]


def test_plain_display_always_shows_the_end_once() -> None:
    stream, clock = io.StringIO(), FakeClock()
    display = PlainProgress(stream, clock, interval=5.0)
    display.on_event(progress(1.0, 99, running=1, queued=0))
    display.on_event(progress(1.1, 100, running=0, queued=0))  # within the interval: hidden
    display.on_event(RunFinished(result()))
    display.on_event(RunFinished(result()))
    display.notice("actorswarm: SIGINT: stopping")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert "run D: 2/2 done, 0 running, 0 queued, 0 pending, 0 failed" in lines[1]
    assert "ETA 0s" in lines[1]
    assert lines[2] == "actorswarm: SIGINT: stopping"


def test_format_snapshot_names_every_bucket() -> None:
    t = ProgressTracker()
    t.feed(progress(61.0, 10, failed=2))
    line = format_snapshot(t.snapshot())
    for part in ("1m01s", "run R", "10/100 done", "4 running", "6 queued", "78 pending",
                 "2 failed", "tasks/s", "ETA"):
        assert part in line, line


def test_live_display_renders_counts_rate_and_eta() -> None:
    stream = io.StringIO()
    display = LiveProgress(Console(file=stream, force_terminal=True, width=160))
    display.start()
    display.on_event(progress(10.0, 20, failed=1))
    display.on_event(progress(20.0, 40, failed=1))
    display.notice("a notice line")
    display.close()
    text = stream.getvalue()
    for part in ("run R", "40/100", "4 running", "6 queued", "1 failed", "2.0 tasks/s",
                 "ETA 30s", "a notice line"):
        assert part in text, part


def test_choose_display() -> None:
    stream, clock = io.StringIO(), FakeClock()
    assert isinstance(choose_display("auto", stream, False, clock), PlainProgress)
    assert isinstance(choose_display("auto", stream, True, clock), LiveProgress)
    assert isinstance(choose_display("live", stream, False, clock), LiveProgress)
    assert isinstance(choose_display("plain", stream, True, clock), PlainProgress)
    assert isinstance(choose_display("off", stream, True, clock), NullProgress)


def test_the_end_shows_the_result_counts() -> None:
    t = ProgressTracker()
    t.feed(progress(3.0, 1, total=4))
    res = evolve_result(result(RunStatus.STOPPED, done=(1,), failed=(2,),
                               error=ErrorInfo("RunStopped", "x")),
                        total_tasks=4, task_final_statuses=(
                            (1, TaskStatus.DONE), (2, TaskStatus.ERROR_FATAL),
                            (3, TaskStatus.RUNNING), (4, TaskStatus.LAUNCHED)))
    t.feed(RunFinished(res))
    snap = t.snapshot()
    assert (snap.total, snap.done, snap.failed, snap.running, snap.queued, snap.pending) == (
        4, 1, 1, 1, 1, 0)
    assert snap.run_status is RunStatus.STOPPED and snap.elapsed == 12.5


def test_no_plain_line_before_the_workflow_is_loaded() -> None:
    stream = io.StringIO()
    display = PlainProgress(stream, FakeClock(), interval=5.0)
    display.on_event(progress(0.1, 0, total=0, running=0, queued=0))
    assert stream.getvalue() == ""
    display.on_event(progress(0.2, 0, total=3, running=0, queued=3))
    assert "0/3 done" in stream.getvalue()
