"""The retrying JSON client, through httpx.MockTransport (no network)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from actors.distributor.http import ServerClient, api_base_url
from actors.errors import NotFound, ProtocolMismatch, RequestRejected, ServerUnavailable


def _client(handler: Callable[[httpx.Request], httpx.Response], *, token: str | None = None,
            retry_budget: float = 5.0) -> ServerClient:
    return ServerClient("http://srv:1", transport=httpx.MockTransport(handler),
                        sleep=lambda s: None, token=token, retry_budget=retry_budget)


def test_base_url_forms() -> None:
    assert api_base_url("http://h:1") == "http://h:1/api/v3"
    assert api_base_url("http://h:1/api/v3/") == "http://h:1/api/v3"
    with pytest.raises(ValueError, match="http://"):
        api_base_url("h:1")


def test_sends_json_version_and_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    with _client(handler, token="tok") as client:
        assert client.post("/x", {"a": 1}) == {"ok": True}
        assert client.get("/y", {"q": 2}) == {"ok": True}
        assert client.put("/z") == {"ok": True}
    assert seen[0].url.path == "/api/v3/x" and seen[0].content == b'{"a":1}'
    assert seen[0].url.params["client_jobmon_version"] == "3.6.0"
    assert seen[1].url.params["q"] == "2" and seen[2].method == "PUT"
    assert all(r.headers["authorization"] == "Bearer tok" for r in seen)


def test_retries_5xx_423_and_connection_errors_then_succeeds() -> None:
    answers: Iterator[int | str] = iter([503, 423, "boom", 200])

    def handler(request: httpx.Request) -> httpx.Response:
        code = next(answers)
        if code == "boom":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(int(code), json={"n": 1})

    assert _client(handler).post("/x") == {"n": 1}


def test_gives_up_after_the_budget() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(500, json={"detail": "db locked"})

    with pytest.raises(ServerUnavailable, match="POST /x: server unavailable.*HTTP 500"):
        _client(handler, retry_budget=0.2).post("/x")
    assert len(calls) >= 2


def test_4xx_is_not_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if request.url.path.endswith("/gone"):
            return httpx.Response(404, json={"detail": "task instance 9 does not exist"})
        return httpx.Response(422, json={"detail": "max must be >= 0"})

    client = _client(handler)
    with pytest.raises(NotFound, match="task instance 9 does not exist") as nf:
        client.post("/gone")
    assert nf.value.status_code == 404
    with pytest.raises(RequestRejected, match="max must be") as rej:
        client.post("/bad")
    assert rej.value.status_code == 422 and rej.value.detail == "max must be >= 0"
    assert len(calls) == 2


def test_non_json_answer_is_a_protocol_mismatch() -> None:
    client = _client(lambda r: httpx.Response(200, text="<html>"))
    with pytest.raises(ProtocolMismatch, match="not JSON"):
        client.get("/x")
