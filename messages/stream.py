"""Incremental decoding of a byte stream of frames (one msgpack array per frame, back to back).

Who uses it: each connection's reader thread in ``actors.runtime.transport`` feeds the bytes it
receives and takes decoded envelopes out. The buffer is bounded: a single frame larger than
``max_frame`` is refused, so a hostile or broken peer cannot exhaust memory.

Errors: ``next_frame`` raises ``DecodeError``. When ``DecodeError.recoverable`` is True the frame
was well-formed msgpack but not a valid message (unknown tag, wrong types): the stream stays in
sync and the caller may go on reading. Otherwise the stream is broken and must be closed.
"""

from __future__ import annotations

from typing import Any

import msgpack

from messages.codec import MAX_FRAME_SIZE, _refuse_ext, _stream_options, decode_obj
from messages.errors import DecodeError

__all__ = ["FrameReader"]


class FrameReader:
    """Feed bytes, take decoded frames. Not thread-safe: one reader thread owns it."""

    __slots__ = ("_broken", "_max_frame", "_unpacker")

    def __init__(self, max_frame: int = MAX_FRAME_SIZE) -> None:
        options = dict(_stream_options)
        options["max_str_len"] = options["max_bin_len"] = max_frame
        self._max_frame = max_frame
        self._unpacker = msgpack.Unpacker(
            max_buffer_size=max_frame, ext_hook=_refuse_ext, **options
        )
        self._broken = False

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes. Raises a non-recoverable DecodeError if a frame is too big."""
        if self._broken:
            raise _fatal("stream already broken by an earlier error")
        try:
            self._unpacker.feed(data)
        except msgpack.BufferFull:
            self._broken = True
            raise _fatal(f"frame larger than the {self._max_frame}-byte limit") from None

    def next_frame(self) -> Any:
        """The next decoded frame, or None when more bytes are needed."""
        if self._broken:
            raise _fatal("stream already broken by an earlier error")
        try:
            obj = self._unpacker.unpack()
        except msgpack.OutOfData:
            return None
        except DecodeError as exc:  # from the ext hook
            self._broken = True
            raise _fatal(str(exc)) from None
        except (ValueError, TypeError, msgpack.UnpackException, RecursionError) as exc:
            self._broken = True
            raise _fatal(f"malformed msgpack: {type(exc).__name__}: {exc}") from None
        try:
            return decode_obj(obj)
        except DecodeError as exc:
            raise DecodeError(str(exc), recoverable=True) from None


def _fatal(text: str) -> DecodeError:
    return DecodeError(text, recoverable=False)
