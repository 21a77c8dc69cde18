"""Reading a task's ``requested_resources`` (pure; no I/O).

The server hands the distributor each claimed instance's requested resources as a JSON object
(``docs/server-api.md`` section 2): ``memory`` in GiB (number), ``cores`` (int), ``runtime`` in
seconds (number). Strings with units are accepted too (``"400M"``, ``"8G"``, ``"90s"``, ``"1h"``,
``"HH:MM:SS"``). Anything else raises ``ResourceSpecError`` naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from actors.distributor.errors import ResourceSpecError
from actors.resources import ResourceError, parse_memory, parse_runtime

__all__ = ["Resources", "parse_memory_gib", "parse_resources", "parse_runtime_s"]

_GIB = 1024 ** 3


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
    """Memory in GiB from a number (GiB) or a string with a unit (K, M, G, T): the swarm's own
    parser (``actors.resources``), its error re-raised as ResourceSpecError naming ``field``."""
    try:
        return parse_memory(value, field=field)
    except ResourceError as exc:
        raise ResourceSpecError(exc.problem, field=field) from exc


def parse_runtime_s(value: Any, field: str = "runtime") -> float:
    """Runtime in seconds from a number, ``"90s"``/``"60m"``/``"1h"``/``"2d"`` or
    ``[D-]HH:MM:SS`` (whole seconds, rounded up), through the swarm's own parser."""
    try:
        return float(parse_runtime(value, field=field))
    except ResourceError as exc:
        raise ResourceSpecError(exc.problem, field=field) from exc


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
