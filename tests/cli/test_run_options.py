"""``run``/``resume`` options become the fields of a real ``actors.app.RunRequest``."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.app import RunRequest
from actors.cli import build_parser, main
from actors.cli.errors import UsageError
from actors.cli.run_options import request_fields
from actors.errors import ConfigError, WorkflowFileError
from messages.config import OrchestratorConfig, WorkflowRunConfig
from tests.cli.helpers import captured

URL = "http://127.0.0.1:8123"
NO_CONFIG = {"ACTORSWARM_CONFIG": "/nonexistent/actorswarm-config.toml"}

GOOD = """
[workflow]
name = "w"
default_resources = { memory = "64M", runtime = "1m", cores = 1, queue = "all" }

[[tasks]]
name = "a"
command = "true"
"""


@pytest.fixture
def wf_file(tmp_path: Path) -> str:
    path = tmp_path / "wf.toml"
    path.write_text(GOOD)
    return str(path)


def request(*argv: str, environ: dict[str, str] | None = None) -> RunRequest:
    args = build_parser().parse_args(list(argv))
    return RunRequest(**request_fields(args, {**NO_CONFIG, **(environ or {})}))


def test_a_file_with_defaults(wf_file: str) -> None:
    req = request("run", wf_file)
    assert (req.workflow_file, req.workflow_id, req.workflow_run_id, req.resume) == (
        wf_file, None, None, None)
    assert (req.server_url, req.token, req.state_dir, req.backend) == (
        None, None, ".actorswarm", "local")
    assert (req.distributor_command, req.distributor_args, req.mode) == (None, (), "process")
    assert req.config == OrchestratorConfig()
    assert (req.distributor_ready, req.distributor_ready_stream,
            req.distributor_ready_timeout) == (None, "stdout", 60.0)


def test_overrides_reach_the_orchestrator_config(wf_file: str) -> None:
    req = request("run", wf_file, "--timeout", "12", "--fail-fast", "--heartbeat-interval",
                  "1.5", "--max-batch-size", "40", "--max-concurrently-running", "3")
    assert req.config.timeout == 12.0 and req.config.max_batch_size == 40
    assert req.config.run == WorkflowRunConfig(fail_fast=True, heartbeat_interval=1.5)
    assert req.max_concurrently_running == 3


def test_environment_and_config_file_then_the_command_line(wf_file: str,
                                                           tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[run]\nfail_fast = true\nheartbeat_interval = 7\n")
    env = {"ACTORSWARM_CONFIG": str(config), "ACTORSWARM_HEARTBEAT_INTERVAL": "4",
           "ACTORSWARM_TOKEN": "from-env"}
    req = request("run", wf_file, environ=env)
    assert req.config.run.fail_fast is True and req.config.run.heartbeat_interval == 4.0
    assert req.token == "from-env"
    req = request("run", wf_file, "--no-fail-fast", "--heartbeat-interval", "2", "--token",
                  "given", environ=env)
    assert req.config.run.fail_fast is False and req.config.run.heartbeat_interval == 2.0
    assert req.token == "given"


def test_bad_config_values_are_config_errors(wf_file: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[run]\nheartbeat_intervall = 7\n")
    with pytest.raises(ConfigError, match="unknown key run.heartbeat_intervall"):
        request("run", wf_file, environ={"ACTORSWARM_CONFIG": str(config)})
    with pytest.raises(ConfigError, match="ACTORSWARM_FAIL_FAST"):
        request("run", wf_file, environ={"ACTORSWARM_FAIL_FAST": "perhaps"})
    with pytest.raises(ConfigError, match="does not exist"):
        request("run", wf_file, "--config", str(tmp_path / "missing.toml"))


def test_a_bound_workflow_run_and_an_external_distributor() -> None:
    req = request("run", "--server", URL, "--workflow-id", "4", "--workflow-run-id", "8",
                  "--distributor-command", "d {workflow_run_id} {server_url}",
                  "--distributor-ready", "^UP", "--distributor-ready-stream", "stderr",
                  "--distributor-ready-timeout", "5")
    assert (req.workflow_file, req.workflow_id, req.workflow_run_id) == (None, 4, 8)
    assert req.server_url == URL and req.distributor_command == "d {workflow_run_id} {server_url}"
    assert (req.distributor_ready, req.distributor_ready_stream,
            req.distributor_ready_timeout) == ("^UP", "stderr", 5.0)


def test_resume_modes() -> None:
    assert request("resume", "--server", URL, "--workflow-id", "2").resume == "cold"
    hot = request("resume", "--server", URL, "--workflow-id", "2", "--hot")
    assert (hot.resume, hot.workflow_id, hot.server_url) == ("hot", 2, URL)


def test_sim_options_pass_through(wf_file: str) -> None:
    req = request("run", wf_file, "--backend", "sim", "--sim-duration", "uniform:0:1",
                  "--sim-failure-rate", "0.25", "--sim-resource-error-rate", "0.5",
                  "--sim-seed", "11", "--mode", "thread")
    assert req.backend == "sim" and req.mode == "thread"
    assert req.distributor_args == ("--sim-duration", "uniform:0:1", "--sim-failure-rate",
                                    "0.25", "--sim-resource-error-rate", "0.5",
                                    "--sim-seed", "11")


def test_combinations_are_usage_errors(wf_file: str) -> None:
    with pytest.raises(UsageError, match="--sim-seed needs --backend sim"):
        request("run", wf_file, "--sim-seed", "1")


def test_a_bad_workflow_file_fails_before_anything_runs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('command = "true"', "command = 3"))
    with pytest.raises(WorkflowFileError) as info:
        request("run", str(bad))
    assert (info.value.path, info.value.task, info.value.field) == (str(bad), "a", "command")


def test_a_bad_workflow_file_exits_2_with_one_line_naming_file_task_field(
        tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('command = "true"', 'command = "true"\nupstream = ["ghost"]'))
    ctx, out, err = captured(NO_CONFIG)
    assert main(["run", str(bad)], ctx) == 2
    lines = err.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert str(bad) in lines[0] and "task 'a'" in lines[0] and "field 'upstream[0]'" in lines[0]
    assert out.getvalue() == ""


def test_a_missing_workflow_file_exits_2(tmp_path: Path) -> None:
    ctx, _, err = captured(NO_CONFIG)
    assert main(["run", str(tmp_path / "nope.toml")], ctx) == 2
    assert "nope.toml: cannot read the workflow file" in err.getvalue()
