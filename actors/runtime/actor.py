"""Base class of every actorswarm actor: a pykka ``ThreadingActor`` fed by the node.

Subclasses implement ``receive(message, incoming)``. The runtime calls it on the actor's own
thread, one message at a time, for:
- TELL envelopes (``incoming.kind == Kind.TELL``): the return value is ignored; an exception
  stops the actor (pykka semantics) and, in process mode, its process exits non-zero so the
  supervisor restarts it (OTP: real failures crash and are supervised);
- ASK envelopes: the return value is the reply (a registered message or None); an exception is
  sent back to the asker as ``RemoteError`` and the actor goes on; return ``Rejection(reason)``
  to refuse an invalid request. Asks whose deadline has passed are dropped unhandled;
- private timer messages scheduled with ``send_after`` (``incoming.kind is None``): any object,
  never encoded, never leaving the process.

Blocking I/O (HTTP) goes through ``in_background(fn, then)``: ``fn`` runs on a small thread
pool and ``then`` runs on the actor's thread when it is done, so the mailbox (and the
supervisor's ``Ping``) is never stuck behind a slow server.

``Ping`` is answered by the runtime (``Pong``) without reaching ``receive``; so is ``StopActor``.
Sent as tells, ``Ping``, ``Pong``, ``Failure`` and ``Rejection`` (probes and answers) are
dropped, so a confused peer cannot crash an actor with them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any

import pykka

from messages import Envelope, Kind
from messages.runtime import Failure, Ping, Pong, Rejection, StopActor

from actors.runtime.node import ActorRef, Delivery, Node
from actors.runtime.timers import TimerHandle

__all__ = ["Actor", "Incoming"]

log = logging.getLogger(__name__)


class Incoming:
    """Who sent the message being handled and where answers go (envelope metadata).

    A plain slotted class (built once per message on the hot path); treat it as read-only.
    """

    __slots__ = ("kind", "reply_to", "sender")

    def __init__(self, kind: Kind | None, sender: str, reply_to: str | None) -> None:
        self.kind = kind  # None for a private timer message
        self.sender = sender
        self.reply_to = reply_to

    def __repr__(self) -> str:
        return f"Incoming(kind={self.kind!r}, sender={self.sender!r}, reply_to={self.reply_to!r})"


_TIMER = Incoming(None, "", None)
#: Runtime messages that are only ever asks or answers: as tells they are dropped.
_NOT_TELLS = frozenset({Ping, Pong, Failure, Rejection})


class _TimerFired:
    __slots__ = ("message",)

    def __init__(self, message: Any) -> None:
        self.message = message


class _BackgroundDone:
    __slots__ = ("callback", "future")

    def __init__(self, callback: Callable[[Future[Any]], None], future: Future[Any]) -> None:
        self.callback = callback
        self.future = future


class Actor(pykka.ThreadingActor):
    """A named actor hosted by a ``Node``. Construct only through ``Node.spawn``."""

    def __init__(self, node: Node, name: str, init: Any = None) -> None:
        super().__init__()
        self.node = node
        self.name = name
        self.init = init
        self._io_pool: ThreadPoolExecutor | None = None

    #: how many threads ``in_background`` may use at once
    io_threads = 2

    # ----------------------------------------------------------------- for subclasses

    def started(self) -> None:
        """Set-up on the actor's own thread before the first message (override this, not
        pykka's ``on_start``). An exception here is a crash: the supervisor sees it."""

    def receive(self, message: Any, incoming: Incoming) -> Any:
        """Handle one message; see the module docstring for what the return value means."""
        raise NotImplementedError(f"{type(self).__name__} does not handle {type(message).__name__}")

    def ref(self, name: str) -> ActorRef:
        """The address of another actor by name."""
        return self.node.ref(name)

    def tell(self, target: str, message: Any, *, reply_to: str | None = None) -> bool:
        """Tell ``target`` (by name) as this actor; ``reply_to`` names who should get answers."""
        return self.node.send_tell(target, message, reply_to=reply_to, sender=self.name)

    def reply(self, incoming: Incoming, message: Any) -> bool:
        """Answer a TELL that named a ``reply_to`` (the Akka pattern); False if nobody to tell."""
        if incoming.reply_to is None:
            return False
        return self.tell(incoming.reply_to, message)

    def send_after(self, delay: float, message: Any) -> TimerHandle:
        """Deliver ``message`` to this actor itself after ``delay`` seconds (private timer)."""
        pref = self.actor_ref

        def fire() -> None:
            try:
                pref.tell(_TimerFired(message))
            except pykka.ActorDeadError:
                pass

        return self.node.timers.call_later(delay, fire)

    def now(self) -> float:
        return self.node.clock()

    def when_done(self, future: Future[Any], then: Callable[[Future[Any]], None]) -> None:
        """Run ``then(future)`` on this actor's thread once ``future`` (e.g. an
        ``ask_future``) is done, like a message; no thread waits for it."""
        pref = self.actor_ref

        def done(f: Future[Any]) -> None:
            try:
                pref.tell(_BackgroundDone(then, f))
            except pykka.ActorDeadError:
                pass

        future.add_done_callback(done)

    def in_background(self, fn: Callable[[], Any],
                      then: Callable[[Future[Any]], None]) -> Future[Any]:
        """Run blocking I/O ``fn`` on this actor's I/O threads; ``then(future)`` runs later on
        the actor's own thread, like a message, so the mailbox never waits on I/O."""
        pool = self._io_pool
        if pool is None:
            pool = self._io_pool = ThreadPoolExecutor(max_workers=self.io_threads,
                                                      thread_name_prefix=f"{self.name}-io")
        future = pool.submit(fn)
        self.when_done(future, then)
        return future

    # ----------------------------------------------------------------- pykka hooks

    def on_start(self) -> None:
        try:
            self.started()
        except BaseException as exc:
            log.exception("actor %s failed to start", self.name)
            self._shutdown_io()
            self.node.actor_failed(self.name, exc)
            raise

    def on_receive(self, message: Any) -> Any:
        if type(message) is Delivery:
            conn = message.conn
            for env in message.envelopes:
                self._handle_envelope(env, conn)
            return None
        if type(message) is _TimerFired:
            return self.receive(message.message, _TIMER)
        if type(message) is _BackgroundDone:
            message.callback(message.future)
            return None
        return self.receive(message, _TIMER)  # direct pykka use (tests, embedding hosts)

    def _handle_envelope(self, env: Envelope, conn: Any) -> None:
        msg = env.message
        incoming = Incoming(env.kind, env.sender, env.reply_to)
        if env.kind == Kind.ASK:
            if env.deadline is not None and self.node.clock() > env.deadline:
                return  # the asker has given up; its runtime counts the missing reply
            if type(msg) is Ping:
                self.node.reply(env, conn, Pong(self.name, os.getpid()))
                return
            if type(msg) is StopActor:
                self.node.reply(env, conn, None)
                self.stop_requested()
                return
            try:
                result = self.receive(msg, incoming)
            except Exception as exc:  # noqa: BLE001 - the asker gets it, as pykka does
                self.node.reply(env, conn, Failure(type(exc).__name__, str(exc)),
                                failure=True)
                return
            self.node.reply(env, conn, result)
            return
        if env.kind == Kind.TELL:
            if type(msg) is StopActor:
                self.stop_requested()
                return
            if type(msg) in _NOT_TELLS:
                return  # a probe or an answer sent as a tell: nothing to do, nothing to crash
            self.receive(msg, incoming)

    def stop_requested(self) -> None:
        """Stop after the current message (runs on the actor thread)."""
        self.actor_ref.stop(block=False)

    def on_stop(self) -> None:
        """pykka hook after a normal stop; subclasses overriding it must call super()."""
        self._shutdown_io()
        self.node.actor_stopped(self.name)

    def _shutdown_io(self) -> None:
        if self._io_pool is not None:
            self._io_pool.shutdown(wait=False, cancel_futures=True)
            self._io_pool = None

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        log.error("actor %s crashed: %s: %s", self.name,
                  getattr(exception_type, "__name__", "?"), exception_value)
        self._shutdown_io()
        self.node.actor_failed(self.name, exception_value)
