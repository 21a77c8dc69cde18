"""Progress displays of ``run``/``resume``: live (rich) on a terminal, log lines otherwise.

The composition root calls ``display.on_event(event)`` (through ``RunRequest.on_event``) on one
of its threads with the orchestrator's ``Progress`` / ``RunStatusChanged`` / ``TasksChanged`` /
``RunFinished`` events; the CLI's signal handler calls ``display.notice(text)`` on the main
thread. Displays are thread-safe and write to stderr, so ``--json -`` keeps stdout clean.

- ``PlainProgress``: one line per change, at most one every ``interval`` seconds (measured on
  the injected monotonic clock), and always one when the run finishes.
- ``LiveProgress``: a rich progress bar with done/total, running, queued, failed, rate, ETA.
- ``NullProgress``: shows nothing (``--progress off``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn
from rich.progress import Progress as RichProgress

from actors.cli.progress_model import (
    ProgressSnapshot,
    ProgressTracker,
    format_duration,
    format_rate,
    format_snapshot,
)

__all__ = [
    "PLAIN_INTERVAL",
    "LiveProgress",
    "NullProgress",
    "PlainProgress",
    "ProgressDisplay",
    "choose_display",
]

#: Least seconds between two plain progress lines.
PLAIN_INTERVAL = 5.0


class ProgressDisplay(Protocol):
    """What ``run`` needs of a display."""

    def start(self) -> None: ...

    def on_event(self, event: object) -> None: ...

    def notice(self, text: str) -> None: ...

    def close(self) -> None: ...


class NullProgress:
    """Shows no progress; notices still reach stderr."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def start(self) -> None:
        pass

    def on_event(self, event: object) -> None:
        pass

    def notice(self, text: str) -> None:
        self._stream.write(text + "\n")
        self._stream.flush()

    def close(self) -> None:
        pass


class PlainProgress:
    """Log lines on ``stream``, rate-limited to one per ``interval`` seconds of ``clock``."""

    def __init__(self, stream: TextIO, clock: Callable[[], float],
                 interval: float = PLAIN_INTERVAL) -> None:
        self._stream = stream
        self._clock = clock
        self._interval = interval
        self._tracker = ProgressTracker()
        self._lock = threading.Lock()
        self._last_line_at: float | None = None
        self._finished_shown = False

    def start(self) -> None:
        pass

    def on_event(self, event: object) -> None:
        with self._lock:
            if not self._tracker.feed(event):
                return
            snap = self._tracker.snapshot()
            now = self._clock()
            if not (snap.has_counts or snap.finished):
                return  # a status change before the first counts: nothing worth a line yet
            if snap.finished:
                if self._finished_shown:
                    return
                self._finished_shown = True
            elif self._last_line_at is not None and now - self._last_line_at < self._interval:
                return
            self._last_line_at = now
            self._write(format_snapshot(snap))

    def notice(self, text: str) -> None:
        with self._lock:
            self._write(text)

    def _write(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()

    def close(self) -> None:
        pass


def _status(snap: ProgressSnapshot) -> str:
    return snap.run_status.value if snap.run_status is not None else "-"


def _counts(snap: ProgressSnapshot) -> str:
    return f"{snap.running} running, {snap.queued} queued, {snap.failed} failed"


class LiveProgress:
    """A rich progress bar on ``console`` (refreshed by rich's own thread while started)."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._tracker = ProgressTracker()
        self._lock = threading.Lock()
        self._bar = RichProgress(
            SpinnerColumn(), TextColumn("run {task.fields[status]}"), BarColumn(),
            MofNCompleteColumn(), TextColumn("done · {task.fields[counts]}"),
            TextColumn("· {task.fields[rate]} · ETA {task.fields[eta]}"),
            console=console, refresh_per_second=4, transient=False)
        snap = self._tracker.snapshot()
        self._task = self._bar.add_task("run", total=None, status=_status(snap),
                                        counts=_counts(snap), rate=format_rate(snap.rate),
                                        eta=format_duration(snap.eta))

    def start(self) -> None:
        self._bar.start()

    def on_event(self, event: object) -> None:
        with self._lock:
            if not self._tracker.feed(event):
                return
            snap = self._tracker.snapshot()
            self._bar.update(self._task, total=snap.total or None, completed=snap.done,
                             status=_status(snap), counts=_counts(snap),
                             rate=format_rate(snap.rate), eta=format_duration(snap.eta))

    def notice(self, text: str) -> None:
        self._console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        self._bar.refresh()
        self._bar.stop()


def choose_display(mode: str, stream: TextIO, is_terminal: bool,
                   clock: Callable[[], float]) -> ProgressDisplay:
    """``mode`` is ``auto`` (live on a terminal, else plain), ``live``, ``plain`` or ``off``."""
    if mode == "off":
        return NullProgress(stream)
    if mode == "live" or (mode == "auto" and is_terminal):
        return LiveProgress(Console(file=stream, force_terminal=mode == "live" or None))
    return PlainProgress(stream, clock)
