"""The actor the runtime suite measures, and its messages (wire tags ``bench.*``).

Who uses it: ``benchmarks.runtime`` starts it as ``benchmarks.bench_actor:BenchActor`` under a
``Supervisor`` (in its own process, or as a thread for comparison) and talks to it:

- root -> actor, ask ``Probe(seq)``: reply ``Probe(seq)`` at once (ask latency);
- root -> actor, tell ``Tick()``: count it, no reply (tell throughput);
- root -> actor, ask ``GetTicks()``: reply ``Ticks(count, pid)``, the number of ``Tick`` tells
  handled so far by this process, and its pid (the end mark of a throughput run, and how the
  restart benchmark recognises the new process).
"""

from __future__ import annotations

import os
from typing import Any

import attrs

from actors.runtime import Actor, Incoming
from messages import message

__all__ = ["ACTOR_CLASS", "BenchActor", "GetTicks", "Probe", "Tick", "Ticks"]

ACTOR_CLASS = "benchmarks.bench_actor:BenchActor"


@message("bench.Probe")
@attrs.frozen
class Probe:
    """Root -> bench actor (ask): echo me; the reply is the same ``Probe``."""

    seq: int


@message("bench.Tick")
@attrs.frozen
class Tick:
    """Root -> bench actor (tell): count one tick; no reply."""


@message("bench.GetTicks")
@attrs.frozen
class GetTicks:
    """Root -> bench actor (ask): how many ticks so far? Reply: ``Ticks``."""


@message("bench.Ticks")
@attrs.frozen
class Ticks:
    """Bench actor -> root: ``count`` ticks handled by process ``pid``."""

    count: int
    pid: int


class BenchActor(Actor):
    """Echoes probes and counts ticks; nothing else (so the runtime's cost is what shows)."""

    def __init__(self, node: Any, name: str, init: Any = None) -> None:
        super().__init__(node, name, init)
        self.ticks = 0
        self.pid = os.getpid()

    def receive(self, message: Any, incoming: Incoming) -> Any:
        cls = type(message)
        if cls is Tick:
            self.ticks += 1
            return None
        if cls is Probe:
            return message
        if cls is GetTicks:
            return Ticks(self.ticks, self.pid)
        raise TypeError(f"BenchActor does not handle {cls.__name__}")
