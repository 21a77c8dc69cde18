"""Heartbeat protocol: keep the run alive on the server and notice server-side changes.

Orchestrator -> heartbeat: ``ReportStatus`` (tell) whenever the status it holds changes; the
heartbeat reports that status at every beat (``log_heartbeat``), every ``heartbeat_interval``
seconds, the first beat one interval after start.
Heartbeat -> orchestrator: ``ServerStatusChanged`` (tell) only when the server answers a beat
with a status different from the one held (how resume/stop requests reach the swarm).
``HeartbeatFailed`` reports a beat that could not reach the server; it is retried at the next
tick. ``silent_for`` says how long the server has not answered a beat; the orchestrator ends
the run when that exceeds its ``server_outage_limit``.
"""

from __future__ import annotations

import attrs

from messages.codec import message
from messages.values import RunStatus

__all__ = ["HeartbeatFailed", "ReportStatus", "ServerStatusChanged"]


@message("heartbeat.ReportStatus")
@attrs.frozen
class ReportStatus:
    """Orchestrator -> heartbeat: the run status I now hold; report it from the next beat on."""

    status: RunStatus


@message("heartbeat.ServerStatusChanged")
@attrs.frozen
class ServerStatusChanged:
    """Heartbeat -> orchestrator: the server says the run is ``status`` (we held ``held``)."""

    status: RunStatus
    held: RunStatus


@message("heartbeat.HeartbeatFailed")
@attrs.frozen
class HeartbeatFailed:
    """Heartbeat -> orchestrator: a beat failed (``consecutive`` in a row); the server has not
    answered a beat for ``silent_for`` seconds (since the first failed beat was sent)."""

    error_type: str
    error: str
    consecutive: int
    silent_for: float = 0.0
