"""Orchestrator behaviours of DESIGN.md section 4 that need the real process tree.

Covered elsewhere in this tier: "all D -> D" (test_dags diamond), "D and F with nothing pending
-> E with the failed ids" (test_dags thread/process), fail-fast and the timeout
(test_failures), "C/H drains then T" (test_resume, the old run of each resume).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.runtime import Node
from actors.workflow import Task
from messages.orchestrator import GetProgress, Progress, TasksChanged
from messages.swarm import ORCHESTRATOR
from messages.synchronizer import TaskStatusesChanged
from messages.values import RunStatus, TaskStatus
from tests.swarm.helpers import (
    Run,
    gateway,
    request,
    run_status_on_server,
    rundir_of_orchestrator,
    sim_args,
    wait_for,
    workflow,
    workflow_id_named,
)

pytestmark = pytest.mark.process

UNKNOWN = (999_999, 999_998)


def _running(run: Run, n: int = 1) -> bool:
    return sum(s is TaskStatus.RUNNING for s in run.task_statuses().values()) >= n


@pytest.mark.timeout(120)
def test_unknown_task_ids_in_an_update_are_ignored(tmp_path: Path, server_url: str) -> None:
    """A status update naming tasks the run does not have changes nothing, end to end."""
    definition = workflow("unknown-ids", tmp_path, [
        Task("a", "true"), Task("b", "true", upstream=["a"]), Task("c", "true", upstream=["b"])])
    run = Run(request(definition, state_dir=tmp_path / "state", server_url=server_url,
                      distributor_args=sim_args("1.5"))).start()
    wait_for(lambda: _running(run), 45, "task a to run")
    a = next(iter(run.task_statuses()))
    probe = Node(rundir_of_orchestrator(), name="test-probe")
    try:
        probe.ref(ORCHESTRATOR).tell(TaskStatusesChanged(
            ((UNKNOWN[0], TaskStatus.DONE), (UNKNOWN[1], TaskStatus.ERROR_FATAL),
             (a, TaskStatus.RUNNING)), "2000-01-01 00:00:00"))
        progress = probe.ref(ORCHESTRATOR).ask(GetProgress(), timeout=10.0)
    finally:
        probe.close()
    assert isinstance(progress, Progress)
    assert (progress.total, progress.done, progress.failed) == (3, 0, 0)
    outcome = run.wait(60)

    result = outcome.result
    assert outcome.exit_code == 0, result.error
    assert (result.total_tasks, result.done_count, result.failed_count) == (3, 3, 0)
    assert {t for t, _ in result.task_final_statuses} == set(outcome.task_names)
    published = {t for e in run.of_type(TasksChanged) for t, _ in e.changes}
    assert published == set(outcome.task_names)
    running_a = [s for e in run.of_type(TasksChanged) for t, s in e.changes
                 if t == a and s is TaskStatus.RUNNING]
    assert len(running_a) == 1  # the repeated R of task a was no change


@pytest.mark.timeout(120)
@pytest.mark.parametrize("letter", ["E", "S", "T"])
def test_a_status_set_on_the_server_ends_the_run_as_is(tmp_path: Path, server_url: str,
                                                       letter: str) -> None:
    """E, S (set directly) or T (a resume signal, then T) on the server: the heartbeat brings
    it to the orchestrator, which stops at once and leaves the status as it is."""
    name = f"server-set-{letter}"
    definition = workflow(name, tmp_path, [Task(f"t{i}", "true") for i in range(3)])
    run = Run(request(definition, state_dir=tmp_path / "state", server_url=server_url,
                      distributor_args=sim_args("60"))).start()
    wait_for(lambda: _running(run, 3), 45, "three tasks to run")
    run_id = run.run_id
    workflow_id = workflow_id_named(server_url, name)
    assert run_id is not None and workflow_id is not None
    status = RunStatus(letter)
    with gateway(server_url) as gw:
        if status is RunStatus.TERMINATED:
            gw.set_resume(workflow_id, reset_running_jobs=True)
        assert gw.update_status(run_id, status) is status
    outcome = run.wait(30)  # long before the 60 s tasks could end

    result = outcome.result
    assert result.final_status is status
    assert result.error is not None and result.error.type == "RunStopped"
    assert outcome.exit_code == 1
    assert result.done_count == 0
    assert run_status_on_server(server_url, workflow_id, run_id) is status
