"""The heartbeat actor: a thin shell around ``actors.heartbeat.logic``.

Receives: ``ReportStatus`` (orchestrator -> heartbeat, tell) and its private ``_Tick`` timer.
Sends: ``ServerStatusChanged`` (heartbeat -> orchestrator) when the server answers a beat with
a status other than the one held; ``HeartbeatFailed`` when a beat could not reach the server.
HTTP runs on the actor's I/O thread (``in_background``), so beats keep their cadence and the
mailbox stays responsive whatever the server or the orchestrator are doing.
"""

from __future__ import annotations

import functools
from concurrent.futures import Future
from typing import Any

from actors.common import describe, make_gateway, require_init
from actors.errors import GatewayError
from actors.gateway import RetryPolicy
from actors.heartbeat import logic
from actors.runtime import Actor, Incoming
from messages.heartbeat import HeartbeatFailed, ReportStatus, ServerStatusChanged
from messages.swarm import ORCHESTRATOR
from messages.values import RunStatus

__all__ = ["HeartbeatActor"]


class _Tick:
    """Private timer message."""


class HeartbeatActor(Actor):
    """Beats every ``heartbeat_interval`` seconds with the status the orchestrator holds."""

    io_threads = 1

    def started(self) -> None:
        init = require_init(self.init, "heartbeat")
        self.run_id = init.workflow_run_id
        run = init.config.run
        self.config = logic.HeartbeatConfig(
            interval=run.heartbeat_interval,
            report_by_buffer=run.heartbeat_report_by_buffer,
            tick=min(1.0, run.heartbeat_interval / 2))
        # one attempt per beat: a failed beat is simply tried again at the next tick
        self.gateway = make_gateway(init.gateway, RetryPolicy(max_attempts=2, max_elapsed=
                                                              max(1.0, run.heartbeat_interval)))
        self.state = logic.start(self.config, init.held_status, self.now())
        self.send_after(self.config.tick, _Tick())

    def on_stop(self) -> None:
        self.gateway.close()
        super().on_stop()

    def receive(self, message: Any, incoming: Incoming) -> Any:
        if isinstance(message, _Tick):
            self._tick()
        elif isinstance(message, ReportStatus):
            self.state = logic.on_status_told(self.state, message.status)
        else:
            raise TypeError(f"heartbeat cannot handle {type(message).__name__}")
        return None

    def _tick(self) -> None:
        self.state, beats = logic.on_tick(self.state, self.config, self.now())
        for beat in beats:
            self.in_background(functools.partial(self.gateway.log_heartbeat, self.run_id,
                                                 beat.status, beat.next_report_increment),
                               self._beat_done)
        self.send_after(self.config.tick, _Tick())

    def _beat_done(self, future: Future[Any]) -> None:
        exc = future.exception()
        if exc is not None:
            if not isinstance(exc, GatewayError):
                raise exc
            now = self.now()
            self.state = logic.on_beat_failed(self.state, now)
            kind, text = describe(exc)
            self.tell(ORCHESTRATOR, HeartbeatFailed(kind, text, self.state.failures,
                                                    logic.silent_for(self.state, now)))
            return
        server_status: RunStatus = future.result()
        self.state, changes = logic.on_beat_reply(self.state, server_status)
        for change in changes:
            self.tell(ORCHESTRATOR, ServerStatusChanged(change.status, change.held))
