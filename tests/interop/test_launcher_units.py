"""Unit tests of the launcher, the process helpers and the scenarios (no Jobmon needed).

The process tests here use small stand-in programs (the repo's own interpreter), so they run
wherever the main tier runs; the real distributor is exercised in test_reference_env.py.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path

import hypothesis.strategies as st
import psutil
import pytest
from hypothesis import given

from actors.errors import ActorswarmError, WorkflowFileError

from .jobmon_procs import (
    ClientDriverError,
    DistributorStartError,
    ReferenceDistributor,
    distributor_argv,
    distributor_command,
    parse_result,
    run_client_driver,
)
from .jobmon_ref import (
    CONSTRAINTS_FILE,
    MARKER_NAME,
    PACKAGES,
    ClientSettings,
    ReferenceEnv,
    ReferenceEnvError,
    default_venv_dir,
    ensure_venv,
    expected_marker,
)
from .scenarios import ScenarioError, TaskSpec, WorkflowSpec, chain, fan_out_fan_in


def test_venv_dir_prefers_the_override_then_xdg_then_home() -> None:
    assert default_venv_dir({"JOBMON_REF_VENV": "/x/v", "XDG_CACHE_HOME": "/c"}) == Path("/x/v")
    assert default_venv_dir({"XDG_CACHE_HOME": "/c"}) == Path("/c/actorswarm/jobmon-reference")
    assert default_venv_dir({}) == Path.home() / ".cache" / "actorswarm" / "jobmon-reference"


def test_constraints_pin_the_same_jobmon_versions_as_packages() -> None:
    pins = {line.strip().lower().replace("_", "-") for line in
            CONSTRAINTS_FILE.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")}
    assert {spec.lower() for spec in PACKAGES} <= pins


def test_client_env_points_the_real_client_at_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    monkeypatch.setenv("JOBMON__HTTP__SERVICE_URL", "http://elsewhere")
    env = ReferenceEnv(Path("/venv")).client_env(
        "http://127.0.0.1:8123/api/v3", ClientSettings(workflow_run_heartbeat=2.5))
    assert env["JOBMON__HTTP__SERVICE_URL"] == "http://127.0.0.1:8123"
    assert env["JOBMON__HTTP__ROUTE_PREFIX"] == "/api/v3"
    assert env["JOBMON__HEARTBEAT__WORKFLOW_RUN_INTERVAL"] == "2.5"
    assert env["JOBMON__HEARTBEAT__TASK_INSTANCE_INTERVAL"] == "1"
    assert env["PATH"].split(os.pathsep)[0] == "/venv/bin"
    assert "PYTHONPATH" not in env


def _fake_venv(root: Path) -> Path:
    venv = root / "venv"
    (venv / "bin").mkdir(parents=True)
    for name in ("python", "worker_node_entry_point", "jobmon_server"):
        (venv / "bin" / name).write_text("", encoding="utf-8")
    return venv


def test_a_marked_venv_is_used_without_running_anything(tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path)
    (venv / MARKER_NAME).write_text(json.dumps(expected_marker(True)), encoding="utf-8")
    assert ensure_venv(venv, python="/nonexistent/python").venv == venv.resolve()


def test_a_venv_that_cannot_be_built_raises_a_typed_error(tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path)
    (venv / MARKER_NAME).write_text(json.dumps({"packages": ["other==1"]}), encoding="utf-8")
    with pytest.raises(ReferenceEnvError, match="venv") as info:
        ensure_venv(venv, python=str(tmp_path / "no-such-python"))
    assert isinstance(info.value, ActorswarmError)


def test_distributor_command_template_formats_to_the_clients_argv() -> None:
    env = ReferenceEnv(Path("/v e n v"))
    command = distributor_command(env, "multiprocess").format(workflow_run_id=42)
    assert shlex.split(command) == distributor_argv(env, "multiprocess", 42)
    assert distributor_argv(env, "sequential", 7)[-4:] == [
        "--cluster_name", "sequential", "--workflow_run_id", "7"]
    client_env = env.client_env("http://127.0.0.1:9/api/v3")
    with_env = shlex.split(distributor_command(env, "sequential", client_env).format(
        workflow_run_id=3))
    assert with_env[0] == "env"
    assert "JOBMON__HTTP__SERVICE_URL=http://127.0.0.1:9" in with_env
    assert with_env[-len(distributor_argv(env, "sequential", 3)):] == distributor_argv(
        env, "sequential", 3)


def test_parse_result_takes_the_last_result_line() -> None:
    out = 'noise\nRESULT {"ok": false}\nmore\nRESULT {"ok": true, "n": 1}\ntrailer\n'
    assert parse_result(out) == {"ok": True, "n": 1}
    assert parse_result("no result here") is None


def _fake(code: str) -> list[str]:
    return [sys.executable, "-c", code]


@pytest.mark.process
@pytest.mark.timeout(60)
def test_distributor_start_waits_for_alive_and_stop_cleans_its_group() -> None:
    code = ("import subprocess, sys, time\n"
            "child = subprocess.Popen(['sleep', '60'])\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(0.3); sys.stderr.write('ALIVE'); sys.stderr.flush()\n"
            "time.sleep(60)\n")
    dist = ReferenceDistributor.start(_fake(code), dict(os.environ), timeout=20)
    try:
        assert dist.alive()
        grandchildren = psutil.Process(dist.pid).children()
        assert len(grandchildren) == 1
    finally:
        stderr = dist.stop(timeout=5)
    assert stderr.startswith("ALIVE")
    assert not dist.alive()
    assert not grandchildren[0].is_running() or grandchildren[0].status() == "zombie"


@pytest.mark.process
@pytest.mark.timeout(60)
def test_distributor_that_exits_or_stays_silent_is_a_start_error() -> None:
    with pytest.raises(DistributorStartError, match="exited with 3"):
        ReferenceDistributor.start(_fake("import sys; sys.stderr.write('boom'); sys.exit(3)"),
                                   dict(os.environ), timeout=20)
    started = time.monotonic()
    with pytest.raises(DistributorStartError, match="printed no 'ALIVE'"):
        ReferenceDistributor.start(_fake("import time; time.sleep(60)"), dict(os.environ),
                                   timeout=0.5)
    assert time.monotonic() - started < 30  # it gave up instead of waiting for the child


@pytest.mark.process
@pytest.mark.timeout(60)
def test_client_driver_without_jobmon_is_a_driver_error(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)  # an interpreter without Jobmon
    env = ReferenceEnv(venv)
    with pytest.raises(ClientDriverError, match="no RESULT"):
        run_client_driver(env, env.base_env(), "bind", chain("sequential", "x").to_wire(),
                          timeout=30)


def test_scenario_errors_name_the_workflow_task_and_field() -> None:
    with pytest.raises(ScenarioError) as info:
        WorkflowSpec("wf", "args", "sequential", (TaskSpec("a", "echo a", ("b",)),
                                                   TaskSpec("b", "echo b")))
    assert (info.value.path, info.value.task, info.value.field) == ("wf", "a", "upstream")
    assert isinstance(info.value, WorkflowFileError)
    bad = [
        ((TaskSpec("a", "echo a"), TaskSpec("a", "echo b")), "name"),
        ((TaskSpec("a", "echo a"), TaskSpec("b", "echo a")), "command"),
        ((TaskSpec("a", "echo a", max_attempts=0),), "max_attempts"),
    ]
    for tasks, field in bad:
        with pytest.raises(ScenarioError) as info:
            WorkflowSpec("wf", "args", "sequential", tasks)
        assert info.value.field == field
    with pytest.raises(ScenarioError, match="unknown templates"):
        WorkflowSpec("wf", "args", "sequential", (TaskSpec("a", "echo a"),),
                     template_limits={"nope": 1})


@given(length=st.integers(1, 30), width=st.integers(1, 10), tag=st.text("abc123", min_size=1))
def test_scenarios_are_valid_topological_dags(length: int, width: int, tag: str) -> None:
    for spec in (chain("sequential", tag, length), fan_out_fan_in("multiprocess", tag, width)):
        wire = json.loads(json.dumps(spec.to_wire()))
        seen: set[str] = set()
        for task in wire["tasks"]:
            assert set(task["upstream"]) <= seen
            seen.add(task["name"])
        assert tag in wire["workflow_args"]
    assert len(chain("sequential", tag, length).tasks) == length
