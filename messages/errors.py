"""The protocol's one exception type.

``DecodeError`` is raised by every decoding entry point (``messages.decode``,
``messages.FrameReader``) for any input that is not a valid frame: malformed or truncated msgpack,
oversized frames, unknown type tags, wrong field counts, wrong field types, invalid enum values.
Its message says what was wrong and where (tag and field name when known). It subclasses
``ValueError``. Nothing else escapes the decoder.

``EncodeError`` (a ``TypeError``) is raised when asked to encode something that is not a
registered message or has a field value of a type the protocol cannot carry.
"""

from __future__ import annotations

__all__ = ["DecodeError", "EncodeError"]


class DecodeError(ValueError):
    """Input bytes or structures are not a valid protocol frame; the message says why.

    ``recoverable`` is True when a stream reader may go on after this frame (the frame was
    well-formed msgpack, only its content was invalid); False when the stream is broken.
    """

    def __init__(self, message: str, *, recoverable: bool = False) -> None:
        super().__init__(message)
        self.recoverable = recoverable


class EncodeError(TypeError):
    """The object cannot be encoded: unregistered class or unsupported field value."""
