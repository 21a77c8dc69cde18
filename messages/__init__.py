"""The wire protocol of actorswarm: message classes, envelope, codec (see PROTOCOL.md).

``messages`` never imports ``actors``. Public API::

    encode(msg) -> bytes            decode(bytes) -> msg          DecodeError / EncodeError
    message("tag") decorator        Envelope, Kind                FrameReader (streaming)
"""

from messages.codec import (
    MAX_FRAME_SIZE,
    Message,
    decode,
    decode_obj,
    encode,
    encode_obj,
    is_registered,
    message,
    registered_tags,
    tag_of,
)
from messages.envelope import Envelope, Kind
from messages.errors import DecodeError, EncodeError
from messages.stream import FrameReader

__all__ = [
    "MAX_FRAME_SIZE",
    "DecodeError",
    "EncodeError",
    "Envelope",
    "FrameReader",
    "Kind",
    "Message",
    "decode",
    "decode_obj",
    "encode",
    "encode_obj",
    "is_registered",
    "message",
    "registered_tags",
    "tag_of",
]
