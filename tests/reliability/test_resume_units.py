"""Resuming a workflow whose swarm is dead (its root process was SIGKILLed), without processes.

``swarm_gone`` decides from the runs' heartbeat dates and the server's time; ``resume_run``
then opens the new run at once instead of waiting for a drain nobody will do (our server ends
the abandoned run as it opens the new one), and a stop request ends its wait.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from actors.app_steps import resume_run, swarm_gone
from actors.gateway import RunSummary
from messages.values import RunStatus, WorkflowRunId
from tests.gateway.helpers import FakeTime, make_gateway

NOW = "2026-01-01 12:00:00"
OURS = {"long_poll": True, "server": "actorswarm", "version": "0.1.0"}


def _run(status: str, beat: str | None) -> RunSummary:
    return RunSummary(workflow_run_id=WorkflowRunId(4), status=RunStatus(status),
                      heartbeat_date=beat, created_date="2026-01-01 00:00:00")


@pytest.mark.parametrize(("runs", "gone"), [
    ([_run("R", "2026-01-01 11:59:59")], True),    # overdue: its swarm stopped beating
    ([_run("C", "2026-01-01 11:00:00")], True),    # signalled, never drained
    ([_run("R", "2026-01-01 12:00:00")], False),   # due right now: not overdue yet
    ([_run("R", "2026-01-01 12:01:33")], False),   # beating
    ([_run("R", None)], False),                    # no date: never abandoned on a guess
    ([_run("R", "garbage")], False),
    ([_run("E", "2026-01-01 10:00:00"), _run("T", "2026-01-01 10:00:00")], False),  # over
    ([], False),
])
def test_swarm_gone(runs: list[RunSummary], gone: bool) -> None:
    assert swarm_gone(runs, NOW) is gone


class OurServer:
    """Workflow 7 with run 4 in ``status`` whose heartbeat is due at ``beat``; POST
    /workflow_run answers 409 while the beat is in the future (as our server does)."""

    def __init__(self, status: str, beat: str) -> None:
        self.status = status
        self.beat = beat
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v3")
        self.paths.append(path)
        if path == "/features":
            return httpx.Response(200, json=OURS)
        if path == "/time":
            return httpx.Response(200, json={"time": NOW})
        if path == "/workflow/7/fetch_workflow_metadata":
            return httpx.Response(200, json={"workflow": [7, 3, 100]})
        if path == "/workflow/7/status":
            return httpx.Response(200, json=self._summary())
        if path == "/workflow/7/set_resume":
            self.status = "C"
            return httpx.Response(200, json={})
        if path == "/workflow_run":
            body: dict[str, Any] = json.loads(request.content)
            assert body["resume"] is True
            if self.beat > NOW:
                return httpx.Response(409, json={"detail": "active", "error": {
                    "type": "Conflict", "message": "active", "location": "workflow_id",
                    "active_workflow_run_id": 4, "status": self.status}})
            self.status = "T"
            return httpx.Response(200, json={"workflow_run_id": 5, "status": "B"})
        raise AssertionError(f"unexpected {request.method} {path}")

    def _summary(self) -> dict[str, Any]:
        return {"workflow_id": 7, "name": "wf", "max_concurrently_running": 9,
                "task_counts": {}, "buckets": {"pending": 0, "running": 0, "done": 0,
                                               "fatal": 0},
                "runs": [{"workflow_run_id": 4, "status": self.status,
                          "heartbeat_date": self.beat, "created_date": "2026-01-01 00:00:00"}]}


def test_resume_of_a_run_whose_swarm_is_gone_opens_the_new_run_at_once() -> None:
    server = OurServer("R", "2026-01-01 11:58:00")
    gateway, _, _ = make_gateway(server)
    fake = FakeTime()
    assert resume_run(gateway, 7, cold=True, timeout=3600, clock=fake.clock,
                      sleep=fake.sleep) == 5
    assert fake.sleeps == []  # no waiting for a drain that nobody would do
    assert server.paths.count("/workflow/7/set_resume") == 1
    assert server.paths[-1] == "/workflow_run" and server.status == "T"


def test_resume_of_a_live_run_waits_and_a_stop_ends_the_wait() -> None:
    server = OurServer("R", "2026-01-01 12:01:00")  # beating: its swarm drains it
    gateway, _, _ = make_gateway(server)
    fake = FakeTime()
    stop_after = iter([False, False, True])
    assert resume_run(gateway, 7, cold=True, timeout=3600, clock=fake.clock,
                      sleep=fake.sleep, stopped=lambda: next(stop_after)) is None
    assert fake.sleeps == [0.25, 0.25]
    assert "/workflow_run" not in server.paths  # never opened a second run
