"""Route shapes against the real Jobmon server's recorded answers (tests/fixtures/jobmon).

For every recorded route the swarm uses, the same request is sent to our server (after binding
an equivalent workflow: a chain of three tasks) and our answer must have the recorded keys with
compatible value types. Skipped while no fixtures have been recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.server.helpers import TestClient, bind_dag, claim_launch, queue, resources, start_run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "jobmon"
FLEXIBLE = ("downstream_tasks.*[1]",)  # downstream_node_ids: null, a list or a JSON string


def _load() -> dict[str, list[dict[str, Any]]]:
    from tests.interop.traffic import load_fixtures
    out: dict[str, list[dict[str, Any]]] = {}
    if FIXTURES.is_dir():
        for doc in load_fixtures(FIXTURES):
            out[doc["key"]] = [e for e in doc["examples"] if e.get("status_code") == 200]
    return out


def _is_map(value: dict[str, Any]) -> bool:
    return bool(value) and all(k.isdigit() or (len(k) == 1 and k.isupper()) for k in value)


def compatible(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Problems making ``ours`` differ in shape from ``theirs`` (empty: compatible)."""
    if ours is None or theirs is None or path.endswith(FLEXIBLE):
        return []
    if isinstance(theirs, bool) or isinstance(ours, bool):
        return [] if type(ours) is type(theirs) else [f"{path}: {ours!r} vs {theirs!r}"]
    if isinstance(theirs, int | float) and isinstance(ours, int | float):
        return []
    if isinstance(theirs, dict) and isinstance(ours, dict):
        if _is_map(theirs) or _is_map(ours) or not theirs or not ours:
            return [p for o in list(ours.values())[:1] for t in list(theirs.values())[:1]
                    for p in compatible(o, t, path + ".*")]
        missing = [f"{path}.{k}: missing" for k in theirs if k not in ours]
        return missing + [p for k in theirs if k in ours
                          for p in compatible(ours[k], theirs[k], f"{path}.{k}")]
    if isinstance(theirs, list) and isinstance(ours, list):
        if not theirs or not ours:
            return []
        if len(theirs) == len(ours):
            return [p for i, (o, t) in enumerate(zip(ours, theirs, strict=True))
                    for p in compatible(o, t, f"{path}[{i}]")]
        return compatible(ours[0], theirs[0], path + "[0]")
    if type(ours) is not type(theirs):
        return [f"{path}: {type(ours).__name__} vs {type(theirs).__name__}"]
    return []


def _our_answers(client: TestClient) -> dict[str, Callable[[dict[str, Any]], Any]]:
    ids = bind_dag(client, {"a": [], "b": ["a"], "c": ["b"]}, args="compat")
    wf, arr = ids["workflow_id"], ids["array_id"]
    wfr = start_run(client, ids)
    queue(client, ids, wfr, ["a"])
    claim_launch(client, wfr)
    client.put(f"/workflow_run/{wfr}/update_status", json={"status": "R"})
    tr = resources(client, ids)
    task_ids = list(ids["tasks"].values())
    fresh = bind_dag(client, {"x": []}, args="compat-fresh")

    def body(example: dict[str, Any]) -> dict[str, Any]:
        return dict(example.get("body") or {})

    return {
        "time": lambda e: client.get("/time"),
        "health": lambda e: client.get("/health"),
        "fetch_workflow_metadata": lambda e: client.get(f"/workflow/{wf}/fetch_workflow_metadata"),
        "get_tasks": lambda e: client.get(f"/workflow/get_tasks/{wf}", params={
            "max_task_id": 0, "chunk_size": 100}),
        "get_downstream_tasks": lambda e: client.post("/task/get_downstream_tasks", json={
            "task_ids": task_ids, "dag_id": ids["dag_id"]}),
        "cluster": lambda e: client.get("/cluster/sim"),
        "queue": lambda e: client.get(f"/cluster/{ids['cluster_id']}/queue/all"),
        "bind_resources": lambda e: client.post("/task/bind_resources", json={
            **body(e), "queue_id": ids["queue_id"]}),
        "log_heartbeat": lambda e: client.post(f"/workflow_run/{wfr}/log_heartbeat", json={
            "status": "R", "next_report_increment": 10}),
        "update_status": lambda e: client.put(f"/workflow_run/{wfr}/update_status",
                                              json={"status": "R"}),
        "set_status_for_triaging": lambda e: client.post(
            f"/workflow_run/{wfr}/set_status_for_triaging", json={}),
        "task_status_updates": lambda e: client.post(
            f"/workflow/{wf}/task_status_updates",
            json={k: v for k, v in body(e).items() if k == "last_sync"}),
        "get_max_concurrently_running": lambda e: client.get(
            f"/workflow/{wf}/get_max_concurrently_running"),
        "get_array_max_concurrently_running": lambda e: client.get(
            f"/array/{arr}/get_array_max_concurrently_running"),
        "queue_task_batch": lambda e: client.post(f"/array/{arr}/queue_task_batch", json={
            "task_ids": task_ids, "task_resources_id": tr, "workflow_run_id": wfr,
            "cluster_id": ids["cluster_id"]}),
        "terminate_task_instances": lambda e: client.put(
            f"/workflow_run/{wfr}/terminate_task_instances", json={}),
        "set_resume": lambda e: client.post(f"/workflow/{wf}/set_resume",
                                            json={"reset_running_jobs": True}),
        "create_workflow_run": lambda e: client.post("/workflow_run", json={
            **body(e), "workflow_id": fresh["workflow_id"]}),
        "update_max_concurrently_running": lambda e: client.put(
            f"/workflow/{wf}/update_max_concurrently_running", json={"max_tasks": 50}),
    }


def test_route_shapes_match_recorded_jobmon_answers(client: TestClient) -> None:
    recorded = _load()
    if not recorded:
        pytest.skip(f"no Jobmon fixtures recorded yet in {FIXTURES}")
    calls = _our_answers(client)
    problems: dict[str, list[str]] = {}
    checked = 0
    for key, call in calls.items():
        examples = recorded.get(key, [])
        if not examples:
            continue
        answer = call(examples[0])
        assert answer.status_code == 200, (key, answer.text)
        found = [compatible(answer.json(), e["response"], key) for e in examples]
        if all(found):
            problems[key] = min(found, key=len)
        checked += 1
    assert checked >= len(calls) // 2, f"only {checked} of the swarm's routes were recorded"
    assert not problems, problems


def test_shape_comparison_itself() -> None:
    assert compatible({"a": 1, "b": [1, "x"]}, {"a": 2.0, "b": [3, "y"]}) == []
    assert compatible({"a": 1}, {"a": 1, "b": 2}) == [".b: missing"]
    assert compatible({"a": "1"}, {"a": 1}) == [".a: str vs int"]
    assert compatible({"tasks": {"1": [1, "G"]}}, {"tasks": {"7": [2, "Q"]}}) == []
    assert compatible({"tasks": {"1": [1, 2]}}, {"tasks": {"7": [2, "Q"]}}) != []


JOBMON_SHAPED = {  # answers as jobmon/server/web/routes/v3 builds them (read from its source)
    "time": {"time": "2026-01-01 12:00:00"},
    "fetch_workflow_metadata": {"workflow": [3, 3, 10000]},
    "get_tasks": {"tasks": {"7": [2, "G", 3, "{'memory': 0.5}", "[]", "{'cores': 1}",
                                  "sequential", "null.q", 10000]}},
    "get_downstream_tasks": {"downstream_tasks": {"7": [5, "[6]"]}},
    "cluster": {"cluster": [1, "sequential", "sequential", None]},
    "queue": {"queue": [1, "null.q", "{}"]},
    "bind_resources": 4,
    "log_heartbeat": {"status": "R"},
    "task_status_updates": {"tasks_by_status": {"D": [7]}, "time": "2026-01-01 12:00:00"},
    "queue_task_batch": {"tasks_by_status": {"Q": [7, 8]}},
    "terminate_task_instances": {"workflow_run_id": 3},
    "set_resume": {},
    "update_max_concurrently_running": {"message": "updated"},
}


def test_replay_against_jobmon_shaped_fixtures(client: TestClient, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    for key, response in JOBMON_SHAPED.items():
        body = {"task_resources_type_id": "V", "requested_resources": {"cores": 1}}
        doc = {"key": key, "examples": [{"status_code": 200, "body": body,
                                         "response": response}]}
        (tmp_path / f"{key}.json").write_text(json.dumps(doc))
    monkeypatch.setattr(__import__(__name__, fromlist=["FIXTURES"]), "FIXTURES", tmp_path)
    test_route_shapes_match_recorded_jobmon_answers(client)
