"""``serve``: the state server in the foreground, as a subprocess of the CLI entry point."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from actors.cli import build_parser
from actors.cli.serve_cmd import server_argv

pytestmark = [pytest.mark.process, pytest.mark.timeout(90)]


def ready_line(proc: subprocess.Popen[bytes], timeout: float = 45.0) -> str:
    assert proc.stdout is not None
    deadline, buf = time.monotonic() + timeout, b""
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        assert left > 0 and proc.poll() is None, "serve did not print READY"
        if select.select([proc.stdout], [], [], min(left, 0.5))[0]:
            buf += os.read(proc.stdout.fileno(), 4096)
    return buf.decode().splitlines()[0]


def test_serve_answers_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc = subprocess.Popen([sys.executable, "-m", "actors.main", "serve", "--port", "0",
                             "--state-dir", str(state)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = ready_line(proc)
        assert line.startswith("READY http://127.0.0.1:")
        url = line.split()[1]
        with httpx.Client(base_url=url + "/api/v3", timeout=10) as http:
            assert http.get("/health").json() == {"status": "OK"}
        assert (state / "server.sqlite").exists()
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            raise
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert code == 0


def test_serve_with_bad_settings_exits_2_naming_the_option(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "actors.main", "serve", "--host", "0.0.0.0",
                           "--port", "0", "--state-dir", str(tmp_path)],
                          check=False, capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "ACTORSWARM_TOKEN"})
    assert done.returncode == 2
    assert "token" in done.stderr and done.stdout == ""


def test_server_argv_passes_only_given_options() -> None:
    args = build_parser().parse_args(["serve", "--db", "sqlite:///x.db", "--port", "8001"])
    assert server_argv(args) == ["--db", "sqlite:///x.db", "--port", "8001"]
    assert server_argv(build_parser().parse_args(["serve"])) == []
