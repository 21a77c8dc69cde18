"""The server's clocks: wall time (UTC) for the dates it stores and answers, injected.

Routes never call ``datetime.now``: they ask the app's clock, so tests drive triage and
status-sync windows with a fake clock. Wire times are ``"YYYY-MM-DD HH:MM:SS"`` UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

__all__ = ["TIME_FORMAT", "Clock", "SystemClock", "format_time", "parse_time"]

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class Clock(Protocol):
    """Source of the server's current time as a naive UTC datetime."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """The real clock: ``datetime.now(UTC)`` without tzinfo."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def format_time(value: dt.datetime) -> str:
    """``"YYYY-MM-DD HH:MM:SS"`` (fractions dropped)."""
    return value.strftime(TIME_FORMAT)


def parse_time(text: str) -> dt.datetime:
    """Parse a wire time; accepts an optional fraction and a ``T`` separator.

    Raises ValueError naming the expected format when ``text`` is not a time.
    """
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("T", " "))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a time in the format 'YYYY-MM-DD HH:MM:SS'") from exc
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value
