"""The reverse direction: the real Jobmon 3.4 swarm drives workflows bound on OUR server.

The workflow is bound with our binder on our server (``python -m actors.server``), on a
cluster of Jobmon's ``dummy`` type (Jobmon's swarm loads a plugin by cluster type to build its
queues; our distributor runs the tasks whatever the cluster). The run is opened with our
gateway; then ``jobmon_client_driver.py swarm`` builds Jobmon's own swarm
(``client/swarm/workflow_run.py``) from the workflow id, exactly as ``jobmon workflow_resume``
does: heartbeat, fetch_workflow_metadata, get_tasks, get_downstream_tasks (edges as JSON strings
for its client version), cluster and queue, B; it starts our distributor, asks for R and drives
the run to its end through the routes of DESIGN.md section 3.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

from actors.gateway import Gateway
from actors.workflow import Task, Workflow, bind
from messages.values import RunStatus, TaskStatus
from tests.gateway.server_process import running_server

from .jobmon_procs import run_client_driver
from .jobmon_ref import ReferenceEnv

pytestmark = [pytest.mark.interop, pytest.mark.process]

CLUSTER = "jobmon_dummy"
QUEUE = "null.q"


def _bind(gateway: Gateway, state_dir: Path, tag: str,
          commands: dict[str, tuple[str, list[str]]], max_attempts: int = 3) -> dict[str, int]:
    """Bind a workflow of ``{name: (command, upstream names)}``; task ids by name."""
    gateway.upsert_cluster(CLUSTER, "dummy", {}, {QUEUE: {}})
    wf = Workflow(f"reverse-{tag}", workflow_args=f"reverse-{tag}",
                  default_resources={"queue": QUEUE, "cores": 1, "memory": "1G",
                                     "runtime": 60})
    for name, (command, upstream) in commands.items():
        wf.add_task(Task(name, command, upstream=upstream, max_attempts=max_attempts))
    bound = bind(wf.definition(directory=str(state_dir)), gateway, CLUSTER)
    return {"workflow_id": int(bound.workflow_id),
            **{name: int(tid) for tid, name in bound.task_names().items()}}


def _jobmon_swarm(env: ReferenceEnv, url: str, state_dir: Path, workflow_id: int,
                  run_id: int) -> dict[str, Any]:
    """Jobmon's swarm drives ``run_id`` with our distributor; the driver's RESULT."""
    distributor = [sys.executable, "-m", "actors.distributor", "--server", url,
                   "--workflow-run-id", str(run_id), "--workflow-id", str(workflow_id),
                   "--backend", "local", "--state-dir", str(state_dir),
                   "--heartbeat-interval", "1"]
    return run_client_driver(env, env.client_env(url + "/api/v3"), "swarm", {
        "workflow_id": workflow_id, "workflow_run_id": run_id,
        "distributor_argv": distributor, "ready": "READY", "timeout": 150}, timeout=200)


def _statuses(gateway: Gateway, workflow_id: int) -> dict[TaskStatus, int]:
    return dict(gateway.workflow_status(workflow_id).task_counts)


@pytest.mark.timeout(240)
def test_jobmon_swarm_drives_a_diamond_on_our_server_to_done(
        jobmon_reference: ReferenceEnv, tmp_path: Path, tag: str) -> None:
    with running_server(tmp_path / "server") as url, Gateway(url) as gateway:
        ids = _bind(gateway, tmp_path, tag, {
            "a": (f"echo a-{tag}", []), "b": (f"echo b-{tag}", ["a"]),
            "c": (f"echo c-{tag}", ["a"]), "d": (f"echo d-{tag}", ["b", "c"])})
        wf = ids["workflow_id"]
        run = gateway.open_workflow_run(wf)
        assert run.status is RunStatus.BOUND

        result = _jobmon_swarm(jobmon_reference, url, tmp_path, wf, int(run.workflow_run_id))

        assert result["ok"], result
        assert result["status"] == "D"
        assert result["tasks"] == {str(ids[n]): "D" for n in "abcd"}
        assert gateway.run_status(wf, int(run.workflow_run_id)) is RunStatus.DONE
        assert _statuses(gateway, wf) == {TaskStatus.DONE: 4}
        for name in "abcd":
            instances = gateway.task_instances(wf, task_name=name)
            assert [i.status.value for i in instances] == ["D"], (name, instances)
        assert result["distributor_exit"] == 0  # ours stops by itself once the run is D


@pytest.mark.timeout(300)
def test_jobmon_swarm_resumes_a_failed_workflow_on_our_server(
        jobmon_reference: ReferenceEnv, tmp_path: Path, tag: str) -> None:
    """First run: b fails (one attempt) -> E. Second run: its resume path loads b and d only."""
    marker = tmp_path / "b-failed-once"
    flaky = f"if [ -e {marker} ]; then echo b-{tag}; else touch {marker}; exit 3; fi"
    with running_server(tmp_path / "server") as url, Gateway(url) as gateway:
        ids = _bind(gateway, tmp_path, tag, {
            "a": (f"echo a-{tag}", []), "b": (flaky, ["a"]), "c": (f"echo c-{tag}", ["a"]),
            "d": (f"echo d-{tag}", ["b", "c"])}, max_attempts=1)
        wf = ids["workflow_id"]
        first = gateway.open_workflow_run(wf)
        failed = _jobmon_swarm(jobmon_reference, url, tmp_path, wf,
                               int(first.workflow_run_id))
        assert failed["ok"] and failed["status"] == "E", failed
        assert failed["tasks"][str(ids["b"])] == "F" and failed["tasks"][str(ids["d"])] == "G"
        assert gateway.run_status(wf, int(first.workflow_run_id)) is RunStatus.ERROR

        time.sleep(1.0)  # the server's dates have whole seconds: keep the runs apart
        second = gateway.open_workflow_run(wf, resume=True)  # resets b (F) to G
        resumed = _jobmon_swarm(jobmon_reference, url, tmp_path, wf,
                                int(second.workflow_run_id))

        assert resumed["ok"], resumed
        assert resumed["status"] == "D"
        # only the unfinished tasks were read back (get_tasks sends no D task)
        assert resumed["tasks"] == {str(ids["b"]): "D", str(ids["d"]): "D"}
        assert _statuses(gateway, wf) == {TaskStatus.DONE: 4}
        attempts = {n: len(gateway.task_instances(wf, task_name=n)) for n in "abcd"}
        assert attempts == {"a": 1, "b": 2, "c": 1, "d": 1}
