"""The heartbeat's cadence (pure; no I/O, no clock): when to beat, what to send, what to report.

Who uses it: the heartbeat actor. It keeps one ``HeartbeatState`` and calls

- ``on_tick(state, config, now)`` on its own periodic timer (every ``config.tick`` seconds); a
  ``SendBeat`` effect means POST log_heartbeat with that status and next_report_increment;
- ``on_beat_reply`` with the server's status, or ``on_beat_failed`` when the call failed (the
  gateway already retried); a failed beat is retried at the next tick and never ends the run
  by itself: ``silent_for`` says how long the server has not answered (since the first beat
  of the failing streak was sent), and the orchestrator decides when that is too long;
- ``on_status_told`` when the orchestrator tells it the run status it now holds.

A ``ServerStatusChanged`` effect means: tell the orchestrator the server holds a different run
status (a resume or stop request). It is emitted once per change, not on every beat.

The first beat is due one interval after start, not at start; beats keep their cadence from the
time they were sent, whatever the orchestrator is doing.
"""

from __future__ import annotations

import math

import attrs

from actors.errors import ConfigError
from messages.values import RunStatus

__all__ = [
    "HeartbeatConfig",
    "HeartbeatState",
    "SendBeat",
    "ServerStatusChanged",
    "on_beat_failed",
    "on_beat_reply",
    "on_status_told",
    "on_tick",
    "silent_for",
    "start",
]


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    """attrs validator: a finite number above 0, else a ConfigError naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"heartbeat {attribute.name}: expected a number above 0, "
                          f"got {value!r}")


@attrs.frozen
class HeartbeatConfig:
    """Heartbeat timing (Jobmon defaults: 30 s interval, report-by buffer 3.1).

    ``tick`` is the period of the actor's timer: a failed beat is retried one tick later.
    """

    interval: float = attrs.field(default=30.0, validator=_positive)
    report_by_buffer: float = attrs.field(default=3.1, validator=_positive)
    tick: float = attrs.field(default=1.0, validator=_positive)

    @property
    def next_report_increment(self) -> float:
        """Seconds the server waits for the next beat: interval x report_by_buffer."""
        return self.interval * self.report_by_buffer


@attrs.frozen
class SendBeat:
    """Effect: POST log_heartbeat ``{"status", "next_report_increment"}``."""

    status: RunStatus
    next_report_increment: float


@attrs.frozen
class ServerStatusChanged:
    """Effect: heartbeat -> orchestrator: the server holds ``status``, not ``held``."""

    status: RunStatus
    held: RunStatus


@attrs.frozen
class HeartbeatState:
    """What the heartbeat knows between ticks."""

    status: RunStatus                   #: the status the orchestrator last told us
    next_due: float                     #: monotonic time the next beat is due
    in_flight: bool = False             #: a beat was sent and not answered yet
    notified: RunStatus | None = None   #: the differing server status already reported
    failures: int = 0                   #: consecutive failed beats
    beats: int = 0                      #: beats answered
    sent_at: float | None = None        #: when the beat in flight was sent
    failing_since: float | None = None  #: when the first beat of a failing streak was sent


def start(config: HeartbeatConfig, status: RunStatus, now: float) -> HeartbeatState:
    """The state at start: the first beat is due one interval from now."""
    return HeartbeatState(status=status, next_due=now + config.interval)


def on_tick(state: HeartbeatState, config: HeartbeatConfig,
            now: float) -> tuple[HeartbeatState, tuple[SendBeat, ...]]:
    """Beat if one is due and none is in flight; the next is due one interval after this."""
    if state.in_flight or now < state.next_due:
        return state, ()
    beat = SendBeat(status=state.status, next_report_increment=config.next_report_increment)
    return attrs.evolve(state, in_flight=True, next_due=now + config.interval,
                        sent_at=now), (beat,)


def on_beat_reply(state: HeartbeatState, server_status: RunStatus
                  ) -> tuple[HeartbeatState, tuple[ServerStatusChanged, ...]]:
    """The server answered with its run status; report it once if it differs from ours."""
    state = attrs.evolve(state, in_flight=False, failures=0, beats=state.beats + 1,
                         failing_since=None)
    if server_status is state.status:
        return attrs.evolve(state, notified=None), ()
    if server_status is state.notified:
        return state, ()
    return (attrs.evolve(state, notified=server_status),
            (ServerStatusChanged(status=server_status, held=state.status),))


def on_beat_failed(state: HeartbeatState, now: float) -> HeartbeatState:
    """The beat failed (after the gateway's retries): due again at the next tick."""
    since = state.failing_since
    if since is None:
        since = state.sent_at if state.sent_at is not None else now
    return attrs.evolve(state, in_flight=False, failures=state.failures + 1, next_due=now,
                        failing_since=since)


def silent_for(state: HeartbeatState, now: float) -> float:
    """Seconds the server has not answered a beat (0 while beats are answered)."""
    return 0.0 if state.failing_since is None else max(0.0, now - state.failing_since)


def on_status_told(state: HeartbeatState, status: RunStatus) -> HeartbeatState:
    """The orchestrator now holds ``status``; a reported difference it resolves is forgotten."""
    notified = None if status is state.notified else state.notified
    return attrs.evolve(state, status=status, notified=notified)
