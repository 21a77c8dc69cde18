"""Processes of the postgres tier: the state server on PostgreSQL with ``--workers N``.

``ServerProc`` starts ``python -m actors.server --db URL --workers N --port 0``, waits for
its ``READY`` line and stops exactly that PID (SIGTERM, then SIGKILL); its worker processes
are its children and end with it.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["ServerProc"]


class ServerProc:
    """A started multi-process state server; ``url`` once ready."""

    def __init__(self, db_url: str, workers: int, cwd: Path, *extra: str) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "actors.server", "--db", db_url, "--workers", str(workers),
             "--port", "0", *extra], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.url = ""

    def wait_ready(self, timeout: float = 60) -> str:
        """The server's base URL once it printed READY (AssertionError with stderr if not)."""
        assert self.popen.stdout is not None
        deadline = time.monotonic() + timeout
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.popen.poll() is not None:
                raise AssertionError(f"server not ready: {self.stderr()}")
            readable, _, _ = select.select([self.popen.stdout], [], [], min(left, 0.5))
            if readable:
                buf += os.read(self.popen.stdout.fileno(), 4096)
        line = buf.decode().splitlines()[0]
        assert line.startswith("READY http://"), line
        self.url = line.split()[1]
        return self.url

    def stderr(self) -> str:
        if self.popen.poll() is None:
            self.stop()
        assert self.popen.stderr is not None
        return self.popen.stderr.read().decode(errors="replace")

    def stop(self) -> int:
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGTERM)
            try:
                return self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
        return self.popen.wait(timeout=30)
