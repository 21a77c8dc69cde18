"""Jobmon routes the swarm uses, through a real HTTP client against the app and a SQLite file."""

from __future__ import annotations

import ast
import json
from typing import Any

from tests.server.conftest import FakeClock
from tests.server.helpers import (
    TestClient,
    bind_dag,
    claim_launch,
    queue,
    run_status,
    snapshot,
    start_run,
    task_statuses,
)

CHAIN = {"a": [], "b": ["a"], "c": ["a", "b"]}


def test_time_health_features(client: TestClient, clock: FakeClock) -> None:
    assert client.get("/time").json() == {"time": "2026-01-01 12:00:00"}
    clock.advance(61.7)
    assert client.get("/time", params={"client_jobmon_version": "3.6.0"}).json() == {
        "time": "2026-01-01 12:01:01"}
    assert client.get("/health").json() == {"status": "OK"}
    feats = client.get("/features").json()
    assert feats["long_poll"] is True and feats["server"] == "actorswarm"
    assert "/api/v3/workflow/{workflow_id}/task_status_updates" in client.get(
        "http://testserver/openapi.json").json()["paths"]


def test_metadata_get_tasks_and_edges(client: TestClient) -> None:
    ids = bind_dag(client, CHAIN, max_running=7)
    wf = ids["workflow_id"]
    assert ids["done"] == {"workflow_id": wf, "num_tasks": 3, "num_edges": 3}
    assert client.get(f"/workflow/{wf}/fetch_workflow_metadata").json() == {
        "workflow": [wf, ids["dag_id"], 7]}
    assert client.get("/workflow/999/fetch_workflow_metadata").json() == {"workflow": []}
    tasks = client.get(f"/workflow/get_tasks/{wf}",
                       params={"max_task_id": 0, "chunk_size": 2}).json()["tasks"]
    a, b, c = (ids["tasks"][n] for n in "abc")
    assert list(tasks) == [str(a), str(b)]
    row = tasks[str(a)]
    assert row[:3] == [ids["array_id"], "G", 3]
    assert ast.literal_eval(row[3]) == {"memory": 0.5, "runtime": 0.5}
    assert ast.literal_eval(row[4]) == []
    assert ast.literal_eval(row[5]) == {"memory": 1.0, "cores": 1, "runtime": 60}
    assert row[6:] == ["sim", "all", 100]
    rest = client.get(f"/workflow/get_tasks/{wf}",
                      params={"max_task_id": b, "chunk_size": 2}).json()["tasks"]
    assert list(rest) == [str(c)]
    down = client.post("/task/get_downstream_tasks",
                       json={"task_ids": [a, b, c], "dag_id": ids["dag_id"]}).json()
    edges = down["downstream_tasks"]
    node = {t: edges[str(t)][0] for t in (a, b, c)}
    assert sorted(edges[str(a)][1]) == sorted([node[b], node[c]])
    assert edges[str(b)][1] == [node[c]] and edges[str(c)][1] == []
    names = client.get(f"/workflow/{wf}/task_names").json()["tasks"]
    assert names == {str(a): "a", str(b): "b", str(c): "c"}


def test_rebinding_is_idempotent(client: TestClient) -> None:
    ids = bind_dag(client, CHAIN)
    again = bind_dag(client, CHAIN)
    assert again["workflow_id"] == ids["workflow_id"] and again["tasks"] == ids["tasks"]
    assert again["done"]["num_edges"] == 3
    other = bind_dag(client, {"x": []}, args="another")
    assert other["workflow_id"] != ids["workflow_id"]


def test_clusters_queues_and_resources(client: TestClient) -> None:
    cluster = client.get("/cluster/local").json()["cluster"]
    assert cluster[1:3] == ["local", "local"] and json.loads(cluster[3]) == {}
    q = client.get(f"/cluster/{cluster[0]}/queue/all").json()["queue"]
    params = ast.literal_eval(q[2])
    assert params["max_cores"] >= 1 and params["max_memory"] > 0
    assert client.get("/cluster/nope").status_code == 404
    assert client.get(f"/cluster/{cluster[0]}/queue/nope").status_code == 404
    made = client.post("/cluster", json={"name": "slurm", "type": "slurm", "params": {"x": 1},
                                         "queues": [{"name": "short", "params": {
                                             "max_runtime": 3600}}]}).json()
    assert made["cluster"][1] == "slurm" and "short" in made["queues"]
    body = {"queue_id": q[0], "task_resources_type_id": "O",
            "requested_resources": {"memory": 2.0, "cores": 1}}
    first = client.post("/task/bind_resources", json=body).json()
    assert isinstance(first, int)
    assert client.post("/task/bind_resources", json=body).json() == first
    body["requested_resources"] = {"memory": 3.0}
    assert client.post("/task/bind_resources", json=body).json() != first


def _finish(client: TestClient, ti: int) -> None:
    assert client.post(f"/task_instance/{ti}/log_running", json={
        "nodename": "n1", "process_group_id": 42, "next_report_increment": 10,
        "stdout_path": "/tmp/o", "stderr_path": "/tmp/e"}).json() == {"status": "R"}
    assert client.post(f"/task_instance/{ti}/log_done", json={}).json() == {"status": "D"}


def test_whole_run_lifecycle(client: TestClient) -> None:
    ids = bind_dag(client, CHAIN)
    wfr = start_run(client, ids)
    assert client.put(f"/workflow_run/{wfr}/update_status",
                      json={"status": "R"}).json() == {"status": "I"}  # not yet launched
    assert queue(client, ids, wfr, ["a"]) == {"Q": [ids["tasks"]["a"]]}
    claimed = claim_launch(client, wfr)
    assert [c["name"] for c in claimed] == ["a"] and claimed[0]["attempt"] == 1
    assert run_status(client, ids, wfr) == "O"
    assert client.put(f"/workflow_run/{wfr}/update_status",
                      json={"status": "R"}).json() == {"status": "R"}
    assert client.post(f"/workflow_run/{wfr}/log_heartbeat", json={
        "status": "R", "next_report_increment": 93}).json() == {"status": "R"}
    assert task_statuses(client, ids)["a"] == "O"
    _finish(client, claimed[0]["task_instance_id"])
    for name in ("b", "c"):
        assert queue(client, ids, wfr, [name]) == {"Q": [ids["tasks"][name]]}
        (inst,) = claim_launch(client, wfr)
        _finish(client, inst["task_instance_id"])
    assert set(task_statuses(client, ids).values()) == {"D"}
    assert client.put(f"/workflow_run/{wfr}/update_status",
                      json={"status": "D"}).json() == {"status": "D"}
    assert client.get(f"/workflow/get_tasks/{ids['workflow_id']}",
                      params={"max_task_id": 0, "chunk_size": 10}).json() == {"tasks": {}}
    summary = client.get(f"/workflow/{ids['workflow_id']}/status").json()
    assert summary["buckets"] == {"pending": 0, "running": 0, "done": 3, "fatal": 0}
    logs = client.get(f"/workflow/{ids['workflow_id']}/task_instances",
                      params={"task_name": "a"}).json()["task_instances"]
    assert len(logs) == 1 and logs[0]["status"] == "D" and logs[0]["stdout_path"] == "/tmp/o"


def test_update_status_refuses_illegal_transitions(client: TestClient) -> None:
    ids = bind_dag(client, CHAIN)
    wfr = start_run(client, ids)
    for bad in ("D", "G", "B", "T", "S"):
        r = client.put(f"/workflow_run/{wfr}/update_status", json={"status": bad})
        assert r.status_code == 200 and r.json() == {"status": "I"}
    assert client.put(f"/workflow_run/{wfr}/update_status",
                      json={"status": "E"}).json() == {"status": "E"}


def test_queue_task_batch_moves_only_g_and_a(client: TestClient) -> None:
    ids = bind_dag(client, CHAIN)
    wfr = start_run(client, ids)
    a, b, c = (ids["tasks"][n] for n in "abc")
    assert queue(client, ids, wfr, ["a"]) == {"Q": [a]}
    again = queue(client, ids, wfr, ["a", "b", "c"])
    assert again == {"Q": [a, b, c]}
    assert queue(client, ids, wfr, ["a", "b"]) == {"Q": [a, b]}  # repeat: nothing new
    instances = client.get(f"/workflow/{ids['workflow_id']}/task_instances").json()
    assert len(instances["task_instances"]) == 3
    claimed = claim_launch(client, wfr, n=1)
    assert queue(client, ids, wfr, ["a", "c"]) == {"O": [a], "Q": [c]}
    assert claimed[0]["task_id"] == a


def _error(client: TestClient, ti: int, state: str = "E") -> str:
    client.post(f"/task_instance/{ti}/log_running", json={"next_report_increment": 10})
    r = client.post(f"/task_instance/{ti}/log_error_worker_node", json={
        "error_state": state, "error_message": "boom", "exit_code": 3})
    return str(r.json()["status"])


def test_error_policy_retry_then_fatal(client: TestClient) -> None:
    ids = bind_dag(client, {"a": []}, max_attempts=2)
    wfr = start_run(client, ids)
    queue(client, ids, wfr, ["a"])
    (first,) = claim_launch(client, wfr)
    assert _error(client, first["task_instance_id"]) == "E"
    assert task_statuses(client, ids) == {"a": "G"}
    queue(client, ids, wfr, ["a"])
    (second,) = claim_launch(client, wfr)
    assert second["attempt"] == 2
    assert _error(client, second["task_instance_id"]) == "E"
    assert task_statuses(client, ids) == {"a": "F"}
    assert queue(client, ids, wfr, ["a"]) == {"F": [ids["tasks"]["a"]]}
    logs = client.get(f"/workflow/{ids['workflow_id']}/task_instances").json()
    assert [(t["attempt"], t["status"], t["exit_code"]) for t in logs["task_instances"]] == [
        (1, "E", 3), (2, "E", 3)]


def test_resource_error_goes_to_adjusting(client: TestClient) -> None:
    ids = bind_dag(client, {"a": []}, max_attempts=3)
    wfr = start_run(client, ids)
    queue(client, ids, wfr, ["a"])
    (inst,) = claim_launch(client, wfr)
    assert _error(client, inst["task_instance_id"], "Z") == "Z"
    assert task_statuses(client, ids) == {"a": "A"}
    assert queue(client, ids, wfr, ["a"]) == {"Q": [ids["tasks"]["a"]]}


def test_limits(client: TestClient) -> None:
    ids = bind_dag(client, CHAIN, max_running=5, array_limit=2)
    wf = ids["workflow_id"]
    assert client.get(f"/workflow/{wf}/get_max_concurrently_running").json() == {
        "max_concurrently_running": 5}
    assert client.get(f"/array/{ids['array_id']}/get_array_max_concurrently_running").json() \
        == {"max_concurrently_running": 2}
    r = client.put(f"/workflow/{wf}/update_max_concurrently_running", json={"max_tasks": 0})
    assert r.status_code == 200 and "message" in r.json()
    assert client.get(f"/workflow/{wf}/get_max_concurrently_running").json() == {
        "max_concurrently_running": 0}
    client.post(f"/workflow/{wf}/bind_arrays", json={"arrays": [
        {"name": "arr", "max_concurrently_running": 9}]})
    assert client.get(f"/array/{ids['array_id']}/get_array_max_concurrently_running").json() \
        == {"max_concurrently_running": 9}


def test_status_sync_is_inclusive_at_one_second(client: TestClient, clock: FakeClock) -> None:
    ids = bind_dag(client, CHAIN)
    wf = ids["workflow_id"]
    wfr = start_run(client, ids)
    full = client.post(f"/workflow/{wf}/task_status_updates", json={}).json()
    assert sorted(full["tasks_by_status"]["G"]) == sorted(ids["tasks"].values())
    last = full["time"]
    assert last == "2026-01-01 11:59:59"  # server time minus the one-second margin
    clock.advance(5)
    assert client.post(f"/workflow/{wf}/task_status_updates",
                       json={"last_sync": "2026-01-01 12:00:01"}).json()["tasks_by_status"] == {}
    first = client.post(f"/workflow/{wf}/task_status_updates", json={"last_sync": last}).json()
    assert sorted(first["tasks_by_status"]["G"]) == sorted(ids["tasks"].values())
    assert first["time"] == "2026-01-01 12:00:04"
    queue(client, ids, wfr, ["a"])
    delta = client.post(f"/workflow/{wf}/task_status_updates",
                        json={"last_sync": first["time"]}).json()
    assert delta["tasks_by_status"] == {"Q": [ids["tasks"]["a"]]}
    again = client.post(f"/workflow/{wf}/task_status_updates",
                        json={"last_sync": delta["time"]}).json()
    assert again["tasks_by_status"] == {"Q": [ids["tasks"]["a"]]}  # same second: repeated
    clock.advance(2)
    later = client.post(f"/workflow/{wf}/task_status_updates",
                        json={"last_sync": again["time"]}).json()
    assert later["tasks_by_status"] == {"Q": [ids["tasks"]["a"]]}  # within the margin
    assert later["time"] == "2026-01-01 12:00:06"
    done = client.post(f"/workflow/{wf}/task_status_updates",
                       json={"last_sync": later["time"]}).json()
    assert done["tasks_by_status"] == {}


def test_heartbeat_reports_resume_and_terminate_drains(client: TestClient) -> None:
    ids = bind_dag(client, {"a": [], "b": [], "c": [], "d": []})
    wf = ids["workflow_id"]
    wfr = start_run(client, ids)
    queue(client, ids, wfr, ["a", "b", "c"])
    launched = claim_launch(client, wfr, n=2)  # a, b launched (O); c stays Q
    client.put(f"/workflow_run/{wfr}/update_status", json={"status": "R"})
    ti_a, ti_b = (x["task_instance_id"] for x in launched)
    client.post(f"/task_instance/{ti_a}/log_running", json={"next_report_increment": 10})
    assert client.post(f"/workflow/{wf}/set_resume", json={"reset_running_jobs": True}).json() \
        == {}
    hb = client.post(f"/workflow_run/{wfr}/log_heartbeat",
                     json={"status": "R", "next_report_increment": 30}).json()
    assert hb == {"status": "C"}
    assert client.put(f"/workflow_run/{wfr}/terminate_task_instances", json={}).json() == {
        "workflow_run_id": wfr}
    inst = {t["task_name"]: t["status"] for t in client.get(
        f"/workflow/{wf}/task_instances").json()["task_instances"]}
    assert inst == {"a": "K", "b": "K", "c": "F"}
    dist = client.post(f"/distributor/{wfr}/heartbeat", json={
        "task_instance_ids": [ti_a, ti_b], "next_report_increment": 10}).json()
    assert dist == {"run_status": "C", "kill_self": [ti_a, ti_b], "triaging": []}
    assert client.post(f"/task_instance/{ti_a}/log_report_by",
                       json={"next_report_increment": 10}).json() == {"status": "K"}
    assert _error(client, ti_a) == "F"  # the worker was killed: K + error -> F
    after = client.post(f"/distributor/{wfr}/results", json={"results": [
        {"task_instance_id": ti_b, "status": "F", "error_message": "killed"}]}).json()
    assert after == {"task_instances": {str(ti_b): "F"}}
    assert task_statuses(client, ids) == {"a": "F", "b": "F", "c": "Q", "d": "G"}
    assert client.post(f"/distributor/{wfr}/claim", json={"max": 5}).json() == {
        "run_status": "C", "task_instances": []}
    assert client.put(f"/workflow_run/{wfr}/update_status", json={"status": "T"}).json() == {
        "status": "T"}
    new = start_run(client, ids)
    assert new != wfr
    assert set(task_statuses(client, ids).values()) == {"G"}


def test_hot_resume_keeps_running_instances(client: TestClient) -> None:
    ids = bind_dag(client, {"a": [], "b": []})
    wf = ids["workflow_id"]
    wfr = start_run(client, ids)
    queue(client, ids, wfr, ["a", "b"])
    ti_a, ti_b = (x["task_instance_id"] for x in claim_launch(client, wfr))
    client.put(f"/workflow_run/{wfr}/update_status", json={"status": "R"})
    client.post(f"/task_instance/{ti_a}/log_running", json={"next_report_increment": 10})
    client.post(f"/workflow/{wf}/set_resume", json={"reset_running_jobs": False})
    client.put(f"/workflow_run/{wfr}/terminate_task_instances", json={})
    statuses = {t["task_instance_id"]: t["status"] for t in client.get(
        f"/workflow/{wf}/task_instances").json()["task_instances"]}
    assert statuses == {ti_a: "R", ti_b: "K"}
    client.put(f"/workflow_run/{wfr}/update_status", json={"status": "T"})
    new = start_run(client, ids, reset_running_jobs=False)
    assert task_statuses(client, ids) == {"a": "R", "b": "G"}
    assert client.post(f"/task_instance/{ti_a}/log_done", json={}).json() == {"status": "D"}
    assert task_statuses(client, ids)["a"] == "D"
    assert run_status(client, ids, new) == "I"


def test_second_run_conflicts_until_old_one_is_reaped(client: TestClient,
                                                      clock: FakeClock) -> None:
    ids = bind_dag(client, CHAIN)
    wfr = start_run(client, ids)
    r = client.post("/workflow_run", json={"workflow_id": ids["workflow_id"]})
    assert r.status_code == 409
    err: dict[str, Any] = r.json()["error"]
    assert err["type"] == "Conflict" and err["active_workflow_run_id"] == wfr
    assert err["status"] == "I"
    clock.advance(94)  # the old swarm stopped heartbeating (default report-by 93 s)
    new = start_run(client, ids)
    assert run_status(client, ids, wfr) == "E" and run_status(client, ids, new) == "I"


def test_a_repeated_request_key_gets_the_run_it_created(client: TestClient, db_url: str,
                                                        clock: FakeClock) -> None:
    """A client that lost the answer to POST /workflow_run sends it again with the same key:
    it gets the same run, and nothing changes; another key still meets the 409."""
    ids = bind_dag(client, CHAIN)
    wfr = start_run(client, ids, request_key="k-1")
    before = snapshot(db_url)
    clock.advance(5)
    again = client.post("/workflow_run", json={"workflow_id": ids["workflow_id"],
                                               "request_key": "k-1"})
    assert again.status_code == 200
    assert again.json() == {"workflow_run_id": wfr, "status": run_status(client, ids, wfr)}
    assert snapshot(db_url) == before
    other = client.post("/workflow_run", json={"workflow_id": ids["workflow_id"],
                                               "request_key": "k-2"})
    assert other.status_code == 409
    assert other.json()["error"]["active_workflow_run_id"] == wfr
    # the key belongs to one workflow: the same key on another workflow opens a run there
    ids2 = bind_dag(client, CHAIN, args="wf-2")
    assert start_run(client, ids2, request_key="k-1") != wfr


def test_run_needs_bind_done(client: TestClient) -> None:
    wf = client.post("/workflow/bind", json={"name": "w", "workflow_args": "half",
                                             "max_concurrently_running": 3}).json()
    r = client.post("/workflow_run", json={"workflow_id": wf["workflow_id"]})
    assert r.status_code == 409 and "bind_done" in r.json()["detail"]
