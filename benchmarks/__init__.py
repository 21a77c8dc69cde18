"""actorswarm benchmark suites: ``python -m benchmarks SUITE [--quick] [--json F] [--plot F.png]``.

Each suite measures one part of the system and returns a ``SuiteResult`` (p50/p99/min/max/mean
from monotonic timers, throughput, peak memory, figures next to their targets); the CLI prints
it as a table, writes it as JSON and optionally plots it. ``python -m benchmarks --list``
lists the suites. Suites register themselves (``harness.suite``) when their module, listed in
``SUITE_MODULES``, is imported by ``load_suites``.

Layout::

    harness.py    statistics, targets, result values, timing loops, the suite registry (pure)
    report.py     JSON document and rich table          plotting.py   matplotlib, lazily
    system.py     environment record, process memory    errors.py     BenchmarkError tree
    runtime.py    suite "runtime" (codec: codec_bench.py, actor: bench_actor.py)
    planner.py    suite "planner" (synthetic DAGs: dags.py)
    batching.py   suite "batching" (end-to-end runs: simrun.py, shapes.py, latency_proxy.py)
    scale.py      suite "scale" (DAG shapes at scale: simrun.py, procwatch.py, serverdb.py)
    versus_jobmon.py  suite "versus-jobmon" (the real Jobmon next to ours: jobmon_side.py,
                  jobmon_probe.py runs inside Jobmon's reference venv)
"""

from __future__ import annotations

import importlib

from benchmarks.errors import BenchmarkConfigError, BenchmarkError, PlotUnavailable
from benchmarks.harness import (
    Measurement,
    Memory,
    Mode,
    Stats,
    Suite,
    SuiteOptions,
    SuiteResult,
    Target,
    Throughput,
    from_rounds,
    get_suite,
    registered_suites,
    suite,
    summarize,
    time_blocks,
    time_each,
)

__all__ = [
    "SUITE_MODULES",
    "BenchmarkConfigError",
    "BenchmarkError",
    "Measurement",
    "Memory",
    "Mode",
    "PlotUnavailable",
    "Stats",
    "Suite",
    "SuiteOptions",
    "SuiteResult",
    "Target",
    "Throughput",
    "from_rounds",
    "get_suite",
    "load_suites",
    "registered_suites",
    "suite",
    "summarize",
    "time_blocks",
    "time_each",
]

#: Modules that register a suite when imported (add yours here).
SUITE_MODULES = (
    "benchmarks.runtime",
    "benchmarks.planner",
    "benchmarks.batching",
    "benchmarks.scale",
    "benchmarks.versus_jobmon",
)


def load_suites() -> dict[str, Suite]:
    """Import every suite module (idempotent) and return the registry by name."""
    for name in SUITE_MODULES:
        importlib.import_module(name)
    return registered_suites()
