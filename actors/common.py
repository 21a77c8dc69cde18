"""Small helpers the four swarm actor shells share (no run state, no actor imports).

Who uses it: ``actors.{orchestrator,heartbeat,synchronizer,scheduler}.actor``. The actor
packages never import each other; what they share lives here.
"""

from __future__ import annotations

from actors.gateway import Gateway, GatewayConfig, RetryPolicy
from messages.config import GatewaySettings
from messages.swarm import SwarmInit

__all__ = ["describe", "make_gateway", "require_init"]


def make_gateway(settings: GatewaySettings, retry: RetryPolicy | None = None) -> Gateway:
    """A Gateway for the server in ``settings`` with the given retry budget."""
    config = GatewayConfig(base_url=settings.base_url, token=settings.token,
                           connect_timeout=settings.connect_timeout,
                           read_timeout=settings.read_timeout,
                           retry=retry or RetryPolicy())
    return Gateway(config)


def require_init(init: object, actor: str) -> SwarmInit:
    """The actor's init message, or a TypeError saying what it got instead."""
    if not isinstance(init, SwarmInit):
        raise TypeError(f"the {actor} actor needs a SwarmInit init message, "
                        f"got {type(init).__name__}")
    return init


def describe(exc: BaseException) -> tuple[str, str]:
    """(class name, message) of an exception, for messages that carry errors."""
    return type(exc).__name__, str(exc) or repr(exc)
