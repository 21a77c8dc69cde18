"""Task resources: parsing, validation, queue coercion and scaling (pure; no I/O).

Who uses it: the orchestrator's ``SwarmState`` (coerces a task's resources when it becomes ready,
scales them on each A), the scheduler's planner (the canonical key of equal resources), and the
workflow loaders (parsing ``"8G"`` / ``"1h"`` from files). Nothing here talks to anything.

Units: memory in GiB (a float; bare numbers are GiB, ``"400M"`` is 400 MiB), runtime in whole
seconds (bare numbers are seconds), cores a positive integer. Queue limits use Jobmon's queue
parameter keys ``min_cores``, ``max_cores``, ``min_memory``, ``max_memory`` (GiB),
``min_runtime``, ``max_runtime`` (seconds); a missing key is no limit.

Errors::

    ConfigError (ValueError)
    ├── ResourceError        a resource value is invalid: names the field, the value and where
    └── UnknownQueue         a task names a queue the caller did not describe
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from actors.errors import ConfigError

__all__ = [
    "DEFAULT_SCALES",
    "SCALABLE",
    "QueueKey",
    "QueueLimits",
    "ResourceError",
    "ResourcePolicy",
    "ResourceSet",
    "UnknownQueue",
    "adjust",
    "coerce",
    "fits",
    "merge_computed",
    "parse_cores",
    "parse_memory",
    "parse_runtime",
    "parse_scales",
    "resources_from_mapping",
    "scale",
]

#: ``resource_scales`` used when a task gives none (Jobmon's default).
DEFAULT_SCALES: Mapping[str, float] = {"memory": 0.5, "runtime": 0.5}
#: The resources ``resource_scales`` may name.
SCALABLE = ("cores", "memory", "runtime")

#: (cluster name, queue name): how tasks name a queue.
QueueKey = tuple[str, str]
Scalar = str | int | float | bool | None


class ResourceError(ConfigError):
    """A resource value is invalid. ``field``, ``value`` and ``where`` locate it."""

    def __init__(self, field: str, value: object, problem: str, where: str = "") -> None:
        self.field = field
        self.value = value
        self.where = where
        self.problem = problem
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}{field}: {problem} (got {value!r})")


class UnknownQueue(ConfigError):
    """A task names a queue (``cluster``/``queue``) missing from the queue catalog."""

    def __init__(self, key: QueueKey, where: str = "") -> None:
        self.key = key
        self.where = where
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}unknown queue {key[1]!r} of cluster {key[0]!r}")


# ---------------------------------------------------------------------------------- parsing

_NUMBER = r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
_MEMORY_RE = re.compile(rf"^\s*{_NUMBER}\s*([A-Za-z]*)\s*$")
_MEMORY_UNITS = {
    "": 1.0, "b": 1 / 1024 ** 3,
    "k": 1 / 1024 ** 2, "kb": 1 / 1024 ** 2, "ki": 1 / 1024 ** 2, "kib": 1 / 1024 ** 2,
    "m": 1 / 1024, "mb": 1 / 1024, "mi": 1 / 1024, "mib": 1 / 1024,
    "g": 1.0, "gb": 1.0, "gi": 1.0, "gib": 1.0,
    "t": 1024.0, "tb": 1024.0, "ti": 1024.0, "tib": 1024.0,
}
_RUNTIME_PART = re.compile(rf"\s*{_NUMBER}\s*([A-Za-z]*)")
_RUNTIME_UNITS = {
    "": 1, "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}
_CLOCK_RE = re.compile(r"^\s*(?:([0-9]+)-)?([0-9]+)(?::([0-9]+))?(?::([0-9]+))?\s*$")
_DIGITS_RE = re.compile(r"^\s*([0-9]+)\s*$")
_MEMORY_HELP = "expected GiB as a number, or a size like '8G', '400M', '512MB', '1.5G'"
_RUNTIME_HELP = ("expected seconds as a number, or '90s', '60m', '1h', '1h30m', 'HH:MM:SS', "
                 "'D-HH:MM:SS'")


def _ceil(value: float) -> int:
    """``math.ceil`` of a positive value, ignoring binary rounding noise (``1.1 * 3600`` is
    3960, not 3961); never below 1."""
    return max(1, math.ceil(round(value, 9)))


def _number(value: object) -> float | None:
    """``value`` as a finite float if it is a real number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float
        return None
    return number if math.isfinite(number) else None


def parse_memory(value: object, where: str = "", field: str = "memory") -> float:
    """Memory in GiB from a number (GiB) or a string with a binary unit (B, K, M, G, T)."""
    number = _number(value)
    if number is None and isinstance(value, str) and (match := _MEMORY_RE.match(value)):
        factor = _MEMORY_UNITS.get(match.group(2).lower())
        if factor is None:
            raise ResourceError(field, value, f"unknown memory unit; {_MEMORY_HELP}", where)
        number = float(match.group(1)) * factor
    if number is None or not math.isfinite(number):
        raise ResourceError(field, value, _MEMORY_HELP, where)
    if number <= 0:
        raise ResourceError(field, value, "memory must be more than 0", where)
    return number


def _clock_seconds(value: str, where: str, field: str) -> int | None:
    """``HH:MM:SS``, ``MM:SS``, ``D-HH:MM:SS``, ``D-HH:MM`` or ``D-HH`` in seconds; else None."""
    match = _CLOCK_RE.match(value)
    if match is None or (match.group(1) is None and match.group(3) is None):
        return None
    days, first, second, third = (int(g) if g is not None else None for g in match.groups())
    if days is not None:  # D-HH[:MM[:SS]]
        hours, minutes, seconds = first or 0, second or 0, third or 0
        if hours >= 24:
            raise ResourceError(field, value, "hours must be below 24 in 'D-HH:MM:SS'", where)
    elif third is not None:  # HH:MM:SS
        hours, minutes, seconds = first or 0, second or 0, third
    else:  # MM:SS
        hours, minutes, seconds = 0, first or 0, second or 0
    if minutes >= 60 or seconds >= 60:
        raise ResourceError(field, value, "minutes and seconds must be below 60", where)
    return (((days or 0) * 24 + hours) * 60 + minutes) * 60 + seconds


def _unit_seconds(value: str, where: str, field: str) -> float | None:
    """``90s``, ``60m``, ``1.5h``, ``1h30m``, ``2d`` in seconds; None when not that form."""
    parts: list[tuple[str, str]] = []
    pos = 0
    while (match := _RUNTIME_PART.match(value, pos)) is not None:
        parts.append((match.group(1), match.group(2)))
        pos = match.end()
    if not parts or value[pos:].strip():
        return None
    total = 0.0
    for number, unit in parts:
        factor = _RUNTIME_UNITS.get(unit.lower())
        if factor is None or (unit == "" and len(parts) > 1):
            raise ResourceError(field, value, f"unknown runtime unit; {_RUNTIME_HELP}", where)
        total += float(number) * factor
    return total


def parse_runtime(value: object, where: str = "", field: str = "runtime") -> int:
    """Runtime in whole seconds (rounded up) from a number (seconds) or a duration string."""
    number = _number(value)
    if number is None and isinstance(value, str):
        clock = _clock_seconds(value, where, field)
        number = _number(clock) if clock is not None else _unit_seconds(value, where, field)
    if number is None or not math.isfinite(number):
        raise ResourceError(field, value, _RUNTIME_HELP, where)
    if number <= 0:
        raise ResourceError(field, value, "runtime must be more than 0 seconds", where)
    return _ceil(number)


def parse_cores(value: object, where: str = "", field: str = "cores") -> int:
    """A positive whole number of cores (an int, an integral float, or digits in a string)."""
    number = _number(value)
    if number is None and isinstance(value, str) and (match := _DIGITS_RE.match(value)):
        number = float(match.group(1))
    if number is None or not number.is_integer():
        raise ResourceError(field, value, "expected a whole number of cores", where)
    if number < 1:
        raise ResourceError(field, value, "cores must be at least 1", where)
    return int(number)


def parse_scales(value: Mapping[str, Any] | None, where: str = "") -> tuple[tuple[str, float], ...]:
    """``resource_scales`` as sorted ``(resource, factor)`` pairs; None or {} is the default."""
    if value is None or (isinstance(value, Mapping) and not value):  # Jobmon: empty = default
        value = DEFAULT_SCALES
    if not isinstance(value, Mapping):
        raise ResourceError("resource_scales", value, "expected a mapping", where)
    pairs = []
    for name, factor in value.items():
        if name not in SCALABLE:
            raise ResourceError(f"resource_scales[{name!r}]", factor,
                                f"only {', '.join(SCALABLE)} can be scaled", where)
        number = _number(factor)
        if number is None or number < 0:
            raise ResourceError(f"resource_scales[{name!r}]", factor,
                                "expected a number of at least 0", where)
        pairs.append((str(name), number))
    return tuple(sorted(pairs))


# ---------------------------------------------------------------------------------- values

@attrs.frozen(slots=True, cache_hash=True)
class ResourceSet:
    """The resources of one task on one queue; hashable, so it is its own canonical key.

    ``None`` means "not requested". ``extra`` holds backend-specific keys as sorted pairs.
    Two sets compare equal exactly when they would bind the same task_resources row.
    """

    cluster: str
    queue: str
    cores: int | None = None
    memory: float | None = None
    runtime: int | None = None
    extra: tuple[tuple[str, Scalar], ...] = ()

    @property
    def queue_key(self) -> QueueKey:
        """(cluster, queue) of these resources."""
        return (self.cluster, self.queue)

    def to_requested(self) -> dict[str, Any]:
        """The ``requested_resources`` JSON object (docs/server-api.md section 2)."""
        out: dict[str, Any] = dict(self.extra)
        for name in SCALABLE:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out["queue"] = self.queue
        return out


def resources_from_mapping(requested: Mapping[str, Any], *, cluster: str, queue: str | None,
                           where: str = "") -> ResourceSet:
    """A ResourceSet from a ``requested_resources`` mapping (values may carry units).

    ``queue`` wins over a ``"queue"`` key in the mapping; one of the two must be given.
    """
    if not isinstance(requested, Mapping):
        raise ResourceError("requested_resources", requested, "expected a mapping", where)
    queue_name = queue if queue is not None else requested.get("queue")
    if not isinstance(queue_name, str) or not queue_name:
        raise ResourceError("queue", queue_name, "a queue name is required", where)
    extra = []
    for key, value in requested.items():
        if key in SCALABLE or key == "queue":
            continue
        if (value is not None and not isinstance(value, (str, int, float, bool))) or (
                isinstance(value, float) and not math.isfinite(value)):
            raise ResourceError(str(key), value, "backend-specific resources must be "
                                "finite scalars", where)
        extra.append((str(key), value))
    get = requested.get
    return ResourceSet(
        cluster=cluster, queue=queue_name,
        cores=None if get("cores") is None else parse_cores(get("cores"), where),
        memory=None if get("memory") is None else parse_memory(get("memory"), where),
        runtime=None if get("runtime") is None else parse_runtime(get("runtime"), where),
        extra=tuple(sorted(extra)),
    )


def merge_computed(base: ResourceSet, computed: object, where: str = "") -> ResourceSet:
    """Apply the result of a task's resource callable (Python API): it must return a dict."""
    if not isinstance(computed, dict):
        raise ResourceError("compute_resources", computed,
                            "the resource callable must return a dict", where)
    merged = base.to_requested()
    merged.update(computed)
    queue = computed.get("queue", base.queue)
    return resources_from_mapping(merged, cluster=base.cluster, queue=queue, where=where)


def _limit(params: Mapping[str, Any], key: str, where: str) -> float | None:
    if params.get(key) is None:
        return None
    number = _number(params[key])
    if number is None or number < 0:
        raise ResourceError(key, params[key], "expected a number of at least 0", where)
    return number


@attrs.frozen(slots=True)
class QueueLimits:
    """A queue's resource limits (None: no limit); built from its Jobmon ``params``."""

    cluster: str
    name: str
    min_cores: float | None = None
    max_cores: float | None = None
    min_memory: float | None = None
    max_memory: float | None = None
    min_runtime: float | None = None
    max_runtime: float | None = None

    @property
    def key(self) -> QueueKey:
        """(cluster, queue name)."""
        return (self.cluster, self.name)

    @classmethod
    def from_params(cls, cluster: str, name: str, params: Mapping[str, Any]) -> QueueLimits:
        """Read Jobmon's ``min_*``/``max_*`` keys; other keys are ignored."""
        where = f"queue {name!r} of cluster {cluster!r}"
        values = {key: _limit(params, key, where) for key in (
            "min_cores", "max_cores", "min_memory", "max_memory", "min_runtime", "max_runtime")}
        for res in SCALABLE:
            low, high = values[f"min_{res}"], values[f"max_{res}"]
            if low is not None and high is not None and low > high:
                raise ResourceError(f"min_{res}", low, f"is above max_{res} {high}", where)
        return cls(cluster=cluster, name=name, **values)

    def bounds(self, resource: str) -> tuple[float | None, float | None]:
        """(min, max) of ``resource`` (one of SCALABLE)."""
        low: float | None = getattr(self, f"min_{resource}")
        high: float | None = getattr(self, f"max_{resource}")
        return low, high


# ---------------------------------------------------------------------------------- policy

def _clamp(value: float, low: float | None, high: float | None) -> float:
    if high is not None and value > high:
        value = high
    if low is not None and value < low:
        value = low
    return value


def fits(resources: ResourceSet, queue: QueueLimits) -> bool:
    """Whether every requested resource is within ``queue``'s limits."""
    for name in SCALABLE:
        value = getattr(resources, name)
        if value is None:
            continue
        low, high = queue.bounds(name)
        if (low is not None and value < low) or (high is not None and value > high):
            return False
    return True


def coerce(resources: ResourceSet, queue: QueueLimits) -> ResourceSet:
    """``resources`` moved onto ``queue``, each requested value clamped into its limits.

    Cores and runtime stay whole numbers: a fractional minimum rounds up, a maximum down.
    """
    changes: dict[str, Any] = {"cluster": queue.cluster, "queue": queue.name}
    for name in SCALABLE:
        value = getattr(resources, name)
        if value is None:
            continue
        low, high = queue.bounds(name)
        clamped = _clamp(value, low, high)
        if name == "memory":
            changes[name] = float(clamped)
        elif clamped != value:
            whole = math.ceil(clamped) if clamped == low else math.floor(clamped)
            changes[name] = max(1, int(whole))
    return attrs.evolve(resources, **changes)


def scale(resources: ResourceSet, scales: Sequence[tuple[str, float]]) -> ResourceSet:
    """Each scaled resource becomes ``ceil(old * (1 + factor))`` (Jobmon's rule).

    Memory is rounded up to whole GiB like Jobmon does; unrequested resources stay unset.
    """
    changes: dict[str, Any] = {}
    for name, factor in scales:
        value = getattr(resources, name)
        if value is None:
            continue
        new = _ceil(value * (1.0 + factor))
        changes[name] = float(new) if name == "memory" else int(new)
    return attrs.evolve(resources, **changes) if changes else resources


@attrs.frozen(slots=True)
class ResourcePolicy:
    """How a task's resources change on a resource error: scales and fallback queues."""

    scales: tuple[tuple[str, float], ...] = tuple(sorted(DEFAULT_SCALES.items()))
    fallback_queues: tuple[str, ...] = ()

    @classmethod
    def from_wire(cls, scales: Mapping[str, Any] | None, fallback_queues: Sequence[str] | None,
                  where: str = "") -> ResourcePolicy:
        """Validate ``resource_scales`` (None or empty: the default) and ``fallback_queues``."""
        queues = tuple(fallback_queues or ())
        for queue in queues:
            if not isinstance(queue, str) or not queue:
                raise ResourceError("fallback_queues", fallback_queues,
                                    "expected a list of queue names", where)
        return cls(scales=parse_scales(scales, where), fallback_queues=queues)


def adjust(resources: ResourceSet, policy: ResourcePolicy,
           queues: Sequence[QueueLimits]) -> ResourceSet:
    """Resources after a resource error: scale, then the first queue they fit.

    ``queues`` is the current queue followed by the fallback queues, in order. When the scaled
    resources fit none of them, they are clamped to the last queue's limits.
    """
    if not queues:
        raise ResourceError("queues", queues, "at least the current queue is needed")
    scaled = scale(resources, policy.scales)
    for queue in queues:
        if fits(scaled, queue):
            return attrs.evolve(scaled, cluster=queue.cluster, queue=queue.name)
    return coerce(scaled, queues[-1])
