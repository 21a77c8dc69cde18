"""The gateway the read-and-control subcommands use (``status``, ``logs``, ``concurrency``,
and the failed-task lines after a run).

A one-shot command retries a failing server for a while (a user waits at a prompt, so the
budget is shorter than a background caller's) and then reports ``ServerUnavailable``.
"""

from __future__ import annotations

from actors.gateway import Gateway, GatewayConfig, RetryPolicy

__all__ = ["CLI_RETRY", "open_gateway"]

#: Retry budget of one CLI request: up to 5 attempts within 20 s.
CLI_RETRY = RetryPolicy(max_attempts=5, max_elapsed=20.0, initial_backoff=0.25, max_backoff=4.0)


def open_gateway(url: str, token: str | None, retry: RetryPolicy = CLI_RETRY) -> Gateway:
    """A gateway to the server root ``url`` (close it, or use it in a ``with`` block)."""
    return Gateway(GatewayConfig(base_url=url, token=token, retry=retry))
