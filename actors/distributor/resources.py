"""Reading a task's ``requested_resources`` (pure; no I/O).

The server hands the distributor each claimed instance's requested resources as a JSON object
(``docs/server-api.md`` section 2): ``memory`` in GiB (number), ``cores`` (int), ``runtime`` in
seconds (number). Strings with units are accepted too (``"400M"``, ``"8G"``, ``"90s"``, ``"1h"``,
``"HH:MM:SS"``). Anything else raises ``ResourceSpecError`` naming the key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import attrs

from actors.distributor.errors import ResourceSpecError

__all__ = ["Resources", "parse_memory_gib", "parse_resources", "parse_runtime_s"]

_GIB = 1024 ** 3
_MEMORY_UNITS = {"": 1.0, "K": 1 / 1024 ** 2, "M": 1 / 1024, "G": 1.0, "T": 1024.0}
_RUNTIME_UNITS = {"": 1.0, "S": 1.0, "M": 60.0, "H": 3600.0, "D": 86400.0}
_NUMBER_UNIT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]?)[Bb]?\s*$")


@attrs.frozen
class Resources:
    """Limits of one instance: ``None`` means no limit."""

    memory_gib: float | None = None
    cores: int = 1
    runtime_s: float | None = None

    @property
    def memory_bytes(self) -> int | None:
        """The memory limit in bytes, or None."""
        return None if self.memory_gib is None else int(self.memory_gib * _GIB)


def parse_memory_gib(value: Any, field: str = "memory") -> float:
    """Memory in GiB from a number (GiB) or a string with a unit (K, M, G, T)."""
    if isinstance(value, bool):
        raise ResourceSpecError(f"expected a number of GiB, got {value!r}", field=field)
    if isinstance(value, (int, float)):
        gib = float(value)
    elif isinstance(value, str) and (match := _NUMBER_UNIT.match(value)):
        unit = match.group(2).upper()
        if unit not in _MEMORY_UNITS:
            raise ResourceSpecError(f"unknown memory unit in {value!r}", field=field)
        gib = float(match.group(1)) * _MEMORY_UNITS[unit]
    else:
        raise ResourceSpecError(f"expected GiB or a size like '400M', got {value!r}",
                                field=field)
    if not math.isfinite(gib) or gib <= 0:
        raise ResourceSpecError(f"must be a positive size, got {value!r}", field=field)
    return gib


def parse_runtime_s(value: Any, field: str = "runtime") -> float:
    """Runtime in seconds from a number, ``"90s"``/``"60m"``/``"1h"``/``"2d"`` or ``HH:MM:SS``."""
    if isinstance(value, bool):
        raise ResourceSpecError(f"expected seconds, got {value!r}", field=field)
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and value.count(":") in (1, 2):
        try:
            parts = [float(p) for p in value.strip().split(":")]
        except ValueError as exc:
            raise ResourceSpecError(f"expected HH:MM:SS, got {value!r}", field=field) from exc
        seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    elif isinstance(value, str) and (match := _NUMBER_UNIT.match(value)):
        unit = match.group(2).upper()
        if unit not in _RUNTIME_UNITS:
            raise ResourceSpecError(f"unknown runtime unit in {value!r}", field=field)
        seconds = float(match.group(1)) * _RUNTIME_UNITS[unit]
    else:
        raise ResourceSpecError(f"expected seconds, '1h' or 'HH:MM:SS', got {value!r}",
                                field=field)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ResourceSpecError(f"must be a positive duration, got {value!r}", field=field)
    return seconds


def parse_resources(requested: Mapping[str, Any]) -> Resources:
    """Read the limits the distributor enforces from ``requested`` (other keys are ignored)."""
    memory = requested.get("memory")
    runtime = requested.get("runtime")
    cores = requested.get("cores", 1)
    if cores is None:
        cores = 1
    if isinstance(cores, bool) or not isinstance(cores, (int, float)) or cores != int(cores) \
            or cores < 1:
        raise ResourceSpecError(f"expected a positive whole number, got {cores!r}",
                                field="cores")
    return Resources(
        memory_gib=None if memory is None else parse_memory_gib(memory),
        cores=int(cores),
        runtime_s=None if runtime is None else parse_runtime_s(runtime),
    )
