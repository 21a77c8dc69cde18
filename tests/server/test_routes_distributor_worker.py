"""Distributor and worker routes, triage, through HTTP against the app and a SQLite file."""

from __future__ import annotations

from tests.server.conftest import FakeClock
from tests.server.helpers import TestClient, bind_dag, claim_launch, queue, start_run, task_statuses

FOUR: dict[str, list[str]] = {"a": [], "b": [], "c": [], "d": []}


def _instances(client: TestClient, wf: int) -> dict[str, str]:
    return {t["task_name"]: t["status"] for t in client.get(
        f"/workflow/{wf}/task_instances").json()["task_instances"]}


def test_claim_is_oldest_first_bounded_and_gated_by_run_status(client: TestClient) -> None:
    ids = bind_dag(client, FOUR)
    r = client.post("/workflow_run", json={"workflow_id": ids["workflow_id"]}).json()
    wfr = r["workflow_run_id"]
    queue(client, ids, wfr, ["a", "b", "c"])
    first = client.post(f"/distributor/{wfr}/claim", json={"max": 2}).json()
    assert first["run_status"] == "B"
    assert [t["name"] for t in first["task_instances"]] == ["a", "b"]
    item = first["task_instances"][0]
    assert item["command"] == "echo a" and item["cluster_name"] == "sim"
    assert item["queue_name"] == "all" and item["requested_resources"]["cores"] == 1
    assert task_statuses(client, ids) == {"a": "I", "b": "I", "c": "Q", "d": "G"}
    assert client.post(f"/distributor/{wfr}/started", json={}).json() == {"status": "I",
                                                                          "claim_wait": True}
    assert client.post(f"/distributor/{wfr}/started", json={}).json() == {"status": "I",
                                                                          "claim_wait": True}
    client.put(f"/workflow_run/{wfr}/update_status", json={"status": "E"})
    assert client.post(f"/distributor/{wfr}/claim", json={"max": 5}).json() == {
        "run_status": "E", "task_instances": []}


def test_launched_null_id_is_an_error_and_moves_run(client: TestClient) -> None:
    ids = bind_dag(client, FOUR, max_attempts=1)
    wfr = start_run(client, ids)
    queue(client, ids, wfr, ["a", "b"])
    claimed = client.post(f"/distributor/{wfr}/claim", json={"max": 5}).json()["task_instances"]
    ti_a, ti_b = (c["task_instance_id"] for c in claimed)
    empty = client.post(f"/distributor/{wfr}/launched",
                        json={"task_instances": [], "next_report_increment": 5})
    assert empty.json() == {"task_instances": {}}
    r = client.post(f"/distributor/{wfr}/launched", json={
        "task_instances": [[ti_a, "pid-1"], [ti_b, None]], "next_report_increment": 5})
    assert r.json() == {"task_instances": {str(ti_a): "O", str(ti_b): "W"}}
    assert task_statuses(client, ids) == {"a": "O", "b": "F", "c": "G", "d": "G"}
    again = client.post(f"/distributor/{wfr}/launched", json={
        "task_instances": [[ti_a, "pid-1"]], "next_report_increment": 5})
    assert again.json() == {"task_instances": {str(ti_a): "O"}}
    assert client.put(f"/workflow_run/{wfr}/update_status",
                      json={"status": "R"}).json() == {"status": "R"}


def test_results_are_idempotent_and_ordered(client: TestClient) -> None:
    ids = bind_dag(client, FOUR)
    wfr = start_run(client, ids)
    queue(client, ids, wfr, ["a", "b", "c"])
    ti_a, ti_b, ti_c = (c["task_instance_id"] for c in claim_launch(client, wfr))
    body = {"results": [
        {"task_instance_id": ti_a, "status": "R"},
        {"task_instance_id": ti_a, "status": "D"},
        {"task_instance_id": ti_b, "status": "Z", "error_message": "over memory",
         "exit_code": 137},
        {"task_instance_id": ti_c, "status": "D"}]}
    r = client.post(f"/distributor/{wfr}/results", json=body).json()
    assert r == {"task_instances": {str(ti_a): "D", str(ti_b): "Z", str(ti_c): "O"}}
    assert client.post(f"/distributor/{wfr}/results", json=body).json() == r
    assert task_statuses(client, ids) == {"a": "D", "b": "A", "c": "O", "d": "G"}
    logs = client.get(f"/workflow/{ids['workflow_id']}/task_instances",
                      params={"task_name": "b"}).json()["task_instances"]
    assert logs[0]["error_message"] == "over memory" and logs[0]["exit_code"] == 137


def test_distributor_routes_refuse_foreign_instances(client: TestClient) -> None:
    ids = bind_dag(client, FOUR)
    wfr = start_run(client, ids)
    queue(client, ids, wfr, ["a"])
    (inst,) = claim_launch(client, wfr)
    other = bind_dag(client, {"x": []}, args="other")
    owfr = start_run(client, other)
    for path, body in [
            ("results", {"results": [{"task_instance_id": inst["task_instance_id"],
                                      "status": "D"}]}),
            ("launched", {"task_instances": [[inst["task_instance_id"], "x"]],
                          "next_report_increment": 1}),
            ("heartbeat", {"task_instance_ids": [inst["task_instance_id"]],
                           "next_report_increment": 1})]:
        r = client.post(f"/distributor/{owfr}/{path}", json=body)
        assert r.status_code == 404, path
        assert r.json()["error"]["location"].startswith("task_instance")


def test_worker_routes(client: TestClient) -> None:
    ids = bind_dag(client, FOUR)
    wfr = start_run(client, ids)
    queue(client, ids, wfr, ["a", "b"])
    claimed = client.post(f"/distributor/{wfr}/claim", json={"max": 5}).json()["task_instances"]
    ti_a, ti_b = (c["task_instance_id"] for c in claimed)
    # the worker may report running before the distributor reports launched (I -> R)
    assert client.post(f"/task_instance/{ti_a}/log_running", json={
        "next_report_increment": 10}).json() == {"status": "R"}
    launched = client.post(f"/distributor/{wfr}/launched", json={
        "task_instances": [[ti_a, "1"], [ti_b, "2"]], "next_report_increment": 5}).json()
    assert launched == {"task_instances": {str(ti_a): "R", str(ti_b): "O"}}
    assert client.post(f"/task_instance/{ti_a}/log_report_by", json={
        "next_report_increment": 10}).json() == {"status": "R"}
    assert client.post(f"/task_instance/{ti_b}/log_done", json={}).json() == {"status": "O"}
    assert client.post(f"/task_instance/{ti_a}/log_error_worker_node", json={
        "error_state": "U", "error_description": "lost"}).json() == {"status": "U"}
    assert client.post(f"/task_instance/{ti_a}/log_done", json={}).json() == {"status": "U"}
    assert task_statuses(client, ids)["a"] == "G"
    assert client.post("/task_instance/999/log_done", json={}).status_code == 404


def test_triage_running_to_t_then_u(client: TestClient, clock: FakeClock) -> None:
    ids = bind_dag(client, FOUR)
    wf = ids["workflow_id"]
    wfr = start_run(client, ids)
    queue(client, ids, wfr, ["a", "b"])
    ti_a, ti_b = (c["task_instance_id"] for c in claim_launch(client, wfr, increment=10))
    for ti in (ti_a, ti_b):
        client.post(f"/task_instance/{ti}/log_running", json={"next_report_increment": 10})
    clock.advance(9)
    assert client.post(f"/workflow_run/{wfr}/set_status_for_triaging", json={}).json() == {}
    assert _instances(client, wf) == {"a": "R", "b": "R"}
    clock.advance(2)
    client.post(f"/workflow_run/{wfr}/set_status_for_triaging", json={})
    assert _instances(client, wf) == {"a": "T", "b": "T"}
    hb = client.post(f"/distributor/{wfr}/heartbeat", json={
        "task_instance_ids": [], "next_report_increment": 10}).json()
    assert hb["triaging"] == [ti_a, ti_b]
    assert client.post(f"/task_instance/{ti_a}/log_report_by", json={
        "next_report_increment": 10}).json() == {"status": "R"}
    clock.advance(10)
    client.post(f"/workflow_run/{wfr}/set_status_for_triaging")
    assert _instances(client, wf) == {"a": "T", "b": "U"}
    assert task_statuses(client, ids)["b"] == "G"


def test_triage_launched_silent_two_windows(client: TestClient, clock: FakeClock) -> None:
    ids = bind_dag(client, FOUR)
    wf = ids["workflow_id"]
    wfr = start_run(client, ids)
    queue(client, ids, wfr, ["a", "b"])
    _ti_a, ti_b = (c["task_instance_id"] for c in claim_launch(client, wfr, increment=10))
    clock.advance(15)  # past report-by, not yet two windows
    client.post(f"/distributor/{wfr}/heartbeat", json={
        "task_instance_ids": [ti_b], "next_report_increment": 10})
    client.post(f"/workflow_run/{wfr}/set_status_for_triaging", json={})
    assert _instances(client, wf) == {"a": "O", "b": "O"}
    clock.advance(5)  # a: 20 s silent = two windows; b was heard from 5 s ago
    client.post(f"/workflow_run/{wfr}/set_status_for_triaging", json={})
    assert _instances(client, wf) == {"a": "E", "b": "O"}
    assert task_statuses(client, ids)["a"] == "G"
