"""The distributor loop against an in-memory stand-in of the distributor routes (unit tests).

The stand-in (``FakeRun``) answers through ``httpx.MockTransport``; the backend is the real sim
backend on a fake clock. End-to-end behaviour with the real server is in ``test_e2e.py``.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest

from actors.distributor.backend import DistributorId
from actors.distributor.http import ServerClient
from actors.distributor.service import Distributor, DistributorConfig
from actors.distributor.sim import Duration, SimBackend, SimConfig
from actors.errors import ProtocolMismatch


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 0.25  # every look at the clock moves time on
        return self.now


class FakeRun:
    """One run's instances and the distributor routes, in memory."""

    def __init__(self, n: int, run_status: str = "B", claim_wait: bool = False) -> None:
        self.run_status = run_status
        self.claim_wait = claim_wait
        self.ti: dict[int, str] = {i: "Q" for i in range(1, n + 1)}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.claim_sizes: list[int] = []
        self.kill_self: list[int] = []
        self.triaging: list[int] = []
        self.on_heartbeat: Any = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        path = request.url.path.removeprefix("/api/v3")
        self.requests.append((path, body))
        route = path.rsplit("/", 1)[-1]
        if path == "/cluster":
            return httpx.Response(200, json={"cluster": [1, body["name"], body["type"], "{}"],
                                             "queues": {}})
        if route == "started":
            if self.run_status == "B":
                self.run_status = "I"
            extra = {"claim_wait": True} if self.claim_wait else {}
            return httpx.Response(200, json={"status": self.run_status, **extra})
        if route == "launched":
            if self.run_status == "I":
                self.run_status = "O"
            for ti, did in body["task_instances"]:
                self.ti[ti] = "O" if did else "W"
            return httpx.Response(200, json={"task_instances": {
                str(ti): self.ti[ti] for ti, _ in body["task_instances"]}})
        if route == "claim":
            self.claim_sizes.append(body["max"])
            picked = [t for t, s in self.ti.items() if s == "Q"][:body["max"]]
            for t in picked:
                self.ti[t] = "I"
            return httpx.Response(200, json={"run_status": self.run_status, "task_instances": [
                {"task_instance_id": t, "task_id": t, "array_id": 1, "name": f"t{t}",
                 "command": "true", "requested_resources": {"memory": 1, "runtime": 60},
                 "cluster_name": "sim", "queue_name": "all", "attempt": 1} for t in picked]})
        if route == "results":
            for r in body["results"]:
                self.ti[r["task_instance_id"]] = r["status"]
            return httpx.Response(200, json={"task_instances": {
                str(r["task_instance_id"]): r["status"] for r in body["results"]}})
        if route == "heartbeat":
            if self.on_heartbeat:
                self.on_heartbeat(self)
            answer = {"run_status": self.run_status, "kill_self": self.kill_self,
                      "triaging": self.triaging}
            self.kill_self, self.triaging = [], []
            return httpx.Response(200, json=answer)
        return httpx.Response(404, json={"detail": f"no route {path}"})


def _distributor(run: FakeRun, sim: SimConfig | None = None, **kw: Any) -> Distributor:
    clock = FakeClock()
    client = ServerClient("http://fake", transport=httpx.MockTransport(run.handler),
                          retry_budget=1, sleep=lambda s: None)
    config = DistributorConfig(workflow_run_id=5, heartbeat_interval=1.0, max_idle=0.001,
                               **kw)
    return Distributor(config, client, SimBackend(sim or SimConfig(), clock=clock), clock=clock)


def _run_until(dist: Distributor, run: FakeRun, done: Any, max_ticks: int = 500) -> None:
    for _ in range(max_ticks):
        dist.tick()
        if done(run):
            return
    raise AssertionError(f"not done after {max_ticks} ticks: {run.ti}")


def test_start_declares_queues_and_moves_the_run_to_o() -> None:
    run = FakeRun(0)
    dist = _distributor(run)
    assert dist.start().value == "I"
    paths = [p for p, _ in run.requests]
    assert paths == ["/cluster", "/distributor/5/started", "/distributor/5/launched"]
    cluster = run.requests[0][1]
    assert cluster["name"] == "sim" and {q["name"] for q in cluster["queues"]} == {"all", "long"}
    assert run.requests[2][1]["task_instances"] == []
    assert run.run_status == "O"


@pytest.mark.timeout(30)
def test_instances_are_claimed_in_batches_and_reported_done() -> None:
    run = FakeRun(2500)
    dist = _distributor(run, claim_batch=1000)
    dist.start()
    _run_until(dist, run, lambda r: all(s == "D" for s in r.ti.values()))
    assert max(run.claim_sizes) == 1000
    results = [b for p, b in run.requests if p.endswith("/results")]
    statuses = [r["status"] for b in results for r in b["results"]]
    assert statuses.count("R") == 2500 and statuses.count("D") == 2500
    for body in results:  # R before D for each instance
        order: dict[int, list[str]] = {}
        for r in body["results"]:
            order.setdefault(r["task_instance_id"], []).append(r["status"])
        assert all(o == ["R", "D"] for o in order.values())
    assert len(results) <= 10  # batched: a few requests, not one per instance
    run.run_status = "D"
    dist.run()  # sees D at once, closes the backend and returns
    assert len(dist.tracker) == 0


def test_heartbeat_kills_and_triages() -> None:
    run = FakeRun(3)
    dist = _distributor(run, sim=SimConfig(duration=Duration.from_spec("1000")))
    dist.start()
    dist.tick()  # claims and launches 1..3; they "run" for 1000 s
    assert {run.ti[t] for t in (1, 2, 3)} == {"R"}
    run.kill_self = [1, 99]  # 99 is not ours: F at once
    run.triaging = [2, 98]  # 2 is alive: back to R; 98 is not ours: U
    dist.pacer.next_heartbeat = 0
    dist.tick()
    dist.tick()
    assert run.ti[1] == "F" and run.ti[99] == "F"
    assert run.ti[2] == "R" and run.ti[98] == "U"
    assert run.ti[3] == "R"
    beats = [b for p, b in run.requests if p.endswith("/heartbeat")]
    assert beats[0]["task_instance_ids"] == [1, 2, 3]
    assert beats[0]["next_report_increment"] == pytest.approx(3.1)


def test_hot_resume_waits_for_running_instances() -> None:
    run = FakeRun(2, run_status="R")
    dist = _distributor(run, sim=SimConfig(duration=Duration.from_spec("30")))
    dist.start()
    dist.tick()
    run.run_status = "H"
    dist.pacer.next_heartbeat = 0
    dist.tick()

    def to_t(r: FakeRun) -> None:
        r.run_status = "T"
    run.on_heartbeat = to_t
    dist.run()  # T, but drains the running instances first
    assert run.ti == {1: "D", 2: "D"}


def test_terminal_run_status_kills_what_runs() -> None:
    run = FakeRun(2, run_status="R")
    dist = _distributor(run, sim=SimConfig(duration=Duration.from_spec("1000")))
    dist.start()
    dist.tick()
    run.run_status = "E"
    dist.pacer.next_heartbeat = 0
    dist.run()
    ids = [DistributorId("sim-1"), DistributorId("sim-2")]
    assert dist.backend.alive(ids) == {ids[0]: False, ids[1]: False}  # closed: killed
    assert run.ti == {1: "R", 2: "R"}  # nothing more reported after the run ended


def test_stop_event_and_lost_parent_end_the_loop() -> None:
    run = FakeRun(0, run_status="R")
    dist = _distributor(run)
    dist.start()
    dist.stop.set()
    dist.run()
    run2 = FakeRun(0, run_status="R")
    dist2 = Distributor(dist.config, ServerClient("http://fake", transport=httpx.MockTransport(
        run2.handler)), SimBackend(), stop=threading.Event(), orphaned=lambda: True)
    dist2.run()
    assert not any(p.endswith("/claim") for p, _ in run2.requests)


def test_unlaunchable_instances_are_reported_without_an_id() -> None:
    run = FakeRun(1, run_status="R")

    original = run.handler

    def handler(request: httpx.Request) -> httpx.Response:
        response = original(request)
        if request.url.path.endswith("/claim"):
            data = response.json()
            for ti in data["task_instances"]:
                ti["requested_resources"] = {"memory": "lots"}
            return httpx.Response(200, json=data)
        return response

    dist = Distributor(DistributorConfig(workflow_run_id=5), ServerClient(
        "http://fake", transport=httpx.MockTransport(handler)), SimBackend())
    dist.start()
    dist.tick()
    assert run.ti[1] == "W"


def test_malformed_answers_raise_protocol_mismatch() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "nonsense"})

    dist = Distributor(DistributorConfig(workflow_run_id=5), ServerClient(
        "http://fake", transport=httpx.MockTransport(handler)), SimBackend())
    with pytest.raises(ProtocolMismatch, match="unknown run status"):
        dist.start()


@pytest.mark.timeout(30)
def test_an_idle_loop_waits_in_its_claim_when_the_server_offers_it() -> None:
    for offered in (True, False):
        run = FakeRun(0, claim_wait=offered)
        dist = _distributor(run)
        dist.start()
        slept: list[float] = []
        dist.stop.wait = lambda t=None: slept.append(t) or False  # type: ignore[method-assign]
        ticks = 0

        def orphaned() -> bool:
            nonlocal ticks
            ticks += 1
            return ticks > 4  # four idle ticks, then the loop ends

        dist._orphaned = orphaned
        dist.run()
        waits = [b.get("wait") for p, b in run.requests if p.endswith("/claim")]
        assert len(waits) == 4 and waits[0] is None  # a busy start asks at once
        if offered:  # the idle pause is spent on the server, woken by queued work
            assert all(w is not None and w > 0 for w in waits[1:]) and slept == []
        else:  # an older server: the loop sleeps, and never sends wait
            assert waits == [None] * 4 and len(slept) == 4
