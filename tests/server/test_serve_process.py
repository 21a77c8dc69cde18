"""The real server process: ``python -m actors.server --port 0`` over TCP, stopped by PID."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.process


class ServerProcess:
    """A started server child; ``stop()`` sends SIGTERM (then SIGKILL) to its PID only."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.popen = subprocess.Popen([sys.executable, "-m", "actors.server", *args], cwd=cwd,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      env=env)

    def ready_url(self, timeout: float = 30) -> str:
        assert self.popen.stdout is not None
        deadline = time.monotonic() + timeout
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            assert left > 0 and self.popen.poll() is None, self.stderr()
            readable, _, _ = select.select([self.popen.stdout], [], [], min(left, 0.5))
            if readable:
                buf += os.read(self.popen.stdout.fileno(), 4096)
        line = buf.decode().splitlines()[0]
        assert line.startswith("READY http://"), line
        return line.split()[1]

    def stderr(self) -> str:
        if self.popen.poll() is None:
            return ""
        assert self.popen.stderr is not None
        return self.popen.stderr.read().decode()

    def stop(self) -> int:
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGTERM)
            try:
                return self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
        return self.popen.wait(timeout=20)


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    procs: list[ServerProcess] = []
    yield procs
    for p in procs:
        p.stop()


@pytest.mark.timeout(90)
def test_server_process_serves_over_tcp(tmp_path: Path, started: list[ServerProcess]) -> None:
    proc = ServerProcess(["--port", "0", "--state-dir", str(tmp_path / "state")], tmp_path)
    started.append(proc)
    url = proc.ready_url()
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
    with httpx.Client(base_url=url + "/api/v3", timeout=10) as http:
        assert http.get("/health").json() == {"status": "OK"}
        wf = http.post("/workflow/bind", json={"name": "w", "workflow_args": "p",
                                               "max_concurrently_running": 2}).json()
        assert wf["newly_created"] is True
        assert http.get("/features").json()["long_poll"] is True
    assert (tmp_path / "state" / "server.sqlite").exists()
    args = subprocess.run(["ps", "-o", "args=", "-p", str(proc.popen.pid)],
                          capture_output=True, text=True, check=True).stdout
    assert "actors.server" in args
    assert proc.stop() == 0
    # the state survives a restart
    again = ServerProcess(["--port", "0", "--state-dir", str(tmp_path / "state")], tmp_path)
    started.append(again)
    with httpx.Client(base_url=again.ready_url() + "/api/v3", timeout=10) as http:
        assert http.get(f"/workflow/{wf['workflow_id']}/status").json()["name"] == "w"


@pytest.mark.timeout(90)
def test_server_process_with_token_and_bad_settings(tmp_path: Path,
                                                    started: list[ServerProcess]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ACTORSWARM_TOKEN"}
    bad = ServerProcess(["--host", "0.0.0.0", "--port", "0", "--state-dir", str(tmp_path)],
                        tmp_path, env=env)
    started.append(bad)
    assert bad.popen.wait(timeout=30) == 2
    assert "needs a token" in bad.stderr()
    env["ACTORSWARM_TOKEN"] = "tok-123"
    proc = ServerProcess(["--host", "0.0.0.0", "--port", "0", "--state-dir", str(tmp_path)],
                         tmp_path, env=env)
    started.append(proc)
    port = proc.ready_url().rsplit(":", 1)[1]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v3", timeout=10) as http:
        assert http.get("/health").status_code == 401
        assert http.get("/health", headers={"Authorization": "Bearer tok-123"}).json() == {
            "status": "OK"}
    assert proc.stop() == 0
    assert "tok-123" not in proc.stderr()
