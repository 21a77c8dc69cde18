"""A real state server the reliability tests own: start, stop, pause (SIGSTOP), restart.

``ServerProcess`` runs ``python -m actors.server`` on loopback with a SQLite database in a
directory of the test. It can be frozen (SIGSTOP/SIGCONT) to simulate a hung server, stopped
(SIGTERM) and started again on the same port and database to simulate a restart, or killed.
Only the PID it started is ever signalled.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["ClosedDoor", "ServerProcess", "db_rows"]

READY_TIMEOUT = 60.0


class ServerProcess:
    """One state server process; ``start()`` again after ``stop()`` reuses port and database."""

    def __init__(self, state_dir: Path, *, host: str = "127.0.0.1", port: int = 0,
                 token: str | None = None, extra: tuple[str, ...] = (),
                 env: Mapping[str, str] | None = None) -> None:
        self.state_dir = state_dir
        self.host = host
        self.port = port
        self.token = token
        self.extra = extra
        self.env = dict(env) if env is not None else None
        self.popen: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.log_path = state_dir / "server.log"
        self.paused = False

    @property
    def db_path(self) -> Path:
        return self.state_dir / "server.sqlite"

    @property
    def pid(self) -> int:
        assert self.popen is not None, "the server is not started"
        return self.popen.pid

    def start(self) -> str:
        """Start the server and wait for its READY line; its root URL."""
        assert self.popen is None or self.popen.poll() is not None, "already running"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "actors.server", "--host", self.host,
                "--port", str(self.port), "--state-dir", str(self.state_dir),
                "--log-level", "info", *self.extra]
        env = dict(os.environ if self.env is None else self.env)
        if self.token is not None:
            env["ACTORSWARM_TOKEN"] = self.token  # never on the command line
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=log, env=env)
        line = self._first_line()
        assert line.startswith("READY http://"), f"server said {line!r}: {self.log_tail()}"
        self.url = line.split()[1]
        self.port = int(self.url.rsplit(":", 1)[1])
        return self.url

    def _first_line(self) -> str:
        assert self.popen is not None and self.popen.stdout is not None
        fd = self.popen.stdout.fileno()
        deadline = time.monotonic() + READY_TIMEOUT
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.popen.poll() is not None:
                return buf.decode(errors="replace")
            ready, _, _ = select.select([fd], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    return buf.decode(errors="replace")
                buf += chunk
        return buf.decode().splitlines()[0]

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections are accepted by the kernel, never answered."""
        os.kill(self.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)
        self.paused = False

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM (after SIGCONT if paused), then SIGKILL after ``timeout``; the exit status."""
        if self.popen is None:
            return 0
        if self.popen.poll() is None:
            if self.paused:
                self.resume()
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        return self.popen.returncode

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            if self.paused:
                self.resume()
            self.popen.kill()
            self.popen.wait(10)
        if self.popen is not None and self.popen.stdout is not None:
            self.popen.stdout.close()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


def db_rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of a read-only query on a server's SQLite database (bound parameters only)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


class ClosedDoor:
    """Holds a down server's port: accepts every connection and resets it at once, counting
    them (how hard the clients hammer a server that is away)."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(512)
        self.attempts = 0
        self._thread = threading.Thread(target=self._serve, daemon=True, name="closed-door")
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.attempts += 1
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()  # RST: the client sees its connection reset

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._thread.join(5)
