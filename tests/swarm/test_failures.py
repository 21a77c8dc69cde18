"""End to end through real processes: retries, resource errors, fail-fast, timeout, a dead
distributor. Real commands (``local`` backend) wherever what the command does matters."""

from __future__ import annotations

import os
import shlex
import signal
import sys
from pathlib import Path

import pytest

from actors.workflow import Task
from messages.orchestrator import TasksChanged
from messages.values import RunStatus, TaskInstanceStatus, TaskStatus
from tests.swarm.helpers import (
    Run,
    config,
    distributor_pid,
    gateway,
    instance_counts,
    request,
    run_and_wait,
    sim_args,
    statuses_by_name,
    wait_for,
    workflow,
)

pytestmark = pytest.mark.process

FLAKY = """
if [ -e flaky.tried ]; then
  echo fine > flaky.txt
else
  touch flaky.tried
  echo 'first attempt fails on purpose' >&2
  exit 1
fi
"""

#: Touches every page of 300 MiB, then lingers: over a 200M limit, under the scaled 1G one.
HOG = (f"{shlex.quote(sys.executable)} -c \"import time; b = bytearray(b'x') * (300 << 20); "
       "time.sleep(1.0); print(len(b))\" > hog.txt")


def _instances(url: str, workflow_id: int, name: str) -> list[TaskInstanceStatus]:
    with gateway(url) as gw:
        rows = sorted(gw.task_instances(workflow_id, task_name=name),
                      key=lambda r: r.task_instance_id)
    return [r.status for r in rows]


@pytest.mark.timeout(120)
def test_a_failed_attempt_is_retried_and_then_succeeds(tmp_path: Path, server_url: str) -> None:
    definition = workflow("retry", tmp_path, [
        Task("flaky", FLAKY, max_attempts=3),
        Task("report", "cat flaky.txt > report.txt", upstream=["flaky"], max_attempts=1),
    ])
    outcome, run = run_and_wait(definition, tmp_path / "state", server_url=server_url,
                                backend="local")

    assert outcome.exit_code == 0, outcome.result.error
    assert (tmp_path / "report.txt").read_text() == "fine\n"
    wf = outcome.result.workflow_id
    assert _instances(server_url, wf, "flaky") == [TaskInstanceStatus.ERROR,
                                                   TaskInstanceStatus.DONE]
    assert _instances(server_url, wf, "report") == [TaskInstanceStatus.DONE]
    flaky = next(t for t, n in outcome.task_names.items() if n == "flaky")
    queued = [s for e in run.of_type(TasksChanged) for t, s in e.changes
              if t == flaky and s is TaskStatus.QUEUED]
    assert len(queued) == 2  # queued once per attempt, never twice for one attempt


@pytest.mark.timeout(120)
def test_a_resource_error_is_adjusted_and_then_succeeds(tmp_path: Path,
                                                        server_url: str) -> None:
    """A memory hog over its 200M limit is killed (Z), adjusted (A, memory scaled to 1G), and
    succeeds on its second instance."""
    definition = workflow("hog", tmp_path, [
        Task("hog", HOG, max_attempts=3, resources={"memory": "200M"}),
        Task("after", "cat hog.txt > after.txt", upstream=["hog"]),
    ])
    outcome, run = run_and_wait(definition, tmp_path / "state", server_url=server_url,
                                backend="local")

    assert outcome.exit_code == 0, outcome.result.error
    assert (tmp_path / "after.txt").read_text().strip() == str(300 * 1024 * 1024)
    wf = outcome.result.workflow_id
    assert _instances(server_url, wf, "hog") == [TaskInstanceStatus.RESOURCE_ERROR,
                                                 TaskInstanceStatus.DONE]
    hog = next(t for t, n in outcome.task_names.items() if n == "hog")
    seen = [s for e in run.of_type(TasksChanged) for t, s in e.changes if t == hog]
    assert TaskStatus.ADJUSTING_RESOURCES in seen
    assert seen.index(TaskStatus.ADJUSTING_RESOURCES) < len(seen) - 1 - seen[::-1].index(
        TaskStatus.QUEUED)  # queued again after the adjustment
    with gateway(server_url) as gw:
        errors = [r.error_message or "" for r in gw.task_instances(wf, task_name="hog")]
    assert "memory" in errors[0]


@pytest.mark.timeout(120)
def test_fail_fast_stops_after_the_first_failed_task(tmp_path: Path, server_url: str) -> None:
    definition = workflow("fail-fast", tmp_path, [
        Task("bad", "exit 1", max_attempts=1),
        Task("after-bad", "touch after-bad.ran", upstream=["bad"]),
        Task("slow", "sleep 60; touch slow.ran"),
    ])
    run = Run(request(definition, state_dir=tmp_path / "state", server_url=server_url,
                      backend="local", cfg=config(fail_fast=True))).start()
    outcome = run.wait(45)  # long before "slow" could end

    result = outcome.result
    assert result.final_status is RunStatus.ERROR and outcome.exit_code == 1
    assert result.error is not None and result.error.type == "TasksFailed"
    assert "fail-fast" in result.error.message
    statuses = statuses_by_name(outcome)
    assert statuses["bad"] is TaskStatus.ERROR_FATAL
    assert statuses["after-bad"] is TaskStatus.REGISTERING
    assert "after-bad" not in instance_counts(server_url, result.workflow_id)
    assert not (tmp_path / "after-bad.ran").exists() and not (tmp_path / "slow.ran").exists()


@pytest.mark.timeout(90)
def test_a_run_past_its_timeout_ends_with_exit_code_3(tmp_path: Path, server_url: str) -> None:
    definition = workflow("timeout", tmp_path, [Task("long", "sleep 60")])
    outcome, _ = run_and_wait(definition, tmp_path / "state", server_url=server_url,
                              backend="sim", distributor_args=sim_args("60"),
                              cfg=config(timeout=3.0), timeout=60)

    assert outcome.exit_code == 3
    result = outcome.result
    assert result.final_status is RunStatus.ERROR
    assert result.error is not None and result.error.type == "RunTimeout"
    assert "timeout of 3 s" in result.error.message
    assert result.done_count == 0 and result.total_tasks == 1


@pytest.mark.timeout(90)
def test_a_killed_distributor_ends_the_run_with_exit_code_4(tmp_path: Path,
                                                            server_url: str) -> None:
    definition = workflow("dead-distributor", tmp_path, [Task(f"t{i}", "true")
                                                          for i in range(4)])
    run = Run(request(definition, state_dir=tmp_path / "state", server_url=server_url,
                      distributor_args=sim_args("60"))).start()
    wait_for(lambda: any(s is TaskStatus.RUNNING for s in run.task_statuses().values()), 45,
             "a task to run")
    run_id = run.run_id
    assert run_id is not None
    pid = distributor_pid(run_id)
    assert pid is not None, "the distributor process of the run was not found"
    os.kill(pid, signal.SIGKILL)
    outcome = run.wait(20)  # pushed by the supervisor: no heartbeat or sync needed

    assert outcome.exit_code == 4
    result = outcome.result
    assert result.final_status is RunStatus.ERROR
    assert result.error is not None and result.error.type == "DistributorDied"
    assert "signal 9" in result.error.message or "exit code 137" in result.error.message
