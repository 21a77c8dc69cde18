"""Change notification for the ``task_status_updates`` long poll.

Write transactions (worker threads) → ``ChangeHub.bump(workflow_ids)`` after commit →
waiting long polls (event loop) wake up. With several server processes (PostgreSQL), each
process's hub also receives the other processes' changes from its ``notify.ChangeListener``
(LISTEN/NOTIFY), and ``bump_all`` when notifications may have been missed. The hub also remembers, per workflow, which change
version each answered sync time covered, so a poll that repeats a time it was given only
answers early when something changed after that answer (no busy loop inside one second).

Shutdown: ``close()`` (or ``close_soon()`` from a signal handler) wakes every waiting long
poll at once and lets no new one wait, so SIGTERM/SIGINT stop the server without waiting for
the polls' ``wait`` to end, whether their clients are still there or long gone.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from collections.abc import Iterable

__all__ = ["ChangeHub"]

_REMEMBERED_TIMES = 64


class ChangeHub:
    """Per-workflow change counters with asyncio wake-ups; safe to bump from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[int, int] = {}
        self._waiters: dict[int, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._seen: dict[int, collections.OrderedDict[str, int]] = {}
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once ``close()`` ran: long polls answer at once."""
        return self._closed

    def close(self) -> None:
        """The server is shutting down: wake every waiting long poll, let none wait again."""
        with self._lock:
            self._closed = True
            wake = [entry for entries in self._waiters.values() for entry in entries]
        self._wake(wake)

    def close_soon(self) -> None:
        """``close()`` on a thread of its own: safe from a signal handler, which may have
        interrupted the main thread while it held the hub's lock."""
        threading.Thread(target=self.close, name="changehub-close", daemon=True).start()

    @staticmethod
    def _wake(entries: Iterable[tuple[asyncio.AbstractEventLoop, asyncio.Event]]) -> None:
        for loop, ev in entries:
            try:
                loop.call_soon_threadsafe(ev.set)
            except RuntimeError:  # that loop is closed: nobody is waiting any more
                continue

    def version(self, workflow_id: int) -> int:
        """The current change version of a workflow (0 before any change)."""
        with self._lock:
            return self._versions.get(workflow_id, 0)

    def bump(self, workflow_ids: Iterable[int]) -> None:
        """Record a committed change to these workflows and wake their waiters."""
        with self._lock:
            wake: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
            for wf in set(workflow_ids):
                self._versions[wf] = self._versions.get(wf, 0) + 1
                wake.extend(self._waiters.get(wf, ()))
        self._wake(wake)

    def bump_all(self) -> None:
        """Something may have changed anywhere: bump every workflow with waiters or answers."""
        with self._lock:
            known = set(self._waiters) | set(self._seen) | set(self._versions)
        self.bump(known)

    def remember(self, workflow_id: int, sync_time: str, version: int) -> None:
        """An answer carrying ``sync_time`` covered changes up to ``version``."""
        with self._lock:
            seen = self._seen.setdefault(workflow_id, collections.OrderedDict())
            seen[sync_time] = max(version, seen.get(sync_time, 0))
            seen.move_to_end(sync_time)
            while len(seen) > _REMEMBERED_TIMES:
                seen.popitem(last=False)

    def covered(self, workflow_id: int, sync_time: str) -> int | None:
        """The version an earlier answer with ``sync_time`` covered, if remembered."""
        with self._lock:
            seen = self._seen.get(workflow_id)
            return None if seen is None else seen.get(sync_time)

    async def wait_change(self, workflow_id: int, since: int, timeout: float) -> bool:
        """Wait until the workflow's version exceeds ``since``, ``timeout`` s pass or the hub
        closes; True when the version exceeds ``since``."""
        loop = asyncio.get_running_loop()
        ev = asyncio.Event()
        entry = (loop, ev)
        with self._lock:
            if self._versions.get(workflow_id, 0) > since or self._closed:
                return self._versions.get(workflow_id, 0) > since
            self._waiters.setdefault(workflow_id, set()).add(entry)
        try:
            async with asyncio.timeout(timeout):
                await ev.wait()
        except TimeoutError:
            pass
        finally:
            with self._lock:
                waiters = self._waiters.get(workflow_id)
                if waiters is not None:
                    waiters.discard(entry)
                    if not waiters:
                        del self._waiters[workflow_id]
        return self.version(workflow_id) > since
