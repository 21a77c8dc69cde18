"""End to end: ``python -m actors.main run ...`` as a subprocess, through the real composition
root, embedded server, local distributor and the four actor processes.

Workflow files are copied into the test's directory (commands run in the file's directory,
so the example's outputs land there, not in the repository).
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from actors.cli.reader_server import reader_server

pytestmark = [pytest.mark.process, pytest.mark.slow, pytest.mark.timeout(180)]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

FAILING = """
[workflow]
name = "failing"
default_max_attempts = 2
default_resources = { memory = "128M", runtime = "1m", cores = 1, queue = "all" }

[[tasks]]
name = "ok"
command = "echo fine"

[[tasks]]
name = "bad"
command = "echo some output; echo 'first error line' >&2; echo 'boom: it broke' >&2; exit 3"
upstream = ["ok"]
"""

SLOW = """
[workflow]
name = "slow"
default_resources = { memory = "64M", runtime = "5m", cores = 1, queue = "all" }

[[tasks]]
name = "nap1"
command = "sleep 97.25"

[[tasks]]
name = "nap2"
command = "sleep 97.25"
"""


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k != "ACTORSWARM_TOKEN"}
    out["ACTORSWARM_CONFIG"] = "/nonexistent/actorswarm-config.toml"
    return out


def cli(*argv: str, cwd: Path, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "actors.main", *argv], check=False, cwd=cwd,
                          env=env(),
                          capture_output=True, text=True, timeout=timeout)


_BEFORE: set[int] = set()  # processes a session fixture started before these tests


def descendants_running(marker: str) -> list[str]:
    """Our live descendants whose command line contains ``marker``, except the processes
    that were already running when the test began (e.g. another tier's session server)."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        if proc.pid in _BEFORE:
            continue
        try:
            cmd = " ".join(proc.cmdline())
            if marker in cmd and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(cmd)
        except psutil.Error:
            continue
    return found


def test_diamond_runs_to_done_and_writes_the_json(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "diamond.toml", tmp_path / "diamond.toml")
    done = cli("run", "diamond.toml", "--backend", "local", "--state-dir", "st",
               "--heartbeat-interval", "1", "--json", "result.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "result.json").read_text())
    assert doc["final_status"] == "D" and doc["error"] is None
    assert doc["task_final_statuses"] == {"split": "D", "left": "D", "right": "D", "join": "D"}
    assert sorted(doc["done_task_ids"]) == ["join", "left", "right", "split"]
    assert doc["total_tasks"] == doc["done_count"] == 4 and doc["failed_count"] == 0
    assert {"orchestrator", "heartbeat", "synchronizer", "scheduler"} <= set(doc["actors"])
    assert all(count == 0 for count in doc["restarts"].values())
    assert doc["workflow_id"] >= 1 and doc["workflow_run_id"] >= 1
    assert "D (done)" in done.stdout.splitlines()[0]
    assert "run D: 4/4 done" in done.stderr  # the plain progress lines (not a terminal)
    assert (tmp_path / "out" / "diamond" / "odd.txt").read_text().split()[:2] == ["1", "3"]


def test_a_failing_task_exits_1_and_prints_its_error_lines(tmp_path: Path) -> None:
    (tmp_path / "failing.toml").write_text(FAILING)
    done = cli("run", "failing.toml", "--state-dir", "st", "--heartbeat-interval", "1",
               "--json", "-", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)  # --json -: stdout holds only the document
    assert doc["final_status"] == "E" and doc["failed_task_ids"] == ["bad"]
    assert doc["task_final_statuses"] == {"ok": "D", "bad": "F"}
    assert doc["error"]["type"]
    lines = done.stderr.splitlines()
    failed = next(i for i, line in enumerate(lines) if line.startswith("failed 'bad'"))
    assert "attempt 2" in lines[failed] and "exit code 3" in lines[failed]
    assert "  | first error line" in lines[failed + 1:]
    assert "  | boom: it broke" in lines[failed + 1:]


def test_a_workflow_on_an_external_server_then_status_and_logs(tmp_path: Path) -> None:
    (tmp_path / "failing.toml").write_text(FAILING)
    with reader_server(str(tmp_path / "server")) as url:
        done = cli("run", "failing.toml", "--server", url, "--state-dir", "st",
                   "--heartbeat-interval", "1", cwd=tmp_path)
        assert done.returncode == 1, done.stderr
        assert "  | boom: it broke" in done.stdout.splitlines()
        status = cli("status", "--server", url, "--json", cwd=tmp_path)
        (summary,) = json.loads(status.stdout)["workflows"]
        assert summary["buckets"] == {"pending": 0, "running": 0, "done": 1, "fatal": 1}
        assert summary["runs"][0]["status"] == "E"
        logs = cli("logs", "--server", url, "--workflow-id", str(summary["workflow_id"]),
                   "--task", "bad", cwd=tmp_path)
        assert logs.returncode == 0
        assert logs.stdout.count("== task 'bad'") == 2
        assert "   some output" in logs.stdout.splitlines()


def test_an_invalid_workflow_file_exits_2_naming_the_field(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text(FAILING.replace('default_max_attempts = 2',
                                                       'default_max_attempts = 2\n'
                                                       'max_concurrently_running = "lots"'))
    done = cli("run", "bad.toml", "--state-dir", "st", cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert "bad.toml" in line and "max_concurrently_running" in line
    assert done.stdout == ""
    assert not (tmp_path / "st").exists()  # nothing started


def test_ctrl_c_stops_the_run_exits_130_and_leaves_no_process(tmp_path: Path) -> None:
    (tmp_path / "slow.toml").write_text(SLOW)
    _BEFORE.clear()
    _BEFORE.update(p.pid for p in psutil.Process().children(recursive=True))
    proc = subprocess.Popen(
        [sys.executable, "-m", "actors.main", "run", "slow.toml", "--state-dir", "st",
         "--heartbeat-interval", "1", "--progress", "plain", "--json", "result.json"],
        cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    err_lines: list[str] = []

    def read_stderr() -> None:
        for line in proc.stderr or ():
            lines.put(line)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 90
        while not any(re.search(r"\b[1-9]\d* running", line) for line in err_lines):
            assert time.monotonic() < deadline, f"tasks never ran: {err_lines}"
            try:
                err_lines.append(lines.get(timeout=1))
            except queue.Empty:
                assert proc.poll() is None, err_lines
        assert descendants_running("sleep 97.25")
        os.kill(proc.pid, signal.SIGINT)
        proc.wait(timeout=120)  # stdout holds a few summary lines: no pipe can fill up
        out = proc.stdout.read() if proc.stdout is not None else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        reader.join(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    while not lines.empty():
        err_lines.append(lines.get())
    assert proc.returncode == 130, (out, err_lines)
    assert any("SIGINT: stopping the run cleanly" in line for line in err_lines)
    assert "S (stopped)" in out
    doc = json.loads((tmp_path / "result.json").read_text())
    assert doc["final_status"] == "S" and doc["interrupted"] is True
    deadline = time.monotonic() + 15
    while descendants_running("sleep 97.25") or descendants_running("actors."):
        assert time.monotonic() < deadline, descendants_running("actors.")
        time.sleep(0.2)


RESUMABLE = """
[workflow]
name = "resumable"
default_resources = { memory = "64M", runtime = "5m", cores = 1, queue = "all" }

[[tasks]]
name = "long"
command = "sleep 6.125"

[[tasks]]
name = "after"
command = "echo after"
upstream = ["long"]
"""


def test_resume_cold_takes_over_a_running_workflow(tmp_path: Path) -> None:
    (tmp_path / "wf.toml").write_text(RESUMABLE)
    with reader_server(str(tmp_path / "server")) as url:
        first = subprocess.Popen(
            [sys.executable, "-m", "actors.main", "run", "wf.toml", "--server", url,
             "--state-dir", "st1", "--heartbeat-interval", "1", "--progress", "off",
             "--json", "first.json"],
            cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 90
            while not descendants_running("sleep 6.125"):
                assert time.monotonic() < deadline and first.poll() is None, "never ran"
                time.sleep(0.2)
            status = json.loads(cli("status", "--server", url, "--json", cwd=tmp_path).stdout)
            workflow_id = status["workflows"][0]["workflow_id"]
            second = cli("resume", "--server", url, "--workflow-id", str(workflow_id),
                         "--cold", "--state-dir", "st2", "--heartbeat-interval", "1",
                         "--json", "second.json", cwd=tmp_path)
            first.communicate(timeout=120)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait(timeout=10)
    assert second.returncode == 0, second.stderr
    new = json.loads((tmp_path / "second.json").read_text())
    old = json.loads((tmp_path / "first.json").read_text())
    assert new["final_status"] == "D" and new["workflow_run_id"] > old["workflow_run_id"]
    assert old["final_status"] == "T" and first.returncode == 1
