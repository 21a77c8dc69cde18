"""Incremental decoding of a byte stream of frames (one msgpack array per frame, back to back).

Who uses it: each connection's reader thread in ``actors.runtime.transport`` feeds the bytes it
receives and takes decoded envelopes out. Memory is bounded: a single frame larger than
``max_frame`` is refused, so a hostile or broken peer cannot exhaust memory. That bounds both
the unpacker's byte buffer and what msgpack has already built of an unfinished frame (it
parses the elements of a big array as they arrive, so a frame of a million 64 KiB elements
would otherwise grow without limit while its buffer stays small): the bytes fed since the
last complete frame are counted.

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

    __slots__ = ("_broken", "_fed", "_frame_start", "_max_frame", "_unpacker")

    def __init__(self, max_frame: int = MAX_FRAME_SIZE) -> None:
        options = dict(_stream_options)
        options["max_str_len"] = options["max_bin_len"] = max_frame
        self._max_frame = max_frame
        self._unpacker = msgpack.Unpacker(
            max_buffer_size=max_frame, ext_hook=_refuse_ext, **options
        )
        self._broken = False
        self._fed = 0  # bytes fed in all
        self._frame_start = 0  # stream offset where the unfinished frame began

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes. Raises a non-recoverable DecodeError if a frame is too big."""
        if self._broken:
            raise _fatal("stream already broken by an earlier error")
        self._fed += len(data)
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
            if self._fed - self._frame_start > self._max_frame:
                self._broken = True
                raise _fatal(f"frame larger than the {self._max_frame}-byte limit "
                             "(still unfinished)") from None
            return None
        except DecodeError as exc:  # from the ext hook
            self._broken = True
            raise _fatal(str(exc)) from None
        except (ValueError, TypeError, msgpack.UnpackException, RecursionError) as exc:
            self._broken = True
            raise _fatal(f"malformed msgpack: {type(exc).__name__}: {exc}") from None
        self._frame_start = self._unpacker.tell()
        try:
            return decode_obj(obj)
        except DecodeError as exc:
            raise DecodeError(str(exc), recoverable=True) from None


def _fatal(text: str) -> DecodeError:
    return DecodeError(text, recoverable=False)
