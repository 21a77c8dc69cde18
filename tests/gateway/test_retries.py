"""Retries (5xx, 423, connection errors, timeouts) with backoff, budgets, and typed errors."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import httpx
import pytest

from actors.errors import (
    GatewayError,
    NotFound,
    ProtocolMismatch,
    RequestRejected,
    ServerUnavailable,
)
from actors.gateway import ActiveRunExists, RetryPolicy
from messages.values import RunStatus
from tests.gateway.helpers import FakeTime, make_gateway

Failure = Callable[[httpx.Request], httpx.Response]


def _status(code: int, body: object = None) -> Failure:
    return lambda request: httpx.Response(code, json=body if body is not None else
                                          {"detail": f"status {code}"})


def _connect_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def _read_timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def _sequence(*answers: Failure) -> Failure:
    """Answer with each in turn, then keep repeating the last one."""
    stream: Iterator[Failure] = itertools.chain(answers, itertools.repeat(answers[-1]))
    return lambda request: next(stream)(request)


_OK_STATUS = _status(200, {"status": "R"})
RETRYABLE = {
    "500": _status(500), "502": _status(502), "503": _status(503), "423": _status(423),
    "connect_error": _connect_error, "read_timeout": _read_timeout,
}


@pytest.mark.parametrize("kind", sorted(RETRYABLE))
def test_retryable_failures_are_retried_until_success(kind: str) -> None:
    failure = RETRYABLE[kind]
    gateway, recorder, fake = make_gateway(_sequence(failure, failure, _OK_STATUS))
    assert gateway.update_status(4, RunStatus.RUNNING) is RunStatus.RUNNING
    assert len(recorder.requests) == 3
    assert len(fake.sleeps) == 2
    # Exponential backoff (0.5 then 1.0) plus jitter of at most 0.1.
    assert 0.5 <= fake.sleeps[0] <= 0.6 and 1.0 <= fake.sleeps[1] <= 1.1


@pytest.mark.parametrize("kind", sorted(RETRYABLE))
def test_retry_budget_spent_raises_server_unavailable(kind: str) -> None:
    gateway, recorder, fake = make_gateway(RETRYABLE[kind])
    with pytest.raises(ServerUnavailable) as info:
        gateway.time()
    assert len(recorder.requests) == 5  # max_attempts
    assert len(fake.sleeps) == 4
    assert "GET /time" in str(info.value) and "5 attempt" in str(info.value)
    if kind in ("connect_error", "read_timeout"):
        assert isinstance(info.value.__cause__, httpx.TransportError)


def test_backoff_is_capped_and_grows() -> None:
    policy = RetryPolicy(max_attempts=8, max_elapsed=1000, initial_backoff=0.5, max_backoff=2.0,
                         jitter=0.0)
    gateway, _, fake = make_gateway(_status(503), retry=policy)
    with pytest.raises(ServerUnavailable):
        gateway.health()
    assert fake.sleeps == [0.5, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0]


def test_elapsed_budget_stops_retrying_on_the_injected_clock() -> None:
    policy = RetryPolicy(max_attempts=1000, max_elapsed=10.0, initial_backoff=1.0,
                         max_backoff=4.0, jitter=0.0)
    gateway, recorder, fake = make_gateway(_connect_error, retry=policy)
    with pytest.raises(ServerUnavailable):
        gateway.health()
    # Waits 1, 2, 4, then the last wait is cut to the 3 s left of the budget: 10 s in total.
    assert fake.sleeps == [1.0, 2.0, 4.0, 3.0]
    assert len(recorder.requests) == 5
    assert fake.now - 1000.0 == pytest.approx(10.0)


def test_with_retry_view_uses_its_own_budget_and_shares_the_pool() -> None:
    gateway, recorder, fake = make_gateway(_status(500))
    once = gateway.with_retry(RetryPolicy.once())
    with pytest.raises(ServerUnavailable):
        once.health()
    assert len(recorder.requests) == 1 and fake.sleeps == []
    assert once._core is gateway._core
    assert gateway.retry_policy.max_attempts == 5


@pytest.mark.parametrize("code,error", [(400, RequestRejected), (401, RequestRejected),
                                        (403, RequestRejected), (404, NotFound),
                                        (409, RequestRejected), (422, RequestRejected)])
def test_other_4xx_are_never_retried(code: int, error: type[RequestRejected]) -> None:
    body = {"detail": "workflow 7: field max_tasks must be >= 0",
            "error": {"type": "InvalidInput", "message": "m", "location": "max_tasks"}}
    gateway, recorder, fake = make_gateway(_status(code, body))
    with pytest.raises(error) as info:
        gateway.update_max_concurrently_running(7, -1)
    assert type(info.value) is error
    assert len(recorder.requests) == 1 and fake.sleeps == []
    assert info.value.status_code == code
    assert info.value.detail == "workflow 7: field max_tasks must be >= 0"
    assert "PUT /workflow/7/update_max_concurrently_running" in str(info.value)


def test_conflict_on_run_creation_names_the_active_run() -> None:
    body = {"detail": "workflow 7 has an active run 3 (R)",
            "error": {"type": "Conflict", "message": "m", "active_workflow_run_id": 3,
                      "status": "R"}}
    gateway, recorder, _ = make_gateway(_status(409, body))
    with pytest.raises(ActiveRunExists) as info:
        gateway.create_workflow_run(7)
    assert info.value.active_workflow_run_id == 3 and info.value.status == "R"
    assert info.value.status_code == 409 and len(recorder.requests) == 1


def test_fastapi_validation_detail_list_is_joined() -> None:
    body = {"detail": [{"loc": ["body", "status"], "msg": "field required"}]}
    gateway, _, _ = make_gateway(_status(422, body))
    with pytest.raises(RequestRejected) as info:
        gateway.update_status(4, "R")
    assert info.value.detail == "field required"


def test_non_json_error_body_gives_its_text_as_detail() -> None:
    gateway, _, _ = make_gateway(lambda r: httpx.Response(400, text="bad thing here"))
    with pytest.raises(RequestRejected) as info:
        gateway.health()
    assert info.value.detail == "bad thing here"


def test_non_json_success_is_a_protocol_mismatch() -> None:
    gateway, recorder, _ = make_gateway(lambda r: httpx.Response(200, text="<html>"))
    with pytest.raises(ProtocolMismatch) as info:
        gateway.health()
    assert "GET /health" in str(info.value) and len(recorder.requests) == 1


@pytest.mark.parametrize("answer", [[], {"status": 3}, {"no": "status"}, "OK"])
def test_wrong_shapes_are_protocol_mismatches(answer: object) -> None:
    gateway, _, _ = make_gateway(lambda r: httpx.Response(200, json=answer))
    with pytest.raises(ProtocolMismatch) as info:
        gateway.log_heartbeat(4, "R", 10.0)
    assert "log_heartbeat" in str(info.value)


def test_unknown_status_letter_is_a_protocol_mismatch() -> None:
    gateway, _, _ = make_gateway(lambda r: httpx.Response(200, json={"status": "Y"}))
    with pytest.raises(ProtocolMismatch) as info:
        gateway.update_status(4, "R")
    assert "RunStatus" in str(info.value) and "'Y'" in str(info.value)


def test_every_error_is_a_gateway_error() -> None:
    for error in (ServerUnavailable, RequestRejected, NotFound, ProtocolMismatch,
                  ActiveRunExists):
        assert issubclass(error, GatewayError)


def test_invalid_url_is_reported_without_retrying() -> None:
    from actors.errors import ConfigError
    from actors.gateway import GatewayConfig
    with pytest.raises(ConfigError):
        GatewayConfig(base_url="state:8080")


def test_invalid_retry_settings_are_config_errors() -> None:
    from actors.errors import ConfigError
    with pytest.raises(ConfigError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ConfigError, match="max_elapsed"):
        RetryPolicy(max_elapsed=-1)


def test_a_sixty_second_outage_costs_ticks_not_the_caller() -> None:
    """A heartbeat-like caller with a small budget fails fast each tick, then recovers."""
    outage_end = 1000.0 + 60.0
    clocks: list[FakeTime] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if clocks[0].clock() < outage_end:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"status": "R"})

    gateway, _, fake = make_gateway(answer)
    clocks.append(fake)
    beat = gateway.with_retry(RetryPolicy(max_attempts=3, max_elapsed=5.0, initial_backoff=1.0,
                                          jitter=0.0))
    outcomes = []
    for _ in range(30):  # one tick every 10 s of the fake clock
        try:
            outcomes.append(beat.log_heartbeat(4, "R", 93.0).value)
        except ServerUnavailable:
            outcomes.append("unavailable")
        fake.now += 10.0
        if outcomes[-1] == "R":
            break
    assert "unavailable" in outcomes and outcomes[-1] == "R"
    assert all(o == "unavailable" for o in outcomes[:-1])
    assert max(fake.sleeps) <= 2.0  # each tick's retries stay within its small budget


def test_unknown_status_letter_from_the_caller_is_rejected_before_sending() -> None:
    from actors.errors import ConfigError
    gateway, recorder, _ = make_gateway(_OK_STATUS)
    with pytest.raises(ConfigError, match="'Y'"):
        gateway.update_status(4, "Y")
    assert recorder.requests == []
