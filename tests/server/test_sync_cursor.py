"""The exact ``cursor`` of task_status_updates (SQLite) and the horizon it comes from."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from fastapi import FastAPI

from tests.server.conftest import FakeClock
from tests.server.helpers import TestClient, bind_dag, queue, start_run

CHAIN = {"a": [], "b": ["a"]}


def _sync(client: TestClient, wf: int, **body: Any) -> dict[str, Any]:
    r = client.post(f"/workflow/{wf}/task_status_updates", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _sqlite_only(app: FastAPI) -> None:
    if not app.state.server.db.is_sqlite:
        pytest.skip("PostgreSQL answers no cursor (several processes write at once)")


def test_a_sync_from_the_cursor_gives_only_later_changes(app: FastAPI, client: TestClient,
                                                          clock: FakeClock) -> None:
    _sqlite_only(app)
    ids = bind_dag(client, CHAIN)
    wf, wfr = ids["workflow_id"], start_run(client, ids)
    clock.advance(0.001)
    full = _sync(client, wf)
    assert full["time"] == "2026-01-01 11:59:59"  # Jobmon's time is unchanged
    assert full["cursor"] == "2026-01-01 12:00:00.001000"  # inclusive: what is dated then
    clock.advance(0.001)
    queue(client, ids, wfr, ["a"])
    clock.advance(0.001)
    first = _sync(client, wf, last_sync=full["cursor"])
    assert first["tasks_by_status"] == {"Q": [ids["tasks"]["a"]]}
    clock.advance(0.001)
    # from the whole-second time the last second comes again; from the cursor it does not
    assert _sync(client, wf, last_sync=first["time"])["tasks_by_status"] == \
        {"Q": [ids["tasks"]["a"]], "G": [ids["tasks"]["b"]]}
    again = _sync(client, wf, last_sync=first["cursor"])
    assert again["tasks_by_status"] == {}
    assert again["cursor"] > first["cursor"]


def test_the_horizon_is_the_write_in_progress_and_never_goes_back(app: FastAPI,
                                                                  clock: FakeClock) -> None:
    _sqlite_only(app)
    db = app.state.server.db
    with db.write() as tx:
        assert db.sync_horizon() == tx.now  # not visible yet: the next sync must cover it
        clock.advance(3)
        assert db.sync_horizon() == tx.now
    assert db.sync_horizon() == clock.now()
    handed = clock.now()
    clock.t -= dt.timedelta(seconds=10)  # the wall clock steps back
    assert db.sync_horizon() == handed
    with db.write() as tx:
        assert tx.now == handed  # dated no earlier than a cursor already answered


@pytest.mark.timeout(60)
def test_a_long_poll_from_an_unchanged_cursor_waits(app: FastAPI, client: TestClient,
                                                    clock: FakeClock) -> None:
    _sqlite_only(app)
    ids = bind_dag(client, CHAIN)
    wf = ids["workflow_id"]
    start_run(client, ids)
    clock.advance(0.001)
    full = _sync(client, wf)
    start = time.monotonic()
    answer = _sync(client, wf, last_sync=full["cursor"], wait=0.5)
    assert time.monotonic() - start >= 0.45
    assert answer["tasks_by_status"] == {}
