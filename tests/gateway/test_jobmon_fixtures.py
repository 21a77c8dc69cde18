"""Recorded answers of a real Jobmon 3.4 server (tests/fixtures/jobmon/) go through the gateway.

Each recorded exchange is replayed: the gateway method is called with the arguments of the
recorded request, ``httpx.MockTransport`` checks that our request goes to the same method and
path and answers with the recorded status and body, and the result must be a typed value (2xx)
or the right typed error (4xx / 5xx). The replay logic is also run on synthetic exchanges
built from Jobmon's documented shapes, so it is exercised even before recordings exist.
``ACTORSWARM_JOBMON_FIXTURES`` points the test at another recording directory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from actors.errors import GatewayError, NotFound, RequestRejected, ServerUnavailable
from actors.gateway import Gateway, GatewayConfig, RetryPolicy
from actors.gateway._http import HttpCore

FIXTURES = Path(os.environ.get("ACTORSWARM_JOBMON_FIXTURES")
                or Path(__file__).resolve().parents[1] / "fixtures" / "jobmon")

Call = Callable[[Gateway, list[str], dict[str, Any], Any], Any]


def _int(value: Any) -> int:
    return int(value)


#: fixture key -> how to call the gateway from (path parts, query, body) of the recording.
CALLS: dict[str, Call] = {
    "time": lambda g, p, q, b: g.time(),
    "health": lambda g, p, q, b: g.health(),
    "fetch_workflow_metadata": lambda g, p, q, b: g.fetch_workflow_metadata(_int(p[1])),
    "get_tasks": lambda g, p, q, b: g.get_tasks(_int(p[2]), _int(q["max_task_id"]),
                                                _int(q["chunk_size"])),
    "get_downstream_tasks": lambda g, p, q, b: g.get_downstream_tasks(b["task_ids"],
                                                                      b["dag_id"]),
    "cluster": lambda g, p, q, b: g.get_cluster(p[1]),
    "queue": lambda g, p, q, b: g.get_queue(_int(p[1]), p[3]),
    "bind_resources": lambda g, p, q, b: g.bind_resources(
        b["queue_id"], b["requested_resources"], b.get("task_resources_type_id", "O")),
    "create_workflow_run": lambda g, p, q, b: g.create_workflow_run(
        b["workflow_id"], user=b["user"], jobmon_version=b["jobmon_version"],
        next_report_increment=b["next_report_increment"]),
    "log_heartbeat": lambda g, p, q, b: g.log_heartbeat(
        _int(p[1]), b["status"], b["next_report_increment"]),
    "update_status": lambda g, p, q, b: g.update_status(_int(p[1]), b["status"]),
    "set_status_for_triaging": lambda g, p, q, b: g.set_status_for_triaging(_int(p[1])),
    "task_status_updates": lambda g, p, q, b: g.task_status_updates(
        _int(p[1]), b.get("last_sync")),
    "get_max_concurrently_running": lambda g, p, q, b: g.get_max_concurrently_running(
        _int(p[1])),
    "get_array_max_concurrently_running":
        lambda g, p, q, b: g.get_array_max_concurrently_running(_int(p[1])),
    "queue_task_batch": lambda g, p, q, b: g.queue_task_batch(
        _int(p[1]), b["task_ids"], b["task_resources_id"], b["workflow_run_id"],
        b["cluster_id"]),
    "terminate_task_instances": lambda g, p, q, b: g.terminate_task_instances(_int(p[1])),
    "set_resume": lambda g, p, q, b: g.set_resume(_int(p[1]), b["reset_running_jobs"]),
    "is_resumable": lambda g, p, q, b: g.is_resumable(_int(p[1])),
    "set_resume_state": lambda g, p, q, b: g.set_resume_state(_int(p[1]),
                                                              b["reset_if_running"]),
    "update_max_concurrently_running": lambda g, p, q, b: g.update_max_concurrently_running(
        _int(p[1]), b["max_tasks"]),
}
#: Routes whose request body we send exactly as Jobmon's swarm does.
SAME_BODY = {"get_downstream_tasks", "log_heartbeat", "update_status", "queue_task_batch",
             "set_resume", "update_max_concurrently_running", "bind_resources"}


def replay(key: str, example: dict[str, Any]) -> Any:
    """Replay one recorded exchange through the gateway; returns the result or the error."""
    status, response = example["status_code"], example["response"]
    recorded_path = example["route"]
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=json.dumps(response).encode(),
                              headers={"content-type": "application/json"})

    config = GatewayConfig(base_url="http://jobmon.test", retry=RetryPolicy.once())
    gateway = Gateway(config, transport=httpx.MockTransport(answer))
    parts = recorded_path.strip("/").split("/")
    query = {k: v for k, v in (example.get("query") or {}).items()}
    body = example.get("body") or {}
    try:
        result: Any = CALLS[key](gateway, parts, query, body)
    except GatewayError as exc:
        result = exc
    except (KeyError, ValueError, TypeError):
        # A deliberately malformed recorded request (a bad id, a missing key) that the typed
        # gateway cannot even express: send it raw through the same HTTP core instead.
        assert not seen, f"{key}: the call failed after sending"
        core = HttpCore(config, transport=httpx.MockTransport(answer))
        extra = {k: v for k, v in query.items() if k != "client_jobmon_version"}
        try:
            result = core.request(example["method"], recorded_path, params=extra or None,
                                  body=example.get("body"))
        except GatewayError as exc:
            result = exc
    assert seen, f"{key}: no request was sent"
    assert seen[0].method == example["method"]
    assert seen[0].url.path == "/api/v3" + recorded_path
    if key in SAME_BODY and example["method"] != "GET" and example.get("body") is not None:
        assert json.loads(seen[0].content) == body
    refusal = (isinstance(response, dict) and response.get("err_msg") is not None
               and response.get("workflow_run_id", 0) is None)
    if 200 <= status < 300 and refusal:  # Jobmon's way of refusing a new run
        assert isinstance(result, RequestRejected) and result.status_code == 409, result
    elif 200 <= status < 300:
        assert not isinstance(result, GatewayError) or isinstance(result, NotFound), \
            f"{key}: a recorded 200 answer was refused: {result}"
    elif status == 404 or (status == 500 and "NoResultFound" in json.dumps(response)):
        assert isinstance(result, NotFound), f"{key}: {status} gave {result!r}"
    elif 400 <= status < 500 and status != 423:
        assert isinstance(result, RequestRejected), f"{key}: {status} gave {result!r}"
    else:
        assert isinstance(result, ServerUnavailable), f"{key}: {status} gave {result!r}"
    return result


def _recorded() -> list[tuple[str, dict[str, Any]]]:
    if not FIXTURES.is_dir():
        return []
    cases: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(FIXTURES.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("key") not in CALLS:
            continue
        cases.extend((doc["key"], ex) for ex in doc.get("examples", []))
    return cases


RECORDED = _recorded()


@pytest.mark.skipif(not RECORDED, reason="no Jobmon recordings in tests/fixtures/jobmon yet")
@pytest.mark.parametrize("key,example", RECORDED,
                         ids=[f"{k}-{i}" for i, (k, _) in enumerate(RECORDED)])
def test_recorded_jobmon_exchange(key: str, example: dict[str, Any]) -> None:
    replay(key, example)


def _ex(method: str, route: str, response: Any, status: int = 200, body: Any = None,
        query: dict[str, str] | None = None) -> dict[str, Any]:
    return {"method": method, "route": route, "response": response, "status_code": status,
            "body": body, "query": {"client_jobmon_version": "3.6.0", **(query or {})}}


NO_ROW = {"error": {"type": "<class 'sqlalchemy.exc.NoResultFound'>",
                    "exception_message": "No row was found when one was required",
                    "status_code": "500"}}
SYNTHETIC = [
    ("time", _ex("GET", "/time", {"time": "2024-01-01 00:00:00"})),
    ("fetch_workflow_metadata", _ex("GET", "/workflow/3/fetch_workflow_metadata",
                                    {"workflow": [3, 3, 10000]})),
    ("fetch_workflow_metadata", _ex("GET", "/workflow/9/fetch_workflow_metadata",
                                    {"workflow": []})),
    ("get_tasks", _ex("GET", "/workflow/get_tasks/3", {"tasks": {"7": [
        2, "G", 3, "{'memory': 0.5, 'runtime': 0.5}", "[]",
        "{'cores': 1, 'memory': 1, 'runtime': 60}", "sequential", "null.q", 10000]}},
        query={"max_task_id": "0", "chunk_size": "500"})),
    ("get_downstream_tasks", _ex("POST", "/task/get_downstream_tasks",
                                 {"downstream_tasks": {"7": [11, "[12, 13]"], "8": [12, None]}},
                                 body={"task_ids": [7, 8], "dag_id": 3})),
    ("cluster", _ex("GET", "/cluster/sequential",
                    {"cluster": [1, "sequential", "sequential", "{}"]})),
    ("queue", _ex("GET", "/cluster/1/queue/null.q",
                  {"queue": [1, "null.q", "{'core': (1, 1000)}"]})),
    ("update_status", _ex("PUT", "/workflow_run/999999/update_status", NO_ROW, status=500,
                          body={"status": "R"})),
    ("log_heartbeat", _ex("POST", "/workflow_run/4/log_heartbeat", {"status": "C"},
                          body={"status": "R", "next_report_increment": 3.1})),
    ("task_status_updates", _ex("POST", "/workflow/3/task_status_updates",
                                {"tasks_by_status": {"D": [7]}, "time": "2024-01-01 00:00:01"},
                                body={"last_sync": "2024-01-01 00:00:00"})),
    ("terminate_task_instances", _ex("PUT", "/workflow_run/4/terminate_task_instances",
                                     {"workflow_run_id": 4}, body={})),
    ("set_resume", _ex("POST", "/workflow/3/set_resume", {},
                       body={"reset_running_jobs": True})),
    ("update_max_concurrently_running", _ex(
        "PUT", "/workflow/3/update_max_concurrently_running",
        {"message": "Workflow ID 3 max concurrently running updated to 5"},
        body={"max_tasks": 5})),
    ("queue_task_batch", _ex("POST", "/array/2/queue_task_batch",
                             {"tasks_by_status": {"Q": [7]}},
                             body={"task_ids": [7], "task_resources_id": 1,
                                   "workflow_run_id": 4, "cluster_id": 1})),
    ("update_status", _ex("PUT", "/workflow_run/4/update_status",
                          {"error": {"type": "<class 'KeyError'>", "exception_message": "x",
                                     "status_code": "400"}}, status=400, body={"status": "R"})),
    ("create_workflow_run", _ex("POST", "/workflow_run",
                                {"workflow_run_id": None, "err_msg": "No workflow exists"},
                                body={"workflow_id": 9, "user": "u", "jobmon_version": "3.4",
                                      "next_report_increment": 3.1})),
    ("health", _ex("GET", "/health", {"error": {"type": "OperationalError",
                                                "exception_message": "locked"}}, status=503)),
]


@pytest.mark.parametrize("key,example", SYNTHETIC, ids=[f"{k}-{i}" for i, (k, _) in
                                                        enumerate(SYNTHETIC)])
def test_replay_of_jobmon_shapes(key: str, example: dict[str, Any]) -> None:
    replay(key, example)


def test_replay_detects_a_refused_answer() -> None:
    bad = _ex("GET", "/time", {"tyme": "x"})
    with pytest.raises(AssertionError, match="refused"):
        replay("time", bad)
