"""The recorded Jobmon 3.4 traffic (tests/fixtures/jobmon) is well-formed and says what
docs/jobmon-notes.md says it says. No process, no network: these run in the main tier.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from .traffic import CLIENT_VERSION, ROUTES, load_fixtures

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "jobmon"
TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
TASK_STATUSES = set("GQIORDEAF")
DOCS = {doc["key"]: doc for doc in load_fixtures(FIXTURES)}


def _examples(key: str, case: str | None = None) -> list[dict[str, Any]]:
    found = [ex for ex in DOCS[key]["examples"] if case is None or ex["case"].startswith(case)]
    assert found, f"no example of {key} for case {case!r}"
    return found


def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)) + "$")


def test_every_swarm_route_was_recorded() -> None:
    swarm_routes = {"time", "fetch_workflow_metadata", "get_tasks", "get_downstream_tasks",
                    "cluster", "queue", "bind_resources", "log_heartbeat", "update_status",
                    "set_status_for_triaging", "task_status_updates",
                    "get_max_concurrently_running", "get_array_max_concurrently_running",
                    "queue_task_batch", "terminate_task_instances", "set_resume",
                    "update_max_concurrently_running", "create_workflow_run"}
    assert swarm_routes <= set(DOCS)


@pytest.mark.parametrize("key", sorted(DOCS))
def test_fixture_file_shape(key: str) -> None:
    doc = DOCS[key]
    assert (doc["method"], doc["route"]) == ROUTES[key]
    pattern = _template_regex(doc["route"])
    for ex in doc["examples"]:
        assert set(ex) == {"case", "cluster", "method", "route", "query", "body", "response",
                           "status_code"}
        assert ex["method"] == doc["method"]
        assert pattern.match(ex["route"]), ex["route"]
        assert ex["query"]["client_jobmon_version"] == CLIENT_VERSION
        assert (ex["body"] is None) == (ex["method"] == "GET")
        assert isinstance(ex["status_code"], int)
        assert "127.0.0.1:" not in json.dumps(ex) or "127.0.0.1:PORT" in json.dumps(ex)


def test_times_are_second_resolution_utc_strings() -> None:
    for ex in _examples("time") + _examples("task_status_updates"):
        if ex["status_code"] == 200:
            assert TIME.match(ex["response"]["time"])


def test_unknown_ids_answer_empty_or_500() -> None:
    unknown = {key: ex for key in DOCS for ex in DOCS[key]["examples"]
               if ex["case"] == "unknown ids"}
    assert unknown["fetch_workflow_metadata"]["response"] == {"workflow": []}
    assert unknown["get_tasks"]["response"] == {"tasks": {}}
    assert unknown["get_downstream_tasks"]["response"] == {"downstream_tasks": {}}
    assert unknown["cluster"]["response"] == {"cluster": None}
    assert unknown["queue"]["response"] == {"queue": None}
    assert unknown["queue_task_batch"]["response"] == {"tasks_by_status": {}}
    assert unknown["set_resume"]["response"] == {}
    assert unknown["create_workflow_run"]["response"]["workflow_run_id"] is None
    for key in ("log_heartbeat", "update_status", "terminate_task_instances",
                "get_max_concurrently_running", "get_array_max_concurrently_running",
                "is_resumable"):
        assert unknown[key]["status_code"] == 500, key
        assert unknown[key]["response"]["error"]["status_code"] == "500"


def test_illegal_run_transitions_answer_200_with_the_unchanged_status() -> None:
    for b_to_r in _examples("update_status", "illegal transition B -> R"):  # one per cluster
        assert (b_to_r["status_code"], b_to_r["body"], b_to_r["response"]) == (
            200, {"status": "R"}, {"status": "B"})
    assert all(ex["response"] == {"status": "D"}
               for ex in _examples("update_status", "illegal transition D -> R"))


def test_edges_are_json_strings_or_null() -> None:
    (fan,) = _examples("get_downstream_tasks", "fan-out/fan-in")
    values = list(fan["response"]["downstream_tasks"].values())
    assert all(isinstance(node, int) for node, _ in values)
    downs = [down for _, down in values]
    assert None in downs
    assert any(isinstance(d, str) and len(json.loads(d)) == 3 for d in downs)


def test_queue_task_batch_returns_tasks_not_in_g_or_a_unchanged() -> None:
    (again,) = [ex for ex in _examples("queue_task_batch", "queue_task_batch of a task already D")
                if ex["cluster"] == "sequential"]
    assert again["response"] == {"tasks_by_status": {"D": again["body"]["task_ids"]}}
    for ex in _examples("queue_task_batch", "orchestrator loop"):
        assert set(ex["response"]["tasks_by_status"]) <= TASK_STATUSES


def test_resume_signals_reach_the_swarm_through_the_heartbeat() -> None:
    assert {ex["response"]["status"] for ex in
            _examples("log_heartbeat", "cold resume: the next heartbeat")} == {"C"}
    assert {ex["response"]["status"] for ex in
            _examples("log_heartbeat", "hot resume: the next heartbeat")} == {"H"}
    assert all(ex["response"] == {"workflow_run_id": int(ex["route"].split("/")[2])}
               for ex in _examples("terminate_task_instances") if ex["status_code"] == 200)


def test_set_resume_and_limits_by_another_user_are_401() -> None:
    for key in ("set_resume", "update_max_concurrently_running"):
        (ex,) = _examples(key, "set_resume when the latest run belongs to another user")
        assert ex["status_code"] == 401


def test_observations_show_cold_terminate_kills_and_hot_terminate_spares_running() -> None:
    obs = json.loads((FIXTURES / "observations.json").read_text(encoding="utf-8"))
    for cluster in ("sequential", "multiprocess"):
        killed = obs[f"{cluster}/cold: right after terminate"]["task_instances"]
        assert [ti[3] for ti in killed] == ["D", "K"]
        assert [t[1] for t in obs[f"{cluster}/cold: drained"]["tasks"]] == ["D", "F", "G"]
        assert [t[1:] for t in obs[f"{cluster}/cold: tasks reset"]["tasks"]] == [
            ["D", 1], ["G", 0], ["G", 0]]
        assert [ti[3] for ti in obs[f"{cluster}/hot: right after terminate"]["task_instances"]] \
            == ["R"]
    triaged = obs["triage: triaged 2.5 s later"]["task_instances"]
    assert [ti[3] for ti in triaged] == ["X", "T"]
