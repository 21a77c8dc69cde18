"""Opening runs and reading their state on both dialects; a batch is never sent twice.

Through ``httpx.MockTransport`` (answers recorded from the real Jobmon 3.4 server where they
are Jobmon's: docs/jobmon-notes.md sections 2.2, 2.3, 11 and 13).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from actors.errors import NotFound, ServerUnavailable
from actors.gateway import (
    ActiveRunExists,
    Gateway,
    OutcomeUnknown,
    QueueResult,
    RunRefused,
    compat,
)
from messages.values import RunStatus, TaskId, TaskStatus
from tests.gateway.helpers import make_gateway

Answer = Callable[[httpx.Request], httpx.Response]
NOT_FOUND = httpx.Response(404, json={"detail": "Not Found"})
OURS = {"long_poll": True, "server": "actorswarm", "version": "0.1.0"}


def _jobmon_500(kind: str, message: str) -> dict[str, object]:
    return {"error": {"type": f"<class '{kind}'>", "exception_message": message,
                      "status_code": "500"}}


def _routes(table: dict[tuple[str, str], Answer | httpx.Response]) -> Answer:
    """Answer by (method, path below /api/v3); anything else fails the test."""
    def answer(request: httpx.Request) -> httpx.Response:
        key = (request.method, request.url.path.removeprefix("/api/v3"))
        assert key in table, f"unexpected request {key}"
        value = table[key]
        return value if isinstance(value, httpx.Response) else value(request)
    return answer


def _calls(recorder: object) -> list[tuple[str, str, object]]:
    requests: list[httpx.Request] = recorder.requests  # type: ignore[attr-defined]
    return [(r.method, r.url.path.removeprefix("/api/v3"),
             json.loads(r.content) if r.content else None) for r in requests]


# -- dialect ---------------------------------------------------------------------------------

def test_dialect_is_asked_once_per_pool_and_shared_by_views() -> None:
    gateway, recorder, _ = make_gateway(_routes({("GET", "/features"): NOT_FOUND}))
    assert gateway.dialect() is compat.JOBMON
    assert gateway.with_retry(gateway.retry_policy).dialect() is compat.JOBMON
    assert len(recorder.requests) == 1


def test_a_server_with_features_is_ours() -> None:
    gateway, _, _ = make_gateway(_routes({("GET", "/features"): httpx.Response(200, json=OURS)}))
    assert gateway.dialect() is compat.OURS
    assert compat.dialect_of(compat.JOBMON_FEATURES) is compat.JOBMON


# -- opening a run -----------------------------------------------------------------------------

def _jobmon_opening(reset_answer: dict[str, object] | None = None,
                    created: dict[str, object] | None = None) -> Answer:
    return _routes({
        ("GET", "/features"): NOT_FOUND,
        ("POST", "/task/7/set_resume_state"): httpx.Response(200, json=reset_answer or {}),
        ("POST", "/workflow_run"): httpx.Response(
            200, json=created or {"workflow_run_id": 12, "status": "L"}),
        ("PUT", "/workflow_run/12/update_status"): httpx.Response(200, json={"status": "B"}),
    })


@pytest.mark.parametrize("cold", [True, False])
def test_jobmon_run_is_opened_the_way_its_client_does(cold: bool) -> None:
    gateway, recorder, _ = make_gateway(_jobmon_opening())
    created = gateway.open_workflow_run(7, resume=True, reset_running_jobs=cold)
    assert (created.workflow_run_id, created.status) == (12, RunStatus.BOUND)
    calls = _calls(recorder)
    assert [(m, p) for m, p, _ in calls] == [
        ("GET", "/features"), ("POST", "/task/7/set_resume_state"), ("POST", "/workflow_run"),
        ("PUT", "/workflow_run/12/update_status")]
    assert calls[1][2] == {"reset_if_running": cold}
    body = calls[2][2]
    assert isinstance(body, dict) and body["workflow_id"] == 7
    assert {"user", "jobmon_version", "next_report_increment"} <= set(body)
    assert body.get("reset_running_jobs", True) is cold
    assert calls[3][2] == {"status": "B"}


def test_our_server_resets_the_tasks_itself() -> None:
    gateway, recorder, _ = make_gateway(_routes({
        ("GET", "/features"): httpx.Response(200, json=OURS),
        ("POST", "/workflow_run"): httpx.Response(200, json={"workflow_run_id": 3,
                                                             "status": "B"})}))
    created = gateway.open_workflow_run(7)
    assert (created.workflow_run_id, created.status) == (3, RunStatus.BOUND)
    assert [(m, p) for m, p, _ in _calls(recorder)] == [("GET", "/features"),
                                                         ("POST", "/workflow_run")]
    assert "reset_running_jobs" not in _calls(recorder)[1][2]  # type: ignore[operator]


def test_jobmon_refusals_are_run_refused_with_its_reason() -> None:
    reason = "WorkflowRun 1 is currentlylinking, WorkflowRun 2 will be aborted."
    gateway, _, _ = make_gateway(_jobmon_opening(created={"workflow_run_id": None,
                                                          "err_msg": reason}))
    with pytest.raises(RunRefused) as info:
        gateway.open_workflow_run(7)
    assert info.value.detail == reason and info.value.status_code == 409
    assert not isinstance(info.value, ActiveRunExists)

    gateway, recorder, _ = make_gateway(_jobmon_opening(
        reset_answer={"err_msg": "Workflow 7 is not resumable"}))
    with pytest.raises(RunRefused, match="not resumable"):
        gateway.open_workflow_run(7)
    assert [p for _, p, _ in _calls(recorder)][-1] == "/task/7/set_resume_state"


def test_jobmon_500_for_a_workflow_stuck_in_launch_is_refused_at_once() -> None:
    stuck = _jobmon_500("jobmon.core.exceptions.InvalidStateTransition",
                        "Cannot transition Workflow id: 7 from O to G")
    gateway, recorder, fake = make_gateway(_routes({
        ("GET", "/features"): NOT_FOUND,
        ("POST", "/task/7/set_resume_state"): httpx.Response(200, json={}),
        ("POST", "/workflow_run"): httpx.Response(500, json=stuck)}))
    with pytest.raises(RunRefused, match="from O to G"):
        gateway.open_workflow_run(7)
    assert len(recorder.requests) == 3 and fake.sleeps == []  # not retried


# -- resumable, run status ----------------------------------------------------------------------

def _summary(*runs: tuple[int, str]) -> dict[str, object]:
    return {"workflow_id": 7, "name": "wf", "max_concurrently_running": 10,
            "task_counts": {"G": 1}, "buckets": {"pending": 1, "running": 0, "done": 0,
                                                 "fatal": 0},
            "runs": [{"workflow_run_id": r, "status": s, "heartbeat_date": None,
                      "created_date": "2026-01-01 00:00:00"} for r, s in runs]}


def test_resumable_and_run_status_on_jobmon() -> None:
    gateway, recorder, _ = make_gateway(_routes({
        ("GET", "/features"): NOT_FOUND,
        ("GET", "/workflow/7/is_resumable"): httpx.Response(
            200, json={"workflow_is_resumable": False}),
        ("PUT", "/workflow_run/12/update_status"): httpx.Response(200, json={"status": "O"}),
        ("PUT", "/workflow_run/99/update_status"): httpx.Response(500, json=_jobmon_500(
            "sqlalchemy.exc.NoResultFound", "No row was found when one was required"))}))
    assert gateway.workflow_resumable(7) is False
    assert gateway.run_status(7, 12) is RunStatus.LAUNCHED
    assert _calls(recorder)[-1][2] == {"status": "G"}  # the refused-transition probe
    with pytest.raises(NotFound):
        gateway.run_status(7, 99)


@pytest.mark.parametrize("runs,resumable", [
    ([(1, "E"), (2, "T"), (3, "D")], True),
    ([(1, "T"), (2, "R")], False),
    ([(1, "O")], False),
    ([], True),
])
def test_resumable_on_our_server(runs: list[tuple[int, str]], resumable: bool) -> None:
    gateway, _, _ = make_gateway(_routes({
        ("GET", "/features"): httpx.Response(200, json=OURS),
        ("GET", "/workflow/7/status"): httpx.Response(200, json=_summary(*runs))}))
    assert gateway.workflow_resumable(7) is resumable


def test_run_status_on_our_server() -> None:
    gateway, _, _ = make_gateway(_routes({
        ("GET", "/features"): httpx.Response(200, json=OURS),
        ("GET", "/workflow/7/status"): httpx.Response(200, json=_summary((1, "T"), (2, "B")))}))
    assert gateway.run_status(7, 2) is RunStatus.BOUND
    with pytest.raises(NotFound, match="workflow run 5"):
        gateway.run_status(7, 5)


# -- queue_task_batch is never sent twice once the server may have applied it ----------------

def _raise(error: type[httpx.TransportError]) -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        raise error("boom", request=request)
    return answer


QUEUED = httpx.Response(200, json={"tasks_by_status": {"Q": [1]}})


def _then_queued(first: Answer) -> Answer:
    calls = {"n": 0}

    def answer(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return first(request) if calls["n"] == 1 else QUEUED
    return answer


def _queue(gateway: Gateway) -> object:
    return gateway.queue_task_batch(2, [1], 5, 12, 3)


@pytest.mark.parametrize("first", [
    _raise(httpx.ReadTimeout), _raise(httpx.RemoteProtocolError), _raise(httpx.ReadError),
    _raise(httpx.WriteTimeout),
    lambda r: httpx.Response(502, text="<html>bad gateway</html>"),
    lambda r: httpx.Response(504, json={"detail": "upstream timed out"}),
], ids=["read-timeout", "dropped", "read-error", "write-timeout", "502-html", "504-proxy"])
def test_a_batch_that_may_have_been_applied_is_not_resent(first: Answer) -> None:
    gateway, recorder, fake = make_gateway(_then_queued(first))
    with pytest.raises(OutcomeUnknown) as info:
        _queue(gateway)
    assert isinstance(info.value, ServerUnavailable)
    assert len(recorder.requests) == 1 and fake.sleeps == []


@pytest.mark.parametrize("first", [
    _raise(httpx.ConnectError), _raise(httpx.ConnectTimeout),
    lambda r: httpx.Response(423, json={"detail": "locked"}),
    lambda r: httpx.Response(500, json=_jobmon_500("sqlalchemy.exc.OperationalError",
                                                   "database is locked")),
    lambda r: httpx.Response(503, json={"detail": "busy", "error": {
        "type": "InternalError", "message": "busy", "location": "db"}}),
], ids=["connect-error", "connect-timeout", "423", "jobmon-500-rolled-back", "ours-503"])
def test_a_batch_that_was_certainly_not_applied_is_retried(first: Answer) -> None:
    gateway, recorder, fake = make_gateway(_then_queued(first))
    result = _queue(gateway)
    assert len(recorder.requests) == 2 and len(fake.sleeps) == 1
    assert result == QueueResult({TaskStatus.QUEUED: (TaskId(1),)})


def test_idempotent_calls_are_still_retried_after_a_read_timeout() -> None:
    gateway, recorder, _ = make_gateway(_then_queued(_raise(httpx.ReadTimeout)))
    gateway.set_status_for_triaging(12)
    assert len(recorder.requests) == 2
