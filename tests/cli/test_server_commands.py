"""``status``, ``logs`` and ``concurrency`` against a real state-server process.

The fixture starts ``python -m actors.server --port 0 --state-dir TMP`` (through
``actors.cli.reader_server``, which reads its READY line and stops it by PID), binds a
two-task workflow through the gateway and creates a run. Task instances are moved with the
server's own distributor and worker routes, as a distributor and a worker would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from actors.cli import main
from actors.cli.logs_cmd import MISSING
from actors.gateway import Gateway
from tests.cli.conftest import ServerWithWorkflow
from tests.cli.helpers import captured

pytestmark = [pytest.mark.process, pytest.mark.timeout(90)]


def cli(*argv: str) -> tuple[int, str, str]:
    ctx, out, err = captured()
    code = main(list(argv), ctx)
    return code, out.getvalue(), err.getvalue()


def fail_first_task(sw: ServerWithWorkflow, tmp_path: Path) -> tuple[Path, Path]:
    """Queue, launch, run and fail task 'first' (its stdout file exists, stderr does not)."""
    wf, run = int(sw.bound.workflow_id), sw.workflow_run_id
    task_id = sw.bound.task_ids["first"]
    with Gateway(sw.url) as gateway:
        cluster = gateway.get_cluster("local")
        queue = gateway.get_queue(cluster.cluster_id, "all")
        resources = gateway.bind_resources(queue.queue_id, {"memory": 0.0625, "runtime": 60,
                                                            "cores": 1, "queue": "all"})
        gateway.queue_task_batch(sw.bound.array_ids["default"], [task_id], resources, run,
                                 cluster.cluster_id)
    stdout, stderr = tmp_path / "first.1.out", tmp_path / "first.1.err"
    stdout.write_text("hello from first\n")
    with httpx.Client(base_url=sw.url + "/api/v3", timeout=10) as http:
        http.post(f"/distributor/{run}/started", json={}).raise_for_status()
        claimed = http.post(f"/distributor/{run}/claim", json={"max": 5}).json()
        (ti,) = [t["task_instance_id"] for t in claimed["task_instances"]]
        http.post(f"/distributor/{run}/launched", json={
            "task_instances": [[ti, "pid-1"]], "next_report_increment": 60}).raise_for_status()
        http.post(f"/task_instance/{ti}/log_running", json={
            "next_report_increment": 60, "stdout_path": str(stdout),
            "stderr_path": str(stderr)}).raise_for_status()
        http.post(f"/task_instance/{ti}/log_error_worker_node", json={
            "error_state": "E", "error_message": "Traceback\nValueError: broken",
            "exit_code": 3}).raise_for_status()
    assert wf > 0
    return stdout, stderr


def test_status_table_and_json(server_with_workflow: ServerWithWorkflow) -> None:
    sw = server_with_workflow
    wf = int(sw.bound.workflow_id)
    code, out, err = cli("status", "--server", sw.url)
    assert (code, err) == (0, "")
    assert f"workflow {wf} 'cli-test' (max concurrently running 5)" in out
    header = next(line for line in out.splitlines() if "pending" in line)
    for column in ("pending", "running", "done", "fatal", "run", "run status",
                   "last heartbeat"):
        assert column in header
    row = next(line for line in out.splitlines() if "B (bound)" in line)
    assert row.split()[:5] == ["2", "0", "0", "0", str(sw.workflow_run_id)]

    code, out, _ = cli("status", "--server", sw.url, "--workflow-id", str(wf), "--json")
    assert code == 0
    (summary,) = json.loads(out)["workflows"]
    assert summary["workflow_id"] == wf and summary["name"] == "cli-test"
    assert summary["buckets"] == {"pending": 2, "running": 0, "done": 0, "fatal": 0}
    assert summary["task_counts"] == {"G": 2}
    assert [r["workflow_run_id"] for r in summary["runs"]] == [sw.workflow_run_id]
    assert summary["runs"][0]["status"] == "B"


def test_status_of_an_unknown_workflow_exits_1(server_url: str) -> None:
    code, out, err = cli("status", "--server", server_url, "--workflow-id", "999")
    assert code == 1 and out == ""
    assert err.startswith("actorswarm status: server error: NotFound:")
    assert "999" in err
    code, out, _ = cli("status", "--server", server_url)
    assert code == 0 and out == f"no workflows on {server_url}\n"


def test_logs_show_error_and_files_and_say_when_a_file_is_missing(
        server_with_workflow: ServerWithWorkflow, tmp_path: Path) -> None:
    sw = server_with_workflow
    stdout, stderr = fail_first_task(sw, tmp_path)
    code, out, err = cli("logs", "--server", sw.url, "--workflow-id",
                         str(sw.bound.workflow_id), "--task", "first")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("== task 'first'") and "attempt 1" in lines[0]
    assert "status E" in lines[0] and "exit code 3" in lines[0]
    assert "   ValueError: broken" in lines
    assert f"-- stdout: {stdout}" in lines and "   hello from first" in lines
    assert f"-- stderr: {stderr}: {MISSING}" in lines


def test_logs_of_a_task_without_instances_and_of_an_unknown_task(
        server_with_workflow: ServerWithWorkflow) -> None:
    sw = server_with_workflow
    wf = str(sw.bound.workflow_id)
    code, out, _ = cli("logs", "--server", sw.url, "--workflow-id", wf, "--task", "second")
    assert code == 0 and out == "task 'second' has no task instances yet\n"
    code, out, err = cli("logs", "--server", sw.url, "--workflow-id", wf, "--task", "ghost")
    assert code == 1 and out == ""
    assert err == f"actorswarm logs: workflow {wf} has no task named 'ghost'\n"


def test_concurrency_updates_the_limit(server_with_workflow: ServerWithWorkflow) -> None:
    sw = server_with_workflow
    wf = int(sw.bound.workflow_id)
    code, out, _ = cli("concurrency", "--server", sw.url, "--workflow-id", str(wf), "--max",
                       "0")
    assert code == 0 and out == f"workflow {wf}: max concurrently running set to 0 (paused)\n"
    with Gateway(sw.url) as gateway:
        assert gateway.get_max_concurrently_running(wf) == 0
    assert cli("concurrency", "--server", sw.url, "--workflow-id", str(wf), "--max", "17")[0] == 0
    with Gateway(sw.url) as gateway:
        assert gateway.get_max_concurrently_running(wf) == 17
    code, _, err = cli("concurrency", "--server", sw.url, "--workflow-id", "999", "--max", "1")
    assert code == 1 and "NotFound" in err


def test_a_token_server_needs_the_token(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "actors.server", "--port", "0", "--state-dir", str(tmp_path),
         "--token", "s3cret"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[1]
        code, _, err = cli("status", "--server", url)
        assert code == 1 and "401" in err
        assert cli("status", "--server", url, "--token", "s3cret")[0] == 0
        ctx, _, _ = captured({"ACTORSWARM_TOKEN": "s3cret"})
        assert main(["status", "--server", url], ctx) == 0
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stdout is not None:
            proc.stdout.close()


def test_an_unreachable_server_exits_1_with_one_line() -> None:
    code, out, err = subprocess_cli("-q", "status", "--server", "http://127.0.0.1:9")
    assert code == 1 and out == ""
    (line,) = err.splitlines()
    assert line.startswith("actorswarm status: server error: ServerUnavailable:")
    code, _, err = subprocess_cli("concurrency", "--server", "http://127.0.0.1:9",
                                  "--workflow-id", "1", "--max", "2")
    lines = err.splitlines()
    assert code == 1 and len(lines) > 1
    assert all(line.startswith("actorswarm: ") and "retrying" in line for line in lines[:-1])
    assert lines[-1].startswith("actorswarm concurrency: server error: ServerUnavailable:")


def subprocess_cli(*argv: str) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "actors.main", *argv], check=False,
                          capture_output=True,
                          text=True, timeout=60)
    return done.returncode, done.stdout, done.stderr
