"""Unit tests of the traffic recorder and the plain HTTP swarm (httpx.MockTransport, no server)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import hypothesis.strategies as st
import pytest
from hypothesis import given

from .mini_swarm import MiniSwarm, RecordingError, parse_downstream
from .traffic import CLIENT_VERSION, Recorder, Sanitizer, load_fixtures, write_fixtures


def _echo(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content) if request.content else None
    return httpx.Response(200, json={"seen": body, "url": str(request.url)})


def test_recorder_keeps_request_and_answer_and_hides_machine_details() -> None:
    rec = Recorder("http://127.0.0.1:5555/api/v3", Sanitizer((("/tmp/rec-x", "{tmp}"),)),
                   transport=httpx.MockTransport(_echo))
    rec.case, rec.cluster = "a case", "sequential"
    code, payload = rec.call("get_tasks", "/workflow/get_tasks/3",
                             query={"max_task_id": 0, "chunk_size": 2})
    assert code == 200 and "127.0.0.1:5555" in payload["url"]  # the caller sees the raw answer
    rec.ok("update_status", "/workflow_run/4/update_status", {"status": "R", "p": "/tmp/rec-x/m"})
    first, second = rec.exchanges
    assert (first.method, first.route, first.body) == ("GET", "/workflow/get_tasks/3", None)
    assert first.query == {"client_jobmon_version": CLIENT_VERSION, "max_task_id": 0,
                           "chunk_size": 2}
    assert "127.0.0.1:PORT/api/v3/workflow/get_tasks/3" in first.response["url"]
    assert second.method == "PUT" and second.body == {"status": "R", "p": "{tmp}/m"}
    assert (second.case, second.cluster) == ("a case", "sequential")


def test_recorder_resends_once_after_the_server_dropped_the_connection_on_an_error() -> None:
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(500, json={"error": {}})
        if calls["n"] == 2:
            raise httpx.ReadError("Connection reset by peer", request=request)
        return httpx.Response(200, json={"status": "R"})

    rec = Recorder("http://h/api/v3", transport=httpx.MockTransport(flaky))
    assert rec.call("log_heartbeat", "/workflow_run/1/log_heartbeat", {})[0] == 500
    assert rec.call("update_status", "/workflow_run/1/update_status", {"status": "R"}) == (
        200, {"status": "R"})
    assert rec.resets_after_error == [500]
    with pytest.raises(RecordingError, match="answered 500"):
        Recorder("http://h", transport=httpx.MockTransport(
            lambda r: httpx.Response(500, json={}))).ok("time", "/time")


def test_reset_without_a_preceding_error_is_not_hidden() -> None:
    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("reset", request=request)

    with pytest.raises(httpx.ReadError):
        Recorder("http://h", transport=httpx.MockTransport(reset)).call("time", "/time")


def test_fixtures_round_trip_one_file_per_route(tmp_path: Path) -> None:
    rec = Recorder("http://h/api/v3", transport=httpx.MockTransport(_echo))
    rec.call("time", "/time")
    rec.call("time", "/time")
    rec.call("set_resume", "/workflow/3/set_resume", {"reset_running_jobs": True})
    files = write_fixtures(rec.exchanges, tmp_path)
    assert sorted(p.name for p in files) == ["set_resume.json", "time.json"]
    docs = {doc["key"]: doc for doc in load_fixtures(tmp_path)}
    assert len(docs["time"]["examples"]) == 2
    assert docs["set_resume"]["route"] == "/workflow/{workflow_id}/set_resume"
    assert docs["set_resume"]["examples"][0]["body"] == {"reset_running_jobs": True}


@given(st.lists(st.integers(1, 10**9), max_size=20), st.sampled_from(["list", "json", "null"]))
def test_downstream_node_ids_accept_list_json_string_or_null(ids: list[int], form: str) -> None:
    value = {"list": ids, "json": json.dumps(ids), "null": None}[form]
    assert parse_downstream(value) == ([] if form == "null" else ids)


def test_downstream_node_ids_of_another_type_are_rejected() -> None:
    with pytest.raises(RecordingError, match="unexpected type int"):
        parse_downstream(7)


def test_mini_swarm_releases_a_dependent_only_when_all_upstreams_are_done() -> None:
    swarm = MiniSwarm(Recorder("http://h", transport=httpx.MockTransport(_echo)), 1, 1, "seq")
    swarm.tasks = {i: {"status": "G", "array_id": 1, "requested": {}} for i in (1, 2, 3)}
    swarm.downstream = {1: [3], 2: [3], 3: []}
    swarm.upstream_left = {1: 0, 2: 0, 3: 2}
    swarm.apply({"D": [1], "R": [2], "Q": [99]})  # 99: unknown ids are ignored
    assert swarm.ready == []
    swarm.apply({"D": [1, 2]})  # 1 again: no change, so 3 is not released twice
    assert swarm.ready == [3]
    swarm.apply({"G": [2]})
    assert swarm.statuses() == {1: "D", 2: "G", 3: "G"}
