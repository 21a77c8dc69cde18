"""Hypothesis drives random distributor/worker/triage/terminate sequences through the HTTP
routes and the real database; the database never holds an illegal state."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.server import ServerSettings, create_app, fsm
from tests.server.conftest import FakeClock
from tests.server.helpers import API, TestClient, bind_dag, claim_launch, queue, start_run

ACTIONS = st.lists(st.one_of(
    st.tuples(st.just("queue"), st.sampled_from("abc")),
    st.tuples(st.just("claim"), st.integers(1, 3)),
    st.tuples(st.just("worker"), st.integers(0, 9),
              st.sampled_from(["log_running", "log_done", "E", "Z", "U", "report_by"])),
    st.tuples(st.just("result"), st.integers(0, 9), st.sampled_from("RDEZUF")),
    st.tuples(st.just("tick"), st.integers(1, 25)),
    st.tuples(st.just("triage"),),
    st.tuples(st.just("terminate"),),
), max_size=40)


def _check_database(db: Path, max_attempts: int) -> None:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        for status, attempts, max_att in conn.execute(
                "SELECT status, num_attempts, max_attempts FROM task"):
            assert status in set(fsm.TaskStatus) - {fsm.TaskStatus.ERROR_RECOVERABLE}
            assert attempts <= max_att == max_attempts
        for (status,) in conn.execute("SELECT status FROM task_instance"):
            assert status in set(fsm.InstanceStatus)
        per_task = conn.execute("SELECT t.status, t.num_attempts, count(ti.id), "
                                "sum(ti.status = 'D') FROM task t LEFT JOIN task_instance ti "
                                "ON ti.task_id = t.id GROUP BY t.id").fetchall()
        for status, attempts, n_instances, n_done in per_task:
            assert n_instances == attempts  # one instance per attempt
            assert (status == "D") <= bool(n_done)
    finally:
        conn.close()


@pytest.mark.timeout(300)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(max_attempts=st.integers(1, 3), actions=ACTIONS)
def test_random_route_sequences_keep_the_database_legal(tmp_path_factory: Any,
                                                        max_attempts: int,
                                                        actions: list[tuple[Any, ...]]) -> None:
    db = tmp_path_factory.mktemp("seq") / "s.sqlite"
    clock = FakeClock()
    app = create_app(ServerSettings(db_url=f"sqlite:///{db}"), clock=clock)
    with TestClient(app, base_url=API, raise_server_exceptions=True) as client:
        ids = bind_dag(client, {"a": [], "b": [], "c": []}, max_attempts=max_attempts)
        wfr = start_run(client, ids)
        tis: list[int] = []
        for action in actions:
            kind = action[0]
            if kind == "queue":
                queue(client, ids, wfr, [action[1]])
            elif kind == "claim":
                tis += [c["task_instance_id"] for c in claim_launch(client, wfr, action[1])]
            elif kind == "worker" and tis:
                ti = tis[action[1] % len(tis)]
                what = action[2]
                if what in ("log_running", "report_by"):
                    route = "log_running" if what == "log_running" else "log_report_by"
                    r = client.post(f"/task_instance/{ti}/{route}",
                                    json={"next_report_increment": 10})
                elif what == "log_done":
                    r = client.post(f"/task_instance/{ti}/log_done", json={})
                else:
                    r = client.post(f"/task_instance/{ti}/log_error_worker_node",
                                    json={"error_state": what, "error_message": "x"})
                assert r.status_code == 200, r.text
            elif kind == "result" and tis:
                ti = tis[action[1] % len(tis)]
                r = client.post(f"/distributor/{wfr}/results", json={"results": [
                    {"task_instance_id": ti, "status": action[2]}]})
                assert r.status_code == 200, r.text
            elif kind == "tick":
                clock.advance(action[1])
            elif kind == "triage":
                client.post(f"/workflow_run/{wfr}/set_status_for_triaging", json={})
            elif kind == "terminate":
                client.put(f"/workflow_run/{wfr}/terminate_task_instances", json={})
            _check_database(db, max_attempts)
    app.state.server.db.dispose()
