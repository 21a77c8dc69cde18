"""The worker in-process: a real command, the server's answers from httpx.MockTransport."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from actors.distributor.http import ServerClient
from actors.worker import exitcodes
from actors.worker.env import InstanceIdentity
from actors.worker.limits import Limits
from actors.worker.runner import Worker, WorkerConfig

pytestmark = [pytest.mark.process, pytest.mark.timeout(30)]


class Answers:
    """Records requests; ``status`` maps a route name to the status answered."""

    def __init__(self, **status: str) -> None:
        self.status = {"log_running": "R", "log_report_by": "R", "log_done": "D",
                       "log_error_worker_node": "E", **status}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        route = request.url.path.rsplit("/", 1)[-1]
        self.calls.append((route, json.loads(request.content or b"{}")))
        answer = self.status[route]
        if route == "log_error_worker_node" and answer == "E":
            answer = self.calls[-1][1]["error_state"]
        return httpx.Response(200, json={"status": answer})

    def routes(self) -> list[str]:
        return [r for r, _ in self.calls]


def _worker(tmp_path: Path, answers: Answers, command: str, *,
            clock: Callable[[], float] | None = None, **kw: Any) -> Worker:
    config = WorkerConfig(server="http://fake", identity=InstanceIdentity(4, 3, 2, "job"),
                          command=command, stdout_path=tmp_path / "job.out",
                          stderr_path=tmp_path / "job.err", cwd=tmp_path,
                          outcome_file=tmp_path / "outcome.json", kill_grace=0.5,
                          heartbeat_interval=kw.pop("heartbeat_interval", 30.0), **kw)

    def client() -> ServerClient:
        return ServerClient("http://fake", transport=httpx.MockTransport(answers),
                            retry_budget=0.1, sleep=lambda s: None)

    return Worker(config, client=client(), heartbeat_client=client(),
                  **({"clock": clock} if clock else {}))


def test_kill_self_at_log_running_never_runs_the_command(tmp_path: Path) -> None:
    answers = Answers(log_running="K")
    assert _worker(tmp_path, answers, "touch ran").run() == exitcodes.KILLED_SELF
    assert not (tmp_path / "ran").exists() and answers.routes() == ["log_running"]


def test_final_status_at_log_running_never_runs_the_command(tmp_path: Path) -> None:
    answers = Answers(log_running="U")
    assert _worker(tmp_path, answers, "touch ran").run() == exitcodes.REPORTED
    assert not (tmp_path / "ran").exists()


def test_runtime_limit_on_a_fake_clock(tmp_path: Path) -> None:
    ticks = iter(range(0, 10_000, 10))  # every look at the clock: 10 s later
    answers = Answers()
    worker = _worker(tmp_path, answers, "sleep 20", clock=lambda: float(next(ticks)),
                     limits=Limits(runtime_s=25))
    assert worker.run() == exitcodes.REPORTED
    route, body = answers.calls[-1]
    assert route == "log_error_worker_node" and body["error_state"] == "Z"
    assert "runtime limit exceeded: ran longer than 25 s" in body["error_message"]
    assert json.loads((tmp_path / "outcome.json").read_text())["status"] == "Z"


def test_triaged_instance_leaves_triage_then_reports(tmp_path: Path) -> None:
    answers = Answers()
    seq = iter(["T", "D"])
    answers.status["log_done"] = "T"
    original = answers.__call__

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("log_done"):
            answers.calls.append(("log_done", {}))
            return httpx.Response(200, json={"status": next(seq)})
        return original(request)

    worker = _worker(tmp_path, answers, "true")
    worker._client = ServerClient("http://fake", transport=httpx.MockTransport(handler))
    assert worker.run() == exitcodes.REPORTED
    assert answers.routes() == ["log_running", "log_done", "log_report_by", "log_done"]


def test_heartbeats_and_kill_self_answer(tmp_path: Path) -> None:
    answers = Answers(log_report_by="K")
    worker = _worker(tmp_path, answers, "sleep 20", heartbeat_interval=0.2)
    assert worker.run() == exitcodes.KILLED_SELF
    assert answers.routes() == ["log_running", "log_report_by"]
    assert answers.calls[1][1] == {"next_report_increment": pytest.approx(0.2 * 3.1)}


def test_stop_request_terminates_without_a_report(tmp_path: Path) -> None:
    answers = Answers()
    worker = _worker(tmp_path, answers, "sleep 20")
    worker.stop_requested.set()
    assert worker.run() == exitcodes.TERMINATED
    assert answers.routes() == ["log_running"]


def test_lost_parent_terminates(tmp_path: Path) -> None:
    answers = Answers()
    worker = _worker(tmp_path, answers, "sleep 20", parent_pid=os.getppid() + 1)
    assert worker.run() == exitcodes.TERMINATED


def test_a_command_that_cannot_start_is_an_unknown_error(tmp_path: Path) -> None:
    answers = Answers()
    worker = _worker(tmp_path, answers, "true")
    worker = Worker(attrs.evolve(worker.config, cwd=tmp_path / "missing"),
                    client=worker._client, heartbeat_client=worker._hb_client)
    assert worker.run() == exitcodes.REPORTED
    route, body = answers.calls[-1]
    assert route == "log_error_worker_node" and body["error_state"] == "U"
    assert "could not start the command" in body["error_message"]
    assert "missing" in body["error_message"]
