"""What a state server's database says about a finished run, read-only, and figures from it.

Who uses it: ``benchmarks.simrun`` (for ``batching`` and ``scale``) and
``benchmarks.versus_jobmon`` (chain hop time on both servers).

I/O: ``read_our_run`` opens our server's SQLite file read-only (``mode=ro``) after the run and
reads, per task name, when it was done (the D instance's ``status_date``) and when its
instance was launched (``submitted_date``, which the server sets on I -> O, as Jobmon does);
see ``actors/server/schema.py``. Our server stores microseconds. A task's Q time does not
survive in the database (its status_date, and its instance's, move on with every later
transition), so the Q times come from the swarm's events instead (``benchmarks.simrun``).
``read_jobmon_done`` reads a real Jobmon server's database: the task's D time
(``task.status_date``, whole seconds). Times are float seconds since the epoch (UTC).

Pure: ``hop_latencies`` (per task with upstreams: its Q, or launch, time minus the latest D
time among its upstreams), ``chain_hop`` (mean time per hop of a chain from its first to its
last D).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence

import attrs

from benchmarks.errors import BenchmarkError

__all__ = ["RunTimes", "chain_hop", "hop_latencies", "read_jobmon_done", "read_our_run"]

_EPOCH = dt.datetime(1970, 1, 1)


@attrs.frozen
class RunTimes:
    """Per task name, epoch seconds: first queued (Q), done (D), and its instance launched
    (I -> O; empty when unknown)."""

    queued: Mapping[str, float]
    done: Mapping[str, float]
    launched: Mapping[str, float] = attrs.field(factory=dict)


def _seconds(value: object, where: str) -> float:
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, str):
        try:
            stamp = dt.datetime.fromisoformat(value)
        except ValueError:
            raise BenchmarkError(f"{where}: {value!r} is not a timestamp") from None
    else:
        raise BenchmarkError(f"{where}: expected a timestamp, got {value!r}")
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
    return (stamp - _EPOCH).total_seconds()


def _query(path: str, sql: str, params: Sequence[object]) -> list[tuple[object, ...]]:
    if not os.path.isfile(path):
        raise BenchmarkError(f"server database {path!r} does not exist")
    uri = f"file:{os.path.abspath(path)}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=30)) as conn:
            return list(conn.execute(sql, tuple(params)).fetchall())
    except sqlite3.Error as exc:
        raise BenchmarkError(f"reading {path!r}: {exc}") from exc


def read_our_run(path: str, workflow_run_id: int) -> tuple[dict[str, float], dict[str, float]]:
    """(D time, launch time) per task name of ``workflow_run_id`` in our server's database.

    The D time is the D instance's status date; the launch time is the submitted date of the
    task's first instance.
    """
    rows = _query(path, (
        "SELECT t.name, MIN(ti.submitted_date), "
        "MIN(CASE WHEN ti.status = 'D' THEN ti.status_date END) "
        "FROM task_instance ti JOIN task t ON t.id = ti.task_id "
        "WHERE ti.workflow_run_id = ? GROUP BY t.name"), (workflow_run_id,))
    done: dict[str, float] = {}
    launched: dict[str, float] = {}
    for name, submitted, d in rows:
        where = f"{path}: task {name!r}"
        launched[str(name)] = _seconds(submitted, where)
        if d is not None:
            done[str(name)] = _seconds(d, where)
    if not launched:
        raise BenchmarkError(f"{path}: workflow run {workflow_run_id} has no task instances")
    return done, launched


def read_jobmon_done(path: str, workflow_id: int) -> dict[str, float]:
    """D time (whole seconds) per task name of ``workflow_id`` in a Jobmon server's database."""
    rows = _query(path, "SELECT name, status_date FROM task WHERE workflow_id = ? AND "
                        "status = 'D'", (workflow_id,))
    return {str(name): _seconds(date, f"{path}: task {name!r}") for name, date in rows}


def hop_latencies(queued: Mapping[str, float], done: Mapping[str, float],
                  upstream: Iterable[tuple[str, Sequence[str]]]) -> list[float]:
    """Seconds from the last upstream D to the task's Q (``queued``: or any later time, e.g.
    its launch), for each task with upstreams.

    ``upstream`` gives (task name, its upstream names). A task never queued, or with an
    upstream never done, is a BenchmarkError (the run did not go through), and so is a task
    queued before its upstream was done (the swarm broke the DAG).
    """
    out = []
    for name, ups in upstream:
        if not ups:
            continue
        if name not in queued:
            raise BenchmarkError(f"task {name!r} was never queued")
        missing = [u for u in ups if u not in done]
        if missing:
            raise BenchmarkError(f"task {name!r} was queued but upstream {missing[0]!r} was "
                                 "never done")
        last = max(ups, key=lambda u: done[u])
        latency = queued[name] - done[last]
        if latency < 0:
            raise BenchmarkError(f"task {name!r} was queued {-latency:.6f} s before its "
                                 f"upstream {last!r} was done")
        out.append(latency)
    return out


def chain_hop(done: Mapping[str, float], chain: Sequence[str]) -> float:
    """Mean seconds per hop along ``chain`` (names in order): (last D - first D) / hops."""
    if len(chain) < 2:
        raise BenchmarkError(f"a chain needs two tasks or more, got {len(chain)}")
    missing = [name for name in chain if name not in done]
    if missing:
        raise BenchmarkError(f"chain task {missing[0]!r} is not done ({len(missing)} missing)")
    return (done[chain[-1]] - done[chain[0]]) / (len(chain) - 1)
