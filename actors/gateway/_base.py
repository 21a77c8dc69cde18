"""The shared core of every gateway route method: send through ``HttpCore``, then parse.

Who uses it: the route groups ``actors.gateway._admin_routes.AdminRoutes`` and
``actors.gateway.client.Gateway`` inherit from :class:`GatewayBase`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from actors.gateway._http import HttpCore
from actors.gateway.config import RetryPolicy

__all__ = ["GatewayBase"]

T = TypeVar("T")


class GatewayBase:
    """Holds the HTTP core and this view's retry policy; ``_call`` sends and parses."""

    def __init__(self, core: HttpCore, retry: RetryPolicy) -> None:
        self._core = core
        self._retry = retry

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry budget every call of this gateway (view) gets."""
        return self._retry

    def _call(self, method: str, route: str, parse: Callable[[str, Any], T], *,
              params: Mapping[str, Any] | None = None, body: Any = None,
              read_timeout: float | None = None, idempotent: bool = True) -> T:
        """Send one request to ``route`` (below /api/v3) and parse its JSON answer.

        ``idempotent=False`` for a request the server must not see twice (see ``_http``).
        """
        payload = self._core.request(method, route, params=params, body=body,
                                     retry=self._retry, read_timeout=read_timeout,
                                     idempotent=idempotent)
        return parse(f"{method} {route}", payload)
