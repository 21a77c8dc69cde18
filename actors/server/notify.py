"""Change notification between server processes on PostgreSQL: LISTEN/NOTIFY.

A write transaction that changed tasks or runs of some workflows sends, before it commits,
``pg_notify('actorswarm_change', '<sender>:<wf>,<wf>,...')``; PostgreSQL delivers it only if
the transaction commits. Every server process (every ``Database`` with a listener) runs one
``ChangeListener`` thread on its own connection (``LISTEN actorswarm_change``) that hands the
workflow ids of the *other* senders' changes to its long-poll hub (its own changes reach the
hub directly after commit). ``sender`` is a random token per ``Database``, unique across
processes and hosts. After (re)connecting, notifications may have been missed, so
``on_gap`` wakes every waiter, which then re-reads the database. Losing the connection never
loses data: a woken or timed-out long poll re-reads the database, and the sync's inclusive
window repeats changes.

Chosen over polling a change counter: no extra writes on the hot path (a counter row per
workflow would serialise every write of that workflow), and wake-ups in milliseconds.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["CHANNEL", "ChangeListener", "new_sender", "notify_payloads", "parse_payload"]

CHANNEL = "actorswarm_change"
_MAX_PAYLOAD = 7000  # PostgreSQL refuses payloads of 8000 bytes and more
log = logging.getLogger(__name__)

ConnectArgs = Callable[[], tuple[Any, dict[str, Any]]]


def new_sender() -> str:
    """A random sender token (one per ``Database``, i.e. per app and process)."""
    return secrets.token_hex(8)


def notify_payloads(sender: str, workflow_ids: Iterable[int]) -> Iterator[dict[str, str]]:
    """Bind parameters of the ``pg_notify`` calls announcing changes to ``workflow_ids``."""
    prefix = f"{sender}:"
    part: list[str] = []
    size = len(prefix)
    for wf in sorted(set(workflow_ids)):
        item = str(wf)
        if part and size + len(item) + 1 > _MAX_PAYLOAD:
            yield {"channel": CHANNEL, "payload": prefix + ",".join(part)}
            part, size = [], len(prefix)
        part.append(item)
        size += len(item) + 1
    if part:
        yield {"channel": CHANNEL, "payload": prefix + ",".join(part)}


def parse_payload(payload: str) -> tuple[str, list[int]] | None:
    """``(sender token, workflow ids)`` of a notification, or None when it is not ours."""
    sender, sep, ids_text = payload.partition(":")
    if not sep or not sender:
        return None
    try:
        return sender, [int(i) for i in ids_text.split(",") if i]
    except ValueError:
        return None


class ChangeListener:
    """A daemon thread that LISTENs for other processes' changes until ``stop()``.

    ``connect_args()`` gives psycopg's ``connect`` arguments; ``on_change(ids)`` receives the
    workflow ids of each notification from a sender other than ``me``; ``on_gap()`` runs
    after every (re)connect.
    """

    def __init__(self, me: str, connect_args: ConnectArgs,
                 on_change: Callable[[Iterable[int]], None],
                 on_gap: Callable[[], None], poll_interval: float = 0.5,
                 retry_interval: float = 0.5, max_retry_interval: float = 30.0) -> None:
        self._me = me
        self._connect_args = connect_args
        self._on_change = on_change
        self._on_gap = on_gap
        self._poll = poll_interval
        self._retry = retry_interval
        self._max_retry = max_retry_interval
        self._stop = threading.Event()
        self.listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="actorswarm-listen", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        """Start the thread and wait (up to ``timeout`` s) until it listens."""
        self._thread.start()
        if not self.listening.wait(timeout):
            log.warning("change listener not listening after %.0f s; long polls of this "
                        "process wake on their own changes only until it is", timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to end and wait for it (it closes its connection)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        import psycopg
        from psycopg import sql

        me = self._me
        delay = self._retry
        while not self._stop.is_set():
            try:
                cargs, cparams = self._connect_args()
                with psycopg.connect(*cargs, **dict(cparams, autocommit=True)) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                    self.listening.set()
                    delay = self._retry
                    self._on_gap()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=self._poll):
                            parsed = parse_payload(note.payload)
                            if parsed is not None and parsed[0] != me:
                                self._on_change(parsed[1])
            except psycopg.Error as exc:
                self.listening.clear()
                if self._stop.is_set():
                    return
                log.warning("change listener lost its connection (%s); reconnecting in "
                            "%.1f s", exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, self._max_retry)
