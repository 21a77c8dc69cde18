"""Argument parsing of every subcommand; bad usage exits 2 with a message naming the option."""

from __future__ import annotations

import argparse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.cli import build_parser, main
from actors.cli import options as o
from tests.cli.helpers import captured

URL = "http://127.0.0.1:8123"


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    ctx, _, _ = captured()
    assert main(list(argv), ctx) == 2
    return capsys.readouterr().err


def test_run_with_a_file_and_every_option() -> None:
    args = parse("run", "wf.toml", "--server", URL + "/", "--state-dir", "st", "--backend",
                 "sim", "--timeout", "30", "--fail-fast", "--heartbeat-interval", "2.5",
                 "--max-concurrently-running", "0", "--json", "-", "--mode", "thread",
                 "--sim-duration", "exp:0.5", "--sim-failure-rate", "0.1", "--sim-seed", "3",
                 "--token", "secret", "--max-batch-size", "50", "--progress", "plain")
    assert (args.command, args.workflow_file, args.server) == ("run", "wf.toml", URL)
    assert (args.state_dir, args.backend, args.timeout, args.fail_fast) == ("st", "sim", 30.0,
                                                                           True)
    assert (args.heartbeat_interval, args.max_concurrently_running, args.json_target) == (
        2.5, 0, "-")
    assert (args.mode, args.sim_duration, args.sim_failure_rate, args.sim_seed) == (
        "thread", "exp:0.5", 0.1, 3)
    assert (args.token, args.max_batch_size, args.progress) == ("secret", 50, "plain")
    assert args.handler.__module__ == "actors.cli.run_cmd"


def test_run_defaults() -> None:
    args = parse("run", "wf.toml")
    assert (args.server, args.state_dir, args.backend, args.mode) == (
        None, ".actorswarm", "local", "process")
    assert args.fail_fast is None and args.timeout is None and args.json_target is None
    assert args.progress == "auto"


def test_run_a_bound_workflow_and_an_external_distributor() -> None:
    args = parse("run", "--server", URL, "--workflow-id", "4", "--workflow-run-id", "8",
                 "--distributor-command", "my-dist --run {workflow_run_id}",
                 "--distributor-ready", r"^UP\b", "--distributor-ready-stream", "stderr",
                 "--distributor-ready-timeout", "5")
    assert (args.workflow_file, args.workflow_id, args.workflow_run_id) == (None, 4, 8)
    assert args.distributor_command == "my-dist --run {workflow_run_id}"
    assert (args.distributor_ready, args.distributor_ready_stream,
            args.distributor_ready_timeout) == (r"^UP\b", "stderr", 5.0)


def test_resume_cold_by_default_hot_on_request() -> None:
    args = parse("resume", "--server", URL, "--workflow-id", "3")
    assert (args.command, args.workflow_id, args.resume_mode) == ("resume", 3, None)
    assert parse("resume", "--server", URL, "--workflow-id", "3", "--hot").resume_mode == "hot"
    assert parse("resume", "--server", URL, "--workflow-id", "3", "--cold").resume_mode == "cold"


def test_status_logs_concurrency_serve() -> None:
    s = parse("status", "--server", URL, "--workflow-id", "2", "--json")
    assert (s.server, s.workflow_id, s.json) == (URL, 2, True)
    assert parse("status", "--server", URL).workflow_id is None
    lg = parse("logs", "--server", URL, "--workflow-id", "2", "--task", "a", "--tail", "5")
    assert (lg.workflow_id, lg.task, lg.tail) == (2, "a", 5)
    c = parse("concurrency", "--server", URL, "--workflow-id", "2", "--max", "0")
    assert (c.workflow_id, c.max) == (2, 0)
    sv = parse("serve", "--state-dir", "d", "--db", "sqlite:///x.db", "--host", "0.0.0.0",
               "--port", "8000", "--token", "t")
    assert (sv.state_dir, sv.db, sv.host, sv.port, sv.token) == (
        "d", "sqlite:///x.db", "0.0.0.0", 8000, "t")


@pytest.mark.parametrize(("argv", "needle"), [
    ([], "required: COMMAND"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["run", "wf.toml", "--timeout", "-1"], "argument --timeout: must be a number > 0"),
    (["run", "wf.toml", "--timeout", "soon"], "argument --timeout: must be a number > 0"),
    (["run", "wf.toml", "--backend", "pbs"], "argument --backend: invalid choice: 'pbs'"),
    (["run", "wf.toml", "--server", "ftp://x"], "argument --server: must be the server's root"),
    (["run", "wf.toml", "--max-concurrently-running", "-2"],
     "argument --max-concurrently-running: must be an integer >= 0"),
    (["run", "wf.toml", "--sim-duration", "gauss:1"], "unknown distribution 'gauss'"),
    (["run", "wf.toml", "--sim-failure-rate", "1.5"], "must be a probability in [0, 1]"),
    (["run", "wf.toml", "--distributor-ready", "(unclosed"], "not a valid regular expression"),
    (["run", "--workflow-id", "0", "--server", URL],
     "argument --workflow-id: must be an integer >= 1"),
    (["resume", "--workflow-id", "3"], "the following arguments are required: --server"),
    (["resume", "--server", URL], "the following arguments are required: --workflow-id"),
    (["resume", "--server", URL, "--workflow-id", "3", "--cold", "--hot"],
     "argument --hot: not allowed with argument --cold"),
    (["status"], "the following arguments are required: --server"),
    (["logs", "--server", URL], "the following arguments are required: --workflow-id"),
    (["concurrency", "--server", URL, "--workflow-id", "1"],
     "the following arguments are required: --max"),
    (["concurrency", "--server", URL, "--workflow-id", "1", "--max", "x"],
     "argument --max: must be an integer >= 0"),
    (["serve", "--port", "70000"], "argument --port: must be a port number"),
])
def test_bad_usage_exits_2_naming_the_option(capsys: pytest.CaptureFixture[str],
                                             argv: list[str], needle: str) -> None:
    err = usage_error(capsys, *argv)
    assert needle in err
    assert "usage: python -m actors.main" in err


@pytest.mark.parametrize(("argv", "needle"), [
    (["run"], "give a WORKFLOW.toml file, or --server URL --workflow-id N"),
    (["run", "wf.toml", "--server", URL, "--workflow-id", "2"],
     "give either WORKFLOW.toml or --workflow-id, not both"),
    (["run", "--workflow-id", "2"], "--workflow-id needs --server URL"),
    (["run", "wf.toml", "--workflow-run-id", "2"], "--workflow-run-id needs --workflow-id"),
    (["run", "wf.toml", "--sim-duration", "1"], "--sim-duration needs --backend sim"),
    (["run", "wf.toml", "--backend", "sim", "--sim-seed", "1", "--distributor-command", "x"],
     "--sim-seed needs --backend sim and our own distributor"),
    (["run", "wf.toml", "--backend", "sim", "--sim-failure-rate", "0.6",
      "--sim-resource-error-rate", "0.6"], "exceed 1"),
    (["run", "wf.toml", "--distributor-ready", "UP"],
     "--distributor-ready needs --distributor-command"),
    (["run", "wf.toml", "--json", "/nonexistent-dir/out.json"],
     "--json /nonexistent-dir/out.json: directory /nonexistent-dir does not exist"),
])
def test_bad_combinations_exit_2_with_one_line(argv: list[str], needle: str) -> None:
    ctx, out, err = captured()
    assert main(argv, ctx) == 2
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and needle in lines[0], lines
    assert lines[0].startswith(f"python -m actors.main {argv[0]}: error: ")
    assert out.getvalue() == ""


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    ctx, _, _ = captured()
    assert main(["run", "--help"], ctx) == 0
    text = capsys.readouterr().out
    for option in ("--server", "--timeout", "--fail-fast", "--json", "--distributor-command",
                   "--sim-duration", "--max-concurrently-running"):
        assert option in text


@given(st.floats(min_value=1e-6, max_value=1e9, allow_nan=False))
def test_positive_float_accepts_what_it_prints(value: float) -> None:
    assert o.positive_float(repr(value)) == value


@given(st.integers(max_value=0))
def test_positive_int_rejects_zero_and_below(value: int) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="must be an integer >= 1"):
        o.positive_int(str(value))


@pytest.mark.parametrize(("given_url", "root"), [
    ("http://h:1", "http://h:1"), ("http://h:1/", "http://h:1"),
    ("http://h:1/api/v3", "http://h:1"), ("https://h.example/api/v3/", "https://h.example"),
])
def test_server_url_is_the_root(given_url: str, root: str) -> None:
    assert o.server_url(given_url) == root
