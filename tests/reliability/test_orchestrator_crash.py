"""The orchestrator, or the whole root process, SIGKILLed mid-run.

- The orchestrator process alone: the supervisor restarts it, the new one rebuilds its state
  from the server, and the run ends D without re-running any task that was D before the kill.
- The root process (the CLI, run as a subprocess against an external server): every process
  of the dead run exits (actors, distributor, workers; no orphan keeps running), and
  ``resume`` finishes the workflow without re-running any task that was already D.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest

from messages.values import TaskStatus
from tests.reliability.checks import ledger, problems
from tests.reliability.cli import Cli, toml_workflow
from tests.reliability.faults import layered_workflow, process_tree, wait_gone
from tests.reliability.servers import ServerProcess, db_rows
from tests.swarm.helpers import (
    Run,
    config,
    host_pids,
    request,
    sim_args,
    wait_for,
    workflow_id_named,
)

pytestmark = pytest.mark.process


def _done(run: Run) -> int:
    return sum(s is TaskStatus.DONE for s in run.task_statuses().values())


def _done_and_last_instance(db: Path, workflow_id: int) -> tuple[frozenset[int], int]:
    """Tasks D now, and the largest task instance id now (anything newer ran after)."""
    done = db_rows(db, "SELECT id FROM task WHERE workflow_id = ? AND status = 'D'",
                   (workflow_id,))
    (last,), = db_rows(db, "SELECT COALESCE(MAX(id), 0) FROM task_instance")
    return frozenset(t for t, in done), int(last)


@pytest.mark.timeout(150)
def test_a_killed_orchestrator_is_restarted_and_reruns_nothing(
        tmp_path: Path, shared_server: ServerProcess) -> None:
    definition = layered_workflow("orchestrator-kill", tmp_path, layers=3, width=40, seed=3,
                                  limit=20)
    run = Run(request(definition, state_dir=tmp_path / "state", server_url=shared_server.url,
                      distributor_args=sim_args("uniform:0.2:0.6"),
                      cfg=config(timeout=120))).start()
    wait_for(lambda: _done(run) >= 20, 60, "20 tasks to finish")
    (old,) = host_pids("orchestrator")
    workflow_id = workflow_id_named(shared_server.url, "orchestrator-kill")
    assert workflow_id is not None
    done_before, last = _done_and_last_instance(shared_server.db_path, workflow_id)
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: [p for p in host_pids("orchestrator") if p != old], 30,
             "a new orchestrator process")
    outcome = run.wait(120)

    assert outcome.exit_code == 0, outcome.result.error
    assert outcome.restarts.get("orchestrator") == 1, outcome.restarts
    assert len(done_before) >= 20
    lines = ledger(shared_server.db_path, workflow_id)
    assert len(lines) == 120
    assert problems(lines, done_before=done_before, rerun_after=last) == []


def _worker_pids(cli: Cli) -> list[int]:
    return [p.pid for p in cli.descendants() if "actors.worker" in " ".join(_argv(p))]


def _argv(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_killed_root_leaves_no_orphan_and_resume_finishes(
        tmp_path: Path, shared_server: ServerProcess) -> None:
    tasks: list[tuple[str, str, list[str]]] = [
        (f"a{i}", f"sleep 0.3; echo a{i} > a{i}.txt", []) for i in range(6)]
    tasks += [(f"b{i}", f"sleep 3; cat a{i}.txt > b{i}.txt", [f"a{i}"]) for i in range(6)]
    tasks += [(f"c{i}", f"cat b{i}.txt > c{i}.txt", [f"b{i}"]) for i in range(6)]
    path = toml_workflow(tmp_path / "wf" / "root-kill.toml", "root-kill", tasks, limit=6)
    common = ["--server", shared_server.url, "--backend", "local", "--heartbeat-interval",
              "0.5", "--state-dir", str(tmp_path / "state"), "--progress", "off"]
    first = Cli(["run", str(path), *common], tmp_path / "first", cwd=tmp_path).start()
    try:
        workflow_id = wait_for(lambda: workflow_id_named(shared_server.url, "root-kill"), 60,
                               "the workflow to be bound")
        db = shared_server.db_path
        # the local backend runs as many tasks at once as the machine has cores
        wait_for(lambda: len(_done_and_last_instance(db, workflow_id)[0]) >= 4
                 and _worker_pids(first), 60, "some tasks done and some running")
        tree = process_tree(first.pid)[1:]
        names = {" ".join(_argv(p))[:120] for p in tree}
        assert any("actors.runtime.host orchestrator" in n for n in names), names
        assert any("actors.distributor" in n for n in names), names
        done_before, last = _done_and_last_instance(db, workflow_id)
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
        left = wait_gone(tree, 30)
        assert not left, f"orphans of the dead run: {[(p.pid, _argv(p)[:6]) for p in left]}"
    finally:
        first.kill_tree()

    second = Cli(["resume", "--workflow-id", str(workflow_id), *common], tmp_path / "second",
                 cwd=tmp_path)
    assert second.run(180) == 0, second.stderr()[-3000:]
    lines = ledger(db, workflow_id)
    assert len(lines) == 18
    assert problems(lines, done_before=done_before, rerun_after=last) == []
    assert {f"c{i}.txt" for i in range(6)} <= set(os.listdir(path.parent))
