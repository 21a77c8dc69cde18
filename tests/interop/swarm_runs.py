"""Our swarm against the real Jobmon server: run helpers and read-only database observers.

Who uses it: ``test_swarm_on_jobmon.py`` and ``test_jobmon_swarm_on_ours.py``.

- ``bind_with_client(env, server, spec)``: the real Jobmon client binds ``spec`` (as
  ``Workflow.run`` does before its run), returning the driver's RESULT (ids by task name).
- ``run_ours(env, server, workflow_id, cluster, state_dir, ...)``: ``actors.app.run_workflow``
  drives the workflow against the real server, with the real distributor of ``cluster``
  started by our supervisor from ``--distributor-command`` (1 s heartbeats, like the client
  settings of the reference server). Returns the ``RunOutcome``.
- ``JobmonDb``: what the server's database says (runs, tasks, task instances), read-only.
- ``Sampler``: a thread that samples how many of a workflow's tasks are active (Q/I/O/R) while
  a run goes on, for the concurrency-limit test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from actors.app import RunOutcome, RunRequest, run_workflow
from messages.config import OrchestratorConfig, WorkflowRunConfig

from .jobmon_procs import distributor_command, run_client_driver
from .jobmon_ref import JobmonServer, ReferenceEnv
from .scenarios import WorkflowSpec

__all__ = ["JobmonDb", "Sampler", "bind_with_client", "root_url", "run_ours", "wait_for"]

#: Heartbeat interval of our swarm in these tests (the reference client settings use 1 s).
HEARTBEAT = 1.0


def root_url(server: JobmonServer) -> str:
    """The server root our gateway wants (it adds /api/v3 itself)."""
    return server.base_url.removesuffix("/api/v3")


def bind_with_client(env: ReferenceEnv, server: JobmonServer, spec: WorkflowSpec,
                     *, create_run: bool = False) -> dict[str, Any]:
    """Bind ``spec`` with the real client; assert it worked; the driver's RESULT."""
    args = ["--create-run"] if create_run else []
    bound = run_client_driver(env, server.client_env(), "bind", spec.to_wire(), args=args,
                              timeout=120)
    assert bound["ok"], bound
    return bound


def run_ours(env: ReferenceEnv, server: JobmonServer, workflow_id: int, cluster: str,
             state_dir: Path, *, resume: str | None = None, fail_fast: bool = False,
             timeout: float = 150.0, ready: str | None = None, stream: str = "stdout",
             ready_timeout: float = 60.0, on_event: Callable[[object], None] | None = None,
             stop: threading.Event | None = None, workflow_run_id: int | None = None,
             server_url: str | None = None) -> RunOutcome:
    """Our swarm drives ``workflow_id`` on the real server with the real ``cluster``
    distributor. ``ready``/``stream``: the distributor's readiness (default: the run status
    way). ``server_url``: where our swarm sends its requests (default the server itself; the
    distributor always talks to the server directly)."""
    config = OrchestratorConfig.from_run_config(
        WorkflowRunConfig(heartbeat_interval=HEARTBEAT, fail_fast=fail_fast), timeout=timeout)
    request = RunRequest(
        workflow_id=workflow_id, workflow_run_id=workflow_run_id, resume=resume,
        server_url=server_url or root_url(server), state_dir=str(state_dir),
        distributor_command=distributor_command(env, cluster, server.client_env()),
        distributor_ready=ready, distributor_ready_stream=stream,
        distributor_ready_timeout=ready_timeout, config=config, cluster_name=cluster,
        on_event=on_event)
    return run_workflow(request, stop=stop)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str,
             interval: float = 0.2) -> None:
    """Poll ``predicate`` until true; fail the test naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(interval)


@attrs.frozen
class JobmonDb:
    """Read-only questions to the reference server's database."""

    server: JobmonServer

    def runs(self, workflow_id: int) -> dict[int, str]:
        """Run id -> status, for every run of the workflow (orphan G rows included)."""
        rows = self.server.query("SELECT id, status FROM workflow_run WHERE workflow_id = ? "
                                 "ORDER BY id", (workflow_id,))
        return {int(r[0]): str(r[1]) for r in rows}

    def task_statuses(self, tasks: Mapping[str, int]) -> dict[str, str]:
        """Task name -> status."""
        by_id = {int(r[0]): str(r[1]) for r in self.server.query(
            f"SELECT id, status FROM task WHERE id IN ({_marks(tasks)})", tuple(tasks.values()))}
        return {name: by_id[tid] for name, tid in tasks.items()}

    def instances(self, task_id: int) -> list[tuple[int, str, int]]:
        """(instance id, status, workflow run id) of a task's instances, oldest first."""
        return [(int(r[0]), str(r[1]), int(r[2])) for r in self.server.query(
            "SELECT id, status, workflow_run_id FROM task_instance WHERE task_id = ? "
            "ORDER BY id", (task_id,))]

    def instance_counts(self, tasks: Mapping[str, int]) -> dict[str, int]:
        """Task name -> number of task instances ever made for it."""
        counts = {int(r[0]): int(r[1]) for r in self.server.query(
            f"SELECT task_id, COUNT(*) FROM task_instance WHERE task_id IN ({_marks(tasks)}) "
            "GROUP BY task_id", tuple(tasks.values()))}
        return {name: counts.get(tid, 0) for name, tid in tasks.items()}

    def active(self, workflow_id: int) -> int:
        """Tasks of the workflow in Q, I, O or R now."""
        rows = self.server.query("SELECT COUNT(*) FROM task WHERE workflow_id = ? AND status "
                                 "IN ('Q', 'I', 'O', 'R')", (workflow_id,))
        return int(rows[0][0])


def _marks(tasks: Mapping[str, int]) -> str:
    return ",".join("?" * len(tasks))


class Sampler(threading.Thread):
    """Samples ``JobmonDb.active`` every ``interval`` s into ``(monotonic time, count)``."""

    def __init__(self, db: JobmonDb, workflow_id: int, interval: float = 0.1) -> None:
        super().__init__(name="active-sampler", daemon=True)
        self.db = db
        self.workflow_id = workflow_id
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.interval):
            self.samples.append((time.monotonic(), self.db.active(self.workflow_id)))

    def peak(self, start: float, end: float) -> int:
        """The most active tasks seen between two monotonic times."""
        return max((n for t, n in self.samples if start <= t <= end), default=0)
