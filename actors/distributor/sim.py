"""Backend ``sim``: no processes; each instance "runs" for a drawn duration (benchmarks, scale).

The distributor calls it like any backend (``actors.distributor.backend``). ``launch`` draws each
instance's duration and fate (done, error, resource error) from a seeded generator and files it
in a heap keyed by its end time on the injected monotonic clock; ``poll`` hands back R for the
instances that started since the last poll and the final status of those whose time is up. All
work is in memory and O(log n) per instance, so thousands of instances per second are cheap;
the distributor batches the reports (one results request per tick).
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence

import attrs

from actors.distributor.backend import DistributorId, LaunchRequest, Outcome, QueueLimits
from actors.errors import ConfigError
from messages.values import TaskInstanceId, TaskInstanceStatus

__all__ = ["Duration", "SimBackend", "SimConfig", "sim_queues"]

_WEEK = 7 * 24 * 3600
_KINDS = {"const": 1, "uniform": 2, "exp": 1, "normal": 2, "lognormal": 2}


def sim_queues() -> dict[str, QueueLimits]:
    """Queues ``all`` and ``long`` (the same shape the server seeds)."""
    base = QueueLimits(min_cores=1, max_cores=64, min_memory=0.001, max_memory=512,
                       min_runtime=1, max_runtime=86400)
    return {"all": base, "long": attrs.evolve(base, max_runtime=_WEEK)}


@attrs.frozen
class Duration:
    """A duration distribution in seconds; ``from_spec`` reads the command-line form.

    Forms: ``0`` or ``2.5`` (constant), ``const:2.5``, ``uniform:LOW:HIGH``, ``exp:MEAN``,
    ``normal:MEAN:SD`` (clipped at 0), ``lognormal:MU:SIGMA`` (of the underlying normal).
    """

    kind: str = "const"
    params: tuple[float, ...] = (0.0,)

    @classmethod
    def from_spec(cls, spec: str) -> Duration:
        """Parse ``spec``; ConfigError naming the problem when it is malformed."""
        head, _, rest = spec.strip().partition(":")
        kind, numbers = ("const", [head]) if not rest and _is_number(head) else \
            (head, rest.split(":") if rest else [])
        if kind not in _KINDS:
            raise ConfigError(f"--sim-duration {spec!r}: unknown distribution {kind!r} "
                              f"(use one of {', '.join(sorted(_KINDS))})")
        if len(numbers) != _KINDS[kind] or not all(_is_number(n) for n in numbers):
            raise ConfigError(f"--sim-duration {spec!r}: {kind} takes {_KINDS[kind]} "
                              f"number(s) separated by ':'")
        params = tuple(float(n) for n in numbers)
        bad = (kind in ("const", "exp") and params[0] < 0) or \
            (kind == "uniform" and not 0 <= params[0] <= params[1]) or \
            (kind in ("normal", "lognormal") and params[1] < 0)
        if bad:
            raise ConfigError(f"--sim-duration {spec!r}: parameters out of range")
        return cls(kind, params)

    def draw(self, rng: random.Random) -> float:
        """One duration (≥ 0)."""
        p = self.params
        if self.kind == "const":
            return p[0]
        if self.kind == "uniform":
            return rng.uniform(p[0], p[1])
        if self.kind == "exp":
            return rng.expovariate(1.0 / p[0]) if p[0] > 0 else 0.0
        if self.kind == "normal":
            return max(0.0, rng.gauss(p[0], p[1]))
        return rng.lognormvariate(p[0], p[1])


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


@attrs.frozen
class SimConfig:
    """Settings of the sim backend; rates are probabilities per instance."""

    duration: Duration = Duration()
    failure_rate: float = 0.0
    resource_error_rate: float = 0.0
    seed: int | None = None
    max_in_flight: int = 1_000_000

    def __attrs_post_init__(self) -> None:
        for name in ("failure_rate", "resource_error_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"--sim-{name.replace('_', '-')} must be in [0, 1], "
                                  f"not {value!r}")
        if self.failure_rate + self.resource_error_rate > 1.0:
            raise ConfigError("--sim-failure-rate + --sim-resource-error-rate exceed 1")


@attrs.frozen
class _Fate:
    ti: TaskInstanceId
    status: TaskInstanceStatus
    message: str | None
    exit_code: int | None


class SimBackend:
    """Simulated instances; see the module docstring."""

    cluster_name = "sim"
    cluster_type = "sim"

    def __init__(self, config: SimConfig = SimConfig(), *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._rng = random.Random(config.seed)
        self._heap: list[tuple[float, int, DistributorId]] = []
        self._running: dict[DistributorId, _Fate] = {}
        self._started: list[DistributorId] = []
        self._killed: list[Outcome] = []
        self._seq = 0

    def queues(self) -> Mapping[str, QueueLimits]:
        """Queues ``all`` and ``long``."""
        return sim_queues()

    def capacity(self) -> int:
        """Room left below ``max_in_flight``."""
        return max(0, self.config.max_in_flight - len(self._running))

    def launch(self, batch: Sequence[LaunchRequest]) -> list[DistributorId | None]:
        """Draw each instance's fate and duration; it starts at once."""
        now = self._clock()
        cfg, rng = self.config, self._rng
        ids: list[DistributorId | None] = []
        for request in batch:
            did = DistributorId(f"sim-{request.task_instance_id}")
            roll = rng.random()
            if roll < cfg.failure_rate:
                fate = _Fate(request.task_instance_id, TaskInstanceStatus.ERROR,
                             "simulated failure: exit code 1", 1)
            elif roll < cfg.failure_rate + cfg.resource_error_rate:
                fate = _Fate(request.task_instance_id, TaskInstanceStatus.RESOURCE_ERROR,
                             "simulated resource error: memory limit exceeded", 137)
            else:
                fate = _Fate(request.task_instance_id, TaskInstanceStatus.DONE, None, 0)
            self._seq += 1
            heapq.heappush(self._heap, (now + cfg.duration.draw(rng), self._seq, did))
            self._running[did] = fate
            self._started.append(did)
            ids.append(did)
        return ids

    def poll(self) -> list[Outcome]:
        """R for instances started since the last poll, then the ends that are due."""
        out = [Outcome(self._running[d].ti, d, TaskInstanceStatus.RUNNING)
               for d in self._started if d in self._running]
        self._started = []
        out.extend(self._killed)
        self._killed = []
        now = self._clock()
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, did = heapq.heappop(heap)
            fate = self._running.pop(did, None)
            if fate is not None:  # None: killed earlier (lazy deletion)
                out.append(Outcome(fate.ti, did, fate.status, fate.message, fate.exit_code))
        return out

    def kill(self, ids: Sequence[DistributorId]) -> None:
        """Forget these instances; each ends as F at the next poll."""
        for did in ids:
            fate = self._running.pop(did, None)
            if fate is not None:
                self._killed.append(Outcome(fate.ti, did, TaskInstanceStatus.ERROR_FATAL,
                                            "killed on KILL_SELF"))

    def alive(self, ids: Sequence[DistributorId]) -> dict[DistributorId, bool]:
        """Whether each instance is still "running"."""
        return {did: did in self._running for did in ids}

    def close(self) -> None:
        """Drop everything."""
        self._heap.clear()
        self._running.clear()
        self._started.clear()
