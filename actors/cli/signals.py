"""SIGINT/SIGTERM during a run: ask nothing, set the stop event, say so once.

``run``/``resume`` wrap ``run_workflow`` in ``stop_on_signals(stop, notice)`` on the main
thread. The first signal sets ``stop`` (the composition root then stops the run cleanly, status
S) and calls ``notice`` with a line saying so; any further signal only says the run is already
stopping. The previous handlers are restored on exit.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

import attrs

__all__ = ["SignalLog", "stop_on_signals"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@attrs.define
class SignalLog:
    """The names of the signals received, in order."""

    received: list[str] = attrs.Factory(list)


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event, notice: Callable[[str], None],
                    signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> Iterator[SignalLog]:
    """Handle ``signals`` by setting ``stop`` while the block runs (main thread only)."""
    log = SignalLog()
    if threading.current_thread() is not threading.main_thread():
        yield log
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        log.received.append(name)
        if stop.is_set():
            notice(f"actorswarm: {name}: already stopping the run, please wait")
            return
        stop.set()
        notice(f"actorswarm: {name}: stopping the run cleanly (it will end with status S)")

    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield log
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
