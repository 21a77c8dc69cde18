"""Test helpers: a gateway over ``httpx.MockTransport`` with a fake clock and a fake sleep."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from actors.gateway import Gateway, GatewayConfig, RetryPolicy

BASE = "http://state.test:8080"


class FakeTime:
    """A monotonic clock that only moves when the gateway sleeps (or a test advances it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Recorder:
    """A MockTransport handler that records requests and answers from a script."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def last_json(self) -> Any:
        return json.loads(self.last.content) if self.last.content else None


def make_gateway(answer: Callable[[httpx.Request], httpx.Response], *,
                 token: str | None = None, retry: RetryPolicy | None = None,
                 read_timeout: float = 30.0) -> tuple[Gateway, Recorder, FakeTime]:
    recorder = Recorder(answer)
    fake = FakeTime()
    config = GatewayConfig(base_url=BASE, token=token, read_timeout=read_timeout,
                           retry=retry or RetryPolicy(max_attempts=5, max_elapsed=60.0,
                                                      initial_backoff=0.5, max_backoff=4.0,
                                                      jitter=0.1))
    gateway = Gateway(config, transport=httpx.MockTransport(recorder), sleep=fake.sleep,
                      clock=fake.clock)
    return gateway, recorder, fake


def ok(payload: Any, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json=payload)
