"""The distributor SIGKILLed mid-run: noticed within 2 s (pidfd, no heartbeat or sync needed),
the run ends E with a DistributorDied error and exit code 4, and a resume of the workflow
finishes it without re-running any task that was already D."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from messages.orchestrator import RunFinished
from messages.values import RunStatus, TaskStatus
from tests.reliability.checks import ledger, problems
from tests.reliability.faults import layered_workflow
from tests.reliability.servers import ServerProcess, db_rows
from tests.swarm.helpers import Run, config, distributor_pid, request, sim_args, wait_for

pytestmark = pytest.mark.process

#: The promise: a dead distributor is noticed and the run ended within this many seconds.
DETECTED_WITHIN = 2.0


def _done(run: Run) -> int:
    return sum(s is TaskStatus.DONE for s in run.task_statuses().values())


@pytest.mark.timeout(180)
def test_a_dead_distributor_ends_the_run_at_once_and_resume_finishes_it(
        tmp_path: Path, shared_server: ServerProcess) -> None:
    definition = layered_workflow("distributor-death", tmp_path, layers=2, width=40, seed=5,
                                  limit=20)
    first = Run(request(definition, state_dir=tmp_path / "state", server_url=shared_server.url,
                        distributor_args=sim_args("uniform:0.5:2"),
                        cfg=config(timeout=120))).start()
    wait_for(lambda: _done(first) >= 10, 60, "10 tasks to finish")
    run_id = first.run_id
    assert run_id is not None
    pid = distributor_pid(run_id)
    assert pid is not None, "the distributor process of the run was not found"
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    before = first.wait(30)

    (finished_at, _), = first.timed(RunFinished)
    assert finished_at - killed_at < DETECTED_WITHIN, f"{finished_at - killed_at:.2f} s"
    assert before.exit_code == 4
    result = before.result
    assert result.final_status is RunStatus.ERROR
    assert result.error is not None and result.error.type == "DistributorDied"
    workflow_id = result.workflow_id
    assert db_rows(shared_server.db_path, "SELECT status FROM workflow_run WHERE id = ?",
                   (run_id,)) == [("E",)]
    done_before = frozenset(t for t, in db_rows(
        shared_server.db_path, "SELECT id FROM task WHERE workflow_id = ? AND status = 'D'",
        (workflow_id,)))
    (last,), = db_rows(shared_server.db_path, "SELECT MAX(id) FROM task_instance")
    assert 10 <= len(done_before) < 80

    after = Run(request(definition, state_dir=tmp_path / "state2",
                        server_url=shared_server.url, distributor_args=sim_args("0.1"),
                        resume="cold", cfg=config(timeout=120))).start()
    outcome = after.wait(120)
    assert outcome.exit_code == 0, outcome.result.error
    assert outcome.result.num_previously_complete == len(done_before)
    lines = ledger(shared_server.db_path, workflow_id)
    assert len(lines) == 80
    assert problems(lines, done_before=done_before, rerun_after=int(last)) == []
