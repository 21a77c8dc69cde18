"""Answers lost on the way back (a read timeout while the server was frozen, then a retry).

Found by the frozen-server test: the distributor's ``claim`` timed out while the frozen server
still held the request; the server then moved those instances Q → I and answered a connection
nobody read, the retry claimed others, and the first ones stayed in I for ever (their
dependents never ran). Now the run's only distributor claims with ``include_unlaunched`` and
gets them again; it never launches an instance twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from actors.distributor.http import ServerClient
from actors.distributor.service import Distributor, DistributorConfig
from actors.distributor.sim import Duration, SimBackend, SimConfig
from actors.server import ServerSettings, create_app
from tests.server.helpers import API, TestClient, bind_dag, queue, start_run


@pytest.fixture
def client(tmp_path: Any) -> Iterator[TestClient]:
    app: FastAPI = create_app(ServerSettings(db_url=f"sqlite:///{tmp_path / 's.sqlite'}"))
    with TestClient(app, base_url=API) as http:
        yield http
    app.state.server.db.dispose()


def _claim(client: TestClient, wfr: int, n: int, **extra: Any) -> list[int]:
    r = client.post(f"/distributor/{wfr}/claim", json={"max": n, **extra})
    assert r.status_code == 200, r.text
    return [c["task_instance_id"] for c in r.json()["task_instances"]]


def test_a_claim_whose_answer_was_lost_is_handed_out_again(client: TestClient) -> None:
    ids = bind_dag(client, {f"t{i}": [] for i in range(6)})
    wfr = start_run(client, ids)
    queue(client, ids, wfr, [f"t{i}" for i in range(6)])
    lost = _claim(client, wfr, 2)  # nobody reads this answer
    plain = _claim(client, wfr, 2)  # nor this one's
    assert len(lost) == 2 and len(plain) == 2
    assert not set(plain) & set(lost)  # plain claims stay disjoint
    again = _claim(client, wfr, 3, include_unlaunched=True)
    assert again == [*lost, plain[0]]  # the run's instances in I first, oldest first
    launched = client.post(f"/distributor/{wfr}/launched", json={
        "task_instances": [[t, f"d{t}"] for t in again], "next_report_increment": 60})
    assert launched.status_code == 200
    rest = _claim(client, wfr, 10, include_unlaunched=True)
    assert rest[0] == plain[1] and len(rest) == 3 and not set(rest) & set(again)
    assert _claim(client, wfr, 10, include_unlaunched=True) == rest  # still not launched
    assert _claim(client, wfr, 10) == []  # a plain claim finds no Q instance left


class LosingRun:
    """The distributor routes of one run in memory; the first claim's answer is lost (the
    instances move to I, the client sees a timeout and retries)."""

    def __init__(self, n: int) -> None:
        self.ti: dict[int, str] = {i: "Q" for i in range(1, n + 1)}
        self.launched: list[int] = []
        self.lose_next_claim = True

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        route = request.url.path.rsplit("/", 1)[-1]
        if request.url.path.endswith("/cluster"):
            return httpx.Response(200, json={"cluster": [1, "sim", "sim", "{}"], "queues": {}})
        if route == "started":
            return httpx.Response(200, json={"status": "I"})
        if route == "claim":
            redo = [t for t, s in self.ti.items() if s == "I"] if body.get(
                "include_unlaunched") else []
            fresh = [t for t, s in self.ti.items() if s == "Q"][:body["max"] - len(redo)]
            for t in fresh:
                self.ti[t] = "I"
            if self.lose_next_claim and fresh:
                self.lose_next_claim = False
                raise httpx.ReadTimeout("the server was frozen", request=request)
            return httpx.Response(200, json={"run_status": "R", "task_instances": [
                {"task_instance_id": t, "task_id": t, "array_id": 1, "name": f"t{t}",
                 "command": "true", "requested_resources": {"memory": 1, "runtime": 60},
                 "cluster_name": "sim", "queue_name": "all", "attempt": 1}
                for t in [*redo, *fresh]]})
        if route == "launched":
            for ti, did in body["task_instances"]:
                if did is not None and self.ti[ti] == "I":
                    self.launched.append(ti)
                    self.ti[ti] = "O"
            return httpx.Response(200, json={"task_instances": {
                str(ti): self.ti[ti] for ti, _ in body["task_instances"]}})
        if route == "results":
            for r in body["results"]:
                self.ti[r["task_instance_id"]] = r["status"]
            return httpx.Response(200, json={"task_instances": {
                str(r["task_instance_id"]): r["status"] for r in body["results"]}})
        if route == "heartbeat":
            return httpx.Response(200, json={"run_status": "R", "kill_self": [],
                                             "triaging": []})
        raise AssertionError(f"unexpected {request.url.path}")


@pytest.mark.timeout(30)
def test_the_distributor_gets_back_what_a_lost_claim_took_and_launches_it_once() -> None:
    run = LosingRun(8)
    now = [0.0]

    def clock() -> float:
        now[0] += 0.1
        return now[0]

    client = ServerClient("http://s.test", transport=httpx.MockTransport(run.handler),
                          sleep=lambda s: None)
    backend = SimBackend(SimConfig(duration=Duration("const", (0.0,)), max_in_flight=3), clock=clock)
    dist = Distributor(DistributorConfig(workflow_run_id=1, claim_batch=3), client, backend,
                       clock=clock)
    dist.start()
    for _ in range(50):
        dist.tick()
        if all(s == "D" for s in run.ti.values()):
            break
    assert run.ti == dict.fromkeys(range(1, 9), "D")  # nothing stranded in I
    assert sorted(run.launched) == list(range(1, 9))  # each launched exactly once
