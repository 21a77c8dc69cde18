"""Protocol of the actor runtime itself (domain-agnostic).

Supervisor -> any actor: ``Ping`` (ask) -> ``Pong``. The supervisor's hang detector.
Runtime -> asker: ``Failure`` is the payload of a FAILURE envelope (the handler raised).
Any actor -> asker: ``Rejection`` as the reply to a request that is invalid in the actor's current
state; the asking runtime raises ``actors.errors.Rejected``.
Supervisor -> subscribers (tell): ``ChildStarted``, ``ChildExited``, ``ChildRestarted``,
``SupervisorGaveUp``; sent to every subscribed actor when a child's life changes.
Host -> actor process (ask): ``StopActor`` asks an actor process to stop cleanly.
"""

from __future__ import annotations

import attrs

from messages.codec import message

__all__ = [
    "ChildExited",
    "ChildRestarted",
    "ChildStarted",
    "Failure",
    "Ping",
    "Pong",
    "Rejection",
    "StopActor",
    "SupervisorGaveUp",
]


@message("runtime.Ping")
@attrs.frozen
class Ping:
    """Supervisor -> actor, as an ask: are you alive and able to handle messages? Reply: Pong."""


@message("runtime.Pong")
@attrs.frozen
class Pong:
    """Actor -> supervisor: reply to Ping, naming the actor and its process."""

    name: str
    pid: int


@message("runtime.Failure")
@attrs.frozen
class Failure:
    """Runtime -> asker: the handler raised ``type_name: text`` while handling the ask."""

    type_name: str
    text: str


@message("runtime.Rejection")
@attrs.frozen
class Rejection:
    """Actor -> asker: the request is invalid for the actor's current state; ``reason`` says why."""

    reason: str


@message("runtime.StopActor")
@attrs.frozen
class StopActor:
    """Host -> actor, as an ask: finish the current message, stop, then reply None."""


@message("runtime.ChildStarted")
@attrs.frozen
class ChildStarted:
    """Supervisor -> subscribers: child ``name`` passed its readiness handshake (``pid``)."""

    name: str
    pid: int
    restarts: int = 0


@message("runtime.ChildExited")
@attrs.frozen
class ChildExited:
    """Supervisor -> subscribers: child ``name`` (``pid``) died or exited.

    ``exit_code`` is the exit status (None if killed by a signal), ``signal`` the killing signal
    (None otherwise); ``abnormal`` is True unless it exited 0 on request; ``reason`` is "exited",
    "killed", "hung" (no Pong within the deadline, then killed) or "stopped" (by the supervisor);
    ``will_restart`` says whether the restart policy restarts it.
    """

    name: str
    pid: int
    exit_code: int | None
    signal: int | None
    abnormal: bool
    reason: str
    will_restart: bool


@message("runtime.ChildRestarted")
@attrs.frozen
class ChildRestarted:
    """Supervisor -> subscribers: child ``name`` runs again as ``pid`` after ``restarts`` restarts."""

    name: str
    pid: int
    restarts: int


@message("runtime.SupervisorGaveUp")
@attrs.frozen
class SupervisorGaveUp:
    """Supervisor -> subscribers: restart intensity exceeded by ``child``; all children stopped."""

    child: str
    restarts: int
    window_s: float
    reason: str
