"""Unix-socket transport: listeners and framed, msgpack-encoded connections.

Who uses it: ``actors.runtime.node.Node`` only. A ``Connection`` owns one connected stream
socket and one reader thread; the reader feeds a bounded ``messages.FrameReader`` and hands
every decoded ``Envelope`` to the node's callback. Writes are serialized by a lock and may come
from any thread. A ``Listener`` accepts connections on a socket file in the private run
directory (socket mode 0600, directory 0700).

Bad input from a peer never crashes the process: an invalid-but-well-formed frame is counted and
skipped (``stats.bad_frames``); a malformed or oversized byte stream closes that connection only.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading
from collections.abc import Callable

import attrs

from messages import DecodeError, Envelope, FrameReader, encode

from actors.errors import ActorDeadError

__all__ = ["Connection", "Listener", "TransportStats", "connect_unix", "ensure_private_dir"]

log = logging.getLogger(__name__)

RECV_SIZE = 256 * 1024


@attrs.define
class TransportStats:
    """Counters shared by all connections of a node (monotonic, never reset)."""

    frames_in: int = 0
    frames_out: int = 0
    bad_frames: int = 0
    broken_streams: int = 0


def ensure_private_dir(path: str) -> None:
    """Create ``path`` (mode 0700) or check that an existing one is ours and private."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    st = os.stat(path)
    if st.st_uid != os.getuid():
        raise PermissionError(f"run directory {path} belongs to uid {st.st_uid}, not to us")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)


class Connection:
    """One framed connection. ``on_envelopes`` runs on the reader thread with every envelope
    decoded from one read (in order); keep it short."""

    def __init__(
        self,
        sock: socket.socket,
        peer: str,
        on_envelopes: Callable[[Connection, list[Envelope]], None],
        on_close: Callable[[Connection], None],
        stats: TransportStats,
    ) -> None:
        self.peer = peer
        self._sock = sock
        self._on_envelopes = on_envelopes
        self._on_close = on_close
        self._stats = stats
        self._cond = threading.Condition(threading.Lock())
        self._pending: list[bytes] = []
        self._writing = False  # someone (a caller or the flusher) is inside sendall
        self._flusher: threading.Thread | None = None
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read_loop, name=f"conn-{peer}", daemon=True)

    def start(self) -> Connection:
        self._reader.start()
        return self

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def send(self, envelope: Envelope) -> None:
        """Encode and write one envelope. Raises ActorDeadError if the connection is gone."""
        self.send_bytes(encode(envelope))

    def send_bytes(self, data: bytes, *, urgent: bool = True) -> None:
        """Write one encoded frame, in order with every earlier frame of this connection.

        ``urgent`` frames (asks, replies) are written by the calling thread when nothing else
        is queued, so a request/response costs no extra thread hand-off. Non-urgent frames
        (tells) are queued for the connection's flusher thread, which writes everything queued
        with one ``sendall``: a burst of tells costs one system call, not one each. Raises
        ActorDeadError if the connection is gone (a queued frame lost later is a dead letter).
        """
        if self._closed.is_set():
            raise ActorDeadError(f"connection to {self.peer} is closed")
        with self._cond:
            inline = urgent and not self._pending and not self._writing
            if inline:
                self._writing = True
            else:
                self._pending.append(data)
                if self._flusher is None:
                    self._flusher = threading.Thread(target=self._flush_loop, daemon=True,
                                                     name=f"flush-{self.peer}")
                    self._flusher.start()
                elif not self._writing:
                    self._cond.notify()
        self._stats.frames_out += 1
        if not inline:
            return
        try:
            self._sock.sendall(data)
        except OSError as exc:
            self.close()
            raise ActorDeadError(f"connection to {self.peer} failed: {exc}") from exc
        finally:
            with self._cond:
                self._writing = False
                if self._pending:
                    self._cond.notify()

    def _flush_loop(self) -> None:
        """Write queued frames in order, as few system calls as possible."""
        cond = self._cond
        while True:
            with cond:
                while (not self._pending or self._writing) and not self._closed.is_set():
                    cond.wait()
                if self._closed.is_set():
                    return
                chunk = b"".join(self._pending)
                self._pending.clear()
                self._writing = True
            try:
                self._sock.sendall(chunk)
            except OSError:
                self.close()
                return
            finally:
                with cond:
                    self._writing = False
                    if self._pending:
                        cond.notify()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        with self._cond:
            self._cond.notify_all()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def _read_loop(self) -> None:
        reader = FrameReader()
        sock = self._sock
        buffer = bytearray(RECV_SIZE)  # reused: recv() would allocate RECV_SIZE every call
        view = memoryview(buffer)
        try:
            while True:
                try:
                    n = sock.recv_into(buffer)
                except OSError:
                    break
                if not n:
                    break
                batch: list[Envelope] = []
                try:
                    reader.feed(view[:n])
                    while True:
                        try:
                            frame = reader.next_frame()
                        except DecodeError as exc:
                            if not exc.recoverable:
                                raise
                            self._stats.bad_frames += 1
                            log.warning("dropped an invalid frame from %s: %s", self.peer, exc)
                            continue
                        if frame is None:
                            break
                        if type(frame) is not Envelope:
                            self._stats.bad_frames += 1
                            log.warning("dropped a bare %s from %s (no envelope)",
                                        type(frame).__name__, self.peer)
                            continue
                        batch.append(frame)
                except DecodeError as exc:
                    self._stats.broken_streams += 1
                    log.warning("closing the connection from %s: %s", self.peer, exc)
                    break
                finally:
                    if batch:
                        self._stats.frames_in += len(batch)
                        self._on_envelopes(self, batch)
        finally:
            self.close()
            self._on_close(self)


def connect_unix(path: str, timeout: float = 2.0) -> socket.socket:
    """Connect to a listener's socket file; raises ActorDeadError if nobody listens there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.ENOENT, errno.ECONNREFUSED, errno.ENOTSOCK):
            raise ActorDeadError(f"no actor listens on {path}") from exc
        raise ActorDeadError(f"cannot connect to {path}: {exc}") from exc
    sock.settimeout(None)
    return sock


class Listener:
    """Accepts connections on ``path``; each accepted socket becomes a started Connection."""

    def __init__(
        self,
        path: str,
        name: str,
        on_envelopes: Callable[[Connection, list[Envelope]], None],
        stats: TransportStats,
    ) -> None:
        self.path = path
        self._name = name
        self._on_envelopes = on_envelopes
        self._stats = stats
        self._conns: set[Connection] = set()
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        old_umask = os.umask(0o177)
        try:
            self._sock.bind(path)
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o600)
        self._sock.listen(128)
        self._ino = os.stat(path).st_ino
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name=f"listen-{name}",
                                        daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                sock, _ = self._sock.accept()
            except OSError:
                break
            conn = Connection(sock, f"client-of-{self._name}", self._on_envelopes,
                              self._forget, self._stats)
            with self._lock:
                self._conns.add(conn)
            conn.start()

    def _forget(self, conn: Connection) -> None:
        with self._lock:
            self._conns.discard(conn)

    def close(self) -> None:
        """Stop accepting, close every accepted connection, remove the socket file if ours."""
        self._stopped.set()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        try:
            if os.stat(self.path).st_ino == self._ino:
                os.unlink(self.path)
        except FileNotFoundError:
            pass
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            conn.close()
