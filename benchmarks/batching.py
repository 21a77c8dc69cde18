"""Suite "batching": how fast the swarm queues ready tasks, by max batch size and server latency.

``python -m benchmarks batching [--quick] [--batch-sizes 100,500] [--tasks 3000]
[--latencies-ms 0,20] [--plot batching.png]``

Each point of the grid max batch size x ready tasks x added server latency is an end-to-end
run (``benchmarks.simrun``) of a wide fan-out of N independent tasks, all ready at once, with
``OrchestratorConfig.max_batch_size`` = B, through our state server (one server, started here,
for the whole grid) and the ``sim`` distributor (instances end at once). The swarm talks to
the server through a ``DelayProxy`` that holds every request L ms; the distributor talks to the
server directly, so the latency lands on the swarm's requests only.

Figures per point (rounds interleaved across the grid, so drift hits every point alike):

- queueing, per task: time to drain / N, where time to drain runs from the run going R to
  the last task seen Q (the orchestrator applied the server's queue_task_batch answer); the
  rate is tasks queued per second (target >= 3,000 tasks/s at 0 ms added latency);
- time to drain, per run; the parameters add the delay before the first batch and the number
  of queue_task_batch requests the proxy saw;
- steady queueing, per task: from the first task seen Q to the last, over N - 1 (the rate once
  the fixed start-up of scheduling, cluster/queue look-ups and resource binding, is paid);
- server time of one queue_task_batch request, per request: from the proxy passing it on to
  the first bytes of the answer (waiting for the database's write lock included).

The recommended batch size for each (N, L) is the smallest B whose rate is within 10 % of the
best B's (smaller batches start work earlier and hold the server's write lock for less time);
it is printed as a note. ``--plot`` draws tasks queued per second against the batch size, one
line per latency, one panel per N.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Mapping, Sequence

import attrs

from benchmarks.errors import BenchmarkConfigError, BenchmarkError
from benchmarks.harness import Measurement, SuiteOptions, SuiteResult, Target, from_rounds, suite
from benchmarks.latency_proxy import DelayProxy
from benchmarks.plotting import load_pyplot
from benchmarks.shapes import fan_out, parse_counts
from benchmarks.simrun import OwnServer, SimSettings, run_shape

__all__ = ["QUEUE_RATE", "Point", "parse_latencies", "plot", "recommend", "run"]

QUEUE_RATE = Target(">= 3,000 tasks/s queued into our server", "throughput", ">=", 3000.0)
TOLERANCE = 0.10
NOTES = (
    ("time to drain: from the run going R to the last task seen Q by the orchestrator "
     "(TasksChanged); rate = ready tasks / time to drain"),
    ("latency is added to the swarm's requests only (a delaying proxy); the distributor uses "
     "the server's own port"),
)


@attrs.frozen
class Point:
    """One run of the grid: drain time, delay before the first Q, queue_task_batch requests
    and how long the server took for each."""

    drain_s: float
    first_s: float
    batches: int
    server_s: tuple[float, ...] = ()  #: each queue_task_batch: answer - arrival - latency

    def steady_ns(self, n: int) -> float:
        """ns per task between the first and the last Q."""
        return (self.drain_s - self.first_s) * 1e9 / max(n - 1, 1)


def parse_latencies(text: str) -> tuple[float, ...]:
    """``"0,5,20"`` -> (0.0, 5.0, 20.0) milliseconds; BenchmarkConfigError when invalid."""
    out = []
    for part in text.split(","):
        try:
            value = float(part.strip())
        except ValueError:
            raise BenchmarkConfigError(f"--latencies-ms: {part.strip()!r} is not a number of "
                                       "milliseconds") from None
        if not 0 <= value <= 10_000:
            raise BenchmarkConfigError(f"--latencies-ms: {value:g} is not within 0..10000 ms")
        out.append(value)
    return tuple(out)


def recommend(rates: Mapping[int, float], tolerance: float = TOLERANCE) -> int:
    """The smallest batch size whose rate is within ``tolerance`` of the best rate."""
    if not rates:
        raise BenchmarkError("no batch sizes measured")
    best = max(rates.values())
    return min(b for b, r in rates.items() if r >= (1.0 - tolerance) * best)


def add_options(parser: argparse.ArgumentParser) -> None:
    """Suite options (defaults depend on --quick/--tiny)."""
    parser.add_argument("--batch-sizes", default=None,
                        help="max batch sizes, comma separated (full: 50,100,250,500,1000,2500)")
    parser.add_argument("--tasks", default=None,
                        help="ready tasks per run, comma separated (full: 1000,10000)")
    parser.add_argument("--latencies-ms", default=None,
                        help="server latency added per request, ms (full: 0,5,25)")


def _one(n: int, batch: int, proxy: DelayProxy, server: OwnServer, state_dir: str) -> Point:
    seen = len(proxy.trace())
    record = run_shape(fan_out(n), SimSettings(max_batch_size=batch, sample_interval=None),
                       state_dir, server_url=proxy.url, distributor_url=server.url,
                       db_path=server.db_path)
    calls = [t for t in proxy.trace()[seen:] if t.path.endswith("/queue_task_batch")]
    if record.running_at is None:
        raise BenchmarkError(f"batching run (N={n}, B={batch}): no R event was seen")
    queued = record.times.queued.values()
    answered = [t.answered - t.arrived - proxy.latency for t in calls if t.answered is not None]
    return Point(max(queued) - record.running_at, max(0.0, min(queued) - record.running_at),
                 len(calls), tuple(sorted(answered)))


def _measurements(n: int, latency: float, batch: int, points: Sequence[Point]
                  ) -> list[Measurement]:
    group = f"batching: {n:,} ready tasks, +{latency:g} ms per request"
    drains = sorted(p.drain_s for p in points)
    params = {"tasks": n, "latency_ms": latency, "max_batch_size": batch,
              "batches": points[0].batches, "drain_s_p50": drains[len(drains) // 2],
              "first_queued_s_p50": sorted(p.first_s for p in points)[len(points) // 2]}
    targets = (QUEUE_RATE,) if latency == 0 else ()
    rows = [
        from_rounds(f"batch {batch}: queue every ready task", group, "task",
                    [[p.drain_s * 1e9 / n] for p in points], rate_unit="tasks/s",
                    params=params, targets=targets),
        from_rounds(f"batch {batch}: time to drain", group, "drain",
                    [[p.drain_s * 1e9] for p in points], rate_unit="drains/s", params=params),
        from_rounds(f"batch {batch}: steady queueing, first to last Q", group, "task",
                    [[p.steady_ns(n)] for p in points], rate_unit="tasks/s", params=params),
    ]
    if any(p.server_s for p in points):
        rows.append(from_rounds(f"batch {batch}: server time of one queue_task_batch", group,
                                "request", [[max(0.0, s) * 1e9 for s in p.server_s]
                                            for p in points],
                                rate_unit="requests/s", params=params))
    return rows


def _grid(options: SuiteOptions) -> tuple[tuple[int, ...], tuple[int, ...], tuple[float, ...]]:
    batches = parse_counts(options.param("batch_sizes", options.pick(
        "50,100,250,500,1000,2500", "100,500,2000", "25,100")), "--batch-sizes")
    tasks = parse_counts(options.param("tasks", options.pick("1000,10000", "3000", "150")),
                         "--tasks")
    given = options.param("latencies_ms", None)
    latencies = parse_latencies(given) if given is not None else options.pick(
        (0.0, 5.0, 25.0), (0.0, 20.0), (0.0, 10.0))
    return batches, tasks, latencies


def plot(result: SuiteResult, path: str) -> None:
    """Tasks queued per second against max batch size: one line per latency, a panel per N."""
    plt = load_pyplot()
    rows = [m for m in result.measurements if m.name.endswith("queue every ready task")
            and m.throughput is not None]
    sizes = sorted({int(m.params["tasks"]) for m in rows})
    if not sizes:
        raise BenchmarkError("batching plot: no queueing measurements in the result")
    fig, axes = plt.subplots(1, len(sizes), figsize=(6 * len(sizes), 4.5), squeeze=False)
    for ax, n in zip(axes[0], sizes):
        for lat in sorted({float(m.params["latency_ms"]) for m in rows}):
            pts = sorted((int(m.params["max_batch_size"]), m.throughput.value) for m in rows
                         if m.params["tasks"] == n and m.params["latency_ms"] == lat
                         and m.throughput is not None)
            ax.plot(*zip(*pts), marker="o", label=f"+{lat:g} ms per request")
            pick = result.parameters.get("recommended", {}).get(f"{n}@{lat:g}ms")
            for b, rate in pts:
                if b == pick:
                    ax.plot([b], [rate], marker="*", markersize=14, color="#c44e52")
        ax.axhline(QUEUE_RATE.limit, color="#c44e52", linestyle="--", linewidth=1,
                   label="target: 3,000 tasks/s")
        ax.set(xscale="log", xlabel="max batch size", ylabel="tasks queued per second",
               title=f"{n:,} ready tasks (star: recommended)", ylim=(0, None))
        ax.legend(fontsize=7)
    fig.suptitle(f"actorswarm benchmarks: batching ({result.mode.value})")
    fig.tight_layout(rect=(0.0, 0.0, 1.0, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)


@suite("batching", "end-to-end queueing rate by max batch size x ready tasks x server latency",
       configure=add_options, plot=plot)
def run(options: SuiteOptions) -> SuiteResult:
    """Run the grid; see the module docstring."""
    batches, tasks, latencies = _grid(options)
    rounds = options.rounds_or(2, 1, 1)
    points: dict[tuple[int, float, int], list[Point]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-batching-") as tmp, \
            OwnServer(f"{tmp}/server") as server:
        proxies = {lat: DelayProxy.for_url(server.url, lat / 1000.0, trace=True).start()
                   for lat in latencies}
        try:
            for r in range(rounds):
                for n in tasks:
                    for lat in latencies:
                        for b in batches:
                            where = f"{tmp}/run-{r}-{n}-{lat:g}-{b}"
                            points.setdefault((n, lat, b), []).append(
                                _one(n, b, proxies[lat], server, where))
        finally:
            for proxy in proxies.values():
                proxy.stop()
    measurements: list[Measurement] = []
    notes = list(NOTES)
    recommended: dict[str, int] = {}
    for n in tasks:
        for lat in latencies:
            rates = {}
            for b in batches:
                ms = _measurements(n, lat, b, points[(n, lat, b)])
                measurements += ms
                rates[b] = ms[0].throughput.value if ms[0].throughput else 0.0
            best = max(rates, key=lambda b: rates[b])
            pick = recommend(rates)
            recommended[f"{n}@{lat:g}ms"] = pick
            notes.append(f"recommended max_batch_size for {n:,} ready tasks at +{lat:g} ms per "
                         f"request: {pick} ({rates[pick]:,.0f} tasks/s; best {best} at "
                         f"{rates[best]:,.0f} tasks/s)")
    return SuiteResult(
        suite="batching", mode=options.mode,
        parameters={"batch_sizes": list(batches), "tasks": list(tasks),
                    "latencies_ms": list(latencies), "rounds": rounds,
                    "recommended": recommended, "sim_duration": "const:0"},
        measurements=tuple(measurements), notes=tuple(notes))
