"""Cold and hot resume of a workflow whose run is going on, through real processes.

The first run is started in one thread; a second ``run_workflow(resume=...)`` in another
signals it (C or H) through the server. The old run drains and ends T (the orchestrator's
"C/H with tasks in I/O/R: terminate, keep syncing until they drain, then T"); the new run
ends D without re-running any task that was already D.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.workflow import Task
from messages.values import RunStatus, TaskStatus
from tests.swarm.helpers import (
    Run,
    gateway,
    instance_counts,
    request,
    sim_args,
    statuses_by_name,
    wait_for,
    workflow,
    workflow_id_named,
)

pytestmark = pytest.mark.process

#: Runs long on its first attempt (until killed), then ends at once.
LONG_ONCE = "if [ -e long.started ]; then echo again > long.txt; else touch long.started; " \
            "sleep 60; fi"


def _status_of(run: Run, names: dict[str, int], name: str) -> TaskStatus | None:
    return run.task_statuses().get(names[name]) if name in names else None


def _names(url: str, workflow_name: str) -> dict[str, int]:
    workflow_id = workflow_id_named(url, workflow_name)
    if workflow_id is None:
        return {}
    with gateway(url) as gw:
        return {name: int(t) for t, name in gw.task_names(workflow_id).items()}


@pytest.mark.timeout(150)
def test_cold_resume_while_tasks_run(tmp_path: Path, server_url: str) -> None:
    definition = workflow("cold", tmp_path, [
        Task("quick", "echo quick > quick.txt"),
        Task("long", LONG_ONCE, max_attempts=2),
        Task("after", "cat long.txt > after.txt", upstream=["long"]),
    ])
    old = Run(request(definition, state_dir=tmp_path / "state", server_url=server_url,
                      backend="local")).start()
    names = wait_for(lambda: _names(server_url, "cold"), 45, "the workflow to be bound")
    wait_for(lambda: _status_of(old, names, "quick") is TaskStatus.DONE
             and _status_of(old, names, "long") is TaskStatus.RUNNING, 45,
             "quick done and long running")
    new = Run(request(definition, state_dir=tmp_path / "state2", server_url=server_url,
                      backend="local", resume="cold")).start()
    before = old.wait(60)
    after = new.wait(60)

    assert before.result.final_status is RunStatus.TERMINATED
    assert before.result.error is not None and before.result.error.type == "RunStopped"
    assert after.exit_code == 0, after.result.error
    assert after.result.workflow_id == before.result.workflow_id
    assert after.result.workflow_run_id != before.result.workflow_run_id
    assert after.result.num_previously_complete == 1
    assert after.result.done_count == 3 and after.result.total_tasks == 3
    assert set(statuses_by_name(after)) == {"long", "after"}  # quick was D: not loaded
    assert (tmp_path / "after.txt").read_text() == "again\n"
    counts = instance_counts(server_url, after.result.workflow_id)
    assert counts == {"quick": 1, "long": 2, "after": 1}


@pytest.mark.timeout(150)
def test_hot_resume_lets_running_tasks_finish(tmp_path: Path, server_url: str) -> None:
    definition = workflow("hot", tmp_path, [
        Task("first", "true"),
        Task("second", "true", upstream=["first"]),
    ])
    old = Run(request(definition, state_dir=tmp_path / "state", server_url=server_url,
                      distributor_args=sim_args("3"))).start()
    names = wait_for(lambda: _names(server_url, "hot"), 45, "the workflow to be bound")
    wait_for(lambda: _status_of(old, names, "first") is TaskStatus.RUNNING, 45,
             "first to run")
    new = Run(request(definition, state_dir=tmp_path / "state2", server_url=server_url,
                      distributor_args=sim_args("0.2"), resume="hot")).start()
    before = old.wait(60)
    after = new.wait(60)

    assert before.result.final_status is RunStatus.TERMINATED
    assert before.result.error is not None and before.result.error.type == "RunStopped"
    assert statuses_by_name(before)["first"] is TaskStatus.DONE  # kept running, not killed
    assert statuses_by_name(before)["second"] is TaskStatus.REGISTERING  # not started there
    assert after.exit_code == 0, after.result.error
    assert after.result.num_previously_complete == 1
    assert set(statuses_by_name(after)) == {"second"}
    assert instance_counts(server_url, after.result.workflow_id) == {"first": 1, "second": 1}
