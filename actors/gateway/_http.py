"""The HTTP boundary: one ``httpx.Client``, retries, timeouts, and error translation.

Who uses it: :class:`actors.gateway.Gateway` (one ``HttpCore`` per gateway, shared by the
gateway's ``with_retry`` views). Thread-safe: the httpx client and its connection pool may be
used by several threads at once (the synchronizer runs its legs concurrently).

Each call: ``METHOD {base_url}/api/v3{route}?client_jobmon_version=...`` with an optional bearer
token. 2xx -> the decoded JSON. 5xx (except Jobmon's unknown-id 500), 423, connection errors and
timeouts are retried with exponential backoff and jitter (tenacity) within the call's
``RetryPolicy``; when the budget is spent, ``ServerUnavailable``. Every other answer raises at
once: 4xx -> ``RequestRejected`` / ``NotFound`` / ``ActiveRunExists``; a body that is not JSON
-> ``ProtocolMismatch``. httpx errors are translated here, once, with ``raise ... from exc``.

A call marked ``idempotent=False`` (``queue_task_batch``: a Jobmon server makes a second task
instance for a repeated batch) is retried only when the server certainly did not apply it: the
connection was never made, the answer was 423, or the 5xx is the server's own error answer (its
transaction was rolled back). After a read timeout, a connection dropped after sending, or any
other 5xx it raises ``OutcomeUnknown`` at once.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import tenacity

from actors.errors import ProtocolMismatch, ServerUnavailable
from actors.gateway import compat
from actors.gateway.config import API_PREFIX, GatewayConfig, RetryPolicy
from actors.gateway.errors import OutcomeUnknown
from actors.plain_http import tls_verify

__all__ = ["HttpCore"]

_log = logging.getLogger(__name__)

#: httpx errors raised before the request could reach the server (safe to send again).
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class _Retryable(Exception):
    """Internal: one attempt failed in a way worth retrying; ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class _StopAfterElapsed(tenacity.stop.stop_base):
    """tenacity stop condition on the injected clock: ``limit`` seconds after ``started``."""

    def __init__(self, clock: Callable[[], float], started: float, limit: float) -> None:
        self._clock = clock
        self._started = started
        self._limit = limit

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return self._clock() - self._started >= self._limit


def _decode(response: httpx.Response) -> Any:
    """The JSON body, or None when it is empty or not JSON."""
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None


class HttpCore:
    """Sends one route call with retries; see the module docstring for the rules."""

    def __init__(self, config: GatewayConfig, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._closed = False
        #: the server's dialect once the gateway has asked (``compat.Dialect``), shared by views
        self.server_dialect: compat.Dialect | None = None
        self._sleep = sleep
        self._clock = clock
        headers = {"Accept": "application/json"}
        if config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        self._client = httpx.Client(
            base_url=config.base_url + API_PREFIX,
            params={"client_jobmon_version": config.client_version},
            headers=headers,
            timeout=httpx.Timeout(config.read_timeout, connect=config.connect_timeout),
            limits=httpx.Limits(max_connections=config.max_connections,
                                max_keepalive_connections=config.max_connections),
            transport=transport,
            follow_redirects=False,
            verify=tls_verify(config.base_url),
        )

    def close(self) -> None:
        """Close the connection pool (idempotent). Calls in flight or later fail at once with
        ServerUnavailable instead of being retried (an actor is shutting down)."""
        self._closed = True
        self._client.close()

    def _timeout(self, read_timeout: float | None) -> httpx.Timeout:
        read = self.config.read_timeout if read_timeout is None else read_timeout
        return httpx.Timeout(read, connect=self.config.connect_timeout)

    def _attempt(self, method: str, route: str, params: Mapping[str, Any] | None,
                 body: Any, timeout: httpx.Timeout, idempotent: bool = True) -> Any:
        label = f"{method} {route}"
        if self._closed:
            raise ServerUnavailable(f"{label}: the gateway is closed")
        try:
            response = self._client.request(
                method, route, params=dict(params) if params else None,
                json=body if method != "GET" else None, timeout=timeout)
        except httpx.UnsupportedProtocol as exc:
            raise ServerUnavailable(f"{label}: unsupported URL {self.config.base_url!r}") from exc
        except httpx.TransportError as exc:
            if self._closed:
                raise ServerUnavailable(f"{label}: the gateway was closed") from exc
            if not idempotent and not isinstance(exc, _NOT_SENT):
                raise OutcomeUnknown(f"{label}: {type(exc).__name__} after the request may "
                                     f"have reached the server ({exc}); not sent again") from exc
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        except httpx.HTTPError as exc:  # decoding errors, too many redirects
            raise ProtocolMismatch(f"{label}: unreadable answer: {exc}") from exc
        status = response.status_code
        payload = _decode(response)
        if 200 <= status < 300:
            if payload is None and response.content.strip() not in (b"null",):
                raise ProtocolMismatch(f"{label}: answer {status} is not JSON: "
                                       f"{response.text[:200]!r}")
            return payload
        if status == 423 or (status >= 500 and compat.is_retryable_failure(status, payload)):
            detail = compat.error_detail(payload, response.text)
            if not idempotent and status != 423 and not compat.is_server_error_answer(payload):
                raise OutcomeUnknown(f"{label}: HTTP {status} ({detail}) may have come after "
                                     f"the server applied the request; not sent again")
            raise _Retryable(f"HTTP {status}: {detail}")
        raise compat.rejection(label, status, payload, response.text)

    def request(self, method: str, route: str, *, params: Mapping[str, Any] | None = None,
                body: Any = None, retry: RetryPolicy | None = None,
                read_timeout: float | None = None, idempotent: bool = True) -> Any:
        """Call ``route`` and return its decoded JSON; raise a typed GatewayError otherwise.

        ``idempotent=False``: never sent again once the server may have applied it.
        """
        policy = retry or self.config.retry
        timeout = self._timeout(read_timeout)
        started = self._clock()
        backoff = (tenacity.wait_exponential(multiplier=policy.initial_backoff,
                                             max=policy.max_backoff, exp_base=2)
                   + tenacity.wait_random(0, policy.jitter))

        def wait(state: tenacity.RetryCallState) -> float:
            remaining = policy.max_elapsed - (self._clock() - started)
            return max(0.0, min(backoff(state), remaining))

        def log_retry(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            _log.warning("%s %s failed (attempt %d: %s); retrying in %.2fs", method, route,
                         state.attempt_number, exc,
                         state.next_action.sleep if state.next_action else 0.0)

        retrying = tenacity.Retrying(
            stop=(tenacity.stop_after_attempt(policy.max_attempts)
                  | _StopAfterElapsed(self._clock, started, policy.max_elapsed)),
            wait=wait,
            retry=tenacity.retry_if_exception_type(_Retryable),
            sleep=self._sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            return retrying(self._attempt, method, route, params, body, timeout, idempotent)
        except _Retryable as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            raise ServerUnavailable(
                f"{method} {route}: the server at {self.config.base_url} is unavailable after "
                f"{attempts} attempt(s) in {self._clock() - started:.1f}s: {exc.reason}"
            ) from exc.__cause__ or exc
