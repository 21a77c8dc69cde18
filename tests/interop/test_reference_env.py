"""Smoke tests of the reference environment: the real server, client and distributor together.

Each test starts only what it needs, observes the outcome through the server's database (a
read-only view, so observing changes nothing) and stops every process it started.
"""

from __future__ import annotations

import json
import os
import shlex
import urllib.request
from pathlib import Path

import psutil
import pytest

from .jobmon_procs import (
    ReferenceDistributor,
    distributor_argv,
    distributor_command,
    run_client_driver,
)
from .jobmon_ref import JobmonServer, ReferenceEnv
from .scenarios import chain

pytestmark = [pytest.mark.interop, pytest.mark.process]


def _run_status(server: JobmonServer, workflow_run_id: int) -> str:
    rows = server.query("SELECT status FROM workflow_run WHERE id = ?", (workflow_run_id,))
    assert rows, f"workflow run {workflow_run_id} not in the database"
    return str(rows[0][0])


def _post(url: str, body: dict[str, object]) -> tuple[int, object]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return resp.status, json.loads(resp.read())


@pytest.mark.timeout(300)
@pytest.mark.parametrize("cluster", ["sequential", "multiprocess"])
def test_real_client_runs_chain_to_done(jobmon_reference: ReferenceEnv,
                                        jobmon_server: JobmonServer,
                                        jobmon_client_env: dict[str, str],
                                        cluster: str, tag: str) -> None:
    spec = chain(cluster, tag)
    result = run_client_driver(jobmon_reference, jobmon_client_env, "run", spec.to_wire(),
                               args=["--timeout", "200"], timeout=260)

    assert result["ok"], result
    assert result["status"] == "D"
    assert {name: t["final_status"] for name, t in result["tasks"].items()} == {
        "t1": "D", "t2": "D", "t3": "D"}
    assert _run_status(jobmon_server, result["workflow_run_id"]) == "D"
    task_ids = [t["task_id"] for t in result["tasks"].values()]
    marks = ",".join("?" * len(task_ids))
    rows = jobmon_server.query(
        f"SELECT t.status, COUNT(ti.id), SUM(ti.status = 'D') FROM task t "
        f"JOIN task_instance ti ON ti.task_id = t.id WHERE t.id IN ({marks}) GROUP BY t.id",
        tuple(task_ids))
    assert rows == [("D", 1, 1)] * 3  # one instance per task, each D


@pytest.mark.timeout(180)
def test_distributor_helper_moves_bound_run_to_launched(jobmon_reference: ReferenceEnv,
                                                        jobmon_server: JobmonServer,
                                                        jobmon_client_env: dict[str, str],
                                                        tag: str) -> None:
    bound = run_client_driver(jobmon_reference, jobmon_client_env, "bind",
                              chain("sequential", tag, length=2).to_wire(),
                              args=["--create-run"], timeout=120)
    wfr = bound["workflow_run_id"]
    assert bound["ok"] and isinstance(wfr, int)
    assert set(bound["initial_status"].values()) == {"G"}
    assert _run_status(jobmon_server, wfr) == "B"

    # the --distributor-command template carries the server's settings itself: start it with
    # a bare environment to prove it
    argv = shlex.split(distributor_command(jobmon_reference, "sequential", jobmon_client_env)
                       .format(workflow_run_id=wfr))
    assert argv[-5:] == distributor_argv(jobmon_reference, "sequential", wfr)[-5:]
    dist = ReferenceDistributor.start(argv, {"PATH": os.defpath}, timeout=90)
    try:
        assert dist.alive()
        assert _run_status(jobmon_server, wfr) == "O"  # B -> I -> O before ALIVE
    finally:
        stderr = dist.stop()
    assert "ALIVE" in stderr and "SHUTDOWN" in stderr
    assert not psutil.pid_exists(dist.pid) or psutil.Process(dist.pid).status() == "zombie"


@pytest.mark.timeout(180)
def test_launcher_starts_patched_server_and_stops_it_by_pid(jobmon_reference: ReferenceEnv,
                                                            tmp_path: Path) -> None:
    server = JobmonServer.start(jobmon_reference, tmp_path / "own.sqlite", timeout=90)
    try:
        assert server.health()
        assert server.base_url.startswith("http://127.0.0.1:")
        # the v3 router answers without an OIDC session (403 otherwise)
        with urllib.request.urlopen(f"{server.base_url}/workflow/1/fetch_workflow_metadata",
                                    timeout=10) as resp:
            assert json.loads(resp.read()) == {"workflow": []}
        # transition_to_killed is reachable under /api/v3 (the 3.4.8 distributor calls it there)
        assert _post(f"{server.base_url}/array/999/transition_to_killed",
                     {"batch_number": 1}) == (200, {})
        assert server.query("SELECT COUNT(*) FROM workflow_run") == [(0,)]
        client_env = server.client_env()
        assert client_env["JOBMON__HTTP__SERVICE_URL"] == f"http://127.0.0.1:{server.port}"
        assert client_env["JOBMON__HTTP__ROUTE_PREFIX"] == "/api/v3"
    finally:
        code = server.stop()
    assert code is not None
    assert not psutil.pid_exists(server.pid)
