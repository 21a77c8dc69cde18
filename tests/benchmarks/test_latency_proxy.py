"""The delaying TCP proxy in front of a real (tiny, threaded) HTTP server."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

import httpx
import pytest

from benchmarks.errors import BenchmarkConfigError
from benchmarks.latency_proxy import DelayProxy


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: several requests on one connection
    arrivals: ClassVar[list[float]] = []

    def do_POST(self) -> None:
        _Handler.arrivals.append(time.monotonic())
        body = self.rfile.read(int(self.headers["Content-Length"]))
        reply = b"echo:" + body
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server_url() -> Iterator[str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    _Handler.arrivals = []
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(10)


@pytest.mark.timeout(30)
def test_requests_and_answers_pass_unchanged(server_url: str) -> None:
    body = bytes(range(256)) * 1024  # larger than one read of the proxy
    with DelayProxy.for_url(server_url, 0.0, trace=True) as proxy, httpx.Client() as client:
        for i in range(3):
            reply = client.post(f"{proxy.url}/api/v3/thing/{i}?x=1", content=body)
            assert reply.status_code == 200 and reply.content == b"echo:" + body
        stats = proxy.statistics()
        trace = proxy.trace()
    assert stats.connections == 1 and stats.failed_connects == 0  # one kept-alive connection
    assert [t.line for t in trace] == [f"POST /api/v3/thing/{i}?x=1 HTTP/1.1"
                                       for i in range(3)]
    assert [t.path for t in trace] == [f"/api/v3/thing/{i}" for i in range(3)]
    assert all(t.answered is not None and t.answered >= t.arrived for t in trace)
    assert all(len(b"echo:" + body) < t.answer_bytes < len(body) + 1000 for t in trace)


@pytest.mark.timeout(30)
def test_each_request_reaches_the_server_no_sooner_than_the_latency(server_url: str) -> None:
    latency = 0.05
    with DelayProxy.for_url(server_url, latency) as proxy, httpx.Client() as client:
        sent = []
        for _ in range(3):
            sent.append(time.monotonic())
            assert client.post(f"{proxy.url}/x", content=b"a").content == b"echo:a"
    assert len(_Handler.arrivals) == 3
    assert all(arrived - start >= latency for start, arrived in zip(sent, _Handler.arrivals))


@pytest.mark.timeout(30)
def test_an_unreachable_upstream_closes_the_client_connection() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with DelayProxy("127.0.0.1", port, 0.0) as proxy, httpx.Client() as client:
        with pytest.raises(httpx.TransportError):
            client.get(f"{proxy.url}/x")
        assert proxy.statistics().failed_connects >= 1


@pytest.mark.parametrize("url", ["https://h:1", "http://host", "http://:80", "ftp://h:2"])
def test_bad_upstream_urls_are_refused(url: str) -> None:
    with pytest.raises(BenchmarkConfigError, match="expected http://host:port"):
        DelayProxy.for_url(url, 0.0)


def test_negative_latency_is_refused() -> None:
    with pytest.raises(BenchmarkConfigError, match="latency must be >= 0"):
        DelayProxy("127.0.0.1", 1, -0.001)
