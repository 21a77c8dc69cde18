"""Batch routes cost a handful of SQL statements whatever the batch size (no per-row trips)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event

from tests.server.helpers import TestClient, bind_dag, resources, start_run


@contextmanager
def counting(app: FastAPI) -> Iterator[list[str]]:
    """Collect every statement the app's engine sends (an executemany counts once)."""
    engine = app.state.server.db.engine
    seen: list[str] = []

    def _count(_conn: Any, _cur: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", _count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _count)


@pytest.mark.timeout(120)
def test_batches_are_a_handful_of_statements(app: FastAPI, client: TestClient) -> None:
    n = 1000
    with counting(app) as bind_sql:
        ids = bind_dag(client, {f"t{i}": [] for i in range(n)})
    assert len(ids["tasks"]) == n
    assert len(bind_sql) < 60
    wfr = start_run(client, ids)
    tr = resources(client, ids)
    task_ids = list(ids["tasks"].values())
    with counting(app) as sql:
        for part in (task_ids[:500], task_ids[500:]):
            r = client.post(f"/array/{ids['array_id']}/queue_task_batch", json={
                "task_ids": part, "task_resources_id": tr, "workflow_run_id": wfr})
            assert r.json()["tasks_by_status"] == {"Q": sorted(part)}
    assert len(sql) <= 2 * 10, sql
    with counting(app) as sql:
        claimed = client.post(f"/distributor/{wfr}/claim", json={"max": n}).json()
    assert len(claimed["task_instances"]) == n and len(sql) <= 10, sql
    tis = [c["task_instance_id"] for c in claimed["task_instances"]]
    with counting(app) as sql:
        r = client.post(f"/distributor/{wfr}/launched", json={
            "task_instances": [[t, str(t)] for t in tis], "next_report_increment": 30})
    assert set(r.json()["task_instances"].values()) == {"O"} and len(sql) <= 10, sql
    with counting(app) as sql:
        client.post(f"/distributor/{wfr}/heartbeat", json={"task_instance_ids": tis,
                                                             "next_report_increment": 30})
    assert len(sql) <= 10, sql
    results = [{"task_instance_id": t, "status": s} for t in tis for s in ("R", "D")]
    with counting(app) as sql:
        r = client.post(f"/distributor/{wfr}/results", json={"results": results})
    assert set(r.json()["task_instances"].values()) == {"D"} and len(sql) <= 10, sql
    with counting(app) as sql:
        full = client.post(f"/workflow/{ids['workflow_id']}/task_status_updates", json={})
    assert len(full.json()["tasks_by_status"]["D"]) == n and len(sql) <= 5


def test_bulk_updates_store_what_a_plain_update_stores(app: FastAPI, client: TestClient) -> None:
    """executemany_update bypasses SQLAlchemy's per-row processing: the stored values (a
    whole-second date, a fractional one, None, equal-but-different numbers) are the same."""
    from sqlalchemy import select, update

    from actors.server.ops.common import executemany_update
    from actors.server.schema import task_instance

    ids = bind_dag(client, {f"t{i}": [] for i in range(6)})
    wfr = start_run(client, ids)
    tr = resources(client, ids)
    client.post(f"/array/{ids['array_id']}/queue_task_batch", json={
        "task_ids": list(ids["tasks"].values()), "task_resources_id": tr,
        "workflow_run_id": wfr})
    db = app.state.server.db
    with db.read() as conn:
        tis = sorted(conn.execute(select(task_instance.c.id)).scalars())
    whole, frac = dt.datetime(2026, 3, 1, 8, 0, 0), dt.datetime(2026, 3, 1, 8, 0, 0, 250)
    values = [{"report_by_date": whole, "report_increment": 1.0, "exit_code": 1},
              {"report_by_date": frac, "report_increment": 1, "exit_code": True},
              {"report_by_date": None, "report_increment": 2.5, "exit_code": None}]
    with db.write() as tx:  # the first three in bulk, the same values one by one on the rest
        executemany_update(tx.conn, task_instance, [dict(v, id=t) for v, t in zip(values, tis)])
    with db.write() as tx:
        for v, t in zip(values, tis[3:]):
            tx.conn.execute(update(task_instance).where(task_instance.c.id == t).values(v))
    cols = (task_instance.c.id, task_instance.c.report_by_date,
            task_instance.c.report_increment, task_instance.c.exit_code)
    with db.read() as conn:
        rows = {r[0]: r[1:] for r in conn.execute(select(*cols))}
        raw = {r[0]: r[1] for r in conn.exec_driver_sql(
            "SELECT id, CAST(report_by_date AS TEXT) FROM task_instance")}
    assert [rows[t] for t in tis[:3]] == [(whole, 1.0, 1), (frac, 1.0, 1), (None, 2.5, None)]
    for bulk, plain in zip(tis[:3], tis[3:]):
        assert (rows[bulk], raw[bulk]) == (rows[plain], raw[plain])


def test_bulk_inserted_dates_are_stored_like_sqlalchemy_stores_them(app: FastAPI,
                                                                    client: TestClient) -> None:
    """Bound tasks (executemany_insert) keep the text form SQLAlchemy gives dates on SQLite
    (microseconds always written): incremental syncs compare dates in that form."""
    from sqlalchemy import select

    from actors.server.schema import task

    ids = bind_dag(client, {"a": [], "b": ["a"]})
    db = app.state.server.db
    with db.read() as conn:
        dates = set(conn.execute(select(task.c.status_date)).scalars())
        raw = set(conn.exec_driver_sql("SELECT CAST(status_date AS TEXT) FROM task").scalars())
        edges = conn.exec_driver_sql("SELECT COUNT(*) FROM edge").scalar()
    assert dates == {dt.datetime(2026, 1, 1, 12, 0, 0)} and edges == 1
    if db.is_sqlite:
        assert raw == {"2026-01-01 12:00:00.000000"}
    assert ids["done"]["num_tasks"] == 2
