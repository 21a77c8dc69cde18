"""Every class of bad input answers 4xx in the documented JSON format and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.helpers import (
    TestClient,
    bind_dag,
    claim_launch,
    queue,
    resources,
    snapshot,
    start_run,
)


@pytest.fixture
def world(client: TestClient) -> dict[str, Any]:
    """A bound DAG with a running run, one launched instance, and a second workflow."""
    ids = bind_dag(client, {"a": [], "b": ["a"], "c": []})
    wfr = start_run(client, ids)
    queue(client, ids, wfr, ["a"])
    (inst,) = claim_launch(client, wfr)
    other = bind_dag(client, {"x": []}, args="other")
    client.post(f"/workflow/{ids['workflow_id']}/bind_arrays",
                json={"arrays": [{"name": "arr2", "max_concurrently_running": 1}]})
    return {"ids": ids, "wfr": wfr, "ti": inst["task_instance_id"], "other": other,
            "tr": resources(client, ids), "arr2": client.post(
                f"/workflow/{ids['workflow_id']}/bind_arrays", json={"arrays": [
                    {"name": "arr2", "max_concurrently_running": 1}]}).json()["arrays"]["arr2"]}


def _cases(w: dict[str, Any]) -> list[tuple[str, str, Any, int, str]]:
    ids, wfr, ti, tr = w["ids"], w["wfr"], w["ti"], w["tr"]
    wf, arr, a, b = ids["workflow_id"], ids["array_id"], ids["tasks"]["a"], ids["tasks"]["b"]
    qb = {"task_ids": [b], "task_resources_id": tr, "workflow_run_id": wfr}
    task = {"name": "n", "command": "true", "array": "arr", "cluster_name": "sim",
            "queue_name": "all"}
    return [
        # malformed JSON / not an object
        ("PUT", f"/workflow_run/{wfr}/update_status", b"{bad", 422, "body"),
        ("POST", f"/array/{arr}/queue_task_batch", b"[1, 2]", 422, "body"),
        ("POST", f"/workflow_run/{wfr}/log_heartbeat",
         b'{"status": "R", "next_report_increment": NaN}', 422, "next_report_increment"),
        # wrong types and values
        ("PUT", f"/workflow_run/{wfr}/update_status", {"status": 5}, 422, "status"),
        ("PUT", f"/workflow_run/{wfr}/update_status", {"status": "X"}, 422, "status"),
        ("POST", f"/array/{arr}/queue_task_batch", {**qb, "task_ids": "b"}, 422, "task_ids"),
        # values no column can hold: beyond 32 bits, NUL in a name (PostgreSQL refuses both)
        ("POST", f"/array/{arr}/queue_task_batch", {**qb, "task_ids": [2**31]}, 422,
         "task_ids.0"),
        ("GET", f"/workflow/{2**40}/get_max_concurrently_running", None, 422,
         "path.workflow_id"),
        ("POST", f"/workflow/{wf}/bind_tasks", {"tasks": [{**task, "name": "a\x00b"}]}, 422,
         "tasks.0.name"),
        ("POST", "/workflow/bind", {"name": "w", "workflow_args": "x\x00",
                                    "max_concurrently_running": 1}, 422, "workflow_args"),
        ("GET", "/cluster/a%00b", None, 422, "path.cluster_name"),
        ("POST", f"/array/{arr}/queue_task_batch", {**qb, "task_ids": [2**70]}, 422,
         "task_ids.0"),
        ("POST", f"/workflow/{wf}/set_resume", {"reset_running_jobs": "maybe"}, 422,
         "reset_running_jobs"),
        ("PUT", f"/workflow/{wf}/update_max_concurrently_running", {"max_tasks": -1}, 422,
         "max_tasks"),
        ("POST", f"/workflow/{wf}/task_status_updates", {"last_sync": "yesterday"}, 422,
         "last_sync"),
        ("POST", f"/workflow/{wf}/task_status_updates", {"last_sync": "2026-01-01 00:00:00",
                                                         "wait": 1000}, 422, "wait"),
        ("POST", f"/distributor/{wfr}/results",
         {"results": [{"task_instance_id": ti, "status": "Q"}]}, 422, "results.0.status"),
        ("POST", f"/distributor/{wfr}/claim", {"max": -3}, 422, "max"),
        ("POST", f"/task_instance/{ti}/log_error_worker_node", {"error_state": "D"}, 422,
         "error_state"),
        ("POST", "/cluster", {"name": "c", "type": "t", "queues": "all"}, 422, "queues"),
        ("POST", "/cluster", {"name": "c", "type": "t", "queues": [{"name": "q"}, {"name": "q"}]},
         422, "queues"),
        ("POST", f"/workflow/{wf}/bind_arrays", {"arrays": [
            {"name": "n1", "max_concurrently_running": 1},
            {"name": "n1", "max_concurrently_running": 2}]}, 422, "arrays"),
        ("GET", "/workflow/abc/get_max_concurrently_running", None, 422, "path.workflow_id"),
        ("GET", "/workflow/0/get_max_concurrently_running", None, 422, "path.workflow_id"),
        ("GET", f"/workflow/get_tasks/{wf}?max_task_id=0", None, 422, "query.chunk_size"),
        ("GET", f"/workflow/get_tasks/{wf}?max_task_id=0&chunk_size=0", None, 422,
         "query.chunk_size"),
        # missing fields
        ("POST", f"/workflow_run/{wfr}/log_heartbeat", {"status": "R"}, 422,
         "next_report_increment"),
        ("POST", f"/array/{arr}/queue_task_batch", {"task_ids": [b]}, 422,
         "task_resources_id"),
        ("POST", f"/workflow/{wf}/bind_tasks", {"tasks": [{"name": "n"}]}, 422,
         "tasks.0.command"),
        ("POST", "/workflow/bind", {}, 422, "name"),
        # unknown ids
        ("PUT", "/workflow_run/999/update_status", {"status": "R"}, 404, "workflow_run_id"),
        ("POST", "/workflow_run/999/log_heartbeat", {"status": "R",
                                                     "next_report_increment": 1}, 404,
         "workflow_run_id"),
        ("POST", "/array/999/queue_task_batch", qb, 404, "array_id"),
        ("POST", f"/array/{arr}/queue_task_batch", {**qb, "task_ids": [b, 999]}, 404,
         "task_ids"),
        ("POST", f"/array/{arr}/queue_task_batch", {**qb, "task_resources_id": 999}, 404,
         "task_resources_id"),
        ("POST", f"/array/{arr}/queue_task_batch", {**qb, "cluster_id": 999}, 404,
         "cluster_id"),
        ("POST", "/workflow/999/set_resume", {"reset_running_jobs": True}, 404, "workflow_id"),
        ("PUT", "/workflow_run/999/terminate_task_instances", {}, 404, "workflow_run_id"),
        ("POST", "/workflow_run/999/set_status_for_triaging", {}, 404, "workflow_run_id"),
        ("POST", "/workflow/999/task_status_updates", {}, 404, "workflow_id"),
        ("GET", "/workflow/get_tasks/999?max_task_id=0&chunk_size=5", None, 404,
         "workflow_id"),
        ("POST", "/task/get_downstream_tasks", {"task_ids": [a], "dag_id": 999}, 404, "dag_id"),
        ("POST", "/task/get_downstream_tasks", {"task_ids": [999], "dag_id": ids["dag_id"]},
         404, "task_ids"),
        ("POST", "/task/bind_resources", {"queue_id": 999, "requested_resources": {}}, 404,
         "queue_id"),
        ("GET", "/array/999/get_array_max_concurrently_running", None, 404, "array_id"),
        ("PUT", "/workflow/999/update_max_concurrently_running", {"max_tasks": 1}, 404,
         "workflow_id"),
        ("POST", "/distributor/999/claim", {"max": 1}, 404, "workflow_run_id"),
        ("POST", f"/distributor/{wfr}/results",
         {"results": [{"task_instance_id": ti, "status": "R"},
                      {"task_instance_id": 999, "status": "D"}]}, 404, "task_instance_id"),
        ("POST", f"/distributor/{w['other']['workflow_id'] and 999}/started", {}, 404,
         "workflow_run_id"),
        ("POST", "/task_instance/999/log_running", {"next_report_increment": 1}, 404,
         "task_instance_id"),
        ("POST", "/workflow/999/bind_tasks", {"tasks": [task]}, 404, "workflow_id"),
        ("POST", "/workflow_run", {"workflow_id": 999}, 404, "workflow_id"),
        ("GET", "/workflow/999/status", None, 404, "workflow_id"),
        # inconsistent references
        ("POST", f"/array/{w['arr2']}/queue_task_batch", qb, 422, "task_ids"),
        ("POST", f"/array/{w['other']['array_id']}/queue_task_batch",
         {**qb, "task_ids": [w["other"]["tasks"]["x"]]}, 422, "workflow_run_id"),
        ("POST", f"/workflow/{wf}/bind_tasks", {"tasks": [
            {**task, "name": "ok"}, {**task, "name": "n2", "upstream": ["ghost"]}]}, 422,
         "tasks[1].upstream"),
        ("POST", f"/workflow/{wf}/bind_tasks", {"tasks": [
            {**task, "name": "ok"}, {**task, "name": "n2", "array": "nope"}]}, 422,
         "tasks[1].array"),
        ("POST", f"/workflow/{wf}/bind_tasks", {"tasks": [
            {**task, "name": "ok"}, {**task, "name": "n2", "queue_name": "nope"}]}, 422,
         "tasks[1].queue_name"),
        ("POST", f"/workflow/{wf}/bind_tasks", {"tasks": [task, task]}, 422, "tasks"),
        # conflicts, routes, methods
        ("POST", "/workflow_run", {"workflow_id": wf}, 409, "workflow_id"),
        ("POST", "/workflow_run", {"workflow_id": wf, "request_key": "a b"}, 422,
         "request_key"),
        ("POST", "/workflow_run", {"workflow_id": wf, "request_key": "k" * 65}, 422,
         "request_key"),
        ("POST", "/workflow_run", {"workflow_id": wf, "request_key": 7}, 422, "request_key"),
        ("GET", "/no/such/route", None, 404, "/api/v3/no/such/route"),
        ("DELETE", f"/workflow_run/{wfr}/update_status", None, 405,
         f"/api/v3/workflow_run/{wfr}/update_status"),
    ]


@pytest.mark.timeout(120)
def test_bad_requests_are_refused_and_change_nothing(client: TestClient, db_url: str,
                                                     world: dict[str, Any]) -> None:
    failures: list[tuple[Any, ...]] = []
    for method, path, body, status, location in _cases(world):
        before = snapshot(db_url)
        if isinstance(body, bytes):
            r = client.request(method, path, content=body,
                               headers={"content-type": "application/json"})
        else:
            r = client.request(method, path, json=body)
        answer = r.json()
        ok = (r.status_code == status and set(answer) == {"detail", "error"}
              and answer["error"]["location"] == location
              and answer["detail"] == answer["error"]["message"] and answer["detail"])
        if not ok:
            failures.append((method, path, r.status_code, answer))
        if snapshot(db_url) != before:
            failures.append((method, path, "database changed"))
    assert not failures, failures


def test_nul_in_an_error_message_is_stored_as_a_replacement_character(
        client: TestClient, world: dict[str, Any]) -> None:
    ti, wf = world["ti"], world["ids"]["workflow_id"]
    client.post(f"/task_instance/{ti}/log_running", json={"next_report_increment": 10})
    r = client.post(f"/task_instance/{ti}/log_error_worker_node", json={
        "error_state": "E", "error_message": "bad\x00byte", "exit_code": 1})
    assert r.status_code == 200, r.text
    logs = client.get(f"/workflow/{wf}/task_instances", params={"task_name": "a"}).json()
    assert logs["task_instances"][0]["error_message"] == "bad\ufffdbyte"


def test_illegal_transitions_answer_200_and_change_nothing(client: TestClient, db_url: str,
                                                           world: dict[str, Any]) -> None:
    wfr, ti = world["wfr"], world["ti"]
    before = snapshot(db_url)
    assert client.put(f"/workflow_run/{wfr}/update_status", json={"status": "D"}).json() == {
        "status": "O"}
    assert client.post(f"/task_instance/{ti}/log_done", json={}).json() == {"status": "O"}
    assert client.post(f"/workflow_run/{wfr}/log_heartbeat", json={
        "status": "T", "next_report_increment": 5}).json() == {"status": "O"}
    assert snapshot(db_url) == before
