"""How many task instances the local backend runs at once (pure; no I/O).

The local backend keeps launched instances in a FIFO until they fit: at most ``max_parallel``
running, their requested cores summing to at most ``cores`` and their requested memory to at most
``memory_gib``. An instance larger than the whole budget starts when nothing else runs, so it can
never wait forever. The oldest waiting instance that does not fit blocks the ones behind it
(no overtaking), which keeps large instances from starving.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

__all__ = ["Budget", "Demand", "admit"]


@attrs.frozen
class Demand:
    """What one instance asks for."""

    cores: int = 1
    memory_gib: float = 0.0


@attrs.frozen
class Budget:
    """The machine's share the local backend may use."""

    max_parallel: int
    cores: int
    memory_gib: float

    def __attrs_post_init__(self) -> None:
        if self.max_parallel < 1 or self.cores < 1 or self.memory_gib <= 0:
            raise ValueError(f"budget must be positive: {self!r}")


def admit(budget: Budget, running: Iterable[Demand], waiting: Sequence[Demand]) -> int:
    """How many of ``waiting`` (oldest first) start now, given what is ``running``."""
    running = list(running)
    count = len(running)
    cores = sum(d.cores for d in running)
    memory = sum(d.memory_gib for d in running)
    started = 0
    for demand in waiting:
        if count >= budget.max_parallel:
            break
        fits = cores + demand.cores <= budget.cores and memory + demand.memory_gib <= \
            budget.memory_gib
        if not fits and count > 0:
            break
        count += 1
        cores += demand.cores
        memory += demand.memory_gib
        started += 1
    return started
