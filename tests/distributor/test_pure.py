"""Pure parts of the distributor: resources, admission, wire shapes, outcomes, tracker."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import actors.distributor
from actors.distributor.backend import DistributorId, Outcome, Reporter
from actors.distributor.errors import ResourceSpecError
from actors.distributor.local.admission import Budget, Demand, admit
from actors.distributor.local.outcomes import parse_outcome_file, worker_outcomes
from actors.distributor.resources import parse_memory_gib, parse_resources, parse_runtime_s
from actors.distributor.tracker import Pacer, Tracker, plan_heartbeat, triage_reports
from actors.distributor.wire import launched_body, parse_claim, parse_heartbeat, results_body
from actors.errors import ProtocolMismatch
from actors.worker import exitcodes
from messages.values import RunStatus, TaskInstanceId
from messages.values import TaskInstanceStatus as S

TI = TaskInstanceId


# -- resources ------------------------------------------------------------------------------

def test_memory_and_runtime_forms() -> None:
    assert parse_memory_gib(2) == 2.0
    assert parse_memory_gib("400M") == pytest.approx(400 / 1024)
    assert parse_memory_gib("8G") == 8.0 and parse_memory_gib("1T") == 1024.0
    assert parse_memory_gib("512MB") == 0.5
    assert parse_runtime_s(90) == 90 and parse_runtime_s("1h") == 3600
    assert parse_runtime_s("60m") == 3600 and parse_runtime_s("01:00:30") == 3630
    assert parse_runtime_s("2:30") == 150 and parse_runtime_s("1d") == 86400


@pytest.mark.parametrize("value", [0, -1, "x", "4Q", True, None, float("nan"), [1]])
def test_bad_memory_names_the_field(value: object) -> None:
    with pytest.raises(ResourceSpecError, match=r"requested_resources\['memory'\]"):
        parse_memory_gib(value)


@pytest.mark.parametrize("value", [0, "soon", "1:x:3", False, "5w"])
def test_bad_runtime_names_the_field(value: object) -> None:
    with pytest.raises(ResourceSpecError, match="runtime"):
        parse_runtime_s(value)


def test_parse_resources() -> None:
    r = parse_resources({"memory": "200M", "cores": 2, "runtime": "1m", "queue": "all", "x": 1})
    assert r.memory_bytes == 200 * 2 ** 20 and r.cores == 2 and r.runtime_s == 60
    assert parse_resources({}).memory_gib is None and parse_resources({}).cores == 1
    for bad in (0, 1.5, "2", True):
        with pytest.raises(ResourceSpecError, match="cores"):
            parse_resources({"cores": bad})


# -- admission ------------------------------------------------------------------------------

def test_admission_by_count_cores_and_memory() -> None:
    budget = Budget(max_parallel=3, cores=4, memory_gib=10)
    d = Demand(1, 1.0)
    assert admit(budget, [], [d] * 5) == 3
    assert admit(budget, [d, d, d], [d]) == 0
    assert admit(budget, [Demand(3, 1)], [Demand(2, 1), d]) == 0  # no overtaking
    assert admit(budget, [Demand(1, 8)], [Demand(1, 3)]) == 0
    assert admit(budget, [], [Demand(8, 100), d]) == 1  # too big: runs alone
    with pytest.raises(ValueError):
        Budget(0, 1, 1)


@given(st.lists(st.tuples(st.integers(1, 4), st.floats(0, 8)), max_size=20),
       st.lists(st.tuples(st.integers(1, 4), st.floats(0, 8)), max_size=20))
def test_admission_never_overfills(running: list, waiting: list) -> None:
    budget = Budget(max_parallel=5, cores=6, memory_gib=12)
    run = [Demand(c, m) for c, m in running]
    wait = [Demand(c, m) for c, m in waiting]
    n = admit(budget, run, wait)
    assert 0 <= n <= len(wait)
    after = run + wait[:n]
    if n:
        assert len(after) <= max(budget.max_parallel, len(run))
        if len(after) > 1:
            assert sum(x.cores for x in after) <= max(budget.cores, sum(x.cores for x in run))


# -- wire -----------------------------------------------------------------------------------

def _claim_item(ti: int, **kw: object) -> dict:
    item = {"task_instance_id": ti, "task_id": 10 + ti, "array_id": 3, "name": f"t{ti}",
            "command": "true", "requested_resources": {"memory": 1, "runtime": 5},
            "cluster_name": "local", "queue_name": "all", "attempt": 2}
    item.update(kw)
    return item


def test_parse_claim() -> None:
    claim = parse_claim({"run_status": "R", "task_instances": [
        _claim_item(1), _claim_item(2, requested_resources=json.dumps({"cores": 2})),
        _claim_item(3, requested_resources={"memory": "huge"})]})
    assert claim.run_status is RunStatus.RUNNING
    assert [r.task_instance_id for r in claim.requests] == [1, 2]
    assert claim.requests[0].memory_gib == 1 and claim.requests[0].runtime_s == 5
    assert claim.requests[0].attempt == 2 and claim.requests[1].cores == 2
    assert [u.task_instance_id for u in claim.unlaunchable] == [3]
    assert "memory" in claim.unlaunchable[0].reason


@pytest.mark.parametrize("answer", [
    {}, {"run_status": "Q", "task_instances": []}, {"run_status": "R"},
    {"run_status": "R", "task_instances": [{"task_instance_id": "x"}]},
    {"run_status": "R", "task_instances": [_claim_item(1, command=None)]},
    {"run_status": "R", "task_instances": [_claim_item(1, array_id="a")]}, [1]])
def test_malformed_claims(answer: object) -> None:
    with pytest.raises(ProtocolMismatch, match="claim"):
        parse_claim(answer)


def test_parse_heartbeat_and_bodies() -> None:
    hb = parse_heartbeat({"run_status": "C", "kill_self": [1, 2], "triaging": []})
    assert hb.run_status is RunStatus.COLD_RESUME and hb.kill_self == (1, 2)
    with pytest.raises(ProtocolMismatch, match="kill_self"):
        parse_heartbeat({"run_status": "C", "kill_self": [True], "triaging": []})
    assert launched_body([(TI(1), DistributorId("a")), (TI(2), None)], 3.5) == {
        "task_instances": [[1, "a"], [2, None]], "next_report_increment": 3.5}
    body = results_body([Outcome(TI(4), DistributorId("d"), S.RESOURCE_ERROR, "m", 137)])
    assert body == {"results": [{"task_instance_id": 4, "status": "Z", "error_message": "m",
                                 "exit_code": 137}]}


# -- outcomes of a worker -------------------------------------------------------------------

def _file(status: str, msg: str | None = "boom", code: int | None = 3) -> str:
    return json.dumps({"task_instance_id": 1, "status": status, "error_message": msg,
                       "exit_code": code})


def test_worker_outcomes_by_exit_code() -> None:
    ti, did = TI(1), DistributorId("p.1")

    def out(code: int, *, kill: bool = False, text: str | None = None) -> list[tuple]:
        return [(o.status, o.reporter) for o in worker_outcomes(
            ti, did, code, kill_requested=kill, outcome_text=text, worker_log_tail="trace")]

    assert out(exitcodes.REPORTED, text=_file("E")) == [(S.ERROR, Reporter.WORKER)]
    assert out(exitcodes.REPORTED, kill=True) == [(S.DONE, Reporter.WORKER)]
    assert out(exitcodes.KILLED_SELF) == [(S.ERROR_FATAL, Reporter.DISTRIBUTOR)]
    assert out(exitcodes.TERMINATED, kill=True) == [(S.ERROR_FATAL, Reporter.DISTRIBUTOR)]
    assert out(-9, kill=True) == [(S.ERROR_FATAL, Reporter.DISTRIBUTOR)]
    assert out(exitcodes.UNREPORTED, text=_file("D", None, 0)) == [
        (S.RUNNING, Reporter.DISTRIBUTOR), (S.DONE, Reporter.DISTRIBUTOR)]
    assert out(exitcodes.UNREPORTED, text=_file("Z")) == [
        (S.RESOURCE_ERROR, Reporter.DISTRIBUTOR)]
    assert out(exitcodes.UNREPORTED, text="garbage") == [(S.UNKNOWN_ERROR, Reporter.DISTRIBUTOR)]
    [crash] = worker_outcomes(ti, did, -11, kill_requested=False, outcome_text=None,
                              worker_log_tail="Traceback")
    assert crash.status is S.UNKNOWN_ERROR and "SIGSEGV" in (crash.error_message or "")
    assert "Traceback" in (crash.error_message or "") and crash.exit_code == 139


def test_parse_outcome_file_rejects_odd_content() -> None:
    assert parse_outcome_file(_file("D", None, 0)) == (S.DONE, None, 0)
    assert parse_outcome_file(_file("K")) is None
    assert parse_outcome_file("[]") is None
    assert parse_outcome_file(json.dumps({"status": "E", "exit_code": True})) == (
        S.ERROR, None, None)


# -- tracker and pacer ----------------------------------------------------------------------

def test_tracker_and_heartbeat_plan() -> None:
    t = Tracker()
    t.add(TI(1), DistributorId("a"))
    t.add(TI(2), DistributorId("b"))
    plan = plan_heartbeat(t, [TI(1), TI(7)], [TI(2), TI(8)])
    assert plan.kill == ("a",) and plan.check_alive == ("b",)
    assert [(o.task_instance_id, o.status) for o in plan.reports] == [
        (7, S.ERROR_FATAL), (8, S.UNKNOWN_ERROR)]
    assert [o.status for o in triage_reports(t, {DistributorId("b"): True})] == [S.RUNNING]
    assert triage_reports(t, {DistributorId("b"): False}) == []
    reported = t.absorb([Outcome(TI(1), DistributorId("a"), S.DONE, reporter=Reporter.WORKER),
                         Outcome(TI(2), DistributorId("b"), S.RUNNING)])
    assert [o.task_instance_id for o in reported] == [2]
    assert t.active() == [2] and len(t) == 1 and t.ti(DistributorId("a")) is None


def test_pacer() -> None:
    p = Pacer(heartbeat_interval=10, min_idle=0.01, max_idle=0.1)
    assert p.heartbeat_due(0)
    p.heartbeat_sent(5)
    assert not p.heartbeat_due(14.9) and p.heartbeat_due(15)
    assert [p.pause(False) for _ in range(6)] == [0.01, 0.02, 0.04, 0.08, 0.1, 0.1]
    assert p.pause(True) == 0


def test_public_api() -> None:
    for name in actors.distributor.__all__:
        assert hasattr(actors.distributor, name)
    assert "Backend" in actors.distributor.__all__
