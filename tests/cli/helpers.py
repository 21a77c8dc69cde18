"""Test values for the CLI: captured contexts, results and outcomes built by hand."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import attrs

from actors.app import RunOutcome
from actors.cli import CliContext
from actors.gateway import TaskInstanceRow
from messages.orchestrator import ErrorInfo, OrchestratorResult
from messages.values import RunStatus, TaskId, TaskInstanceId, TaskInstanceStatus, TaskStatus


class FakeClock:
    """A monotonic clock tests move by hand."""

    def __init__(self, start: float = 100.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def captured(environ: Mapping[str, str] | None = None,
             clock: FakeClock | None = None) -> tuple[CliContext, io.StringIO, io.StringIO]:
    """A context writing to two StringIO buffers (not terminals)."""
    out, err = io.StringIO(), io.StringIO()
    ctx = CliContext(stdout=out, stderr=err, environ=dict(environ or {}),
                     clock=clock or FakeClock())
    return ctx, out, err


def result(final: RunStatus = RunStatus.DONE, *, done: tuple[int, ...] = (1, 2),
           failed: tuple[int, ...] = (), error: ErrorInfo | None = None,
           previously: int = 0) -> OrchestratorResult:
    statuses = tuple(sorted([(t, TaskStatus.DONE) for t in done] +
                            [(t, TaskStatus.ERROR_FATAL) for t in failed]))
    return OrchestratorResult(
        final_status=final, elapsed_time=12.5, total_tasks=len(done) + len(failed),
        done_count=len(done), failed_count=len(failed), num_previously_complete=previously,
        task_final_statuses=statuses, done_task_ids=done, failed_task_ids=failed,
        error=error, workflow_id=7, workflow_run_id=9)


def outcome(res: OrchestratorResult | None = None, *, names: Mapping[int, str] | None = None,
            interrupted: bool = False, server_url: str = "http://127.0.0.1:1",
            state_dir: str = "/nonexistent/state") -> RunOutcome:
    task_names = {1: "a", 2: "b"} if names is None else dict(names)
    return RunOutcome(result=res or result(), task_names=task_names,
                      actors={"orchestrator": 101, "heartbeat": 102},
                      restarts={"orchestrator": 0, "heartbeat": 1}, server_url=server_url,
                      state_dir=state_dir, log_dir="/logs/run-1", interrupted=interrupted)


def instance(ti: int, task: int, name: str, attempt: int, *, status: str = "E",
             error: str | None = "boom", exit_code: int | None = 1,
             stdout: str | None = None, stderr: str | None = None) -> TaskInstanceRow:
    return TaskInstanceRow(
        task_instance_id=TaskInstanceId(ti), task_id=TaskId(task), task_name=name,
        attempt=attempt, status=TaskInstanceStatus(status), distributor_id=None,
        stdout_path=stdout, stderr_path=stderr, error_message=error, exit_code=exit_code,
        submitted_date=None, status_date=None)


def evolve_result(res: OrchestratorResult, **changes: Any) -> OrchestratorResult:
    return attrs.evolve(res, **changes)
