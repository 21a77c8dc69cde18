"""A loopback TCP proxy that delays every request by a fixed latency (for ``batching``).

Who uses it: ``benchmarks.batching`` puts it between our swarm and the state server to
measure batching under server latency without touching the server: the swarm gets
``proxy.url`` as its server URL, the distributor keeps talking to the real port.

How: an asyncio loop in one thread of the benchmark process accepts connections on
127.0.0.1 (a free port), opens one upstream connection per client connection and pumps both
ways. Client-to-server bytes are held until ``latency`` seconds after they arrived (order
kept; bytes arriving together leave together), so each HTTP request reaches the server
``latency`` later, while responses flow back at once. With zero latency it is a plain relay,
so a grid compares like with like. ``statistics()`` counts connections and forwarded chunks;
with ``trace=True`` the proxy also keeps a ``Traced`` record of every request it sees (a chunk
starting with an HTTP method): when it arrived, its request line, and when the answer's first
bytes came back (answers on one connection come in request order), which shows what the swarm
asked, when, and how long the server took.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import Callable
from typing import Self

import attrs

from benchmarks.errors import BenchmarkConfigError, BenchmarkError

__all__ = ["DelayProxy", "ProxyStatistics", "Traced"]

_CHUNK = 65536
_METHODS = (b"GET ", b"POST ", b"PUT ", b"DELETE ", b"PATCH ", b"HEAD ")


@attrs.frozen
class Traced:
    """One request seen by a tracing proxy: arrival and answer times (the proxy's clock; the
    answer None if none came), the request line (``POST /api/v3/... HTTP/1.1``) and the size
    of the answer (headers included)."""

    arrived: float
    line: str
    answered: float | None
    answer_bytes: int = 0

    @property
    def path(self) -> str:
        """The route without the query string."""
        parts = self.line.split(" ")
        return parts[1].split("?", 1)[0] if len(parts) > 1 else ""


@attrs.define
class _Entry:
    arrived: float
    line: str
    answered: float | None = None
    answer_bytes: int = 0


@attrs.frozen
class ProxyStatistics:
    """Connections accepted, client-to-server chunks delayed, upstream connect failures."""

    connections: int
    requests: int
    failed_connects: int


class DelayProxy:
    """``DelayProxy(upstream_host, upstream_port, latency).start()``; ``stop()`` or ``with``."""

    def __init__(self, upstream_host: str, upstream_port: int, latency: float,
                 clock: Callable[[], float] = time.monotonic, trace: bool = False) -> None:
        if not latency >= 0:
            raise BenchmarkConfigError(f"proxy latency must be >= 0 seconds, got {latency!r}")
        self.upstream = (upstream_host, upstream_port)
        self.latency = latency
        self._clock = clock
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bench-delay-proxy",
                                        daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self._connections = 0
        self._requests = 0
        self._failed = 0
        self._trace: list[_Entry] | None = [] if trace else None

    @classmethod
    def for_url(cls, url: str, latency: float, trace: bool = False) -> DelayProxy:
        """A proxy in front of ``http://host:port`` (the server root URL)."""
        scheme, _, rest = url.partition("://")
        host, _, port = rest.split("/", 1)[0].rpartition(":")
        if scheme != "http" or not host or not port.isdigit():
            raise BenchmarkConfigError(f"cannot proxy {url!r}: expected http://host:port")
        return cls(host, int(port), latency, trace=trace)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Listen on a free loopback port; returns self once accepting."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        try:
            future.result(10)
        except (OSError, TimeoutError) as exc:
            self.stop()
            raise BenchmarkError(f"the delay proxy could not listen: {exc}") from exc
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            self._failed += 1
            writer.close()
            return
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        pending: collections.deque[int] = collections.deque()  # traced, not yet answered
        jobs = [asyncio.create_task(self._read_client(reader, queue, pending)),
                asyncio.create_task(self._send_delayed(queue, up_writer)),
                asyncio.create_task(self._relay(up_reader, writer, pending))]
        self._tasks.update(jobs)
        try:
            await asyncio.wait(jobs, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for job in jobs:
                job.cancel()
            self._tasks.difference_update(jobs)
            for w in (writer, up_writer):
                w.close()

    async def _read_client(self, reader: asyncio.StreamReader,
                           queue: asyncio.Queue[tuple[float, bytes] | None],
                           pending: collections.deque[int]) -> None:
        while data := await reader.read(_CHUNK):
            now = self._clock()
            if self._trace is not None and data.startswith(_METHODS):
                pending.append(len(self._trace))
                self._trace.append(_Entry(now, data[:data.find(b"\r\n")].decode("latin-1")))
            queue.put_nowait((now + self.latency, data))
        queue.put_nowait(None)
        await asyncio.Event().wait()  # the sender ends the connection once it has sent all

    async def _send_delayed(self, queue: asyncio.Queue[tuple[float, bytes] | None],
                            writer: asyncio.StreamWriter) -> None:
        while (item := await queue.get()) is not None:
            due, data = item
            wait = due - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            self._requests += 1
            writer.write(data)
            await writer.drain()
        writer.write_eof()
        await asyncio.Event().wait()  # keep relaying the answer until the server closes

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     pending: collections.deque[int]) -> None:
        current: _Entry | None = None
        while data := await reader.read(_CHUNK):
            if self._trace is not None and pending and data.startswith(b"HTTP/"):
                current = self._trace[pending.popleft()]
                current.answered = self._clock()
            if current is not None:
                current.answer_bytes += len(data)
            writer.write(data)
            await writer.drain()

    def statistics(self) -> ProxyStatistics:
        return ProxyStatistics(self._connections, self._requests, self._failed)

    def trace(self) -> list[Traced]:
        """Every request seen so far, in arrival order, when tracing (else empty)."""
        return [Traced(e.arrived, e.line, e.answered, e.answer_bytes)
                for e in (self._trace or ())]

    def stop(self) -> None:
        """Close the listener and every connection, stop the loop thread."""
        if self._thread.is_alive():
            async def close() -> None:
                if self._server is not None:
                    self._server.close()
                for job in list(self._tasks):
                    job.cancel()
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        if not self._loop.is_running():
            self._loop.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
