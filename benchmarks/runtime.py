"""Suite "runtime": codec cost, ask latency, tell throughput and restart time of the runtime.

``python -m benchmarks runtime [--quick]``. What it measures (issue 2's targets on the 2-core CI
box; a miss is reported, never a failure):

- codec: ``decode(encode(msg))`` per registered message type (``codec_bench``), and a few
  messages wrapped in an envelope: p50 <= 3 us for small frames;
- ask latency across processes: the root asks ``BenchActor`` (in its own process under a
  ``Supervisor``, through the real Unix-socket runtime) and waits for each reply: p50 <= 150 us,
  p99 <= 1 ms; the same in thread mode for comparison;
- tell throughput across processes: N ``Tick`` tells, then an ask for the count; the clock stops
  when the reply says all N were handled: >= 150k tells/s;
- restart latency: SIGKILL the actor's process, time until the supervisor noticed, until the new
  process passed its handshake, and until it answered an ask: answering p99 <= 500 ms.

The root process is the asker; the actor's process is "the measured process" for memory.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import queue
import signal
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import attrs

from actors.errors import ActorDeadError, AskTimeout
from actors.runtime import ActorRef, ActorSpec, Node, Supervisor
from benchmarks.bench_actor import ACTOR_CLASS, GetTicks, Probe, Tick, Ticks
from benchmarks.codec_bench import codec_measurements
from benchmarks.errors import BenchmarkError
from benchmarks.harness import (
    Clock,
    Measurement,
    Memory,
    SuiteOptions,
    SuiteResult,
    Target,
    from_rounds,
    suite,
    time_each,
)
from benchmarks.system import peak_rss_bytes
from messages import registered_tags
from messages.protocols import load_all
from messages.runtime import ChildExited, ChildRestarted

__all__ = ["ACTOR_NAME", "actor_tree", "run"]

ACTOR_NAME = "bench"
ASK_TIMEOUT = 10.0
ASK_P50 = Target("cross-process ask p50 <= 150 us", "p50", "<=", 150_000.0)
ASK_P99 = Target("cross-process ask p99 <= 1 ms", "p99", "<=", 1_000_000.0)
TELLS = Target(">= 150k tells/s", "throughput", ">=", 150_000.0)
RESTART = Target("killed actor answering again <= 500 ms", "p99", "<=", 500_000_000.0)
NOTES = (
    ("codec samples are the mean of a block of calls (a clock read per call would be a large "
     "part of a microsecond)"),
    "asks are timed one by one from the root process; hang pings are off during the measurements",
    ("restart phases are measured from the SIGKILL; 'answering' polls with a 1 ms pause only "
     "while the new process is not reachable yet"),
)


def add_options(parser: argparse.ArgumentParser) -> None:
    """Suite options (defaults depend on --quick/--tiny)."""
    parser.add_argument("--asks", type=int, default=None, help="asks per round")
    parser.add_argument("--tells", type=int, default=None, help="tells per round")
    parser.add_argument("--restarts", type=int, default=None, help="SIGKILLs per round")
    parser.add_argument("--codec-iterations", type=int, default=None,
                        help="encode+decode calls per message type per round")


@contextlib.contextmanager
def _importable_by_children() -> Iterator[None]:
    """Let actor processes import ``benchmarks`` from wherever this copy of it lives."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([root] + ([old] if old else []))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


@contextlib.contextmanager
def actor_tree(mode: str, max_restarts: int = 5) -> Iterator[tuple[Node, Supervisor]]:
    """A root node supervising one ``BenchActor`` ("process" or "thread" mode); stops all.

    Hang pings are off (``hang_timeout=None``) so they do not mix with the measured asks.
    """
    with tempfile.TemporaryDirectory(prefix="actorswarm-bench-") as tmp, \
            _importable_by_children():
        node = Node(os.path.join(tmp, "run") if mode == "process" else None)
        spec = ActorSpec(ACTOR_NAME, ACTOR_CLASS, hang_timeout=None)
        sup = Supervisor(node, [spec], mode=mode, max_restarts=max_restarts,
                         window_s=3600.0, log_dir=tmp)
        try:
            sup.start()
            yield node, sup
        finally:
            sup.stop()
            node.close()


def _ask_rounds(ref: ActorRef, n: int, rounds: int, clock: Clock) -> list[list[float]]:
    probe = Probe(1)

    def ask() -> None:
        if ref.ask(probe, timeout=ASK_TIMEOUT) != probe:
            raise BenchmarkError(f"{ref.name} answered a Probe with something else")

    time_each(ask, min(n, 200), clock)  # warm up: connection, codec specs, caches
    return [[float(s) for s in time_each(ask, n, clock)] for _ in range(rounds)]


def _ticks(ref: ActorRef, timeout: float = 120.0) -> Ticks:
    reply = ref.ask(GetTicks(), timeout=timeout)
    if not isinstance(reply, Ticks):
        raise BenchmarkError(f"{ref.name} answered GetTicks with {reply!r}")
    return reply


def _tell_round(ref: ActorRef, n: int, clock: Clock) -> float:
    """ns per tell for ``n`` tells, until the actor has handled every one of them."""
    before = _ticks(ref).count
    tick = Tick()
    tell = ref.tell
    lost = 0
    start = clock()
    for _ in range(n):
        if not tell(tick):
            lost += 1
    after = _ticks(ref).count
    elapsed = clock() - start
    if lost or after - before != n:
        raise BenchmarkError(f"tell throughput: sent {n} tells, {lost} dead letters, "
                             f"the actor handled {after - before}")
    return elapsed / n


def _child_memory(sup: Supervisor) -> Memory | None:
    pid = sup.pid(ACTOR_NAME)
    if pid is None:
        return None
    peak, source = peak_rss_bytes(pid)
    return Memory(peak_bytes=peak, source=source)


def _messaging(mode: str, asks: int, tells: int, rounds: int, clock: Clock
               ) -> list[Measurement]:
    label = "cross-process" if mode == "process" else "thread mode"
    with actor_tree(mode) as (node, sup):
        ref = node.ref(ACTOR_NAME)
        ask_samples = _ask_rounds(ref, asks, rounds, clock)
        _tell_round(ref, min(tells, 1000), clock)  # warm up
        tell_samples = [[_tell_round(ref, tells, clock)] for _ in range(rounds)]
        memory = _child_memory(sup) if mode == "process" else None
    return [
        from_rounds(f"ask latency ({label})", "runtime: messaging", "ask", ask_samples,
                    rate_unit="asks/s", memory=memory,
                    params={"mode": mode, "asks_per_round": asks},
                    targets=(ASK_P50, ASK_P99) if mode == "process" else ()),
        from_rounds(f"tell throughput ({label})", "runtime: messaging", "tell", tell_samples,
                    rate_unit="tells/s", memory=memory,
                    params={"mode": mode, "tells_per_round": tells},
                    targets=(TELLS,) if mode == "process" else ()),
    ]


def _wait_event(events: queue.Queue[tuple[Any, int]], kind: type, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        try:
            event, at = events.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise BenchmarkError(f"restart: no {kind.__name__} within {timeout:g} s") from None
        if isinstance(event, kind):
            return at


def _answer_from_new_process(ref: ActorRef, old_pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _ticks(ref, timeout=1.0).pid != old_pid:
                return
        except (ActorDeadError, AskTimeout):
            pass
        time.sleep(0.001)
    raise BenchmarkError(f"restart: the new {ref.name} process did not answer within "
                         f"{timeout:g} s")


@contextlib.contextmanager
def _quiet_supervisor() -> Iterator[None]:
    """The supervisor warns about every death; here the deaths are the experiment."""
    logger = logging.getLogger("actors.runtime.supervisor")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _restarts(per_round: int, rounds: int, clock: Clock) -> list[Measurement]:
    events: queue.Queue[tuple[Any, int]] = queue.Queue()
    phases: dict[str, list[list[float]]] = {"noticed": [], "ready": [], "answering": []}
    with _quiet_supervisor(), actor_tree("process", max_restarts=per_round * rounds + 5) as (node, sup):
        sup.subscribe(lambda event: events.put((event, clock())))
        ref = node.ref(ACTOR_NAME)
        for _ in range(rounds):
            for samples in phases.values():
                samples.append([])
            for _ in range(per_round):
                old = sup.pid(ACTOR_NAME)
                if old is None:
                    raise BenchmarkError("restart: the bench actor has no process")
                _ticks(ref)  # connected and idle
                start = clock()
                os.kill(old, signal.SIGKILL)
                noticed = _wait_event(events, ChildExited, 15.0)
                ready = _wait_event(events, ChildRestarted, 15.0)
                _answer_from_new_process(ref, old, 15.0)
                answered = clock()
                for name, at in (("noticed", noticed), ("ready", ready),
                                 ("answering", answered)):
                    phases[name][-1].append(float(at - start))
        memory = _child_memory(sup)
    titles = {"noticed": "death noticed after SIGKILL (pidfd)",
              "ready": "new process ready (handshake done)",
              "answering": "new process answering an ask"}
    return [from_rounds(titles[name], "runtime: restart after SIGKILL", "restart", samples,
                        rate_unit="restarts/s",
                        memory=memory if name == "answering" else None,
                        params={"restarts_per_round": per_round},
                        targets=(RESTART,) if name == "answering" else ())
            for name, samples in phases.items()]


@suite("runtime", "codec per message type, cross-process ask latency, tell throughput, "
       "restart time after SIGKILL", configure=add_options)
def run(options: SuiteOptions) -> SuiteResult:
    """Measure the runtime; see the module docstring."""
    clock: Clock = time.perf_counter_ns
    rounds = options.rounds_or(5, 3, 2)
    asks = options.param("asks", options.pick(20_000, 2_000, 30))
    tells = options.param("tells", options.pick(200_000, 30_000, 300))
    restarts = options.param("restarts", options.pick(10, 4, 1))
    iterations = options.param("codec_iterations", options.pick(20_000, 3_000, 40))
    for name, value in (("asks", asks), ("tells", tells), ("restarts", restarts),
                        ("codec_iterations", iterations)):
        if value < 1:
            raise BenchmarkError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    load_all()
    tags = sorted(tag for tag, cls in registered_tags().items()
                  if cls.__module__.split(".")[0] in ("messages", "benchmarks"))
    block = min(100, max(1, iterations // 10))
    codec = codec_measurements(tags, iterations=iterations, block=block, rounds=rounds,
                               clock=clock)
    root = Memory(*peak_rss_bytes())  # the codec ran in this process
    measurements = [attrs.evolve(m, memory=root) for m in codec]
    measurements += _messaging("process", asks, tells, rounds, clock)
    measurements += _messaging("thread", asks, tells, rounds, clock)
    measurements += _restarts(restarts, rounds, clock)
    return SuiteResult(
        suite="runtime", mode=options.mode,
        parameters={"rounds": rounds, "asks_per_round": asks, "tells_per_round": tells,
                    "restarts_per_round": restarts, "codec_iterations": iterations,
                    "codec_block": block, "message_types": len(tags)},
        measurements=tuple(measurements),
        notes=NOTES)
