"""Suite "planner": batch planning and state propagation in the orchestrator's pure logic.

``python -m benchmarks planner [--quick] [--sizes 10000,100000]``. On synthetic layered DAGs
(``benchmarks.dags``) of each size, through the real ``SwarmState`` and ``plan_batches``:

- build: ``SwarmState.build`` from bound tasks and edges, ns per task;
- memory: tracemalloc around building the inputs and the state, inputs then dropped: bytes per
  task the state keeps (target <= 1 KiB per task);
- planning: every task ready (the same tasks, no edges): ``take_ready()`` then
  ``plan_batches`` of all of them, ns per task (target: 100k ready tasks in <= 200 ms, i.e.
  <= 2 us per task), with take and plan also shown apart;
- transitions: the whole DAG G -> Q -> R -> D, wave by wave as an orchestrator sees it: take the
  ready tasks, plan, ``apply_queued`` per batch (Q), then R and D in sync-sized chunks of
  ``apply_updates`` (each D making dependents ready), the run machine (``evaluate``) after
  every step, from ``start_run`` to the run's D. Wall ns per transition per step, and CPU
  (``process_time``) per transition over the whole stream (target <= 50 us).
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable

import attrs

from actors.orchestrator.logic import (
    Effect,
    FullSync,
    RunMachine,
    RunPolicy,
    SetRunStatus,
    evaluate,
    may_schedule,
    on_full_sync,
    on_status_reply,
    start_run,
)
from actors.orchestrator.state import SwarmState
from actors.scheduler.planner import DEFAULT_MAX_BATCH_SIZE, plan_batches
from benchmarks.dags import SyntheticDag, layered_dag
from benchmarks.errors import BenchmarkConfigError, BenchmarkError
from benchmarks.harness import (
    Clock,
    Measurement,
    Memory,
    SuiteOptions,
    SuiteResult,
    Target,
    from_rounds,
    suite,
)
from benchmarks.plotting import load_pyplot
from benchmarks.system import rss_bytes
from messages.values import RunStatus, TaskId, TaskStatus

__all__ = ["StreamResult", "build_state", "measure_memory", "parse_sizes", "plot", "run",
           "transition_stream"]

PLAN = Target("planning 100k ready tasks <= 200 ms (2 us/task)", "p50", "<=", 2_000.0)
TRANSITION = Target("<= 50 us CPU per state transition", "p50", "<=", 50_000.0)
MEMORY = Target("<= 1 KiB per task", "memory_per_item", "<=", 1024.0)
NOTES = (
    ("build/planning/CPU samples are one per round (spread = rounds); transition wall samples "
     "are one per step (a wave's Q, or one sync chunk of R or D)"),
    ("memory: tracemalloc bytes the state retains per task (peak includes the inputs); other "
     "rows show the process RSS"),
)
_Q, _R, _D = TaskStatus.QUEUED, TaskStatus.RUNNING, TaskStatus.DONE


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"10000,100k,1M"`` -> (10000, 100000, 1000000); BenchmarkConfigError when invalid."""
    sizes = []
    for part in text.split(","):
        word = part.strip().lower().replace("_", "")
        scale = {"k": 1_000, "m": 1_000_000}.get(word[-1:], 1)
        digits = word[:-1] if scale != 1 else word
        if not digits.isdigit() or int(digits) * scale < 1:
            raise BenchmarkConfigError(f"--sizes: {part.strip()!r} is not a task count "
                                       "(e.g. 10000, 100k, 1M)")
        sizes.append(int(digits) * scale)
    return tuple(sizes)


def add_options(parser: argparse.ArgumentParser) -> None:
    """Suite options (defaults depend on --quick/--tiny)."""
    parser.add_argument("--sizes", type=str, default=None,
                        help="task counts, comma separated (default 10k,100k,1M; quick: "
                             "10k,100k)")
    parser.add_argument("--width", type=int, default=None, help="tasks per DAG layer (1000)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help=f"max batch size ({DEFAULT_MAX_BATCH_SIZE})")
    parser.add_argument("--sync-chunk", type=int, default=None,
                        help="status updates per apply_updates call (1000)")


def build_state(dag: SyntheticDag, edges: bool = True) -> SwarmState:
    """A SwarmState of ``dag`` (without its edges: every task ready), unlimited capacity."""
    state, _ = SwarmState.build(dag.tasks, dag.downstream if edges else {}, queues=dag.queues,
                                workflow_limit=len(dag.tasks))
    return state


@attrs.frozen
class StreamResult:
    """What ``transition_stream`` measured: wall ns per transition of each step, the number of
    transitions, the CPU ns of the whole stream and the run status the run machine ended in."""

    samples: tuple[float, ...]
    transitions: int
    cpu_ns: int
    final_status: RunStatus | None


def _settle(m: RunMachine, state: SwarmState, effects: tuple[Effect, ...], now: float,
            policy: RunPolicy) -> RunMachine:
    """Answer the machine's requests as a healthy server would (status set, full sync done)."""
    while effects:
        effect, effects = effects[0], effects[1:]
        if isinstance(effect, SetRunStatus):
            m, more = on_status_reply(m, state, effect.status, effect.status, now, policy)
            effects += more
        elif isinstance(effect, FullSync):
            m, more = on_full_sync(m, state, now, policy)
            effects += more
    return m


def transition_stream(state: SwarmState, batch_size: int, chunk: int, clock: Clock,
                      cpu: Clock = time.process_time_ns) -> StreamResult:
    """Drive ``state`` through G -> Q -> R -> D as the orchestrator does, until the run ends.

    The run machine (``actors.orchestrator.logic``) starts the run, is evaluated after every
    step, and gates scheduling (``may_schedule``); each step is a wave's take + plan +
    ``apply_queued``, or one sync chunk of R or D through ``apply_updates``.
    """
    policy = RunPolicy()
    samples: list[float] = []
    transitions = 0
    cpu_start = cpu()
    now = clock() / 1e9
    m, effects = start_run(state, RunStatus.RUNNING, now, policy)
    m = _settle(m, state, effects, now, policy)
    while may_schedule(m):
        start = clock()
        taken = state.take_ready()
        changed = 0
        for batch in plan_batches(taken, batch_size).batches:
            changed += state.apply_queued(batch.task_ids, {_Q: batch.task_ids}).changed
        m, effects = evaluate(m, state, start / 1e9, policy)
        m = _settle(m, state, effects, start / 1e9, policy)
        samples.append((clock() - start) / max(changed, 1))
        transitions += changed
        if not taken:
            break
        ids: list[TaskId] = [t.task_id for t in taken]
        for status in (_R, _D):
            for i in range(0, len(ids), chunk):
                part = ids[i:i + chunk]
                start = clock()
                changed = state.apply_updates(dict.fromkeys(part, status)).changed
                m, effects = evaluate(m, state, start / 1e9, policy)
                m = _settle(m, state, effects, start / 1e9, policy)
                samples.append((clock() - start) / max(changed, 1))
                transitions += changed
    final = m.result.final_status if m.result is not None else None
    return StreamResult(tuple(samples), transitions, cpu() - cpu_start, final)


def measure_memory(make: Callable[[], SyntheticDag]) -> Memory:
    """tracemalloc around making the inputs and the state; the inputs are dropped before
    reading what the state retains (so it counts the ids and resources the state keeps)."""
    gc.collect()
    tracemalloc.start()
    try:
        dag = make()
        n = len(dag.tasks)
        state = build_state(dag)
        del dag
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    if len(state.tasks) != n:
        raise BenchmarkError(f"memory: the state holds {len(state.tasks)} of {n} tasks")
    return Memory(peak_bytes=peak, source="tracemalloc", retained_bytes=current, items=n)


def _rss() -> Memory:
    return Memory(peak_bytes=rss_bytes(), source="rss")


def _with_total(m: Measurement, n: int) -> Measurement:
    """``m`` with the p50 time for all ``n`` tasks in its params (the 100k target's unit)."""
    if m.stats is None:
        return m
    return attrs.evolve(m, params={**m.params, "total_ms_p50": m.stats.p50 * n / 1e6})


def _one_size(n: int, width: int, batch_size: int, chunk: int, rounds: int,
              clock: Clock) -> list[Measurement]:
    dag = layered_dag(n, width)
    params = {"tasks": n, "width": dag.width, "layers": dag.layers, "edges": dag.edges,
              "max_batch_size": batch_size}
    group = f"planner: {n:,} tasks"
    build: list[list[float]] = []
    take: list[list[float]] = []
    plan: list[list[float]] = []
    both: list[list[float]] = []
    wall: list[list[float]] = []
    cpu: list[list[float]] = []
    for _ in range(rounds):
        start = clock()
        state = build_state(dag)
        build.append([(clock() - start) / n])
        del state
        ready = build_state(dag, edges=False)
        start = clock()
        taken = ready.take_ready()
        mid = clock()
        planned = plan_batches(taken, batch_size)
        end = clock()
        if len(taken) != n or sum(len(b.task_ids) for b in planned.batches) != n:
            raise BenchmarkError(f"planning {n} ready tasks took {len(taken)} and planned "
                                 f"{sum(len(b.task_ids) for b in planned.batches)}")
        take.append([(mid - start) / n])
        plan.append([(end - mid) / n])
        both.append([(end - start) / n])
        del ready, taken, planned
        state = build_state(dag)
        stream = transition_stream(state, batch_size, chunk, clock)
        if stream.transitions != 3 * n or state.done_count != n \
                or stream.final_status is not RunStatus.DONE:
            raise BenchmarkError(
                f"transition stream over {n} tasks made {stream.transitions} transitions and "
                f"{state.done_count} D, run {stream.final_status} (expected {3 * n}, {n}, D)")
        wall.append(list(stream.samples))
        cpu.append([stream.cpu_ns / stream.transitions])
        del state
    memory = measure_memory(lambda: layered_dag(n, width))
    rss = _rss()
    return [
        from_rounds("SwarmState.build", group, "task", build, rate_unit="tasks/s", memory=rss,
                    params=params),
        Measurement("memory held by SwarmState", group, "task", memory=memory, params=params,
                    targets=(MEMORY,)),
        _with_total(from_rounds("take_ready + plan_batches (all ready)", group, "task", both,
                                rate_unit="tasks/s", memory=rss, params=params,
                                targets=(PLAN,)), n),
        from_rounds("  take_ready", group, "task", take, rate_unit="tasks/s", params=params),
        from_rounds("  plan_batches", group, "task", plan, rate_unit="tasks/s", params=params),
        from_rounds("state transition, wall per step", group, "transition", wall,
                    rate_unit="transitions/s", memory=rss,
                    params={**params, "sync_chunk": chunk}),
        from_rounds("state transition, CPU over the stream", group, "transition", cpu,
                    rate_unit="transitions/s", params={**params, "sync_chunk": chunk},
                    targets=(TRANSITION,)),
    ]


_CURVES = (("SwarmState.build", "build"), ("take_ready + plan_batches (all ready)", "take + plan"),
           ("state transition, CPU over the stream", "CPU per transition"))


def plot(result: SuiteResult, path: str) -> None:
    """Time per task and memory per task against the number of tasks, with the targets."""
    plt = load_pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, label in _CURVES:
        points = sorted((m.params["tasks"], m.stats.p50 / 1e3) for m in result.measurements
                        if m.name == name and m.stats is not None)
        if points:
            left.plot(*zip(*points), marker="o", label=f"{label} (p50)")
    left.axhline(PLAN.limit / 1e3, color="#c44e52", linestyle="--", linewidth=1,
                 label="target: planning 2 us/task")
    left.axhline(TRANSITION.limit / 1e3, color="#8172b3", linestyle=":", linewidth=1,
                 label="target: 50 us CPU/transition")
    left.set(xscale="log", yscale="log", xlabel="tasks", ylabel="microseconds per task or "
             "transition", title="time")
    left.legend(fontsize=7)
    mem = sorted((m.params["tasks"], m.memory.per_item) for m in result.measurements
                 if m.memory is not None and m.memory.per_item is not None)
    if mem:
        right.plot(*zip(*mem), marker="o", label="retained by SwarmState")
    right.axhline(MEMORY.limit, color="#c44e52", linestyle="--", linewidth=1,
                  label="target: 1 KiB/task")
    right.set(xscale="log", xlabel="tasks", ylabel="bytes per task", title="memory", ylim=(0, None))
    right.legend(fontsize=7)
    fig.suptitle(f"actorswarm benchmarks: planner ({result.mode.value})")
    fig.tight_layout(rect=(0.0, 0.0, 1.0, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)


@suite("planner", "batch planning and state propagation on synthetic DAGs (10k/100k/1M tasks)",
       configure=add_options, plot=plot)
def run(options: SuiteOptions) -> SuiteResult:
    """Measure the orchestrator's and scheduler's pure logic; see the module docstring."""
    clock: Clock = time.perf_counter_ns
    given = options.param("sizes", None)
    sizes = parse_sizes(given) if given is not None else options.pick(
        (10_000, 100_000, 1_000_000), (10_000, 100_000), (300, 1_200))
    width = options.param("width", options.pick(1000, 1000, 100))
    batch_size = options.param("batch_size", DEFAULT_MAX_BATCH_SIZE)
    chunk = options.param("sync_chunk", 1000)
    for name, value in (("width", width), ("batch-size", batch_size), ("sync-chunk", chunk)):
        if value < 1:
            raise BenchmarkConfigError(f"--{name} must be at least 1, got {value}")
    rounds = options.rounds_or(3, 3, 2)
    measurements: list[Measurement] = []
    for n in sizes:
        measurements += _one_size(n, width, batch_size, chunk, rounds, clock)
    return SuiteResult(
        suite="planner", mode=options.mode,
        parameters={"sizes": list(sizes), "width": width, "max_batch_size": batch_size,
                    "sync_chunk": chunk, "rounds": rounds},
        measurements=tuple(measurements),
        notes=NOTES)
