"""Our swarm drives workflows bound by the real Jobmon client on the real Jobmon server (issue 5).

Every test binds a new workflow with the real client (``jobmon_client_driver.py bind``), runs it
with ``actors.app.run_workflow`` (our four actors in their own processes) and the real
``sequential`` or ``multiprocess`` distributor started by our supervisor from a
``--distributor-command``, then checks the outcome in the server's database (read-only).
Run creation goes the way the Jobmon client does it (set_resume_state, POST /workflow_run, L->B),
the distributor moves the run to O, and our orchestrator asks for R only then.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from actors.app import RunOutcome
from actors.gateway import Gateway
from messages.orchestrator import TasksChanged
from messages.values import RunStatus, TaskStatus

from .fault_proxy import FaultProxy
from .jobmon_procs import distributor_command
from .jobmon_ref import JobmonServer, ReferenceEnv
from .scenarios import chain, fail_fast, fan_out_fan_in, long_middle, retry_fail, wide
from .swarm_runs import JobmonDb, Sampler, bind_with_client, root_url, run_ours, wait_for

pytestmark = [pytest.mark.interop, pytest.mark.process]

CLUSTERS = ["sequential", "multiprocess"]


def _distributor_gone(outcome: RunOutcome) -> None:
    """Our supervisor stopped the distributor (it never exits by itself) and its children."""
    pid = outcome.actors.get("distributor")
    if pid is not None:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"


@pytest.mark.timeout(240)
@pytest.mark.parametrize("cluster", CLUSTERS)
def test_chain_runs_to_done(jobmon_reference: ReferenceEnv, jobmon_server: JobmonServer,
                            cluster: str, tag: str, tmp_path: Path) -> None:
    bound = bind_with_client(jobmon_reference, jobmon_server, chain(cluster, tag, length=3))
    wf, tasks = bound["workflow_id"], bound["tasks"]

    # the Jobmon way of readiness: ALIVE on the distributor's stderr (no newline after it)
    outcome = run_ours(jobmon_reference, jobmon_server, wf, cluster, tmp_path,
                       ready="ALIVE", stream="stderr")

    assert outcome.exit_code == 0, outcome.result
    result = outcome.result
    assert result.final_status is RunStatus.DONE and result.error is None
    assert (result.total_tasks, result.done_count, result.failed_count) == (3, 3, 0)
    db = JobmonDb(jobmon_server)
    assert db.runs(wf) == {result.workflow_run_id: "D"}
    assert db.task_statuses(tasks) == {"t1": "D", "t2": "D", "t3": "D"}
    assert db.instance_counts(tasks) == {"t1": 1, "t2": 1, "t3": 1}
    _distributor_gone(outcome)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("cluster", CLUSTERS)
def test_fan_out_fan_in_queues_the_sink_after_every_branch(
        jobmon_reference: ReferenceEnv, jobmon_server: JobmonServer, cluster: str, tag: str,
        tmp_path: Path) -> None:
    bound = bind_with_client(jobmon_reference, jobmon_server, fan_out_fan_in(cluster, tag))
    wf, tasks = bound["workflow_id"], bound["tasks"]
    seen: list[tuple[int, TaskStatus]] = []
    lock = threading.Lock()

    def on_event(event: object) -> None:
        if isinstance(event, TasksChanged):
            with lock:
                seen.extend(event.changes)

    # the default readiness: the run reaches O (the status way)
    outcome = run_ours(jobmon_reference, jobmon_server, wf, cluster, tmp_path,
                       on_event=on_event)

    assert outcome.exit_code == 0, outcome.result
    db = JobmonDb(jobmon_server)
    assert set(db.task_statuses(tasks).values()) == {"D"}
    assert set(db.instance_counts(tasks).values()) == {1}
    with lock:
        order = list(seen)
    sink_queued = order.index((tasks["sink"], TaskStatus.QUEUED))
    last_branch_done = max(order.index((tasks[f"w{i}"], TaskStatus.DONE)) for i in (1, 2, 3))
    root_done = order.index((tasks["root"], TaskStatus.DONE))
    assert root_done < min(order.index((tasks[f"w{i}"], TaskStatus.QUEUED)) for i in (1, 2, 3))
    assert last_branch_done < sink_queued
    _distributor_gone(outcome)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("cluster", CLUSTERS)
def test_retry_then_fatal_ends_the_run_in_error(jobmon_reference: ReferenceEnv,
                                                jobmon_server: JobmonServer, cluster: str,
                                                tag: str, tmp_path: Path) -> None:
    bound = bind_with_client(jobmon_reference, jobmon_server,
                             retry_fail(cluster, tag, max_attempts=2))
    wf, tasks = bound["workflow_id"], bound["tasks"]

    outcome = run_ours(jobmon_reference, jobmon_server, wf, cluster, tmp_path)

    assert outcome.exit_code == 1
    result = outcome.result
    assert result.final_status is RunStatus.ERROR
    assert result.failed_task_ids == (tasks["t2"],) and result.done_task_ids == (tasks["t1"],)
    db = JobmonDb(jobmon_server)
    assert db.runs(wf) == {result.workflow_run_id: "E"}
    assert db.task_statuses(tasks) == {"t1": "D", "t2": "F", "t3": "G"}
    # exactly max_attempts instances of the failing task, each an error; t3 never queued
    assert [status for _, status, _ in db.instances(tasks["t2"])] == ["E", "E"]
    assert db.instance_counts(tasks) == {"t1": 1, "t2": 2, "t3": 0}
    _distributor_gone(outcome)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("cluster", CLUSTERS)
def test_fail_fast_stops_after_the_first_fatal_task(jobmon_reference: ReferenceEnv,
                                                    jobmon_server: JobmonServer, cluster: str,
                                                    tag: str, tmp_path: Path) -> None:
    bound = bind_with_client(jobmon_reference, jobmon_server, fail_fast(cluster, tag))
    wf, tasks = bound["workflow_id"], bound["tasks"]

    outcome = run_ours(jobmon_reference, jobmon_server, wf, cluster, tmp_path, fail_fast=True)

    assert outcome.exit_code == 1
    assert outcome.result.final_status is RunStatus.ERROR
    assert tasks["a"] in outcome.result.failed_task_ids
    db = JobmonDb(jobmon_server)
    assert db.runs(wf) == {outcome.result.workflow_run_id: "E"}
    statuses = db.task_statuses(tasks)
    assert statuses["a"] == "F" and statuses["c"] == "G"
    assert db.instance_counts(tasks)["c"] == 0
    _distributor_gone(outcome)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("cluster", CLUSTERS)
def test_cold_resume_of_a_run_our_swarm_drives(jobmon_reference: ReferenceEnv,
                                               jobmon_server: JobmonServer, cluster: str,
                                               tag: str, tmp_path: Path) -> None:
    marker = tmp_path / "t2-started"
    bound = bind_with_client(jobmon_reference, jobmon_server,
                             long_middle(cluster, tag, str(marker), seconds=120))
    wf, tasks = bound["workflow_id"], bound["tasks"]
    first: dict[str, Any] = {}

    def drive_first() -> None:
        try:
            first["outcome"] = run_ours(jobmon_reference, jobmon_server, wf, cluster,
                                        tmp_path / "first")
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            first["error"] = exc

    thread = threading.Thread(target=drive_first, name="first-swarm")
    thread.start()
    try:
        wait_for(lambda: marker.exists() or not thread.is_alive(), 120, "t2 to start")
        assert marker.exists(), first
        db = JobmonDb(jobmon_server)
        old_run = max(db.runs(wf))

        resumed = run_ours(jobmon_reference, jobmon_server, wf, cluster, tmp_path / "second",
                           resume="cold")
    finally:
        thread.join(timeout=150)
    assert not thread.is_alive() and "error" not in first, first

    old: RunOutcome = first["outcome"]
    assert old.result.workflow_run_id == old_run
    assert old.result.final_status is RunStatus.TERMINATED
    assert resumed.exit_code == 0, resumed.result
    assert resumed.result.final_status is RunStatus.DONE
    runs = db.runs(wf)
    assert runs[old_run] == "T" and runs[resumed.result.workflow_run_id] == "D"
    assert db.task_statuses(tasks) == {"t1": "D", "t2": "D", "t3": "D"}
    # t2 was killed in the old run (K, then F once its worker or distributor reported) and
    # ran again, to D, in the resumed one; t1 was not run again
    t2 = db.instances(tasks["t2"])
    assert [(status, run) for _, status, run in t2] == [
        ("F", old_run), ("D", resumed.result.workflow_run_id)]
    assert db.instance_counts(tasks) == {"t1": 1, "t2": 2, "t3": 1}
    # the resumed run loaded only what was left (get_tasks sends no D task)
    assert resumed.result.done_task_ids == (tasks["t2"], tasks["t3"])
    _distributor_gone(old)
    _distributor_gone(resumed)


@pytest.mark.timeout(240)
def test_concurrency_limit_changed_mid_run(jobmon_reference: ReferenceEnv,
                                           jobmon_server: JobmonServer, tag: str,
                                           tmp_path: Path) -> None:
    """limit 1 -> 0 (a pause: nothing new starts) -> 3 (up to three at once), on the server."""
    spec = wide("multiprocess", tag, width=6, seconds=2, limit=1)
    bound = bind_with_client(jobmon_reference, jobmon_server, spec)
    wf = bound["workflow_id"]
    db = JobmonDb(jobmon_server)
    sampler = Sampler(db, wf)
    outcome: dict[str, Any] = {}

    def drive() -> None:
        try:
            outcome["run"] = run_ours(jobmon_reference, jobmon_server, wf, "multiprocess",
                                      tmp_path)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=drive, name="swarm")
    sampler.start()
    thread.start()
    operator = Gateway(root_url(jobmon_server))
    try:
        # the sampler itself must have seen the first task (it samples every 0.1 s)
        wait_for(lambda: sampler.peak(0, time.monotonic()) > 0 or not thread.is_alive(), 90,
                 "the first task")
        started = time.monotonic()
        operator.update_max_concurrently_running(wf, 0)
        wait_for(lambda: db.active(wf) == 0, 60, "the running task to finish")
        drained = time.monotonic()
        time.sleep(3.0)
        resumed = time.monotonic()
        operator.update_max_concurrently_running(wf, 3)
        thread.join(timeout=150)
    finally:
        sampler.halt.set()
        operator.close()
    sampler.join(timeout=5)
    assert not thread.is_alive() and "error" not in outcome, outcome
    run: RunOutcome = outcome["run"]
    assert run.exit_code == 0, run.result
    assert sampler.peak(0, started) == 1  # limit 1 before the change
    # paused: once the running task finished nothing new was queued (the swarm re-reads the
    # limit within a second; the running task alone takes two)
    assert sampler.peak(drained, resumed) == 0
    assert 2 <= sampler.peak(resumed, time.monotonic()) <= 3
    assert set(db.task_statuses(bound["tasks"]).values()) == {"D"}
    assert set(db.instance_counts(bound["tasks"]).values()) == {1}


@pytest.mark.timeout(240)
def test_a_batch_whose_answer_was_lost_is_not_queued_twice(
        jobmon_reference: ReferenceEnv, jobmon_server: JobmonServer, tag: str,
        tmp_path: Path) -> None:
    """Jobmon 3.4 makes one more task instance for every repeat of a batch. The first batch's
    answer is lost after the server applied it: our swarm must learn the outcome from a full
    sync, not by sending the batch again."""
    bound = bind_with_client(jobmon_reference, jobmon_server, chain("sequential", tag, 2))
    wf, tasks = bound["workflow_id"], bound["tasks"]

    def first_batch(method: str, path: str) -> bool:
        return method == "POST" and "/queue_task_batch" in path

    with FaultProxy(root_url(jobmon_server), drop=first_batch, times=1) as proxy:
        outcome = run_ours(jobmon_reference, jobmon_server, wf, "sequential", tmp_path,
                           server_url=proxy.root_url)

    assert proxy.dropped == 1
    assert outcome.exit_code == 0, outcome.result
    db = JobmonDb(jobmon_server)
    assert db.task_statuses(tasks) == {"t1": "D", "t2": "D"}
    assert db.instance_counts(tasks) == {"t1": 1, "t2": 1}


@pytest.mark.timeout(240)
def test_cli_runs_a_workflow_bound_by_the_real_client(jobmon_reference: ReferenceEnv,
                                                      jobmon_server: JobmonServer, tag: str,
                                                      tmp_path: Path) -> None:
    """``python -m actors.main run --server URL --workflow-id N --distributor-command ...``"""
    bound = bind_with_client(jobmon_reference, jobmon_server, chain("multiprocess", tag, 2))
    wf, tasks = bound["workflow_id"], bound["tasks"]
    result_file = tmp_path / "result.json"
    argv = [sys.executable, "-m", "actors.main", "run", "--server", root_url(jobmon_server),
            "--workflow-id", str(wf), "--distributor-command",
            distributor_command(jobmon_reference, "multiprocess", jobmon_server.client_env()),
            "--distributor-ready", "ALIVE", "--distributor-ready-stream", "stderr",
            "--heartbeat-interval", "1", "--timeout", "150", "--state-dir",
            str(tmp_path / "state"), "--progress", "off", "--json", str(result_file)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=200, check=False)

    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-4000:])
    document = json.loads(result_file.read_text(encoding="utf-8"))
    assert document["final_status"] == "D" and document["workflow_id"] == wf
    assert document["done_count"] == 2 and document["error"] is None
    db = JobmonDb(jobmon_server)
    assert db.runs(wf) == {document["workflow_run_id"]: "D"}
    assert db.instance_counts(tasks) == {"t1": 1, "t2": 1}
