"""``actors.app_steps``: opening, resuming and reading runs on a Jobmon server and on ours.

The gateway talks to ``httpx.MockTransport`` answering like each server does (Jobmon's shapes
as recorded in tests/fixtures/jobmon); the resume wait runs on a fake clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from actors.app_steps import create_run, current_run_status, resume_run, status_reader
from actors.errors import ConfigError
from messages.values import RunStatus
from tests.gateway.helpers import FakeTime, make_gateway

Answer = Callable[[httpx.Request], httpx.Response]
NO_ROW = {"error": {"type": "<class 'sqlalchemy.exc.NoResultFound'>",
                    "exception_message": "No row was found when one was required",
                    "status_code": "500"}}


class JobmonLike:
    """Answers a Jobmon 3.4 server's way for workflow 7; ``resumable`` answers in turn."""

    def __init__(self, resumable: list[bool] | None = None,
                 created: dict[str, object] | None = None) -> None:
        self.resumable = list(resumable or [True])
        self.created = created or {"workflow_run_id": 12, "status": "L"}
        self.calls: list[tuple[str, str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v3")
        body = json.loads(request.content) if request.content else None
        self.calls.append((request.method, path, body))
        if path == "/features":
            return httpx.Response(404, json={"detail": "Not Found"})
        if path == "/workflow/7/fetch_workflow_metadata":
            return httpx.Response(200, json={"workflow": [7, 3, 100]})
        if path.startswith("/workflow/") and path.endswith("/fetch_workflow_metadata"):
            return httpx.Response(200, json={"workflow": []})
        if path == "/workflow/7/is_resumable":
            answer = self.resumable.pop(0) if len(self.resumable) > 1 else self.resumable[0]
            return httpx.Response(200, json={"workflow_is_resumable": answer})
        if path in ("/workflow/7/set_resume", "/task/7/set_resume_state"):
            return httpx.Response(200, json={})
        if path == "/workflow_run":
            return httpx.Response(200, json=self.created)
        if path == "/workflow_run/12/update_status":
            asked = body["status"] if isinstance(body, dict) else None
            return httpx.Response(200, json={"status": "B" if asked == "B" else "O"})
        if path == "/workflow_run/13/update_status":
            return httpx.Response(500, json=NO_ROW)
        raise AssertionError(f"unexpected {request.method} {path}")

    def paths(self) -> list[str]:
        return [p for _, p, _ in self.calls]


def test_create_run_on_jobmon_resets_tasks_then_creates_and_binds() -> None:
    server = JobmonLike()
    gateway, _, _ = make_gateway(server)
    assert create_run(gateway, 7) == 12
    assert server.paths() == ["/workflow/7/fetch_workflow_metadata", "/features",
                              "/task/7/set_resume_state", "/workflow_run",
                              "/workflow_run/12/update_status"]
    assert server.calls[2][2] == {"reset_if_running": True}


def test_create_run_of_an_unknown_workflow_names_it() -> None:
    gateway, _, _ = make_gateway(JobmonLike())
    with pytest.raises(ConfigError, match="has no workflow 8"):
        create_run(gateway, 8)


def test_create_run_refused_by_jobmon_says_what_to_do() -> None:
    reason = "WorkflowRun 1 is currentlylinking, WorkflowRun 2 will be aborted."
    gateway, _, _ = make_gateway(JobmonLike(created={"workflow_run_id": None,
                                                     "err_msg": reason}))
    with pytest.raises(ConfigError) as info:
        create_run(gateway, 7)
    assert reason in str(info.value) and "resume --workflow-id 7 --cold" in str(info.value)


def test_resume_on_jobmon_signals_waits_for_the_drain_then_opens_a_run() -> None:
    server = JobmonLike(resumable=[False, False, False, True])
    gateway, _, _ = make_gateway(server)
    fake = FakeTime()
    run = resume_run(gateway, 7, cold=True, timeout=60, clock=fake.clock, sleep=fake.sleep)
    assert run == 12
    assert server.paths() == [
        "/workflow/7/fetch_workflow_metadata", "/features", "/workflow/7/is_resumable",
        "/workflow/7/set_resume", "/workflow/7/is_resumable", "/workflow/7/is_resumable",
        "/workflow/7/is_resumable", "/task/7/set_resume_state", "/workflow_run",
        "/workflow_run/12/update_status"]
    assert server.calls[3][2] == {"reset_running_jobs": True}
    assert fake.sleeps == [0.25, 0.25]


def test_hot_resume_without_an_alive_run_keeps_running_tasks() -> None:
    server = JobmonLike(resumable=[True])
    gateway, _, _ = make_gateway(server)
    assert resume_run(gateway, 7, cold=False, timeout=60) == 12
    assert "/workflow/7/set_resume" not in server.paths()
    assert server.calls[-3][2] == {"reset_if_running": False}
    assert server.calls[-2][2]["reset_running_jobs"] is False  # type: ignore[index]


def test_resume_that_never_drains_is_a_clear_error() -> None:
    gateway, _, _ = make_gateway(JobmonLike(resumable=[False]))
    fake = FakeTime()
    with pytest.raises(ConfigError, match="did not drain to T within 5 s"):
        resume_run(gateway, 7, cold=True, timeout=5, clock=fake.clock, sleep=fake.sleep)


def test_current_run_status_on_jobmon_and_an_unknown_run() -> None:
    server = JobmonLike()
    gateway, _, _ = make_gateway(server)
    assert current_run_status(gateway, 7, 12) is RunStatus.LAUNCHED
    assert server.calls[-1] == ("PUT", "/workflow_run/12/update_status", {"status": "G"})
    with pytest.raises(ConfigError, match="no workflow run 13 of workflow 7"):
        current_run_status(gateway, 7, 13)


def test_status_reader_answers_none_while_the_server_is_away() -> None:
    answers = iter([503, 503, 200])

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/features"):
            return httpx.Response(404, json={"detail": "Not Found"})
        code = next(answers)
        return httpx.Response(code, json={"status": "O"} if code == 200 else {"detail": "x"})

    gateway, _, _ = make_gateway(answer)
    read = status_reader(gateway, 7, 12)
    assert read() is None  # two attempts, both 503: ask again at the next poll
    assert read() is RunStatus.LAUNCHED


OURS = {"long_poll": True, "server": "actorswarm", "version": "0.1.0"}


def _our_server(run_statuses: list[str]) -> tuple[Answer, list[tuple[str, str, object]]]:
    calls: list[tuple[str, str, object]] = []
    pending = list(run_statuses)

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v3")
        body = json.loads(request.content) if request.content else None
        calls.append((request.method, path, body))
        if path == "/features":
            return httpx.Response(200, json=OURS)
        if path == "/workflow/7/fetch_workflow_metadata":
            return httpx.Response(200, json={"workflow": [7, 3, 100]})
        if path == "/workflow/7/status":
            status = pending.pop(0) if len(pending) > 1 else pending[0]
            return httpx.Response(200, json={
                "workflow_id": 7, "name": "wf", "max_concurrently_running": 9,
                "task_counts": {}, "buckets": {"pending": 0, "running": 0, "done": 0,
                                               "fatal": 0},
                "runs": [{"workflow_run_id": 4, "status": status, "heartbeat_date": None,
                          "created_date": "2026-01-01 00:00:00"}]})
        if path == "/workflow/7/set_resume":
            return httpx.Response(200, json={})
        if path == "/workflow_run":
            return httpx.Response(200, json={"workflow_run_id": 5, "status": "B"})
        raise AssertionError(f"unexpected {request.method} {path}")

    return answer, calls


def test_hot_resume_on_our_server_waits_for_the_old_run_to_end() -> None:
    answer, calls = _our_server(["R", "H", "T"])
    gateway, _, _ = make_gateway(answer)
    fake = FakeTime()
    assert resume_run(gateway, 7, cold=False, timeout=60, clock=fake.clock,
                      sleep=fake.sleep) == 5
    paths = [p for _, p, _ in calls]
    assert paths.count("/workflow/7/set_resume") == 1 and paths[-1] == "/workflow_run"
    assert calls[-1][2]["resume"] is True  # type: ignore[index]
    assert calls[-1][2]["reset_running_jobs"] is False  # type: ignore[index]
    assert current_run_status(gateway, 7, 4) is RunStatus.TERMINATED
