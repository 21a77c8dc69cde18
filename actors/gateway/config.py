"""Gateway settings: where the server is, timeouts, and the retry budget.

Who uses it: whoever builds a :class:`~actors.gateway.Gateway` (the actor shells of heartbeat,
synchronizer, scheduler and orchestrator, the CLI, the binder). Pure values, no I/O.

The retry budget is per call: a call is retried on 5xx, 423, connection errors and timeouts
until ``max_attempts`` attempts were made or ``max_elapsed`` seconds have passed since its
first attempt, whichever comes first; then it raises ``ServerUnavailable``. Callers on a tick
(heartbeat, synchronizer) use a small budget and simply try again at their next tick, so a long
server outage never kills them; one-shot callers (binding, the CLI) use a larger one.
"""

from __future__ import annotations

import math

import attrs

from actors.errors import ConfigError

__all__ = ["API_PREFIX", "CLIENT_JOBMON_VERSION", "GatewayConfig", "RetryPolicy"]

#: Sent as ``?client_jobmon_version=`` on every request (3.6 servers then send list edges).
CLIENT_JOBMON_VERSION = "3.6.0"
#: Path prefix of every route below the server root.
API_PREFIX = "/api/v3"


def _positive(instance: object, attribute: attrs.Attribute, value: float) -> None:
    """attrs validator: a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
        math.isfinite(value) and value > 0
    ):
        raise ConfigError(f"gateway setting {attribute.name!r} must be a positive number, "
                          f"got {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute, value: float) -> None:
    """attrs validator: a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
        math.isfinite(value) and value >= 0
    ):
        raise ConfigError(f"gateway setting {attribute.name!r} must be a number >= 0, "
                          f"got {value!r}")


@attrs.frozen
class RetryPolicy:
    """Exponential backoff with jitter, bounded by attempts and by elapsed time.

    The wait before retry ``n`` (1-based) is ``min(initial_backoff * 2 ** (n - 1), max_backoff)``
    plus a uniform random jitter in ``[0, jitter]``.
    """

    max_attempts: int = attrs.field(default=8)
    max_elapsed: float = attrs.field(default=60.0, validator=_positive)
    initial_backoff: float = attrs.field(default=0.25, validator=_non_negative)
    max_backoff: float = attrs.field(default=8.0, validator=_non_negative)
    jitter: float = attrs.field(default=0.25, validator=_non_negative)

    @max_attempts.validator
    def _check_attempts(self, attribute: attrs.Attribute, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"gateway setting 'max_attempts' must be an integer >= 1, "
                              f"got {value!r}")

    @classmethod
    def once(cls) -> RetryPolicy:
        """No retry at all: one attempt (for callers that retry at their own next tick)."""
        return cls(max_attempts=1)


def _check_url(instance: object, attribute: attrs.Attribute, value: str) -> None:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ConfigError(f"gateway setting 'base_url' must be an http(s) URL of the server root, "
                          f"got {value!r}")


@attrs.frozen
class GatewayConfig:
    """How to reach the state server.

    ``base_url`` is the server root (``http://host:port``); the gateway adds ``/api/v3``.
    ``read_timeout`` bounds every ordinary call; a long poll gets ``wait + long_poll_margin``.
    """

    base_url: str = attrs.field(validator=_check_url, converter=lambda s: s.rstrip("/")
                                if isinstance(s, str) else s)
    token: str | None = None
    connect_timeout: float = attrs.field(default=5.0, validator=_positive)
    read_timeout: float = attrs.field(default=30.0, validator=_positive)
    long_poll_margin: float = attrs.field(default=10.0, validator=_positive)
    max_connections: int = 8
    retry: RetryPolicy = RetryPolicy()
    client_version: str = CLIENT_JOBMON_VERSION
