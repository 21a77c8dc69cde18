"""Killed heartbeat, synchronizer and scheduler processes are restarted and the run goes on.

The three are SIGKILLed together while tasks are queued, running and finishing; the supervisor
restarts each, the orchestrator brings the new ones up to date (the scheduler's lost batches
go back to the ready queue, the synchronizer syncs in full, the heartbeat learns the status),
and every task still runs exactly once.
"""

from __future__ import annotations

import functools
import os
import signal
from pathlib import Path

import pytest

from actors.workflow import Task
from messages.values import TaskStatus
from tests.swarm.helpers import (
    Run,
    host_pids,
    instance_counts,
    request,
    sim_args,
    wait_for,
    workflow,
)

pytestmark = pytest.mark.process

N_TASKS = 60
VICTIMS = ("heartbeat", "synchronizer", "scheduler")


def _other_pids(name: str, old: int) -> list[int]:
    return [pid for pid in host_pids(name) if pid != old]


def _done(run: Run) -> int:
    return sum(s is TaskStatus.DONE for s in run.task_statuses().values())


@pytest.mark.timeout(150)
def test_killed_actor_processes_are_restarted_and_the_run_ends_D(tmp_path: Path,
                                                                  server_url: str) -> None:
    definition = workflow("crash", tmp_path, [Task(f"t{i:02d}", "true") for i in range(N_TASKS)],
                          max_concurrently_running=4)
    run = Run(request(definition, state_dir=tmp_path / "state", server_url=server_url,
                      distributor_args=sim_args("0.3"))).start()
    wait_for(lambda: _done(run) >= 4, 60, "the first tasks to finish")
    victims = {name: wait_for(functools.partial(host_pids, name), 10, f"the {name} process")
               for name in VICTIMS}
    for name, (pid,) in victims.items():  # all three at once, mid-run
        os.kill(pid, signal.SIGKILL)
    for name, (pid,) in victims.items():
        wait_for(functools.partial(_other_pids, name, pid), 30, f"a new {name} process")
    assert not run.finished(), "the run ended before the actors were back; make it longer"
    outcome = run.wait(90)

    result = outcome.result
    assert outcome.exit_code == 0, result.error
    assert (result.done_count, result.failed_count) == (N_TASKS, 0)
    for name in VICTIMS:
        assert outcome.restarts.get(name, 0) >= 1, outcome.restarts
    assert outcome.restarts.get("orchestrator", 0) == 0
    counts = instance_counts(server_url, result.workflow_id)
    assert len(counts) == N_TASKS and set(counts.values()) == {1}  # nothing ran twice
