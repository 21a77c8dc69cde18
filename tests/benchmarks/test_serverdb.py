"""Reading a finished run from a server database (read-only) and the figures computed from it."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert

from actors.server import schema
from benchmarks.errors import BenchmarkError
from benchmarks.serverdb import chain_hop, hop_latencies, read_jobmon_done, read_our_run

T0 = dt.datetime(2026, 1, 2, 3, 4, 5, 250000)
EPOCH_T0 = (T0 - dt.datetime(1970, 1, 1)).total_seconds()


def _our_db(path: Path) -> None:
    """A real schema holding one run: t1 done (two attempts), t2 done, t3 only queued."""
    engine = create_engine(f"sqlite:///{path}")
    schema.metadata.create_all(engine)

    def at(seconds: float) -> dt.datetime:
        return T0 + dt.timedelta(seconds=seconds)

    with engine.begin() as conn:
        conn.execute(insert(schema.dag).values(id=1, created_date=T0))
        conn.execute(insert(schema.workflow).values(
            id=1, dag_id=1, name="w", workflow_args="a", workflow_args_hash="h",
            max_concurrently_running=9, created_date=T0))
        conn.execute(insert(schema.array).values(id=1, workflow_id=1, name="x",
                                                 max_concurrently_running=9))
        conn.execute(insert(schema.node), [{"id": i, "dag_id": 1} for i in (1, 2, 3)])
        conn.execute(insert(schema.cluster).values(id=1, name="sim", cluster_type="sim",
                                                   params="{}"))
        conn.execute(insert(schema.queue).values(id=1, cluster_id=1, name="all", params="{}"))
        conn.execute(insert(schema.task_resources).values(
            id=1, queue_id=1, resources_type="O", requested_resources="{}"))
        conn.execute(insert(schema.task), [
            {"id": i, "workflow_id": 1, "array_id": 1, "node_id": i, "task_resources_id": 1,
             "name": f"t{i}", "command": f"c{i}", "max_attempts": 3, "num_attempts": 1,
             "resource_scales": "{}", "fallback_queues": "[]", "status": s,
             "status_date": at(9)} for i, s in ((1, "D"), (2, "D"), (3, "Q"))])
        conn.execute(insert(schema.workflow_run).values(
            id=7, workflow_id=1, reset_running_jobs=False, status="R", status_date=T0,
            created_date=T0, heartbeat_date=T0))
        rows = [(1, 1, "E", 1.0, 2.0), (1, 2, "D", 3.0, 4.5), (2, 1, "D", 1.5, 2.25),
                (3, 1, "Q", 5.0, 5.0)]
        conn.execute(insert(schema.task_instance), [
            {"task_id": t, "workflow_run_id": 7, "array_id": 1, "task_resources_id": 1,
             "attempt": a, "status": s, "submitted_date": at(sub), "status_date": at(st),
             "report_increment": 1.0} for t, a, s, sub, st in rows])
    engine.dispose()


def test_our_run_gives_d_and_first_launch_per_task(tmp_path: Path) -> None:
    db = tmp_path / "server.sqlite"
    _our_db(db)
    done, launched = read_our_run(str(db), 7)
    assert done == {"t1": pytest.approx(EPOCH_T0 + 4.5), "t2": pytest.approx(EPOCH_T0 + 2.25)}
    assert launched == {"t1": pytest.approx(EPOCH_T0 + 1.0), "t2": pytest.approx(EPOCH_T0 + 1.5),
                        "t3": pytest.approx(EPOCH_T0 + 5.0)}
    with pytest.raises(BenchmarkError, match="workflow run 8 has no task instances"):
        read_our_run(str(db), 8)


def test_the_database_is_opened_read_only(tmp_path: Path) -> None:
    db = tmp_path / "server.sqlite"
    _our_db(db)
    before = db.read_bytes()
    read_our_run(str(db), 7)
    assert db.read_bytes() == before
    with pytest.raises(BenchmarkError, match="does not exist"):
        read_our_run(str(tmp_path / "missing.sqlite"), 7)


def test_jobmon_done_times_are_whole_seconds(tmp_path: Path) -> None:
    db = tmp_path / "jobmon.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE task (id INTEGER, workflow_id INTEGER, name TEXT, "
                     "status TEXT, status_date DATETIME)")
        conn.executemany("INSERT INTO task VALUES (?, ?, ?, ?, ?)", [
            (1, 3, "t0", "D", "2026-01-02 03:04:05"), (2, 3, "t1", "D", "2026-01-02 03:04:07"),
            (3, 3, "t2", "R", "2026-01-02 03:04:08"), (4, 4, "t0", "D", "2026-01-02 03:04:09")])
    done = read_jobmon_done(str(db), 3)
    assert set(done) == {"t0", "t1"} and done["t1"] - done["t0"] == 2.0
    assert chain_hop(done, ["t0", "t1"]) == 2.0


def test_hop_latency_is_q_minus_the_last_upstream_d() -> None:
    queued = {"a": 0.0, "b": 0.0, "c": 7.5}
    done = {"a": 5.0, "b": 7.0, "c": 9.0}
    assert hop_latencies(queued, done, [("a", ()), ("b", ()), ("c", ("a", "b"))]) == [0.5]


@pytest.mark.parametrize(("queued", "done", "match"), [
    ({"a": 0.0}, {"a": 1.0}, "'c' was never queued"),
    ({"a": 0.0, "c": 5.0}, {}, "upstream 'a' was never done"),
    ({"a": 0.0, "c": 0.5}, {"a": 1.0}, "queued 0.500000 s before its upstream 'a'"),
])
def test_hop_latency_refuses_a_broken_run(queued: dict[str, float], done: dict[str, float],
                                          match: str) -> None:
    with pytest.raises(BenchmarkError, match=match):
        hop_latencies(queued, done, [("c", ("a",))])


def test_chain_hop_needs_a_done_chain() -> None:
    assert chain_hop({"x": 1.0, "y": 2.0, "z": 5.0}, ["x", "y", "z"]) == 2.0
    with pytest.raises(BenchmarkError, match="two tasks or more"):
        chain_hop({"x": 1.0}, ["x"])
    with pytest.raises(BenchmarkError, match="'z' is not done"):
        chain_hop({"x": 1.0}, ["x", "z"])
