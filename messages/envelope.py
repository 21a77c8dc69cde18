"""The envelope: delivery metadata around one message.

Sender runtime -> receiver runtime, for every message. The message itself never carries
correlation ids, reply addresses or deadlines; the envelope does (pykka keeps ``Envelope``
separate from the message for the same reason).

- ``kind``: TELL (no reply expected), ASK (reply expected on the same connection, matched by
  ``corr_id``), REPLY (the answer to an ASK: ``message`` is the handler's return value, possibly
  None), FAILURE (the handler raised: ``message`` is a ``messages.runtime.Failure``).
- ``corr_id``: unique per sender connection for ASK; echoed in REPLY/FAILURE; 0 for TELL.
- ``sender``: the sending actor's name ("" when the sender is not an actor).
- ``reply_to``: for TELL, the name of the actor that should receive answers (Akka-style
  ``replyTo``); None when no answer is wanted.
- ``deadline``: CLOCK_MONOTONIC seconds (same host) after which the receiver may drop an ASK
  unhandled, because the asker has given up; None for no deadline.
"""

from __future__ import annotations

import enum

import attrs

from messages.codec import Message, message

__all__ = ["Envelope", "Kind"]


class Kind(enum.IntEnum):
    """What an envelope is for."""

    TELL = 0
    ASK = 1
    REPLY = 2
    FAILURE = 3


@message("envelope")
@attrs.frozen
class Envelope:
    """Delivery metadata plus the message; see the module docstring for each field."""

    kind: Kind
    corr_id: int
    sender: str
    reply_to: str | None
    deadline: float | None
    message: Message | None
