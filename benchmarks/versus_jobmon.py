"""Suite "versus-jobmon": the same workflows run by Jobmon's swarm and by ours, side by side.

``python -m benchmarks versus-jobmon [--quick] [--layered 1000] [--width 100] [--chain 20]
[--cluster dummy]``

Needs the Jobmon reference venv (``python tests/interop/jobmon_ref.py install``); without it
the suite reports that it was skipped and why, and measures nothing. One real Jobmon server
(SQLite, started here) serves every Jobmon-side run. For each workflow (a layered DAG and a
chain), in each round, three runs alternate (the order rotates every round):

- ``jobmon``: Jobmon's own client, ``Workflow.run()``: binds, starts its distributor on the
  ``dummy`` cluster, runs its swarm (``benchmarks.jobmon_probe`` measures the swarm's CPU and
  wall time inside the client process);
- ``ours on jobmon``: the real client binds the same workflow, then our swarm drives it on the
  same server with the real Jobmon distributor of the same cluster (ready on "ALIVE");
- ``ours whole``: our whole system: embedded server, ``sim`` distributor (``benchmarks.simrun``);
- ``ours whole, server up``: the same with our server started once beforehand
  (``simrun.OwnServer``), as Jobmon's server is: bind + run, like Jobmon's ``Workflow.run()``.

Heartbeats are 1 s everywhere (the reference client settings and ours). Figures, per task
unless said: swarm run time (Jobmon: its swarm's from_workflow + run; ours: the
orchestrator's elapsed time); end to end (Jobmon: ``Workflow.run()``; ours whole: from
``run_workflow`` to ``RunFinished``, our server's start-up included); chain hop time ((last D -
first D) / hops, from each server's database; Jobmon stores whole seconds); client CPU (Jobmon:
its swarm inside the client process; ours: the four actor processes plus the root process);
and the server's and distributor's CPU during each run on the Jobmon server. The ratios and
their targets (whole system >= 30x the tasks/s; our client CPU per task and chain hop <= 1/10
of Jobmon's on the same server) are printed as notes and kept in the parameters.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from actors.errors import ActorswarmError
from benchmarks.errors import BenchmarkConfigError
from benchmarks.harness import Measurement, SuiteOptions, SuiteResult, from_rounds, suite
from benchmarks.jobmon_side import (
    JobmonRecord,
    OursRecord,
    find_reference,
    interop,
    run_jobmon,
    run_ours_on_jobmon,
)
from benchmarks.procwatch import RoleUsage
from benchmarks.scale import SWARM_ROLES
from benchmarks.serverdb import chain_hop
from benchmarks.shapes import Shape, chains, layered
from benchmarks.simrun import OwnServer, SimRecord, SimSettings, run_shape

__all__ = ["Ratio", "ratios", "run"]

SYSTEMS = ("jobmon", "ours on jobmon", "ours whole", "ours whole, server up")
CLIENT_ROLES = (*SWARM_ROLES, "root")
Ratio = tuple[str, float | None, str, float]  # (what, value, op, target)


def add_options(parser: argparse.ArgumentParser) -> None:
    """Suite options (defaults depend on --quick/--tiny)."""
    parser.add_argument("--layered", type=int, default=None,
                        help="tasks of the layered workflow (1000; quick 200)")
    parser.add_argument("--width", type=int, default=None, help="its layer width (100)")
    parser.add_argument("--chain", type=int, default=None,
                        help="tasks of the chain (20; quick 8)")
    parser.add_argument("--cluster", default=None,
                        help="Jobmon cluster for both swarms' distributors (dummy)")


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _cpu(usage: dict[str, RoleUsage], roles: Sequence[str]) -> float:
    return sum(usage[r].cpu_s for r in roles if r in usage)


def _role_cpu(role: str, record: OursRecord) -> float:
    return _cpu(record.usage, (role,))


def ratios(n_layered: int, results: dict[str, dict[str, list[Any]]],
           chain_names: Sequence[str]) -> list[Ratio]:
    """(what, ours/Jobmon, op, target) from the layered and chain results (pure)."""
    lay, chain = results["layered"], results["chains"]
    jm_e2e = _median([r.elapsed_s for r in lay["jobmon"]])
    ours_e2e = _median([r.wall_s for r in lay["ours whole"]])
    ours_up_e2e = _median([r.wall_s for r in lay.get("ours whole, server up", [])])
    jm_cpu = _median([r.swarm_cpu_s for r in lay["jobmon"]])
    ours_cpu = _median([_cpu(r.usage, CLIENT_ROLES) for r in lay["ours on jobmon"]])
    jm_hop = _median([chain_hop(r.done, chain_names) for r in chain["jobmon"]])
    ours_hop = _median([chain_hop(r.done, chain_names) for r in chain["ours on jobmon"]])

    def div(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None or b <= 0 else a / b

    whole = (f"whole system tasks/s, ours (our server + sim) / Jobmon (its server + swarm + "
             f"dummy), {n_layered} layered tasks end to end")
    up = (f"whole system tasks/s with both servers already up, ours (bind + run, our server + "
          f"sim) / Jobmon (Workflow.run() + dummy), {n_layered} layered tasks")
    return [
        (whole, div(jm_e2e, ours_e2e), ">=", 30.0),
        (up, div(jm_e2e, ours_up_e2e), ">=", 30.0),
        ("client CPU per task on the Jobmon server, ours (4 actors + root) / Jobmon's swarm",
         div(ours_cpu, jm_cpu), "<=", 0.1),
        ("chain hop time on the Jobmon server, ours / Jobmon's swarm", div(ours_hop, jm_hop),
         "<=", 0.1),
    ]


def _rows(shape: Shape, runs: dict[str, list[Any]]) -> list[Measurement]:
    n, group = shape.n, f"versus-jobmon: {shape.kind}, {shape.n} tasks"
    params = shape.describe()
    jm: list[JobmonRecord] = runs["jobmon"]
    ours: list[OursRecord] = runs["ours on jobmon"]
    whole: list[SimRecord] = runs["ours whole"]
    up: list[SimRecord] = runs.get("ours whole, server up", [])
    rows: list[Measurement] = []

    def add(name: str, per: str, records: Sequence[Any], value: Callable[[Any], float],
            scale: float = 1.0) -> None:
        if records:
            rows.append(from_rounds(name, group, per, [[value(r) * 1e9 / scale]
                                                       for r in records],
                                    rate_unit=f"{per}s/s", params=params))
    add("swarm run: Jobmon swarm, Jobmon server", "task", jm, lambda r: r.swarm_wall_s, n)
    add("swarm run: our swarm, Jobmon server", "task", ours, lambda r: r.run_s, n)
    add("swarm run: our swarm, our server + sim", "task", whole, lambda r: r.run_s, n)
    add("end to end: Jobmon Workflow.run() (bind + run)", "task", jm, lambda r: r.elapsed_s, n)
    add("end to end: ours whole (server start + bind + run)", "task", whole,
        lambda r: r.wall_s, n)
    add("end to end: ours whole, server already up (bind + run)", "task", up,
        lambda r: r.wall_s, n)
    if shape.kind == "chains":
        names = [t.name for t in shape.tasks]
        add("chain hop: Jobmon swarm, Jobmon server", "hop", jm,
            lambda r: chain_hop(r.done, names))
        add("chain hop: our swarm, Jobmon server", "hop", ours,
            lambda r: chain_hop(r.done, names))
        add("chain hop: our swarm, our server + sim", "hop", whole,
            lambda r: chain_hop(r.times.done, names))
    add("client CPU: Jobmon swarm (in its client process)", "task", jm,
        lambda r: r.swarm_cpu_s, n)
    add("client CPU: Jobmon client process (bind + swarm)", "task", jm,
        lambda r: r.client_cpu_s, n)
    add("client CPU: our swarm (4 actors + root)", "task", ours,
        lambda r: _cpu(r.usage, CLIENT_ROLES), n)
    add("client CPU: our swarm (4 actors)", "task", ours, lambda r: _cpu(r.usage, SWARM_ROLES), n)
    for role in CLIENT_ROLES:
        add(f"client CPU: our {role}", "task", ours, functools.partial(_role_cpu, role), n)
    for label, records in (("Jobmon swarm", jm), ("our swarm", ours)):
        add(f"Jobmon server CPU under {label}", "task", records,
            lambda r: _cpu(r.usage, ("jobmon-server",)), n)
        add(f"Jobmon distributor CPU under {label}", "task", records,
            lambda r: _cpu(r.usage, ("distributor",)), n)
    add("whole system CPU: ours (our server + sim + swarm)", "task", whole,
        lambda r: sum(u.cpu_s for u in r.usage.values()), n)
    return rows


def _sizes(options: SuiteOptions) -> tuple[int, int, int, str]:
    n = options.param("layered", options.pick(1000, 200, 12))
    width = options.param("width", options.pick(100, 50, 4))
    chain = options.param("chain", options.pick(20, 8, 3))
    cluster = options.param("cluster", "dummy")
    for name, value, low in (("layered", n, 1), ("width", width, 1), ("chain", chain, 2)):
        if value < low:
            raise BenchmarkConfigError(f"--{name} must be at least {low}, got {value}")
    return n, width, chain, cluster


@suite("versus-jobmon", "Jobmon's swarm and ours on the same real Jobmon server, and whole "
       "system against whole system (needs the Jobmon reference venv)", configure=add_options)
def run(options: SuiteOptions) -> SuiteResult:
    """Run the comparison; see the module docstring."""
    n, width, chain_n, cluster = _sizes(options)
    rounds = options.rounds_or(2, 1, 1)
    parameters: dict[str, Any] = {"layered": n, "width": width, "chain": chain_n,
                                  "cluster": cluster, "rounds": rounds, "heartbeat_s": 1.0}
    env, why = find_reference()
    if env is None:
        return SuiteResult("versus-jobmon", options.mode, {**parameters, "skipped": True}, (),
                           (f"skipped: {why}",))
    ref, _ = interop()
    shapes = (layered(n, width), chains(chain_n, chain_n))
    results: dict[str, dict[str, list[Any]]] = {s.kind: {k: [] for k in SYSTEMS} for s in shapes}
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-versus-") as tmp:
        server = ref.JobmonServer.start(env, Path(tmp) / "jobmon.sqlite", timeout=90)
        own = OwnServer(f"{tmp}/own-server")
        try:
            own.start()
            for r in range(rounds):
                turn = r % len(SYSTEMS)
                order = SYSTEMS[turn:] + SYSTEMS[:turn]
                for shape in shapes:
                    for system in order:
                        where = f"{tmp}/{shape.kind}-{system.replace(' ', '-')}-{r}"
                        if system == "jobmon":
                            results[shape.kind][system].append(
                                run_jobmon(env, server, shape, cluster=cluster))
                        elif system == "ours whole":
                            results[shape.kind][system].append(run_shape(
                                shape, SimSettings(heartbeat_interval=1.0), where))
                        elif system == "ours whole, server up":
                            results[shape.kind][system].append(run_shape(
                                shape, SimSettings(heartbeat_interval=1.0), where,
                                server_url=own.url, db_path=own.db_path))
                        else:
                            try:
                                results[shape.kind][system].append(run_ours_on_jobmon(
                                    env, server, shape, where, cluster=cluster))
                            except ActorswarmError as exc:
                                notes.append(f"our swarm on the Jobmon server failed "
                                             f"({shape.kind}, round {r + 1}): "
                                             f"{type(exc).__name__}: {exc}")
        finally:
            own.stop()
            server.stop()
    measurements: list[Measurement] = []
    for shape in shapes:
        measurements += _rows(shape, results[shape.kind])
    found = ratios(n, results, [t.name for t in shapes[1].tasks])
    parameters["ratios"] = {}
    for what, value, op, target in found:
        parameters["ratios"][what] = value
        verdict = "n/a" if value is None else (
            "pass" if (value >= target if op == ">=" else value <= target) else "miss")
        shown = "-" if value is None else f"{value:.3g}"
        notes.append(f"ratio {what}: {shown} (target {op} {target:g}: {verdict})")
    notes.append("Jobmon's database keeps whole seconds: chain hop times on its server are "
                 f"within +-{1 / (chain_n - 1):.2g} s")
    return SuiteResult("versus-jobmon", options.mode, parameters, tuple(measurements),
                       tuple(notes))
