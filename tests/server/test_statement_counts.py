"""Batch routes cost a handful of SQL statements whatever the batch size (no per-row trips)."""

from __future__ import annotations

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
