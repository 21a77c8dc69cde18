"""The orchestrator's run-level logic: the RunPhase machine, the run's fate and its result.

Pure: every function takes the current ``RunMachine``, the ``SwarmState`` (read only here),
``now`` (monotonic seconds) and the ``RunPolicy``, and returns a new ``RunMachine`` plus a tuple
of effects for the orchestrator actor to carry out:

- ``SetRunStatus(status)``: PUT update_status; the reply comes back via ``on_status_reply``;
- ``SendTerminate()``: PUT terminate_task_instances (draining after a cold/hot resume);
- ``FullSync()``: ask the synchronizer for a full sync; its result comes back via
  ``on_full_sync``;
- ``StatusHeld(status)``: tell the heartbeat which run status the swarm now holds;
- ``Finish(result)``: the run is over; stop the actors and hand ``result`` to whoever waits.

Who calls what: the orchestrator calls ``start_run`` once, ``evaluate`` after every state change
and timer tick, ``on_status_reply`` for each update_status answer (``on_status_failed`` when the
call failed), ``on_server_status`` when the
heartbeat reports a different server status, ``on_distributor_died`` when the supervisor
reports it (``on_distributor_exited`` when it exited 0, with the run's status read then), and
``on_full_sync`` when a full sync it asked for was applied, and ``on_heartbeat_failed`` when a
beat could not reach the server (past ``RunPolicy.server_outage_limit`` seconds of silence the
run ends E with a ServerUnavailable error, without waiting for the server: it left the run R
there, and its overdue heartbeat lets a later resume take it over). It hands tasks to the
scheduler only while ``may_schedule`` is true.

Errors (``RunFailure.error_type``)::

    RunError
    ├── RunTimeout / DistributorDied / TransitionError / FailAfterNExecutions (actors.errors)
    ├── TasksFailed        the run ended with tasks in F (or tasks that can never run)
    └── RunStopped         the server ended the run (E/T/S), or it drained after a resume
    (and ServerUnavailable when update_status or the heartbeat could not reach the server)
"""

from __future__ import annotations

import enum
import types
from collections.abc import Mapping

import attrs

from actors.errors import (
    ActorswarmError,
    DistributorDied,
    FailAfterNExecutions,
    RunError,
    RunTimeout,
    ServerUnavailable,
    TransitionError,
)
from actors.orchestrator.rows import (  # re-exported: the actor builds its state through these
    EdgesLike,
    TaskRowLike,
    array_limits_from_rows,
    bound_task_from_row,
    downstream_from_edges,
)
from actors.orchestrator.state import SwarmState
from messages.values import FINAL_RUN_STATUSES, RunStatus, TaskId, TaskStatus

__all__ = [
    "EdgesLike", "Effect", "FailureKind", "Fate", "Finish", "FullSync", "ResourcesFailed",
    "RunFailure", "RunMachine", "RunPhase", "RunPolicy", "RunResult", "RunStopped",
    "SendTerminate", "SetRunStatus", "StatusHeld", "TaskRowLike", "TasksFailed",
    "array_limits_from_rows", "bound_task_from_row", "build_result", "decide_fate",
    "downstream_from_edges", "evaluate", "may_schedule", "on_distributor_died",
    "on_distributor_exited", "on_full_sync", "on_heartbeat_failed", "on_resources_failed",
    "on_server_status",
    "on_status_failed", "on_status_reply", "on_stop_requested", "start_run",
]

_R, _E = RunStatus.RUNNING, RunStatus.ERROR
_DRAIN_WAIT = (TaskStatus.INSTANTIATING, TaskStatus.LAUNCHED, TaskStatus.RUNNING)
_RESUME = frozenset({RunStatus.COLD_RESUME, RunStatus.HOT_RESUME})


class TasksFailed(RunError):
    """The run ended with tasks in F, or with tasks that can never run."""


class RunStopped(RunError):
    """The server ended the run (it set E, T or S), or the run drained after a resume."""


class ResourcesFailed(RunError):
    """A task's resource callable failed or returned something that is not valid resources."""


class FailureKind(enum.Enum):
    """Why a run ended abnormally."""

    TIMEOUT = "timeout"
    DISTRIBUTOR_DIED = "distributor_died"
    TRANSITION = "transition"
    FAIL_AFTER_N = "fail_after_n_executions"
    FAIL_FAST = "fail_fast"
    TASKS_FAILED = "tasks_failed"
    STOPPED = "stopped"
    RESUMED = "resumed"
    SERVER = "server_unavailable"
    RESOURCES = "resource_function_failed"


_ERROR_TYPES: Mapping[FailureKind, type[ActorswarmError]] = {
    FailureKind.TIMEOUT: RunTimeout, FailureKind.DISTRIBUTOR_DIED: DistributorDied,
    FailureKind.TRANSITION: TransitionError, FailureKind.FAIL_AFTER_N: FailAfterNExecutions,
    FailureKind.FAIL_FAST: TasksFailed, FailureKind.TASKS_FAILED: TasksFailed,
    FailureKind.STOPPED: RunStopped, FailureKind.RESUMED: RunStopped,
    FailureKind.SERVER: ServerUnavailable, FailureKind.RESOURCES: ResourcesFailed,
}


@attrs.frozen
class RunFailure:
    """Why the run ended abnormally: a kind, its exception class and a one-line message."""

    kind: FailureKind
    message: str

    @property
    def error_type(self) -> type[ActorswarmError]:
        """The exception class this failure stands for (a RunError, or ServerUnavailable)."""
        return _ERROR_TYPES[self.kind]

    def to_exception(self) -> ActorswarmError:
        """The exception to raise (or report as ``{"type", "message"}``)."""
        return self.error_type(self.message)


@attrs.frozen
class RunPolicy:
    """What ends a run early (from OrchestratorConfig). Times in seconds."""

    timeout: float = 36000.0
    fail_fast: bool = False
    fail_after_n_executions: int | None = None
    terminate_resend: float = 30.0  #: while draining, repeat terminate this often
    server_outage_limit: float = 600.0  #: end the run after this long without the server


class RunPhase(enum.Enum):
    """Where the orchestrator is in a run's life."""

    STARTING = "starting"      #: R requested, waiting for the reply
    RUNNING = "running"        #: scheduling tasks
    DRAINING = "draining"      #: C/H seen, terminate sent; a full sync, then I/O/R drained
    FINAL_SYNC = "final_sync"  #: nothing can happen any more; one more full sync first
    FINISHING = "finishing"    #: final status requested, waiting for the reply
    FINISHED = "finished"


class Fate(enum.Enum):
    """What the task counts say about the run (``decide_fate``)."""

    CONTINUE = "continue"
    DONE = "done"
    STALLED = "stalled"        #: nothing live any more, not all tasks D
    FAIL_FAST = "fail_fast"
    FAIL_AFTER_N = "fail_after_n"


@attrs.frozen
class SetRunStatus:
    """Effect: ask the server to move the run to ``status`` (PUT update_status)."""

    status: RunStatus


@attrs.frozen
class SendTerminate:
    """Effect: ask the server to kill the run's task instances (terminate_task_instances)."""


@attrs.frozen
class FullSync:
    """Effect: ask the synchronizer for a full status sync now."""


@attrs.frozen
class StatusHeld:
    """Effect: tell the heartbeat the run status the swarm now holds."""

    status: RunStatus


@attrs.frozen
class RunResult:
    """The outcome of a run (the fields of DESIGN.md's OrchestratorResult)."""

    final_status: RunStatus
    elapsed_time: float
    total_tasks: int
    done_count: int
    failed_count: int
    num_previously_complete: int
    task_final_statuses: Mapping[TaskId, TaskStatus] = attrs.field(eq=False)
    done_task_ids: tuple[TaskId, ...]
    failed_task_ids: tuple[TaskId, ...]
    error: RunFailure | None


@attrs.frozen
class Finish:
    """Effect: the run is over."""

    result: RunResult


Effect = SetRunStatus | SendTerminate | FullSync | StatusHeld | Finish
Step = tuple["RunMachine", tuple[Effect, ...]]


@attrs.frozen
class RunMachine:
    """The run-level state of the orchestrator (frozen; change it with the functions below)."""

    phase: RunPhase
    started_at: float
    held: RunStatus                       #: the run status the swarm last heard of
    requested: RunStatus | None = None    #: a status asked for, reply pending
    pending_error: RunFailure | None = None
    final_sync_done: bool = False
    terminate_at: float | None = None     #: when terminate was last sent
    drain_synced: bool = False            #: a full sync was applied since draining began
    result: RunResult | None = None


def may_schedule(machine: RunMachine) -> bool:
    """Whether ready tasks may be handed to the scheduler (only while RUNNING)."""
    return machine.phase is RunPhase.RUNNING


def decide_fate(state: SwarmState, policy: RunPolicy) -> Fate:
    """What the counts say: fail-fast first, then "nothing live", then the test hook."""
    if policy.fail_fast and state.failed_count:
        return Fate.FAIL_FAST
    if state.live_count == 0:
        return Fate.DONE if state.done_count == state.total_tasks else Fate.STALLED
    limit = policy.fail_after_n_executions
    if limit is not None and state.n_executions >= limit:
        return Fate.FAIL_AFTER_N
    return Fate.CONTINUE


def build_result(state: SwarmState, machine: RunMachine, now: float, final_status: RunStatus,
                 error: RunFailure | None) -> RunResult:
    """The RunResult of the run as ``state`` has it now (scans the tasks once)."""
    buckets = state.buckets
    return RunResult(
        final_status=final_status,
        elapsed_time=max(0.0, now - machine.started_at),
        total_tasks=state.total_tasks,
        done_count=state.done_count,
        failed_count=state.failed_count,
        num_previously_complete=state.num_previously_complete,
        task_final_statuses=types.MappingProxyType(
            {task_id: rec.status for task_id, rec in state.tasks.items()}),
        done_task_ids=tuple(sorted(buckets[TaskStatus.DONE])),
        failed_task_ids=tuple(sorted(buckets[TaskStatus.ERROR_FATAL])),
        error=error,
    )


def _finish(m: RunMachine, state: SwarmState, now: float, status: RunStatus,
            error: RunFailure | None) -> Step:
    result = build_result(state, m, now, status, error)
    return (attrs.evolve(m, phase=RunPhase.FINISHED, held=status, requested=None,
                         result=result), (Finish(result),))


def _request_final(m: RunMachine, status: RunStatus, error: RunFailure | None) -> Step:
    return (attrs.evolve(m, phase=RunPhase.FINISHING, requested=status, pending_error=error),
            (SetRunStatus(status),))


def start_run(state: SwarmState, held: RunStatus, now: float, policy: RunPolicy) -> Step:
    """Begin: request R unless the run is already R (an ended run is left as it is)."""
    m = RunMachine(phase=RunPhase.STARTING, started_at=now, held=held)
    if held in FINAL_RUN_STATUSES or held in _RESUME:
        return on_server_status(attrs.evolve(m, held=RunStatus.RUNNING), state, held, now,
                                policy)
    if held is _R:
        m, effects = evaluate(attrs.evolve(m, phase=RunPhase.RUNNING), state, now, policy)
        return m, (StatusHeld(_R),) + effects
    return attrs.evolve(m, requested=_R), (SetRunStatus(_R),)


def on_status_reply(m: RunMachine, state: SwarmState, asked: RunStatus, reply: RunStatus,
                    now: float, policy: RunPolicy) -> Step:
    """The server answered SetRunStatus(``asked``) with ``reply``; a different status is a
    TransitionError. The answer to an earlier request that was overtaken is ignored."""
    requested = m.requested
    if requested is None or asked is not requested:
        return m, ()
    refused = None if reply is requested else RunFailure(
        FailureKind.TRANSITION,
        f"the server refused run status {requested.value} ({requested.name}): "
        f"the run is {reply.value} ({reply.name})")
    if m.phase is RunPhase.FINISHING:
        return _finish(m, state, now, reply, m.pending_error or refused)
    m = attrs.evolve(m, held=reply, requested=None)
    if refused is None:
        m, effects = evaluate(attrs.evolve(m, phase=RunPhase.RUNNING), state, now, policy)
        return m, (StatusHeld(reply),) + effects
    if reply in FINAL_RUN_STATUSES:
        return _finish(m, state, now, reply, refused)
    return _request_final(m, _E, refused)


def on_status_failed(m: RunMachine, state: SwarmState, asked: RunStatus, now: float,
                     detail: str) -> Step:
    """SetRunStatus(``asked``) could not reach the server (after the gateway's retries)."""
    if m.requested is None or asked is not m.requested:
        return m, ()
    failure = RunFailure(FailureKind.SERVER, f"could not set run status {asked.value}: {detail}")
    if m.phase is RunPhase.FINISHING:
        return _finish(m, state, now, m.held, m.pending_error or failure)
    return _request_final(m, _E, failure)


def on_server_status(m: RunMachine, state: SwarmState, status: RunStatus, now: float,
                     policy: RunPolicy) -> Step:
    """The heartbeat saw the server hold ``status``: E/T/S end the loop as is; C/H drain."""
    if m.phase in (RunPhase.FINISHING, RunPhase.FINISHED) or status is m.held:
        return m, ()
    if status in FINAL_RUN_STATUSES:
        error = None if status is RunStatus.DONE else RunFailure(
            FailureKind.STOPPED, f"the server set the run to {status.value} ({status.name})")
        return _finish(m, state, now, status, error)
    if status not in _RESUME:
        return m, ()
    # our view may lag (a task seen Q may run): terminate now; a full sync decides the drain
    m = attrs.evolve(m, phase=RunPhase.DRAINING, held=status, requested=None,
                     terminate_at=now, drain_synced=False)
    effects: tuple[Effect, ...] = (StatusHeld(status), SendTerminate(), FullSync())
    m, more = evaluate(m, state, now, policy)
    return m, effects + more


def on_distributor_died(m: RunMachine, state: SwarmState, now: float, detail: str) -> Step:
    """The supervisor says the distributor is gone: the run ends E with a distributor error."""
    if m.phase in (RunPhase.FINISHING, RunPhase.FINISHED):
        return m, ()
    return _request_final(m, _E, RunFailure(FailureKind.DISTRIBUTOR_DIED,
                                            f"the distributor died: {detail}"))


def on_distributor_exited(m: RunMachine, state: SwarmState, now: float, detail: str,
                          server_status: RunStatus | None, policy: RunPolicy) -> Step:
    """The distributor exited by itself (exit code 0), which it does when it sees the run over
    on the server; ``server_status`` is the run's status read then (None: unreadable). A final
    status ends the run as a heartbeat report of it would; anything else: the distributor died.
    """
    if server_status is not None and server_status in FINAL_RUN_STATUSES:
        return on_server_status(m, state, server_status, now, policy)
    return on_distributor_died(m, state, now, detail)


def on_resources_failed(m: RunMachine, state: SwarmState, now: float, detail: str) -> Step:
    """A task's resource callable failed: the run cannot go on as defined, it ends E."""
    if m.phase in (RunPhase.FINISHING, RunPhase.FINISHED):
        return m, ()
    return _request_final(m, _E, RunFailure(FailureKind.RESOURCES, detail))


def on_heartbeat_failed(m: RunMachine, state: SwarmState, now: float, silent_for: float,
                        policy: RunPolicy) -> Step:
    """A beat failed; the server has not answered one for ``silent_for`` seconds. Past the
    outage limit the run ends E at once (the server cannot be told: it still has the run as
    it was, and the overdue heartbeat marks it abandoned there)."""
    if m.phase in (RunPhase.FINISHING, RunPhase.FINISHED) or \
            silent_for < policy.server_outage_limit:
        return m, ()
    return _finish(m, state, now, _E, RunFailure(
        FailureKind.SERVER,
        f"the state server has not answered for {silent_for:.0f} s (outage limit "
        f"{policy.server_outage_limit:g} s); the run is left {m.held.value} on the server: "
        "resume the workflow once the server is back"))


def on_stop_requested(m: RunMachine, state: SwarmState, now: float, reason: str) -> Step:
    """Someone (Ctrl-C, an embedding host) asked to stop: request S and end with that reason."""
    if m.phase in (RunPhase.FINISHING, RunPhase.FINISHED):
        return m, ()
    return _request_final(m, RunStatus.STOPPED, RunFailure(FailureKind.STOPPED,
                                                           f"the run was stopped: {reason}"))


def on_full_sync(m: RunMachine, state: SwarmState, now: float, policy: RunPolicy) -> Step:
    """A full sync was applied to ``state``; if it was the final one, decide now."""
    if m.phase is RunPhase.FINAL_SYNC:
        m = attrs.evolve(m, phase=RunPhase.RUNNING, final_sync_done=True)
    elif m.phase is RunPhase.DRAINING and not m.drain_synced:
        m = attrs.evolve(m, drain_synced=True)
        if state.count(*_DRAIN_WAIT):  # the sync found instances the first terminate missed
            m, effects = evaluate(attrs.evolve(m, terminate_at=now), state, now, policy)
            return m, (SendTerminate(), *effects)
    return evaluate(m, state, now, policy)


def _stalled_failure(state: SwarmState) -> RunFailure:
    failed = sorted(state.buckets[TaskStatus.ERROR_FATAL])
    shown = ", ".join(str(t) for t in failed[:10]) + (", ..." if len(failed) > 10 else "")
    unfinished = state.total_tasks - state.done_count - len(failed)
    text = f"{len(failed)} task(s) failed" + (f": {shown}" if failed else "")
    if unfinished:
        text += f"; {unfinished} task(s) can never run"
    return RunFailure(FailureKind.TASKS_FAILED, text)


def evaluate(m: RunMachine, state: SwarmState, now: float, policy: RunPolicy) -> Step:
    """Decide what the run does next, after a state change or a timer tick."""
    phase = m.phase
    if phase in (RunPhase.FINISHING, RunPhase.FINISHED):
        return m, ()
    if now - m.started_at > policy.timeout:
        return _request_final(m, _E, RunFailure(
            FailureKind.TIMEOUT,
            f"not all tasks finished within the run timeout of {policy.timeout:g} s; "
            "tasks already submitted keep running; resume the workflow to go on"))
    if phase is RunPhase.STARTING:
        return m, ()
    if phase is RunPhase.DRAINING:
        if state.count(*_DRAIN_WAIT) == 0 and m.drain_synced:
            return _request_final(m, RunStatus.TERMINATED, RunFailure(
                FailureKind.RESUMED, f"the run was set to {m.held.value} ({m.held.name}) "
                "for a resume; its task instances drained"))
        if m.terminate_at is None or now - m.terminate_at >= policy.terminate_resend:
            return attrs.evolve(m, terminate_at=now), (SendTerminate(),)
        return m, ()
    fate = decide_fate(state, policy)
    if fate is Fate.CONTINUE:
        if phase is RunPhase.RUNNING and not m.final_sync_done:
            return m, ()
        return attrs.evolve(m, phase=RunPhase.RUNNING, final_sync_done=False), ()
    if fate is Fate.DONE:
        return _request_final(m, RunStatus.DONE, None)
    if fate is Fate.FAIL_FAST:
        return _request_final(m, _E, RunFailure(
            FailureKind.FAIL_FAST, "fail-fast: stopping after the first failed task "
            f"({min(state.buckets[TaskStatus.ERROR_FATAL])})"))
    if fate is Fate.FAIL_AFTER_N:
        return _request_final(m, _E, RunFailure(
            FailureKind.FAIL_AFTER_N, f"asked to fail after {policy.fail_after_n_executions} "
            f"executions; {state.n_executions} tasks reached D"))
    if m.final_sync_done:
        return _request_final(m, _E, _stalled_failure(state))
    if phase is RunPhase.FINAL_SYNC:
        return m, ()
    return attrs.evolve(m, phase=RunPhase.FINAL_SYNC), (FullSync(),)
