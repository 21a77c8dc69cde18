"""``actors.server.db`` on a real PostgreSQL: retries of deadlocks and unique races, the
status-sync window around open writes, and change notification between two apps (two
``Database`` objects, as two server processes would have) including a lost listener.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import OperationalError

from actors.server import ServerSettings, Unavailable, create_app
from actors.server.clock import SystemClock
from actors.server.db import WRITE_ATTEMPTS, Database, Tx
from actors.server.schema import cluster
from tests.postgres.cluster import PostgresCluster
from tests.server.conftest import FakeClock
from tests.server.helpers import API, TestClient, bind_dag, resources, start_run

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def db(pg_database: str) -> Iterator[Database]:
    database = Database(pg_database, SystemClock())
    database.migrate()
    yield database
    database.dispose()


def _both(*bodies: Any) -> list[Any]:
    results: list[Any] = [None] * len(bodies)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = bodies[i]()
        except Exception as exc:  # noqa: BLE001  (re-raised in the calling thread)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def test_a_deadlocked_write_is_run_again(db: Database) -> None:
    with db.write() as tx:
        tx.conn.execute(insert(cluster), [{"name": n, "cluster_type": "t", "params": "{}"}
                                          for n in ("a", "b")])
    barrier = threading.Barrier(2)
    attempts = {"ab": 0, "ba": 0}

    def cross(tx: Tx, order: str) -> str:
        attempts[order] += 1
        first, second = order[0], order[1]
        tx.conn.execute(update(cluster).where(cluster.c.name == first).values(params=order))
        if attempts[order] == 1:
            barrier.wait(timeout=30)  # both hold their first row: each now wants the other's
        tx.conn.execute(update(cluster).where(cluster.c.name == second).values(params=order))
        return order

    assert _both(lambda: db.transact(cross, "ab"), lambda: db.transact(cross, "ba")) == [
        "ab", "ba"]
    assert sorted(attempts.values()) == [1, 2]  # PostgreSQL aborted one; it ran again
    with db.read() as conn:
        params = set(conn.execute(select(cluster.c.params)).scalars())
    assert len(params) == 1  # the transaction that ran last wrote both rows


def test_a_unique_race_is_run_again_and_finds_the_winner(db: Database) -> None:
    barrier = threading.Barrier(2)
    attempts: list[int] = []

    def get_or_create(tx: Tx) -> int:
        attempts.append(1)
        found = tx.conn.execute(select(cluster.c.id).where(cluster.c.name == "x")).scalar()
        if found is not None:
            return int(found)
        if len(attempts) <= 2:
            barrier.wait(timeout=30)  # both saw no row: both insert
        pk = tx.conn.execute(insert(cluster).values(
            name="x", cluster_type="t", params="{}")).inserted_primary_key
        assert pk is not None
        return int(pk[0])

    one, two = _both(lambda: db.transact(get_or_create), lambda: db.transact(get_or_create))
    assert one == two and len(attempts) == 3


def test_retries_end_in_unavailable(db: Database) -> None:
    class SerializationFailure(Exception):
        sqlstate = "40001"

    calls: list[int] = []

    def always_conflicts(tx: Tx) -> None:
        calls.append(1)
        raise OperationalError("UPDATE ...", {}, SerializationFailure())

    with pytest.raises(Unavailable) as info:
        db.transact(always_conflicts)
    assert len(calls) == WRITE_ATTEMPTS and info.value.status_code == 503


def test_status_sync_never_covers_a_write_still_open(pg_database: str) -> None:
    clock = FakeClock()
    app = create_app(ServerSettings(db_url=pg_database), clock=clock)
    db = app.state.server.db
    opened, release = threading.Event(), threading.Event()

    def slow_write() -> None:
        with db.write() as tx:
            tx.conn.execute(select(1))
            opened.set()
            release.wait(timeout=30)

    writer = threading.Thread(target=slow_write)
    try:
        with TestClient(app, base_url=API) as client:
            ids = bind_dag(client, {"a": []})
            url = f"/workflow/{ids['workflow_id']}/task_status_updates"
            assert client.post(url, json={}).json()["time"] == "2026-01-01 11:59:59"
            writer.start()
            assert opened.wait(timeout=30)
            deadline = time.monotonic() + 30
            while True:  # until the open write is more than a second old (database clock)
                with db.read() as conn:
                    if db.write_lag(conn) >= 1.0:
                        break
                assert time.monotonic() < deadline
                release.wait(0.05)
            # that write may still commit dates from 12:00:00: the answer stays before them
            assert client.post(url, json={}).json()["time"] <= "2026-01-01 11:59:58"
            release.set()
            writer.join(timeout=30)
            assert client.post(url, json={}).json()["time"] == "2026-01-01 11:59:59"
    finally:
        release.set()
        db.dispose()


async def _sync(http: httpx.AsyncClient, wf: int, body: dict[str, Any]) -> dict[str, Any]:
    r = await http.post(f"/workflow/{wf}/task_status_updates", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _two_apps(url: str) -> tuple[FastAPI, FastAPI]:
    return (create_app(ServerSettings(db_url=url), clock=SystemClock()),
            create_app(ServerSettings(db_url=url), clock=SystemClock()))


def test_a_long_poll_wakes_on_a_change_made_by_another_server(pg_database: str) -> None:
    writer_app, poller_app = _two_apps(pg_database)
    try:
        with TestClient(writer_app, base_url=API) as writer:
            ids = bind_dag(writer, {"a": [], "b": []})
            wfr = start_run(writer, ids)
            tr = resources(writer, ids)
            wf, a = ids["workflow_id"], ids["tasks"]["a"]

            async def main() -> dict[str, Any]:
                transport = httpx.ASGITransport(app=poller_app)
                async with httpx.AsyncClient(transport=transport, base_url=API) as http:
                    first = await _sync(http, wf, {})
                    poll = asyncio.create_task(_sync(http, wf, {"last_sync": first["time"],
                                                                "wait": 60}))
                    await asyncio.sleep(0.3)
                    assert not poll.done()  # waiting: the poller's own hub saw nothing
                    await asyncio.to_thread(writer.post, f"/array/{ids['array_id']}/"
                                            "queue_task_batch", json={
                                                "task_ids": [a], "task_resources_id": tr,
                                                "workflow_run_id": wfr})
                    return await asyncio.wait_for(poll, timeout=30)

            assert asyncio.run(main())["tasks_by_status"]["Q"] == [a]
    finally:
        writer_app.state.server.db.dispose()
        poller_app.state.server.db.dispose()


def test_a_lost_listener_reconnects_and_wakes_its_waiters(pg_database: str) -> None:
    app = create_app(ServerSettings(db_url=pg_database), clock=SystemClock())
    db = app.state.server.db
    try:
        with TestClient(app, base_url=API) as client:
            ids = bind_dag(client, {"a": []})
            wf = ids["workflow_id"]

            async def main() -> dict[str, Any]:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url=API) as http:
                    first = await _sync(http, wf, {})
                    poll = asyncio.create_task(_sync(http, wf, {"last_sync": first["time"],
                                                                "wait": 60}))
                    await asyncio.sleep(0.3)
                    assert not poll.done()
                    with db.read() as conn:  # the database drops the listener's connection
                        killed = conn.execute(text(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE application_name = 'actorswarm-server-listen' AND "
                            "datname = current_database()")).scalar()
                    assert killed == 1
                    # after reconnecting it cannot know what it missed: waiters re-read
                    return await asyncio.wait_for(poll, timeout=30)

            assert "G" in asyncio.run(main())["tasks_by_status"]
    finally:
        db.dispose()


def test_database_outage_is_503_and_the_pool_recovers(pg_database: str,
                                                      postgres: PostgresCluster) -> None:
    app = create_app(ServerSettings(db_url=pg_database), clock=SystemClock())
    name = pg_database.rsplit("/", 1)[1].split("?", 1)[0]
    kill = text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()")
    try:
        with TestClient(app, base_url=API) as client:
            ids = bind_dag(client, {"a": []})
            with postgres.admin() as admin:  # every pooled connection dies, none may open
                admin.execute(text(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
                admin.execute(kill, {"db": name})
            r = client.post(f"/workflow/{ids['workflow_id']}/task_status_updates", json={})
            assert r.status_code == 503 and r.json()["error"]["type"] == "Unavailable"
            with postgres.admin() as admin:
                admin.execute(text(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
            # stale pooled connections are replaced (pre-ping): reads and writes work again
            r = client.post(f"/workflow/{ids['workflow_id']}/task_status_updates", json={})
            assert r.status_code == 200 and r.json()["tasks_by_status"]["G"]
            assert client.put(f"/workflow/{ids['workflow_id']}/update_max_concurrently_running",
                              json={"max_tasks": 3}).status_code == 200
    finally:
        app.state.server.db.dispose()
