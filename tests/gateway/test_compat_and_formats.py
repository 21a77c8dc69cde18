"""Jobmon differences (compat), edge and literal formats, long poll, threads, properties."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.errors import (
    ConfigError,
    NotFound,
    ProtocolMismatch,
    RequestRejected,
    ServerUnavailable,
)
from actors.gateway import Features, Gateway, TaskEdges, TerminateResult, compat
from actors.gateway import parse as p
from messages.values import TaskId, TaskStatus, WorkflowRunId
from tests.gateway.helpers import make_gateway, ok

JOBMON_NO_ROW = {"error": {"type": "<class 'sqlalchemy.exc.NoResultFound'>",
                           "exception_message": "No row was found when one was required",
                           "status_code": "500"}}
JOBMON_OTHER_500 = {"error": {"type": "<class 'sqlalchemy.exc.OperationalError'>",
                              "exception_message": "database is locked", "status_code": "500"}}


def test_jobmon_500_for_unknown_id_is_not_found_without_retry() -> None:
    gateway, recorder, fake = make_gateway(lambda r: httpx.Response(500, json=JOBMON_NO_ROW))
    with pytest.raises(NotFound) as info:
        gateway.update_status(999, "R")
    assert len(recorder.requests) == 1 and fake.sleeps == []
    assert info.value.detail == "No row was found when one was required"


def test_other_jobmon_500_is_retried_with_its_message() -> None:
    gateway, recorder, _ = make_gateway(lambda r: httpx.Response(500, json=JOBMON_OTHER_500))
    with pytest.raises(ServerUnavailable) as info:
        gateway.health()
    assert len(recorder.requests) == 5 and "database is locked" in str(info.value)


def test_jobmon_route_not_found_detail() -> None:
    body = {"error": "Route http://x/api/v3/features not found"}
    assert compat.error_detail(body, "") == body["error"]


def test_jobmon_run_creation_moves_the_linked_run_to_bound() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/workflow_run"):
            return httpx.Response(200, json={"workflow_run_id": 4, "status": "L"})
        return httpx.Response(200, json={"status": "B"})

    gateway, recorder, _ = make_gateway(answer)
    created = gateway.create_workflow_run(7)
    assert (created.workflow_run_id, created.status.value) == (4, "B")
    assert [r.url.path for r in recorder.requests] == ["/api/v3/workflow_run",
                                                       "/api/v3/workflow_run/4/update_status"]
    assert json.loads(recorder.last.content) == {"status": "B"}
    sent = json.loads(recorder.requests[0].content)
    assert sent["user"] and sent["next_report_increment"] == 93.0


def test_jobmon_run_creation_refusal_is_rejected() -> None:
    gateway, recorder, _ = make_gateway(ok({"workflow_run_id": None,
                                            "err_msg": "No workflow exists for ID 7"}))
    with pytest.raises(RequestRejected) as info:
        gateway.create_workflow_run(7)
    assert info.value.detail == "No workflow exists for ID 7" and len(recorder.requests) == 1


def test_features_missing_means_jobmon_without_long_poll() -> None:
    gateway, _, _ = make_gateway(lambda r: httpx.Response(404, json={"error": "Route not found"}))
    assert gateway.features() == Features(long_poll=False, server="jobmon", version=None)


@pytest.mark.parametrize("call,answer", [
    (lambda g: g.fetch_workflow_metadata(5), {"workflow": []}),
    (lambda g: g.get_cluster("nope"), {"cluster": None}),
    (lambda g: g.get_queue(1, "nope"), {"queue": None}),
])
def test_empty_lookups_are_not_found(call: Callable[[Gateway], object],
                                     answer: dict[str, object]) -> None:
    gateway, _, _ = make_gateway(ok(answer))
    with pytest.raises(NotFound) as info:
        call(gateway)
    assert info.value.status_code == 404 and "unknown" in info.value.detail


def test_jobmon_string_params_of_cluster_and_queue() -> None:
    gateway, _, _ = make_gateway(ok({"cluster": [1, "slurm", "slurm", '{"url": "x"}']}))
    assert gateway.get_cluster("slurm").params == {"url": "x"}
    gateway, _, _ = make_gateway(ok({"queue": [2, "all", "{'max_memory': 750, 'min_cores': 1}"]}))
    assert gateway.get_queue(1, "all").params == {"max_memory": 750, "min_cores": 1}


@pytest.mark.parametrize("answer", [{"workflow_run_id": 4}, {}, {"workflow_run_id": 4, "n": 1}])
def test_terminate_reply_shapes(answer: dict[str, int]) -> None:
    gateway, _, _ = make_gateway(ok(answer))
    assert gateway.terminate_task_instances(4) == TerminateResult(WorkflowRunId(4))


def test_terminate_reply_for_another_run_is_a_mismatch() -> None:
    gateway, _, _ = make_gateway(ok({"workflow_run_id": 5}))
    with pytest.raises(ProtocolMismatch):
        gateway.terminate_task_instances(4)


@pytest.mark.parametrize("edges,expected", [
    (None, ()), ([], ()), ([3, 4], (3, 4)), ("[3, 4]", (3, 4)), ("null", ()), ("[]", ()),
])
def test_edges_accept_null_list_and_json_string(edges: object, expected: tuple[int, ...]) -> None:
    body = {"downstream_tasks": {"1": [10, edges]}}
    assert p.parse_downstream_tasks("r", body) == {1: TaskEdges(TaskId(1), 10, expected)}


@pytest.mark.parametrize("edges", ["[3, 'x']", "{", 5, {"a": 1}, [True], "[1.5]"])
def test_bad_edges_are_mismatches(edges: object) -> None:
    with pytest.raises(ProtocolMismatch, match=r"downstream_tasks\['1'\]\[1\]"):
        p.parse_downstream_tasks("r", {"downstream_tasks": {"1": [10, edges]}})


def _task_body(scales: object, fallback: object, resources: object) -> dict[str, object]:
    return {"tasks": {"12": [1, "G", 3, scales, fallback, resources, "c", "q", 5]}}


def test_literal_strings_python_json_and_values_parse_the_same() -> None:
    forms = [
        ("{'memory': 0.5, 'runtime': 0.5}", "['long', 'huge']",
         "{'memory': 2.5, 'cores': 1, 'queue': 'all'}"),
        ('{"memory": 0.5, "runtime": 0.5}', '["long", "huge"]',
         '{"memory": 2.5, "cores": 1, "queue": "all"}'),
        ({"memory": 0.5, "runtime": 0.5}, ["long", "huge"],
         {"memory": 2.5, "cores": 1, "queue": "all"}),
    ]
    rows = [p.parse_tasks("r", _task_body(*form))[0] for form in forms]
    assert rows[0] == rows[1] == rows[2]
    assert rows[0].fallback_queues == ("long", "huge")
    assert rows[0].requested_resources == {"memory": 2.5, "cores": 1, "queue": "all"}


@pytest.mark.parametrize("scales,fallback,resources,position", [
    ("{'memory': __import__('os')}", "[]", "{}", 3),
    ("{}", "['a', 1]", "{}", 4),
    ("{}", "[]", "not python", 5),
    ("{}", "[]", "['a list']", 5),
    ("{'memory': 'big'}", "[]", "{}", 3),
])
def test_garbage_literals_name_the_task(scales: str, fallback: str, resources: str,
                                        position: int) -> None:
    with pytest.raises(ProtocolMismatch) as info:
        p.parse_tasks("GET /workflow/get_tasks/1", _task_body(scales, fallback, resources))
    assert "task 12" in str(info.value)
    assert f"tasks['12'][{position}]" in str(info.value)


def test_long_poll_sends_wait_and_a_longer_read_timeout() -> None:
    gateway, recorder, _ = make_gateway(ok({"tasks_by_status": {}, "time": "t"}),
                                        read_timeout=5.0)
    gateway.task_status_updates(7, "2024-01-01 00:00:00", wait=30.0)
    assert json.loads(recorder.last.content) == {"last_sync": "2024-01-01 00:00:00",
                                                 "wait": 30.0}
    timeout = recorder.last.extensions["timeout"]
    assert timeout["read"] == 40.0 and timeout["connect"] == 5.0
    gateway.task_status_updates(7)
    assert recorder.last.extensions["timeout"]["read"] == 5.0


@pytest.mark.parametrize("wait", [0, -1, 61, True])
def test_long_poll_wait_out_of_range_is_rejected_before_sending(wait: float) -> None:
    gateway, recorder, _ = make_gateway(ok({}))
    with pytest.raises(ConfigError, match="wait"):
        gateway.task_status_updates(7, wait=wait)
    assert recorder.requests == []


@pytest.mark.timeout(30)
def test_one_gateway_is_safe_from_many_threads() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        wf = int(request.url.path.split("/")[-2])
        return httpx.Response(200, json={"max_concurrently_running": wf * 10})

    gateway, _, _ = make_gateway(answer)
    errors: list[str] = []

    def worker(wf: int) -> None:
        for _ in range(50):
            got = gateway.get_max_concurrently_running(wf)
            if got != wf * 10:
                errors.append(f"{wf}: {got}")

    threads = [threading.Thread(target=worker, args=(wf,)) for wf in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert errors == [] and not any(t.is_alive() for t in threads)


statuses = st.sampled_from([s.value for s in TaskStatus])
id_lists = st.lists(st.integers(min_value=1, max_value=10**9), max_size=20)


@given(st.dictionaries(statuses, id_lists))
def test_tasks_by_status_round_trip(table: dict[str, list[int]]) -> None:
    parsed = p.tasks_by_status("r", table)
    assert {k.value: list(v) for k, v in parsed.items()} == table


@given(id_lists, st.sampled_from(["list", "json", "null"]))
def test_node_list_encodings_agree(ids: list[int], form: str) -> None:
    value: object = {"list": ids, "json": json.dumps(ids), "null": None if not ids else ids}[form]
    assert p.parse_downstream_tasks("r", {"downstream_tasks": {"1": [1, value]}})[TaskId(1)] \
        .downstream_node_ids == tuple(ids)


@given(st.dictionaries(st.text(min_size=1, max_size=10),
                       st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(),
                                 st.booleans(), st.none()), max_size=6))
def test_python_literal_of_any_resources_dict_parses_back(resources: dict[str, object]) -> None:
    row = p.parse_tasks("r", _task_body("{}", "[]", repr(resources)))[0]
    assert dict(row.requested_resources) == resources
