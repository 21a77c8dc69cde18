"""One timer thread per node: delayed callbacks on the monotonic clock.

Who uses it: ``Node`` for ask deadlines of non-blocking asks, and actors (through
``Actor.send_after``) for their private timer messages. Callbacks run on the timer thread and
must be short (they put something in a mailbox or fail a future).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable

__all__ = ["TimerHandle", "TimerService"]


class TimerHandle:
    """A scheduled callback; ``cancel()`` prevents it from running if it has not run yet."""

    __slots__ = ("cancelled", "when")

    def __init__(self, when: float) -> None:
        self.when = when
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class TimerService:
    """A heap of (when, seq, handle, callback) served by one daemon thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, name: str = "timers") -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, TimerHandle, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._next_wake = float("inf")
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` on the timer thread at monotonic time ``when``."""
        handle = TimerHandle(when)
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._seq), handle, callback))
            if when < self._next_wake:
                self._cond.notify()
        return handle

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        return self.call_at(self._clock() + max(0.0, delay), callback)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    now = self._clock()
                    if self._heap and self._heap[0][0] <= now:
                        break
                    self._next_wake = self._heap[0][0] if self._heap else float("inf")
                    wait = None if not self._heap else self._next_wake - now
                    self._cond.wait(wait)
                if self._stopped:
                    return
                _, _, handle, callback = heapq.heappop(self._heap)
                self._next_wake = float("-inf")  # we are awake: new timers need no notify
            if not handle.cancelled:
                try:
                    callback()
                except Exception:  # noqa: BLE001 - supervision boundary of the timer thread
                    import logging

                    logging.getLogger(__name__).exception("timer callback failed")
