"""Helpers of the state-server tests: DB snapshots and the usual steps of a run over HTTP."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path
from typing import Any

import sqlalchemy
import sqlalchemy.pool

with warnings.catch_warnings():  # starlette nags about its httpx-based client; it is fine here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

__all__ = ["API", "TestClient", "bind_dag", "claim_launch", "queue", "resources", "run_status",
           "snapshot", "start_run", "task_statuses"]

API = "http://testserver/api/v3"


def snapshot(db: Path | str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove a rejected request changed nothing.

    ``db`` is a SQLite file or a database URL (any backend, read through SQLAlchemy)."""
    if isinstance(db, str) and not db.startswith("sqlite:///"):
        engine = sqlalchemy.create_engine(db, poolclass=sqlalchemy.pool.NullPool)
        try:
            with engine.connect() as sa_conn:
                names = sorted(sqlalchemy.inspect(sa_conn).get_table_names())
                return {t: sorted((tuple(r) for r in sa_conn.execute(
                    sqlalchemy.text(f'SELECT * FROM "{t}"'))), key=repr) for t in names}
        finally:
            engine.dispose()
    db_path = db[len("sqlite:///"):] if isinstance(db, str) else db
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                for t in tables}
    finally:
        conn.close()


def bind_dag(client: TestClient, edges: dict[str, list[str]], *, args: str = "wf-1",
             max_attempts: int = 3, max_running: int = 100, array_limit: int = 100,
             resources: dict[str, Any] | None = None) -> dict[str, Any]:
    """Bind a workflow whose tasks are ``edges`` keys (value: upstream names), in one array,
    on cluster ``sim`` queue ``all``; returns ids."""
    wf = client.post("/workflow/bind", json={"name": "wf", "workflow_args": args,
                                             "max_concurrently_running": max_running}).json()
    wf_id = wf["workflow_id"]
    arrays = client.post(f"/workflow/{wf_id}/bind_arrays", json={"arrays": [
        {"name": "arr", "max_concurrently_running": array_limit}]}).json()["arrays"]
    tasks = [{"name": n, "command": f"echo {n}", "array": "arr", "max_attempts": max_attempts,
              "requested_resources": resources or {"memory": 1.0, "cores": 1, "runtime": 60},
              "cluster_name": "sim", "queue_name": "all", "upstream": ups}
             for n, ups in edges.items()]
    r = client.post(f"/workflow/{wf_id}/bind_tasks", json={"tasks": tasks})
    assert r.status_code == 200, r.text
    done = client.post(f"/workflow/{wf_id}/bind_done", json={}).json()
    cluster = client.get("/cluster/sim").json()["cluster"]
    queue = client.get(f"/cluster/{cluster[0]}/queue/all").json()["queue"]
    return {"workflow_id": wf_id, "dag_id": wf["dag_id"], "array_id": arrays["arr"],
            "tasks": r.json()["tasks"], "cluster_id": cluster[0], "queue_id": queue[0],
            "done": done}


def start_run(client: TestClient, ids: dict[str, Any], **body: Any) -> int:
    """Create a run (B), start its distributor (I) and return the run id."""
    r = client.post("/workflow_run", json={"workflow_id": ids["workflow_id"], **body})
    assert r.status_code == 200, r.text
    wfr = int(r.json()["workflow_run_id"])
    assert client.post(f"/distributor/{wfr}/started", json={}).json() == {"status": "I",
                                                                          "claim_wait": True}
    return wfr


def resources(client: TestClient, ids: dict[str, Any], res: dict[str, Any] | None = None) -> int:
    r = client.post("/task/bind_resources", json={
        "queue_id": ids["queue_id"], "task_resources_type_id": "O",
        "requested_resources": res or {"memory": 1.0, "cores": 1, "runtime": 60}})
    assert r.status_code == 200, r.text
    return int(r.json())


def queue(client: TestClient, ids: dict[str, Any], wfr: int, names: list[str]) -> dict[str, Any]:
    """queue_task_batch for these task names; returns tasks_by_status."""
    r = client.post(f"/array/{ids['array_id']}/queue_task_batch", json={
        "task_ids": [ids["tasks"][n] for n in names], "task_resources_id": resources(client, ids),
        "workflow_run_id": wfr, "cluster_id": ids["cluster_id"]})
    assert r.status_code == 200, r.text
    return dict(r.json()["tasks_by_status"])


def claim_launch(client: TestClient, wfr: int, n: int = 100,
                 increment: float = 10) -> list[dict[str, Any]]:
    """Claim up to n instances and report them launched; returns the claimed instances."""
    claimed = client.post(f"/distributor/{wfr}/claim", json={"max": n}).json()["task_instances"]
    if claimed:
        r = client.post(f"/distributor/{wfr}/launched", json={
            "task_instances": [[c["task_instance_id"], f"d{c['task_instance_id']}"]
                               for c in claimed], "next_report_increment": increment})
        assert r.status_code == 200, r.text
    return list(claimed)


def task_statuses(client: TestClient, ids: dict[str, Any]) -> dict[str, str]:
    """name -> task status, from a full status sync."""
    by_status = client.post(f"/workflow/{ids['workflow_id']}/task_status_updates",
                            json={}).json()["tasks_by_status"]
    names = {v: k for k, v in ids["tasks"].items()}
    return {names[t]: s for s, tids in by_status.items() for t in tids}


def run_status(client: TestClient, ids: dict[str, Any], wfr: int) -> str:
    runs = client.get(f"/workflow/{ids['workflow_id']}/status").json()["runs"]
    return str(next(r["status"] for r in runs if r["workflow_run_id"] == wfr))
