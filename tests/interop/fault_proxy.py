"""A small HTTP proxy that loses chosen answers: the request reaches the server, the answer never
reaches the client (the connection is closed instead).

Who uses it: ``test_swarm_on_jobmon.py`` to prove that our swarm never sends a
``queue_task_batch`` again once it may have reached a Jobmon server (which would make a second
task instance of every task in it). ``FaultProxy(upstream_root, drop=predicate, times=n)``
listens on 127.0.0.1 (a free port), forwards every request to ``upstream_root`` with httpx and
answers with the upstream's answer, except for the first ``times`` requests for which
``drop(method, path)`` is true: those are forwarded and applied, then the client's connection is
closed without an answer. ``dropped`` counts them. Use it as a context manager.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

import httpx

__all__ = ["FaultProxy"]

#: Headers not passed on (httpx hands over the decoded body: no content-encoding either way).
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host",
               "accept-encoding", "content-encoding"}


class FaultProxy:
    """See the module docstring."""

    def __init__(self, upstream_root: str, drop: Callable[[str, str], bool],
                 times: int = 1) -> None:
        self.upstream = httpx.Client(base_url=upstream_root.rstrip("/"), timeout=60.0)
        self.drop = drop
        self.budget = times
        self.dropped = 0
        self.forwarded = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in _HOP_BY_HOP}
                answer = proxy.upstream.request(self.command, self.path, content=body,
                                                headers=headers)
                with proxy._lock:
                    proxy.forwarded += 1
                    lose = proxy.dropped < proxy.budget and proxy.drop(self.command,
                                                                       self.path)
                    if lose:
                        proxy.dropped += 1
                if lose:
                    self.close_connection = True  # applied upstream; the answer is lost
                    return
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="fault-proxy",
                                        daemon=True)

    @property
    def root_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
        self.upstream.close()
