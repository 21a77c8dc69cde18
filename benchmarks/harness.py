"""The common benchmark harness: statistics, targets, result values, timing loops, the registry.

Who uses it: every suite module (``benchmarks.runtime``, ``benchmarks.planner``, and later
``batching``, ``scale``, ``versus-jobmon``) and the CLI (``benchmarks.__main__``).

A suite is a function ``run(options: SuiteOptions) -> SuiteResult`` registered by name with
the ``suite`` decorator; the CLI parses the command line into ``SuiteOptions``, calls it, adds
the environment and prints/writes/plots the result. A suite may add its own command-line
options (``configure``) and its own plot (``plot``)::

    @suite("planner", "batch planning and state propagation", configure=add_options)
    def run(options: SuiteOptions) -> SuiteResult: ...

Every duration is measured with an injected monotonic nanosecond clock (``time.perf_counter_ns``
by default; unit tests pass a fake one) and summarized as ``Stats`` in nanoseconds per unit of
work (the measurement's ``per``). Pure: no I/O here (see ``benchmarks.system`` and
``benchmarks.report`` for that).
"""

from __future__ import annotations

import argparse
import enum
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar

import attrs

from benchmarks.errors import BenchmarkConfigError, BenchmarkError

__all__ = [
    "Clock",
    "Measurement",
    "Memory",
    "Mode",
    "Stats",
    "Suite",
    "SuiteOptions",
    "SuiteResult",
    "Target",
    "TargetCheck",
    "Throughput",
    "check_targets",
    "from_rounds",
    "get_suite",
    "percentile",
    "registered_suites",
    "suite",
    "summarize",
    "time_blocks",
    "time_each",
]

T = TypeVar("T")
#: A monotonic clock in integer nanoseconds (``time.perf_counter_ns`` or a fake in tests).
Clock = Callable[[], int]


class Mode(enum.Enum):
    """How long a suite may run: full (no limit), quick (CI smoke, < 2 min), tiny (tests)."""

    FULL = "full"
    QUICK = "quick"
    TINY = "tiny"


# ------------------------------------------------------------------------------ statistics


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in [0, 1]) of already sorted, non-empty ``ordered``."""
    if not ordered:
        raise BenchmarkError("percentile of no samples")
    if not 0.0 <= q <= 1.0:
        raise BenchmarkError(f"percentile rank must be within [0, 1], got {q!r}")
    rank = max(1, math.ceil(q * len(ordered)))
    return float(ordered[rank - 1])


@attrs.frozen
class Stats:
    """Summary of ``n`` samples, each in nanoseconds per unit of work."""

    n: int
    min: float
    p50: float
    p99: float
    max: float
    mean: float


def summarize(samples: Iterable[float]) -> Stats:
    """Stats of ``samples`` (ns); raises BenchmarkError for no samples or a negative one."""
    ordered = sorted(float(s) for s in samples)
    if not ordered:
        raise BenchmarkError("no samples to summarize")
    if ordered[0] < 0 or not math.isfinite(ordered[-1]):
        raise BenchmarkError(f"samples must be finite durations >= 0, got {ordered[0]!r}"
                             f"..{ordered[-1]!r}")
    mean = math.fsum(ordered) / len(ordered)
    mean = min(max(mean, ordered[0]), ordered[-1])  # rounding never leaves [min, max]
    return Stats(n=len(ordered), min=ordered[0], p50=percentile(ordered, 0.5),
                 p99=percentile(ordered, 0.99), max=ordered[-1], mean=mean)


# ------------------------------------------------------------------------------ results


@attrs.frozen
class Throughput:
    """Work per second: ``value`` of ``unit`` (e.g. 180000.0 "tells/s")."""

    value: float
    unit: str


@attrs.frozen
class Memory:
    """Memory of the measured thing: ``peak_bytes`` from ``source`` ("rss", "rss-peak",
    "tracemalloc"); ``retained_bytes`` kept after the work, over ``items`` (e.g. tasks)."""

    peak_bytes: int
    source: str
    retained_bytes: int | None = None
    items: int | None = None

    @property
    def per_item(self) -> float | None:
        """Retained bytes per item, when both are known."""
        if self.retained_bytes is None or not self.items:
            return None
        return self.retained_bytes / self.items


Metric = Literal["p50", "p99", "mean", "max", "throughput", "memory_per_item"]
_NS_METRICS = ("p50", "p99", "mean", "max")


@attrs.frozen
class Target:
    """A goal for one metric of a measurement, e.g. ask p50 <= 150 us (``limit`` in ns for
    time metrics, per second for throughput, bytes for memory_per_item)."""

    label: str
    metric: Metric
    op: Literal["<=", ">="]
    limit: float


@attrs.frozen
class TargetCheck:
    """A target next to the measured value; ``passed`` None when the value is missing."""

    target: Target
    value: float | None
    passed: bool | None

    @property
    def verdict(self) -> str:
        return "n/a" if self.passed is None else ("pass" if self.passed else "miss")


@attrs.frozen
class Measurement:
    """One measured figure of a suite.

    ``stats``: ns per ``per`` (e.g. "ask") over all samples; ``rounds``: the same per round,
    so the spread between repetitions is visible; ``params``: what was measured (sizes,
    message type); ``targets``: goals checked (never a failure: a miss is reported).
    """

    name: str
    group: str
    per: str
    stats: Stats | None = None
    rounds: tuple[Stats, ...] = ()
    throughput: Throughput | None = None
    memory: Memory | None = None
    params: Mapping[str, Any] = attrs.field(factory=dict)
    targets: tuple[Target, ...] = ()

    def metric(self, metric: Metric) -> float | None:
        """The value a target refers to, or None when this measurement lacks it."""
        if metric in _NS_METRICS:
            return None if self.stats is None else float(getattr(self.stats, metric))
        if metric == "throughput":
            return None if self.throughput is None else self.throughput.value
        if metric == "memory_per_item":
            return None if self.memory is None else self.memory.per_item
        raise BenchmarkConfigError(f"measurement {self.name!r}: unknown metric {metric!r}")


def from_rounds(name: str, group: str, per: str, rounds: Sequence[Sequence[float]], *,
                rate_unit: str | None = None, memory: Memory | None = None,
                params: Mapping[str, Any] | None = None,
                targets: Sequence[Target] = ()) -> Measurement:
    """A measurement from samples (ns per ``per``) grouped by round.

    Stats cover every sample; each round gets its own stats (the spread); the throughput is
    ``1e9 / mean`` in ``rate_unit`` (default "<per>/s").
    """
    kept = [list(r) for r in rounds if len(r)]
    if not kept:
        raise BenchmarkError(f"measurement {name!r}: no samples in any round")
    stats = summarize(s for r in kept for s in r)
    rate = Throughput(1e9 / stats.mean, rate_unit or f"{per}/s") if stats.mean > 0 else None
    return Measurement(name=name, group=group, per=per, stats=stats,
                       rounds=tuple(summarize(r) for r in kept), throughput=rate,
                       memory=memory, params=dict(params or {}), targets=tuple(targets))


def check_targets(measurement: Measurement) -> tuple[TargetCheck, ...]:
    """Each target of ``measurement`` with its value and pass/miss."""
    checks = []
    for target in measurement.targets:
        value = measurement.metric(target.metric)
        passed = None if value is None else (
            value <= target.limit if target.op == "<=" else value >= target.limit)
        checks.append(TargetCheck(target, value, passed))
    return tuple(checks)


@attrs.frozen
class SuiteOptions:
    """What the CLI parsed for one suite run: the mode, a rounds override, suite options."""

    mode: Mode = Mode.FULL
    rounds: int | None = None
    params: Mapping[str, Any] = attrs.field(factory=dict)

    def pick(self, full: T, quick: T, tiny: T) -> T:
        """The value for the current mode."""
        return {Mode.FULL: full, Mode.QUICK: quick, Mode.TINY: tiny}[self.mode]

    def rounds_or(self, full: int, quick: int, tiny: int) -> int:
        """Rounds per measurement: the ``--rounds`` override, else the mode's default."""
        return self.rounds if self.rounds is not None else self.pick(full, quick, tiny)

    def param(self, name: str, default: T) -> T:
        """A suite-specific option, or ``default`` when it was not given."""
        value = self.params.get(name)
        return default if value is None else value


@attrs.frozen
class SuiteResult:
    """What a suite returns: its parameters, measurements and notes (environment added by
    the CLI through ``benchmarks.report``)."""

    suite: str
    mode: Mode
    parameters: Mapping[str, Any]
    measurements: tuple[Measurement, ...]
    notes: tuple[str, ...] = ()


# ------------------------------------------------------------------------------ timing loops


def time_each(fn: Callable[[], object], n: int, clock: Clock = time.perf_counter_ns
              ) -> list[int]:
    """Call ``fn`` ``n`` times, timing each call: ns per call."""
    if n < 1:
        raise BenchmarkConfigError(f"time_each: n must be at least 1, got {n}")
    out = []
    for _ in range(n):
        start = clock()
        fn()
        out.append(clock() - start)
    return out


def time_blocks(fn: Callable[[], object], n: int, block: int,
                clock: Clock = time.perf_counter_ns) -> list[float]:
    """Call ``fn`` ``n`` times in blocks of ``block`` calls: mean ns per call of each block.

    For operations of about a microsecond, where reading the clock around each call would
    be a large part of what is measured.
    """
    if n < 1 or block < 1:
        raise BenchmarkConfigError(f"time_blocks: n and block must be >= 1, got {n}, {block}")
    out = []
    done = 0
    while done < n:
        size = min(block, n - done)
        loop = range(size)
        start = clock()
        for _ in loop:
            fn()
        out.append((clock() - start) / size)
        done += size
    return out


# ------------------------------------------------------------------------------ registry

Configure = Callable[[argparse.ArgumentParser], None]
Plotter = Callable[[SuiteResult, str], None]


@attrs.frozen
class Suite:
    """A registered suite: its name, one-line summary, run function and optional hooks."""

    name: str
    summary: str
    run: Callable[[SuiteOptions], SuiteResult]
    configure: Configure | None = None
    plot: Plotter | None = None


_registry: dict[str, Suite] = {}


def suite(name: str, summary: str, *, configure: Configure | None = None,
          plot: Plotter | None = None
          ) -> Callable[[Callable[[SuiteOptions], SuiteResult]],
                        Callable[[SuiteOptions], SuiteResult]]:
    """Register the decorated function as the suite ``name`` (names are unique)."""
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise BenchmarkConfigError(f"suite name must be letters, digits, '-' or '_': {name!r}")

    def register(run: Callable[[SuiteOptions], SuiteResult]
                 ) -> Callable[[SuiteOptions], SuiteResult]:
        previous = _registry.get(name)
        if previous is not None and previous.run is not run:
            raise BenchmarkConfigError(f"suite {name!r} is already registered by "
                                       f"{previous.run.__module__}")
        _registry[name] = Suite(name, summary, run, configure, plot)
        return run

    return register


def registered_suites() -> dict[str, Suite]:
    """A copy of the registry, by name."""
    return dict(_registry)


def get_suite(name: str) -> Suite:
    """The suite registered as ``name``; BenchmarkConfigError listing the known ones."""
    found = _registry.get(name)
    if found is None:
        known = ", ".join(sorted(_registry)) or "none"
        raise BenchmarkConfigError(f"unknown suite {name!r} (known: {known})")
    return found
