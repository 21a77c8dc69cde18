"""The per-process runtime: local actors, connections to remote ones, pending asks.

Who uses it: every process of the actor tree has exactly one ``Node``. The root process (CLI or
embedding host) creates one and gives it to the ``Supervisor``; an actor process
(``actors.runtime.host``) creates one that hosts its single actor.

Addressing: an actor is known by its stable name. A local actor is found in this node's table;
any other name is the socket file ``<rundir>/<name>.sock``, so a restarted actor (same name,
new process) is reached by the same ``ActorRef`` without the sender noticing.

Every message crosses the codec, also between two actors of the same node (thread mode): what
passes in thread mode passes across processes.

Asks: each gets a correlation id unique in this node, a deadline, and a pending entry. The entry
is resolved by the REPLY/FAILURE envelope with the same id, failed with ``AskTimeout`` at the
deadline, or failed with ``ActorDeadError`` at once when the connection to the target closes. A
reply that finds no pending entry (late, or unknown) is dropped and counted in
``stats().dead_letters``.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

import attrs
import pykka

from messages import Envelope, Kind, decode
from messages.codec import encode_envelope
from messages.runtime import Failure, Rejection

from actors.errors import ActorDeadError, AskTimeout, Rejected, RemoteError
from actors.runtime.timers import TimerService
from actors.runtime.transport import (
    Connection,
    Listener,
    TransportStats,
    connect_unix,
    ensure_private_dir,
)

if TYPE_CHECKING:
    from actors.runtime.actor import Actor

__all__ = ["ActorRef", "Node", "NodeStats"]

log = logging.getLogger(__name__)


@attrs.frozen
class NodeStats:
    """A snapshot of a node's counters (``Node.stats()``)."""

    frames_in: int
    frames_out: int
    bad_frames: int
    broken_streams: int
    dead_letters: int
    pending_asks: int
    local_actors: int


@attrs.define
class _Pending:
    future: Future[Any]
    conn: Connection | None
    target: str


class Delivery:
    """What the node puts in a local actor's pykka mailbox: envelopes and how to answer them.

    One Delivery carries every envelope decoded from one socket read (in order), so a burst of
    tells costs one mailbox operation instead of one each.
    """

    __slots__ = ("conn", "envelopes")

    def __init__(self, envelopes: list[Envelope], conn: Connection | None) -> None:
        self.envelopes = envelopes
        self.conn = conn


class ActorRef:
    """The address of an actor by name; the same API for local and remote actors.

    ``tell`` never blocks on the receiver and never raises for a dead receiver (the message is
    counted as a dead letter, as in OTP). ``ask`` blocks the calling thread until the reply or
    the deadline; actors should use ``ask_future`` or tell-with-``reply_to`` instead.
    """

    __slots__ = ("name", "node")

    def __init__(self, node: Node, name: str) -> None:
        self.node = node
        self.name = name

    def __repr__(self) -> str:
        return f"<ActorRef {self.name}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActorRef) and other.name == self.name and other.node is self.node

    def __hash__(self) -> int:
        return hash(self.name)

    def tell(self, message: Any, *, reply_to: str | None = None, sender: str = "") -> bool:
        """Send without waiting. Returns False if the message became a dead letter."""
        return self.node.send_tell(self.name, message, reply_to=reply_to, sender=sender)

    def ask(self, message: Any, *, timeout: float, sender: str = "") -> Any:
        """Send and wait for the reply; raises AskTimeout, ActorDeadError, RemoteError, Rejected."""
        return self.node.ask(self.name, message, timeout=timeout, sender=sender)

    def ask_future(self, message: Any, *, timeout: float, sender: str = "") -> Future[Any]:
        """Send and return a Future that resolves to the reply or to the typed error."""
        return self.node.ask_future(self.name, message, timeout=timeout, sender=sender)


def _plain_name(name: str) -> bool:
    """A name usable as a socket file name: no path, no NUL, not hidden, not too long."""
    return (0 < len(name) <= 200 and "/" not in name and "\x00" not in name
            and not name.startswith("."))


class Node:
    """Runtime of one process. ``rundir`` None means thread mode only (no sockets)."""

    def __init__(self, rundir: str | None, *, name: str = "root",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.rundir = rundir
        self.clock = clock
        if rundir is not None:
            ensure_private_dir(rundir)
        self.timers = TimerService(clock, name=f"timers-{name}")
        self._tstats = TransportStats()
        self._local: dict[str, pykka.ActorRef[Any]] = {}
        self._listeners: dict[str, Listener] = {}
        self._conns: dict[str, Connection] = {}
        self._pending: dict[int, _Pending] = {}
        self._corr = itertools.count(1)
        self._lock = threading.Lock()
        self._connect_lock = threading.Lock()
        self._dead_letters = 0
        self._closed = False
        self.on_actor_failure: Callable[[str, BaseException | None], None] | None = None
        self.on_actor_stopped: Callable[[str], None] | None = None

    # ------------------------------------------------------------------ local actors

    def socket_path(self, name: str) -> str:
        """``<rundir>/<name>.sock``; ActorDeadError for a name that is no plain file name
        (a ``reply_to`` from the wire must not lead outside the run directory)."""
        if self.rundir is None:
            raise ActorDeadError(f"actor {name!r} is not local and this node has no run directory")
        if not _plain_name(name):
            raise ActorDeadError(f"{name[:80]!r} is not an actor name")
        return os.path.join(self.rundir, f"{name}.sock")

    def spawn(self, name: str, actor_cls: type[Actor], init: Any = None, *,
              listen: bool = True) -> ActorRef:
        """Start ``actor_cls`` as a local pykka actor named ``name``; listen on its socket."""
        with self._lock:
            if name in self._local:
                raise ValueError(f"an actor named {name!r} already runs in this node")
        pref = actor_cls.start(self, name, init)
        with self._lock:
            self._local[name] = pref
        if listen and self.rundir is not None:
            def on_envelopes(conn: Connection, envs: list[Envelope], _name: str = name) -> None:
                self._on_incoming(_name, conn, envs)

            self._listeners[name] = Listener(self.socket_path(name), name, on_envelopes,
                                             self._tstats).start()
        return ActorRef(self, name)

    def stop_local(self, name: str, timeout: float = 5.0) -> None:
        listener = self._listeners.pop(name, None)
        if listener is not None:
            listener.close()
        with self._lock:
            pref = self._local.pop(name, None)
        if pref is not None:
            try:
                pref.stop(block=True, timeout=timeout)
            except (pykka.ActorDeadError, pykka.Timeout):
                pass

    def actor_failed(self, name: str, exc: BaseException | None) -> None:
        """Called by a local actor whose tell handler raised (it has stopped)."""
        with self._lock:
            self._local.pop(name, None)
        listener = self._listeners.pop(name, None)
        if listener is not None:
            listener.close()
        if self.on_actor_failure is not None:
            self.on_actor_failure(name, exc)

    def actor_stopped(self, name: str) -> None:
        """Called by a local actor that stopped normally (``on_stop``)."""
        with self._lock:
            self._local.pop(name, None)
        listener = self._listeners.pop(name, None)
        if listener is not None:
            listener.close()
        if self.on_actor_stopped is not None:
            self.on_actor_stopped(name)

    def is_local(self, name: str) -> bool:
        return name in self._local

    def ref(self, name: str) -> ActorRef:
        return ActorRef(self, name)

    # ------------------------------------------------------------------ sending

    def send_tell(self, target: str, message: Any, *, reply_to: str | None, sender: str) -> bool:
        try:
            self._send(target, encode_envelope(Kind.TELL, 0, sender, reply_to, None, message),
                       urgent=False)
        except ActorDeadError as exc:
            self._dead_letter(f"tell {type(message).__name__} to {target}: {exc}")
            return False
        return True

    def ask_future(self, target: str, message: Any, *, timeout: float,
                   sender: str = "") -> Future[Any]:
        future, corr = self._start_ask(target, message, timeout, sender)
        if not future.done():
            self.timers.call_later(timeout, lambda: self._expire(corr, target, timeout))
        return future

    def ask(self, target: str, message: Any, *, timeout: float, sender: str = "") -> Any:
        future, corr = self._start_ask(target, message, timeout, sender)
        try:
            return future.result(timeout)
        except TimeoutError:
            self._expire(corr, target, timeout)
            return future.result(0)

    def _start_ask(self, target: str, message: Any, timeout: float,
                   sender: str) -> tuple[Future[Any], int]:
        corr = next(self._corr)
        data = encode_envelope(Kind.ASK, corr, sender, None, self.clock() + timeout, message)
        future: Future[Any] = Future()
        pending = _Pending(future, None, target)
        with self._lock:
            self._pending[corr] = pending
        try:
            pending.conn = self._send(target, data)
        except ActorDeadError as exc:
            with self._lock:
                self._pending.pop(corr, None)
            future.set_exception(exc)
        return future, corr

    def _expire(self, corr: int, target: str, timeout: float) -> None:
        with self._lock:
            pending = self._pending.pop(corr, None)
        if pending is not None and not pending.future.done():
            pending.future.set_exception(
                AskTimeout(f"no reply from {target} within {timeout:g} s"))

    def _send(self, target: str, data: bytes, *, urgent: bool = True) -> Connection | None:
        """Deliver encoded ``data`` to ``target``; returns the connection used (None: local)."""
        pref = self._local.get(target)
        if pref is not None:
            self._deliver_local(target, pref, [decode(data)], None)
            return None
        conn = self._conns.get(target)
        if conn is None or conn.closed:
            conn = self._connect(target)
        try:
            conn.send_bytes(data, urgent=urgent)
        except ActorDeadError:
            conn.close()
            conn = self._connect(target)  # the peer may have restarted: one fresh attempt
            conn.send_bytes(data, urgent=urgent)
        return conn

    def _connect(self, target: str) -> Connection:
        with self._connect_lock:  # one connection per target, even with concurrent senders
            current = self._conns.get(target)
            if current is not None and not current.closed:
                return current
            sock = connect_unix(self.socket_path(target))
            conn = Connection(sock, target, self._on_outgoing, self._outgoing_closed,
                              self._tstats)
            with self._lock:
                self._conns[target] = conn
            return conn.start()

    def _deliver_local(self, name: str, pref: pykka.ActorRef[Any], envs: list[Envelope],
                       conn: Connection | None) -> None:
        try:
            pref.tell(Delivery(envs, conn))
        except pykka.ActorDeadError:
            self._refuse(name, envs, conn)

    def _refuse(self, name: str, envs: list[Envelope], conn: Connection | None) -> None:
        """Requests for an actor that is not running: asks fail at once, tells are dead."""
        for env in envs:
            if env.kind == Kind.ASK:
                self.reply(env, conn, Failure("ActorDeadError", f"actor {name} is stopped"),
                           failure=True)
            elif env.kind == Kind.TELL:
                self._dead_letter(f"{type(env.message).__name__} to stopped actor {name}")

    # ------------------------------------------------------------------ receiving

    def reply(self, request: Envelope, conn: Connection | None, value: Any, *,
              failure: bool = False) -> None:
        """Answer an ASK (called by the actor thread that handled it)."""
        kind = Kind.FAILURE if failure else Kind.REPLY
        data = encode_envelope(kind, request.corr_id, "", None, None, value)
        if conn is None:
            self._resolve(decode(data))
            return
        try:
            conn.send_bytes(data)
        except ActorDeadError:
            self._dead_letter(f"reply to {request.sender or 'an asker'}: connection closed")

    def _on_incoming(self, name: str, conn: Connection, envs: list[Envelope]) -> None:
        """Reader thread of a connection accepted for local actor ``name``: its requests.
        Replies and requests without a message never reach the actor (an ask gets a
        Rejection)."""
        requests = [e for e in envs if (e.kind == Kind.TELL or e.kind == Kind.ASK)
                    and e.message is not None]
        if len(requests) != len(envs):
            for env in envs:
                if env.kind == Kind.ASK and env.message is None:
                    self.reply(env, conn, Rejection("a request needs a message"))
            self._dead_letter(f"{len(envs) - len(requests)} replies or empty requests sent "
                              f"to {name}'s listener")
        if not requests:
            return
        pref = self._local.get(name)
        if pref is None:
            self._refuse(name, requests, conn)
            return
        self._deliver_local(name, pref, requests, conn)

    def _on_outgoing(self, conn: Connection, envs: list[Envelope]) -> None:
        """Reader thread of a connection we opened: replies to our asks."""
        for env in envs:
            if env.kind in (Kind.REPLY, Kind.FAILURE):
                self._resolve(env)
            else:
                self._dead_letter(f"unexpected {env.kind.name} from {conn.peer}")

    def _resolve(self, env: Envelope) -> None:
        with self._lock:
            pending = self._pending.pop(env.corr_id, None)
        if pending is None or pending.future.done():
            self._dead_letter(f"late or unknown reply #{env.corr_id}")
            return
        value = env.message
        if env.kind == Kind.FAILURE:
            if isinstance(value, Failure):
                exc: Exception = (ActorDeadError(value.text) if value.type_name == "ActorDeadError"
                                  else RemoteError(value.type_name, value.text))
            else:
                exc = RemoteError("Unknown", repr(value))
            pending.future.set_exception(exc)
        elif isinstance(value, Rejection):
            pending.future.set_exception(Rejected(value.reason))
        else:
            pending.future.set_result(value)

    def _outgoing_closed(self, conn: Connection) -> None:
        """The connection to ``conn.peer`` closed: fail its pending asks at once."""
        with self._lock:
            if self._conns.get(conn.peer) is conn:
                del self._conns[conn.peer]
            failed = [(c, p) for c, p in self._pending.items() if p.conn is conn]
            for corr, _ in failed:
                del self._pending[corr]
        for _, pending in failed:
            if not pending.future.done():
                pending.future.set_exception(
                    ActorDeadError(f"{pending.target} died with the ask pending"))

    def _dead_letter(self, what: str) -> None:
        with self._lock:
            self._dead_letters += 1
        log.debug("dead letter: %s", what)

    # ------------------------------------------------------------------ lifecycle

    def stats(self) -> NodeStats:
        t = self._tstats
        with self._lock:
            return NodeStats(t.frames_in, t.frames_out, t.bad_frames, t.broken_streams,
                             self._dead_letters, len(self._pending), len(self._local))

    def close(self) -> None:
        """Stop local actors (reverse start order), listeners, connections and timers."""
        if self._closed:
            return
        self._closed = True
        for name in reversed(list(self._local)):
            self.stop_local(name)
        with self._lock:
            conns = list(self._conns.values())
            self._conns.clear()
        for conn in conns:
            conn.close()
        self.timers.stop()
