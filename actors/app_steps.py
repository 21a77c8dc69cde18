"""The steps of ``actors.app.run_workflow`` that talk to the server before the tree starts.

Who uses it: ``actors.app`` only. Each step is one small function over the gateway: load the
definition, bind it, create (or resume into) a workflow run, read the run's status and the task
names. Errors are the gateway's typed errors, or ``ConfigError`` with a sentence a user can act
on (e.g. "an active run exists: use resume").

Runs are opened the way the server's own client does, on our server and on a real Jobmon
server alike (``Gateway.open_workflow_run``; docs/jobmon-notes.md section 2.2 for Jobmon): a
new run resets every unfinished task to G and ends in B, ready for its distributor. A resume
first signals the alive run (C cold, H hot), waits until its swarm has drained it (the
workflow is resumable again), then opens the new run. When that run's swarm is gone (killed
with its root process: its heartbeat is overdue on our server), nobody will drain it: the new
run is opened at once and the server ends the abandoned one (C/H → T). A stop request while
waiting ends the wait (``resume_run`` returns None).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping

from actors.errors import ConfigError, GatewayError, NotFound, ServerUnavailable
from actors.gateway import ActiveRunExists, Gateway, RetryPolicy, RunRefused, RunSummary
from actors.workflow import WorkflowDefinition, bind, load_workflow
from actors.workflow.binding import BoundWorkflow, check_queues
from messages.orchestrator import ErrorInfo, OrchestratorResult
from messages.values import FINAL_RUN_STATUSES, RunStatus

__all__ = [
    "bind_definition",
    "create_run",
    "current_run_status",
    "given_result",
    "load_definition",
    "resume_run",
    "status_reader",
    "swarm_gone",
    "task_names_of",
]

#: Seconds between two checks whether a resumed run has drained.
RESUME_POLL_INTERVAL = 0.25
#: Run statuses of a run that is still going (or draining): G L B I O R C H.
_ALIVE = frozenset(RunStatus) - FINAL_RUN_STATUSES


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
    """Check the queues the tasks name, then bind the workflow on the server (idempotent: a
    re-run finds the same workflow)."""
    check_queues(definition, gateway, cluster)
    return bind(definition, gateway, cluster)


def _known_workflow(gateway: Gateway, workflow_id: int) -> None:
    """A ConfigError naming the server when it has no such workflow."""
    try:
        gateway.fetch_workflow_metadata(workflow_id)
    except NotFound as exc:
        raise ConfigError(f"the server at {gateway.config.base_url} has no workflow "
                          f"{workflow_id}") from exc


def create_run(gateway: Gateway, workflow_id: int) -> int:
    """A new run in B; a clear error if another run of the workflow is still active."""
    _known_workflow(gateway, workflow_id)
    try:
        return int(gateway.open_workflow_run(workflow_id).workflow_run_id)
    except RunRefused as exc:
        why = "an active run" if isinstance(exc, ActiveRunExists) else "a run it cannot replace"
        raise ConfigError(
            f"workflow {workflow_id} already has {why} ({exc.detail or exc}); stop it, or take "
            f"it over with `resume --workflow-id {workflow_id} --cold`") from exc


def swarm_gone(runs: Iterable[RunSummary], server_time: str) -> bool:
    """Whether an alive run's heartbeat is overdue at ``server_time`` (its swarm is gone).

    Times are the server's ``YYYY-MM-DD HH:MM:SS``; a run without a heartbeat date counts as
    alive (never abandoned on a guess)."""
    now = dt.datetime.strptime(server_time, "%Y-%m-%d %H:%M:%S")
    for run in runs:
        if run.status in _ALIVE and run.heartbeat_date:
            try:
                beat = dt.datetime.strptime(run.heartbeat_date, "%Y-%m-%d %H:%M:%S")
            except ValueError:
                continue
            if beat < now:
                return True
    return False


def _abandoned(gateway: Gateway, workflow_id: int) -> bool:
    """Our server only (it lists runs with their heartbeat dates and reaps abandoned runs)."""
    if not gateway.dialect().lists_runs:
        return False
    runs = gateway.workflow_status(workflow_id).runs
    if not any(run.status in _ALIVE and run.heartbeat_date for run in runs):
        return False
    return swarm_gone(runs, gateway.time())


def resume_run(gateway: Gateway, workflow_id: int, *, cold: bool, timeout: float,
               clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep,
               stopped: Callable[[], bool] = lambda: False) -> int | None:
    """Signal the active run (C cold / H hot), wait until it has drained to T, start a new run.

    Without an active run this simply creates a new run (resetting unfinished tasks; a hot
    resume keeps tasks in R). An active run whose swarm is gone is not waited for. None when
    ``stopped()`` became true while waiting.
    """
    _known_workflow(gateway, workflow_id)
    if not gateway.workflow_resumable(workflow_id):
        gateway.set_resume(workflow_id, reset_running_jobs=cold)
        deadline = clock() + timeout
        while not gateway.workflow_resumable(workflow_id):
            if stopped():
                return None
            if _abandoned(gateway, workflow_id):
                try:  # the server ends the abandoned run as it opens the new one
                    return int(gateway.open_workflow_run(
                        workflow_id, resume=True, reset_running_jobs=cold).workflow_run_id)
                except RunRefused:
                    pass  # it beat again meanwhile: its swarm is alive after all
            if clock() > deadline:
                raise ConfigError(f"the active run of workflow {workflow_id} did not drain to T "
                                  f"within {timeout:g} s; is its swarm still alive?")
            sleep(RESUME_POLL_INTERVAL)
    try:
        created = gateway.open_workflow_run(workflow_id, resume=True, reset_running_jobs=cold)
    except RunRefused as exc:
        raise ConfigError(f"workflow {workflow_id} still has an active run: {exc}") from exc
    return int(created.workflow_run_id)


def current_run_status(gateway: Gateway, workflow_id: int, run_id: int) -> RunStatus:
    """The run's status as the server has it (a ConfigError for a run it does not know)."""
    try:
        return gateway.run_status(workflow_id, run_id)
    except NotFound as exc:
        raise ConfigError(f"the server at {gateway.config.base_url} has no workflow run "
                          f"{run_id} of workflow {workflow_id}") from exc


def status_reader(gateway: Gateway, workflow_id: int,
                  run_id: int) -> Callable[[], RunStatus | None]:
    """Reads the run's status for the distributor's readiness probe; None while the server is
    unavailable (asked again at the next poll). A short retry budget keeps each read brief."""
    quick = gateway.with_retry(RetryPolicy(max_attempts=2, max_elapsed=5.0))

    def read() -> RunStatus | None:
        try:
            return quick.run_status(workflow_id, run_id)
        except ServerUnavailable:
            return None

    return read


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


#: Clusters the state server seeds itself; other backends (slurm) declare theirs first.
SEEDED_CLUSTERS = frozenset({"local", "sim"})


def declare_backend_queues(server_url: str, backend: str, token: str | None,
                           distributor_args: tuple[str, ...] = (),
                           timeout: float = 120.0) -> None:
    """Have our distributor declare ``backend``'s cluster and queues on the server.

    Binding a task needs its queue on the server, and the distributor of a run declares the
    queues only when it starts (after binding); ``--declare-only`` does just that part.
    """
    import os
    import subprocess
    import sys

    argv = [sys.executable, "-m", "actors.distributor", "--server", server_url,
            "--backend", backend, "--declare-only", *distributor_args]
    env = dict(os.environ, ACTORSWARM_TOKEN=token) if token else None
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"declaring the {backend} queues took over {timeout:g} s") from None
    if done.returncode != 0:
        raise ConfigError(f"could not declare the queues of backend {backend!r}: "
                          f"{done.stderr.strip()[-500:] or f'exit code {done.returncode}'}")
