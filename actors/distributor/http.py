"""JSON-over-HTTP client of the state server, shared by the distributor and the worker.

The distributor process and each worker process hold one ``ServerClient``; it sends the
requests of ``docs/server-api.md`` sections 5 and 6 and returns the decoded JSON answer.
Connection errors, timeouts, 5xx and 423 are retried with exponential backoff and jitter until
``retry_budget`` seconds have passed, then raised as ``ServerUnavailable``. Other 4xx answers are
never retried: 404 raises ``NotFound``, the rest ``RequestRejected``. A body that is not JSON
raises ``ProtocolMismatch``. httpx errors never leave this module.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Self

import httpx
import tenacity

from actors.errors import NotFound, ProtocolMismatch, RequestRejected, ServerUnavailable
from actors.plain_http import tls_verify

__all__ = ["API_PREFIX", "CLIENT_VERSION", "ServerClient", "api_base_url"]

log = logging.getLogger(__name__)

#: Path prefix of the Jobmon v3 API on the server.
API_PREFIX = "/api/v3"
#: Sent as ``client_jobmon_version`` with every request.
CLIENT_VERSION = "3.6.0"

_RETRY_STATUS = frozenset({423, 500, 502, 503, 504})


class _Retryable(Exception):
    """Internal: an attempt failed in a way worth retrying; ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def api_base_url(server: str) -> str:
    """Return the API base URL for ``server`` (``http://h:p`` or ``http://h:p/api/v3``)."""
    url = server.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"server URL {server!r} must start with http:// or https://")
    return url if url.endswith(API_PREFIX) else url + API_PREFIX


class ServerClient:
    """Synchronous, retrying JSON client of one state server.

    ``transport`` lets tests inject ``httpx.MockTransport``; ``sleep`` lets them skip backoff.
    """

    def __init__(self, server: str, *, token: str | None = None, timeout: float = 10.0,
                 retry_budget: float = 180.0, max_backoff: float = 5.0,
                 transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = api_base_url(server)
        self._client = httpx.Client(base_url=self.base_url, headers=headers,
                                    timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
                                    transport=transport, verify=tls_verify(self.base_url))
        self._retry_budget = retry_budget
        self._max_backoff = max_backoff
        self._sleep = sleep

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` with query ``params``; return the decoded JSON answer."""
        return self._request("GET", path, params=params)

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """POST ``body`` as JSON to ``path``; return the decoded JSON answer."""
        return self._request("POST", path, json=dict(body or {}))

    def put(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """PUT ``body`` as JSON to ``path``; return the decoded JSON answer."""
        return self._request("PUT", path, json=dict(body or {}))

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                 json: Any = None) -> Any:
        query = {"client_jobmon_version": CLIENT_VERSION, **(params or {})}
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_delay(self._retry_budget),
            wait=tenacity.wait_random_exponential(multiplier=0.1, max=self._max_backoff),
            retry=tenacity.retry_if_exception_type(_Retryable),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._attempt(method, path, query, json)
        except _Retryable as exc:
            raise ServerUnavailable(
                f"{method} {path}: server unavailable after {self._retry_budget:g} s of "
                f"retries ({exc.reason})") from exc
        raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover

    def _attempt(self, method: str, path: str, query: Mapping[str, Any], json: Any) -> Any:
        try:
            response = self._client.request(method, path, params=query, json=json)
        except httpx.TransportError as exc:
            log.debug("%s %s: %s", method, path, exc)
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code in _RETRY_STATUS:
            raise _Retryable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            detail = _detail(response)
            cls = NotFound if response.status_code == 404 else RequestRejected
            raise cls(f"{method} {path}: HTTP {response.status_code}: {detail}",
                      status_code=response.status_code, detail=detail)
        try:
            return response.json()
        except ValueError as exc:
            raise ProtocolMismatch(
                f"{method} {path}: answer is not JSON: {response.text[:200]!r}") from exc


def _detail(response: httpx.Response) -> str:
    """The server's one-sentence error detail, or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return str(body["detail"])
    return str(body)[:200]
