"""``run``/``resume`` in-process with a stand-in ``run_workflow`` (unit tests of the command).

The real ``RunRequest`` is built; ``run_workflow`` is replaced by a function that records the
request, feeds events to ``on_event`` and returns a hand-made ``RunOutcome``. End-to-end runs
through the real composition root are in ``test_e2e.py``.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from actors.app import RunOutcome, RunRequest
from actors.cli import build_parser, main, run_cmd
from actors.cli.run_cmd import AppApi, execute
from actors.errors import ConfigError, ServerUnavailable
from messages.orchestrator import ErrorInfo, Progress, RunFinished
from messages.values import RunStatus
from tests.cli.helpers import captured, instance, outcome, result

NO_CONFIG = {"ACTORSWARM_CONFIG": "/nonexistent/actorswarm-config.toml"}
WF = """
[workflow]
name = "w"
default_resources = { memory = "64M", runtime = "1m", cores = 1, queue = "all" }
[[tasks]]
name = "a"
command = "true"
[[tasks]]
name = "b"
command = "true"
"""


class FakeApp:
    """Records the request; ``behave(request, stop)`` produces the outcome."""

    def __init__(self, behave: Callable[[RunRequest, threading.Event], RunOutcome]) -> None:
        self.behave = behave
        self.requests: list[RunRequest] = []

    def run_workflow(self, request: RunRequest, *, stop: threading.Event) -> RunOutcome:
        self.requests.append(request)
        return self.behave(request, stop)

    def api(self) -> AppApi:
        return AppApi(request_type=RunRequest, run_workflow=self.run_workflow)


@pytest.fixture
def wf_file(tmp_path: Path) -> str:
    path = tmp_path / "wf.toml"
    path.write_text(WF)
    return str(path)


def run(app: FakeApp, *argv: str) -> tuple[int, str, str]:
    ctx, out, err = captured(NO_CONFIG)
    code = execute(build_parser().parse_args(list(argv)), ctx, app.api())
    return code, out.getvalue(), err.getvalue()


def finished_with_events(request: RunRequest, stop: threading.Event) -> RunOutcome:
    assert callable(request.on_event)
    request.on_event(Progress(9, RunStatus.RUNNING, 2, 1, 0, 1, 0, 0, 1.0))
    res = result()
    request.on_event(RunFinished(res))
    return outcome(res)


def test_a_done_run_prints_a_summary_writes_json_and_exits_0(wf_file: str,
                                                             tmp_path: Path) -> None:
    app = FakeApp(finished_with_events)
    target = tmp_path / "out.json"
    code, out, err = run(app, "run", wf_file, "--json", str(target), "--progress", "plain",
                         "--timeout", "60")
    assert code == 0
    (req,) = app.requests
    assert req.workflow_file == wf_file and req.config.timeout == 60.0
    assert out.startswith("workflow 7, run 9: D (done)")
    assert "run R: 1/2 done" in err and "run D: 2/2 done" in err
    doc = json.loads(target.read_text())
    assert doc["final_status"] == "D" and doc["done_task_ids"] == ["a", "b"]


def test_json_to_stdout_moves_the_summary_to_stderr(wf_file: str) -> None:
    code, out, err = run(FakeApp(finished_with_events), "run", wf_file, "--json", "-",
                         "--progress", "off")
    assert code == 0
    assert json.loads(out)["workflow_run_id"] == 9
    assert "workflow 7, run 9: D (done)" in err


def test_a_bound_workflow_is_keyed_by_id(tmp_path: Path) -> None:
    app = FakeApp(finished_with_events)
    target = tmp_path / "r.json"
    code, _, _ = run(app, "run", "--server", "http://127.0.0.1:9", "--workflow-id", "7",
                     "--json", str(target), "--progress", "off")
    assert code == 0 and app.requests[0].workflow_id == 7
    assert json.loads(target.read_text())["done_task_ids"] == [1, 2]


def test_failed_tasks_print_their_last_error_lines(wf_file: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def fetch(**kw: Any) -> tuple[Any, ...]:
        calls.append(kw)
        return (instance(3, 2, "b", 3, error="Traceback\nValueError: bad input", exit_code=1),)

    monkeypatch.setattr(run_cmd, "fetch_task_instances", fetch)
    res = result(RunStatus.ERROR, done=(1,), failed=(2,),
                 error=ErrorInfo("TasksFailed", "1 task(s) failed"))
    code, out, _ = run(FakeApp(lambda r, s: outcome(res, state_dir="/st")), "run", wf_file,
                       "--progress", "off")
    assert code == 1
    assert "failed 'b' (task 2): attempt 3, instance 3 ended E, exit code 1" in out
    assert "  | ValueError: bad input" in out
    assert calls == [{"workflow_id": 7, "embedded": True, "server_url": "http://127.0.0.1:1",
                      "state_dir": "/st", "token": None}]


def test_when_errors_cannot_be_read_the_summary_says_so(wf_file: str) -> None:
    res = result(RunStatus.ERROR, done=(1,), failed=(2,),
                 error=ErrorInfo("TasksFailed", "1 task(s) failed"))
    code, out, _ = run(FakeApp(lambda r, s: outcome(res, state_dir="/nonexistent/st")),
                       "run", wf_file, "--progress", "off")
    assert code == 1
    assert "failed tasks: 1 (their error lines are not available: ConfigError: no " \
           "server.sqlite in the state directory /nonexistent/st)" in out


def test_sigint_sets_stop_once_and_a_second_one_only_says_so(wf_file: str) -> None:
    def interrupted(request: RunRequest, stop: threading.Event) -> RunOutcome:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.wait(5)
        os.kill(os.getpid(), signal.SIGTERM)
        res = result(RunStatus.STOPPED, error=ErrorInfo("RunStopped", "interrupted"))
        return outcome(res, interrupted=True)

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    code, out, err = run(FakeApp(interrupted), "run", wf_file, "--progress", "plain")
    assert code == 130
    assert "actorswarm: SIGINT: stopping the run cleanly" in err
    assert "actorswarm: SIGTERM: already stopping the run, please wait" in err
    assert "S (stopped)" in out
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_json_file_that_cannot_be_written_is_reported(wf_file: str, tmp_path: Path) -> None:
    target = tmp_path / "gone" / "r.json"
    target.parent.mkdir()

    def remove_dir_then_finish(request: RunRequest, stop: threading.Event) -> RunOutcome:
        target.parent.rmdir()
        return outcome()

    code, _, err = run(FakeApp(remove_dir_then_finish), "run", wf_file, "--json", str(target),
                       "--progress", "off")
    assert code == 1
    assert f"--json {target}: cannot write the result" in err


@pytest.mark.parametrize(("exc", "code", "needle"), [
    (ConfigError("backend 'slurm' is not available here"), 2,
     "actorswarm run: error: backend 'slurm' is not available here"),
    (ServerUnavailable("GET /health: connection refused"), 1,
     "actorswarm run: server error: ServerUnavailable: GET /health: connection refused"),
    (KeyboardInterrupt(), 130, "actorswarm run: interrupted"),
])
def test_errors_from_the_run_map_to_exit_codes(wf_file: str, monkeypatch: pytest.MonkeyPatch,
                                               exc: BaseException, code: int,
                                               needle: str) -> None:
    def raise_it(request: RunRequest, stop: threading.Event) -> RunOutcome:
        raise exc

    monkeypatch.setattr(AppApi, "load", classmethod(lambda cls: FakeApp(raise_it).api()))
    ctx, _, err = captured(NO_CONFIG)
    assert main(["run", wf_file, "--progress", "off"], ctx) == code
    assert err.getvalue().splitlines() == [needle]
