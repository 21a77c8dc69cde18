"""The steps of ``actors.app.run_workflow`` that talk to the server before the tree starts.

Who uses it: ``actors.app`` only. Each step is one small function over the gateway: load the
definition, bind it, create (or resume into) a workflow run, read the run's status and the task
names. Errors are the gateway's typed errors, or ``ConfigError`` with a sentence a user can act
on (e.g. "an active run exists: use resume").
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from actors.errors import ConfigError, GatewayError
from actors.gateway import ActiveRunExists, Gateway
from actors.workflow import WorkflowDefinition, bind, load_workflow
from actors.workflow.binding import BoundWorkflow
from messages.orchestrator import ErrorInfo, OrchestratorResult
from messages.values import RunStatus

__all__ = [
    "bind_definition",
    "create_run",
    "current_run_status",
    "given_result",
    "load_definition",
    "resume_run",
    "task_names_of",
]

_ACTIVE = frozenset("GLBIORCH")


def load_definition(request: object) -> WorkflowDefinition | None:
    """The request's workflow definition (from its file or as given); None for an id."""
    definition = getattr(request, "definition", None)
    path = getattr(request, "workflow_file", None)
    if definition is not None and path is not None:
        raise ConfigError("give either a workflow file or a definition, not both")
    if path is not None:
        return load_workflow(path)
    return definition


def bind_definition(definition: WorkflowDefinition, gateway: Gateway,
                    cluster: str) -> BoundWorkflow:
    """Bind the workflow on the server (idempotent: a re-run finds the same workflow)."""
    return bind(definition, gateway, cluster)


def create_run(gateway: Gateway, workflow_id: int) -> int:
    """A new run in B; a clear error if another run of the workflow is still active."""
    try:
        return int(gateway.create_workflow_run(workflow_id).workflow_run_id)
    except ActiveRunExists as exc:
        raise ConfigError(
            f"workflow {workflow_id} already has an active run ({exc.detail or exc}); "
            f"stop it, or take it over with `resume --workflow-id {workflow_id} --cold`"
        ) from exc


def resume_run(gateway: Gateway, workflow_id: int, *, cold: bool, timeout: float) -> int:
    """Signal the active run (C cold / H hot), wait until it has drained to T, start a new run.

    Without an active run this simply creates a new run (resetting unfinished tasks).
    """
    active = _active_runs(gateway, workflow_id)
    if active:
        gateway.set_resume(workflow_id, reset_running_jobs=cold)
        deadline = time.monotonic() + timeout
        while _active_runs(gateway, workflow_id):
            if time.monotonic() > deadline:
                raise ConfigError(f"the active run of workflow {workflow_id} did not drain to T "
                                  f"within {timeout:g} s; is its swarm still alive?")
            time.sleep(0.25)
    try:
        return int(gateway.create_workflow_run(workflow_id, resume=True).workflow_run_id)
    except ActiveRunExists as exc:
        raise ConfigError(f"workflow {workflow_id} still has an active run: {exc}") from exc


def _active_runs(gateway: Gateway, workflow_id: int) -> list[int]:
    summary = gateway.workflow_status(workflow_id)
    return [int(r.workflow_run_id) for r in summary.runs if r.status.value in _ACTIVE]


def current_run_status(gateway: Gateway, workflow_id: int, run_id: int) -> RunStatus:
    """The run's status as the server has it; O (launched) when the server cannot say."""
    try:
        for run in gateway.workflow_status(workflow_id).runs:
            if int(run.workflow_run_id) == run_id:
                return run.status
    except GatewayError:
        pass  # a Jobmon server has no status route: its distributor has moved the run to O
    return RunStatus.LAUNCHED


def task_names_of(gateway: Gateway, workflow_id: int) -> Mapping[int, str]:
    """Task names by id where the server can tell (ours), else empty."""
    try:
        return {int(t): n for t, n in gateway.task_names(workflow_id).items()}
    except GatewayError:
        return {}


def given_result(workflow_id: int, run_id: int, error_type: str,
                 message: str) -> OrchestratorResult:
    """A result for a run whose orchestrator could not report one (counts unknown)."""
    return OrchestratorResult(
        final_status=RunStatus.ERROR, elapsed_time=0.0, total_tasks=0, done_count=0,
        failed_count=0, num_previously_complete=0, task_final_statuses=(), done_task_ids=(),
        failed_task_ids=(), error=ErrorInfo(error_type, message), workflow_id=workflow_id,
        workflow_run_id=run_id)
