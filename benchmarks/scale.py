"""Suite "scale": DAG shapes at 10k and 100k tasks through the whole lifecycle with ``sim``.

``python -m benchmarks scale [--quick] [--shapes layered,chains] [--sizes 10k,100k]
[--width 1000] [--chain-length 100] [--arrays 10] [--array-limit 500]``

Each shape (``benchmarks.shapes``: wide fan-out, parallel long chains, layered diamonds,
arrays with limits) at each size is one end-to-end run (``benchmarks.simrun``): the embedded
server, the sim distributor (instances end at once unless ``--sim-duration``), the four actor
processes, every process sampled by a ``ProcessWatcher``. Figures per run:

- lifecycle, per task: from calling ``run_workflow`` to ``RunFinished`` (server start, binding,
  actors, the run), over the tasks; the rate is tasks/s through the whole lifecycle (target: a
  100k-task DAG in <= 60 s, checked at 100k tasks and above); the run phase alone (actors up
  to the run over) is the next row;
- upstream D -> downstream Q, per hop: for each task with upstreams, the moment the
  orchestrator saw it Q minus the latest D among its upstreams in the server's database
  (target p50 <= 100 ms); and D -> launched, from the database alone (the launch is when the
  distributor reported I -> O);
- orchestrator memory: its peak RSS (VmHWM) and, per task, the part above the heartbeat
  actor's peak (same runtime and imports, no run state); and its RSS when the run finished,
  per task above the heartbeat actor's (target <= 1 KiB per task for both);
- CPU per task of each process role (server, distributor, each actor, root = this process:
  supervisor and event relay, without the sampler's own CPU) and of the swarm's four actors
  per state transition, counting Q, R and D for each task (target <= 50 us).

With two sizes or more, each shape also gets its marginal costs between the smallest and the
largest size (the slope, which leaves out fixed costs such as interpreter start-up and the
empty orchestrator's memory): lifecycle time per task, swarm CPU per transition, whole-system
CPU per task and orchestrator peak RSS per task, with the same targets.
"""

from __future__ import annotations

import argparse
import tempfile

from benchmarks.errors import BenchmarkConfigError, BenchmarkError
from benchmarks.harness import (
    Measurement,
    Memory,
    SuiteOptions,
    SuiteResult,
    Target,
    from_rounds,
    suite,
)
from benchmarks.procwatch import RoleUsage
from benchmarks.serverdb import hop_latencies
from benchmarks.shapes import SHAPE_KINDS, Shape, make_shape, parse_counts
from benchmarks.simrun import SimRecord, SimSettings, run_shape

__all__ = ["HOP", "LIFECYCLE", "MEMORY", "SWARM_ROLES", "TRANSITION", "marginal_rows",
           "measure_shape", "parse_shapes", "run"]

LIFECYCLE = Target("100k-task DAG <= 60 s (600 us/task)", "mean", "<=", 600_000.0)
HOP = Target("upstream D -> downstream Q p50 <= 100 ms", "p50", "<=", 100e6)
MEMORY = Target("orchestrator <= 1 KiB per task", "memory_per_item", "<=", 1024.0)
TRANSITION = Target("swarm CPU <= 50 us per task state transition", "mean", "<=", 50_000.0)
SWARM_ROLES = ("orchestrator", "scheduler", "synchronizer", "heartbeat")
ROLE_ORDER = ("server", "distributor", *SWARM_ROLES, "root", "other")
TRANSITIONS_PER_TASK = 3  # Q, R and D
NOTES = (
    ("lifecycle: run_workflow called -> RunFinished (server start-up, binding, actor start, "
     "the run); run phase: the orchestrator's elapsed time"),
    ("D -> Q: server D time (database) to the orchestrator applying the server's Q (event in "
     "this process); our server does not keep Q times after later transitions"),
    ("orchestrator memory per task: its VmHWM (or its RSS at RunFinished) minus the heartbeat "
     "actor's, over tasks"),
    ("CPU: user+system seconds per process role, sampled every 0.2 s until RunFinished; root "
     "is this process (supervisor, event relay; the sampler's own CPU is left out)"),
)


def parse_shapes(text: str) -> tuple[str, ...]:
    """``"layered,chains"`` -> the shape kinds; BenchmarkConfigError naming an unknown one."""
    kinds = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [k for k in kinds if k not in SHAPE_KINDS]
    if unknown or not kinds:
        raise BenchmarkConfigError(f"--shapes: {', '.join(unknown) or 'nothing'} is not a "
                                   f"shape (known: {', '.join(SHAPE_KINDS)})")
    return kinds


def add_options(parser: argparse.ArgumentParser) -> None:
    """Suite options (defaults depend on --quick/--tiny)."""
    parser.add_argument("--shapes", default=None,
                        help=f"shapes, comma separated (default all: {','.join(SHAPE_KINDS)})")
    parser.add_argument("--sizes", default=None,
                        help="task counts, comma separated (full 10k,100k; quick 1k,5k)")
    parser.add_argument("--width", type=int, default=None,
                        help="layered: tasks per layer (1000; quick 500)")
    parser.add_argument("--chain-length", type=int, default=None,
                        help="chains: tasks per chain (100; quick 25)")
    parser.add_argument("--arrays", type=int, default=None, help="arrays shape: arrays (10)")
    parser.add_argument("--array-limit", type=int, default=None,
                        help="arrays shape: concurrency limit of each array (500)")
    parser.add_argument("--batch-size", type=int, default=None, help="max batch size (500)")
    parser.add_argument("--sim-duration", default=None,
                        help="sim task duration (const:0; e.g. exp:0.5)")


def _role_rows(group: str, n: int, params: dict[str, object],
               usages: list[dict[str, RoleUsage]]) -> list[Measurement]:
    rows = []
    roles = [r for r in ROLE_ORDER if any(r in u for u in usages)]
    for role in roles:
        rows.append(from_rounds(f"CPU: {role}", group, "task",
                                [[u[role].cpu_s * 1e9 / n if role in u else 0.0]
                                 for u in usages], rate_unit="tasks/s", params=params))
    rows.append(from_rounds("CPU: whole system", group, "task",
                            [[sum(x.cpu_s for x in u.values()) * 1e9 / n] for u in usages],
                            rate_unit="tasks/s", params=params))
    swarm = [[sum(u[r].cpu_s for r in SWARM_ROLES if r in u) * 1e9
              / (n * TRANSITIONS_PER_TASK)] for u in usages]
    rows.append(from_rounds("CPU: swarm (four actors)", group, "transition", swarm,
                            rate_unit="transitions/s", params=params, targets=(TRANSITION,)))
    return rows


def _memory(n: int, usage: dict[str, RoleUsage], at_end: bool = False) -> Memory:
    """The orchestrator's peak RSS (VmHWM) and, per task, the part above the heartbeat
    actor's; ``at_end``: the same with the RSS of the last sample (at RunFinished)."""
    orch = usage.get("orchestrator")
    if orch is None or orch.peak_rss <= 0:
        raise BenchmarkError("no memory sample of the orchestrator process")
    beat = usage.get("heartbeat")
    if at_end:
        base = beat.last_rss if beat is not None else 0
        return Memory(peak_bytes=orch.peak_rss, source="rss-peak",
                      retained_bytes=max(0, orch.last_rss - base), items=n)
    base = beat.peak_rss if beat is not None else 0
    return Memory(peak_bytes=orch.peak_rss, source="rss-peak",
                  retained_bytes=max(0, orch.peak_rss - base), items=n)


def measure_shape(shape: Shape, records: list[SimRecord]) -> list[Measurement]:
    """The measurements of ``records`` (rounds of ``shape``); see the module docstring."""
    n = shape.n
    group = f"scale: {shape.kind}, {n:,} tasks"
    params: dict[str, object] = dict(shape.describe())
    params.update(wall_s=[round(r.wall_s, 3) for r in records],
                  run_s=[round(r.run_s, 3) for r in records])
    rows = [
        from_rounds("lifecycle (start, bind, run)", group, "task",
                    [[r.wall_s * 1e9 / n] for r in records], rate_unit="tasks/s",
                    params=params, targets=(LIFECYCLE,) if n >= 100_000 else ()),
        from_rounds("run phase (actors up to run over)", group, "task",
                    [[r.run_s * 1e9 / n] for r in records], rate_unit="tasks/s", params=params),
    ]
    if shape.edges:
        ups = [(t.name, t.upstream) for t in shape.tasks]
        hops = [[x * 1e9 for x in hop_latencies(r.times.queued, r.times.done, ups)]
                for r in records]
        launch = [[x * 1e9 for x in hop_latencies(r.times.launched, r.times.done, ups)]
                  for r in records]
        rows += [from_rounds("upstream D -> downstream Q", group, "hop", hops,
                             rate_unit="hops/s", params=params, targets=(HOP,)),
                 from_rounds("upstream D -> downstream launched (database)", group, "hop",
                             launch, rate_unit="hops/s", params=params)]
    usage = records[-1].usage
    rows.append(Measurement("orchestrator peak RSS", group, "task", memory=_memory(n, usage),
                            params=params, targets=(MEMORY,)))
    rows.append(Measurement("orchestrator RSS at the end", group, "task",
                            memory=_memory(n, usage, at_end=True), params=params,
                            targets=(MEMORY,)))
    rows += _role_rows(group, n, params, [r.usage for r in records])
    return rows


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def marginal_rows(kind: str, small: tuple[int, list[SimRecord]],
                  large: tuple[int, list[SimRecord]]) -> tuple[list[Measurement], list[str]]:
    """Slopes between two sizes of one shape (see the module docstring); a slope below zero
    (noise larger than the difference) is left out with a note."""
    (n1, r1), (n2, r2) = small, large
    dn = n2 - n1
    group = f"scale: {kind}, marginal cost from {n1:,} to {n2:,} tasks"
    params = {"shape": kind, "from_tasks": n1, "to_tasks": n2}

    def swarm(r: SimRecord) -> float:
        return sum(r.usage[x].cpu_s for x in SWARM_ROLES if x in r.usage)

    def whole(r: SimRecord) -> float:
        return sum(u.cpu_s for u in r.usage.values())

    slopes = [
        ("lifecycle, marginal", "task", 1, lambda r: r.wall_s, (LIFECYCLE,)),
        ("CPU: swarm (four actors), marginal", "transition", TRANSITIONS_PER_TASK, swarm,
         (TRANSITION,)),
        ("CPU: whole system, marginal", "task", 1, whole, ()),
    ]
    rows: list[Measurement] = []
    notes: list[str] = []
    for name, per, units, value, targets in slopes:
        slope = (_mean([value(r) for r in r2]) - _mean([value(r) for r in r1])) / (dn * units)
        if slope < 0:
            notes.append(f"{group}: {name} came out negative ({slope * 1e6:.1f} us): noise")
            continue
        rows.append(from_rounds(name, group, per, [[slope * 1e9]], rate_unit=f"{per}s/s",
                                params=params, targets=targets))
    peaks = [_memory(n, r[-1].usage).peak_bytes for n, r in (small, large)]
    if peaks[1] >= peaks[0]:
        rows.append(Measurement("orchestrator peak RSS, marginal", group, "task",
                                memory=Memory(peak_bytes=peaks[1], source="rss-peak",
                                              retained_bytes=peaks[1] - peaks[0], items=dn),
                                params=params, targets=(MEMORY,)))
    else:
        notes.append(f"{group}: the orchestrator's peak RSS fell with more tasks: noise")
    return rows, notes


def _shape_options(options: SuiteOptions) -> dict[str, int]:
    values = {
        "width": options.param("width", options.pick(1000, 500, 20)),
        "length": options.param("chain_length", options.pick(100, 25, 5)),
        "array_count": options.param("arrays", options.pick(10, 10, 3)),
        "array_limit": options.param("array_limit", options.pick(500, 500, 5)),
    }
    flags = {"width": "--width", "length": "--chain-length", "array_count": "--arrays",
             "array_limit": "--array-limit"}
    for name, value in values.items():
        if value < 1:
            raise BenchmarkConfigError(f"{flags[name]} must be at least 1, got {value}")
    return values


@suite("scale", "DAG shapes (fan-out, chains, layered, arrays) at 10k/100k tasks end to end "
       "with sim: wall time, D->Q latency, memory and CPU per task", configure=add_options)
def run(options: SuiteOptions) -> SuiteResult:
    """Run every shape at every size; see the module docstring."""
    kinds = parse_shapes(options.param("shapes", ",".join(SHAPE_KINDS)))
    given = options.param("sizes", None)
    sizes = parse_counts(given, "--sizes") if given is not None else options.pick(
        (10_000, 100_000), (1_000, 5_000), (30, 60))
    shape_options = _shape_options(options)
    batch = options.param("batch_size", 500)
    if batch < 1:
        raise BenchmarkConfigError(f"--batch-size must be at least 1, got {batch}")
    settings = SimSettings(max_batch_size=batch,
                           sim_duration=options.param("sim_duration", "const:0"))
    rounds = options.rounds_or(1, 1, 1)
    measurements: list[Measurement] = []
    notes = list(NOTES)
    done: dict[str, list[tuple[int, list[SimRecord]]]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        for n in sizes:
            for kind in kinds:
                shape = make_shape(kind, n, **shape_options)
                records = [run_shape(shape, settings, f"{tmp}/{kind}-{n}-{r}")
                           for r in range(rounds)]
                measurements += measure_shape(shape, records)
                done[kind].append((n, records))
    for kind, by_size in done.items():
        if len(by_size) >= 2:
            rows, more = marginal_rows(kind, by_size[0], by_size[-1])
            measurements += rows
            notes += more
    return SuiteResult(
        suite="scale", mode=options.mode,
        parameters={"shapes": list(kinds), "sizes": list(sizes), **shape_options,
                    "max_batch_size": batch, "sim_duration": settings.sim_duration,
                    "heartbeat_interval": settings.heartbeat_interval, "rounds": rounds},
        measurements=tuple(measurements), notes=tuple(notes))
