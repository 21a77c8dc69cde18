"""A stand-in for the state server's worker routes, for unit tests of the worker and backend.

It answers ``docs/server-api.md`` section 6 in a background thread and records every request.
``kill`` makes the server answer K for an instance (as after ``terminate_task_instances``).
Only unit tests use it; end-to-end tests use the real server (``actors.server``).
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ["FakeServer"]

_ROUTE = re.compile(r"^/api/v3/task_instance/(\d+)/(\w+)$")


class FakeServer:
    """Records worker reports; ``status[ti]`` is the instance's status (default O)."""

    def __init__(self) -> None:
        self.status: dict[int, str] = {}
        self.calls: list[tuple[int, str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.fail_all = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                match = _ROUTE.match(self.path.split("?")[0])
                if server.fail_all:
                    self._send(503, {"detail": "down"})
                    return
                if match is None:
                    self._send(404, {"detail": f"no route {self.path}"})
                    return
                ti, route = int(match.group(1)), match.group(2)
                self._send(200, {"status": server.handle(ti, route, body)})

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def handle(self, ti: int, route: str, body: dict[str, Any]) -> str:
        with self.lock:
            self.calls.append((ti, route, body))
            current = self.status.get(ti, "O")
            if current == "K":
                return "K"
            new = {"log_running": "R", "log_report_by": "R", "log_done": "D",
                   "log_error_worker_node": str(body.get("error_state"))}.get(route, current)
            self.status[ti] = new
            return new

    def kill(self, ti: int) -> None:
        with self.lock:
            self.status[ti] = "K"

    def reports(self, ti: int) -> list[tuple[str, dict[str, Any]]]:
        with self.lock:
            return [(route, body) for t, route, body in self.calls if t == ti]

    def final_reports(self, ti: int) -> list[tuple[str, dict[str, Any]]]:
        return [(r, b) for r, b in self.reports(ti) if r in ("log_done", "log_error_worker_node")]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(5)
