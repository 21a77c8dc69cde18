"""The root's event relay: the actor in the root process that run events arrive at.

Orchestrator -> relay (tells, across processes): ``Progress``, ``RunStatusChanged``,
``TasksChanged``, ``RunFinished``. The relay hands each one to the host's callback (a CLI
progress display, an embedding host's function or pykka actor) and remembers the final result,
which ``wait_finished`` returns. Callback failures are logged, never allowed to stop the relay.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pykka

from actors.runtime import Actor, Incoming
from messages.orchestrator import OrchestratorResult, RunFinished

__all__ = ["EventRelay", "RelayLink"]

log = logging.getLogger(__name__)


class RelayLink:
    """Shared between the relay actor and the thread waiting for the run's end."""

    def __init__(self, callback: Callable[[Any], None] | pykka.ActorRef[Any] | None) -> None:
        self.callback = callback
        self.finished = threading.Event()
        self.result: OrchestratorResult | None = None

    def wait_finished(self, timeout: float | None) -> OrchestratorResult | None:
        """The run's result once RunFinished arrived, or None after ``timeout`` seconds."""
        self.finished.wait(timeout)
        return self.result


class EventRelay(Actor):
    """Receives run events; init is a ``RelayLink`` (a local object: this actor never leaves
    the root process)."""

    def receive(self, message: Any, incoming: Incoming) -> Any:
        link: RelayLink = self.init
        if isinstance(message, RunFinished) and link.result is None:
            link.result = message.result
        callback = link.callback
        if callback is not None:
            try:
                if isinstance(callback, pykka.ActorRef):
                    callback.tell(message)
                else:
                    callback(message)
            except Exception:  # noqa: BLE001 - a host's callback must not stop the run
                log.exception("event callback failed on %s", type(message).__name__)
        if isinstance(message, RunFinished):
            link.finished.set()
        return None
