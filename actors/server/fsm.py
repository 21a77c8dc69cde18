"""The Jobmon status machines of the state server: pure rules, no I/O, no clock.

Every route that changes a status asks this module what the change is; the ``ops`` modules
only read rows, call these functions and write the answers back. Letters stay on the wire and
in the database; code uses the enums.

Workflow run::

    G→L→B→I→O→R→D          B/I/O/R→E   R→S   B/R→C|H (resume)   C/H→T   L→A
    R→R and L→L are ignored (answered with the unchanged status, not refused)

Task: G→Q, A→Q, Q→I, I→O, I→E, I→R, O→R, O→E, R→D, R→E, E→A, E→Q, E→F, E→G.
E is transient on the server: the error policy resolves it in the same transaction.

Task instance: Q→I, Q→K, I→O, I→W, I→K, I→R, O→R, O→U, O→X, O→Z, O→K, O→F, R→T, R→E,
R→U, R→Z, R→K, R→D, T→R, T→Z, T→U, T→F, K→F, K→D, X→E.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools

import attrs

from messages.values import RunStatus, TaskInstanceStatus, TaskStatus

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "CLAIMABLE_RUN_STATUSES",
    "INSTANCE_ERROR_STATUSES",
    "INSTANCE_TRANSITIONS",
    "INSTANCE_UNTIMELY",
    "LIVE_INSTANCE_STATUSES",
    "QUEUEABLE_TASK_STATUSES",
    "RUN_IGNORED",
    "RUN_TRANSITIONS",
    "TASK_TRANSITIONS",
    "InstanceStatus",
    "InstanceStep",
    "RunStatus",
    "RunStep",
    "TaskStatus",
    "error_policy",
    "heartbeat_step",
    "instance_step",
    "resume_target",
    "run_step",
    "task_path",
    "terminate_target",
    "triage_target",
]


InstanceStatus = TaskInstanceStatus  # the server's short name for the same class


def _pairs(enum_cls: type[enum.StrEnum], text: str) -> frozenset[tuple[str, str]]:
    out = set()
    for pair in text.split():
        src, dst = pair.split(">")
        out.add((enum_cls(src), enum_cls(dst)))
    return frozenset(out)


RUN_TRANSITIONS = _pairs(RunStatus, "G>L L>B L>A B>I I>O O>R I>E O>E B>E B>C B>H R>D R>S R>C "
                                    "R>H R>E C>T H>T")
RUN_IGNORED = _pairs(RunStatus, "R>R L>L")
TASK_TRANSITIONS = _pairs(TaskStatus, "G>Q A>Q Q>I I>O I>E I>R O>R O>E R>D R>E E>A E>Q E>F "
                                      "E>G")
INSTANCE_TRANSITIONS = _pairs(InstanceStatus, "Q>I Q>K I>O I>W I>K I>R O>R O>U O>X O>Z O>K "
                                              "O>F R>T R>E R>U R>Z R>K R>D T>R T>Z T>U T>F "
                                              "K>F K>D X>E")
# Races between the distributor and the worker that Jobmon answers by doing nothing.
INSTANCE_UNTIMELY = _pairs(InstanceStatus, "R>O E>O E>U E>E U>D U>E U>Z Z>U D>U")

ACTIVE_RUN_STATUSES = frozenset(RunStatus(s) for s in "GLBIORCH")
CLAIMABLE_RUN_STATUSES = frozenset(RunStatus(s) for s in "BIOR")
QUEUEABLE_TASK_STATUSES = frozenset({TaskStatus.REGISTERING, TaskStatus.ADJUSTING_RESOURCES})
INSTANCE_ERROR_STATUSES = frozenset(InstanceStatus(s) for s in "EUZW")
LIVE_INSTANCE_STATUSES = frozenset(InstanceStatus(s) for s in "QIORTK")


@attrs.frozen
class RunStep:
    """The answer to a run-status request: the status after it and whether it changed."""

    status: RunStatus
    changed: bool
    refused: bool


def run_step(current: RunStatus, target: RunStatus) -> RunStep:
    """Apply ``target`` to a run in ``current``: legal → changed; R→R/L→L → ignored; else refused."""
    if (current, target) in RUN_TRANSITIONS:
        return RunStep(target, changed=True, refused=False)
    if (current, target) in RUN_IGNORED:
        return RunStep(current, changed=False, refused=False)
    return RunStep(current, changed=False, refused=True)


def heartbeat_step(current: RunStatus, reported: RunStatus) -> tuple[RunStep, bool]:
    """A swarm heartbeat reporting ``reported``: the run step and whether the beat is recorded.

    A beat that repeats the server's status is recorded (it keeps a draining C/H run alive);
    one that asks for a legal change is applied and recorded; an illegal one changes nothing
    and the caller learns the server's status from the answer.
    """
    if current == reported:
        return RunStep(current, changed=False, refused=False), True
    step = run_step(current, reported)
    return step, not step.refused


def resume_target(current: RunStatus, reset_running_jobs: bool) -> RunStatus | None:
    """``set_resume``: an active (B/R) run goes to C (cold) or H (hot); others stay."""
    if current not in (RunStatus.BOUND, RunStatus.RUNNING):
        return None
    return RunStatus.COLD_RESUME if reset_running_jobs else RunStatus.HOT_RESUME


def task_path(current: TaskStatus, target: TaskStatus) -> tuple[TaskStatus, ...] | None:
    """The legal steps that take a task from ``current`` to ``target`` (None if there are none).

    Only the chains a task-instance report can need are searched: at most two steps.
    """
    if (current, target) in TASK_TRANSITIONS:
        return (target,)
    for mid in TaskStatus:
        if (current, mid) in TASK_TRANSITIONS and (mid, target) in TASK_TRANSITIONS:
            return (mid, target)
    return None


def error_policy(attempts: int, max_attempts: int, instance_error: InstanceStatus) -> TaskStatus:
    """Where a task goes after its instance errored (from the transient E)."""
    if attempts >= max_attempts:
        return TaskStatus.ERROR_FATAL
    if instance_error == InstanceStatus.RESOURCE_ERROR:
        return TaskStatus.ADJUSTING_RESOURCES
    return TaskStatus.REGISTERING


@attrs.frozen
class InstanceStep:
    """Result of one task-instance report: statuses after it and what happened."""

    instance_status: InstanceStatus
    task_status: TaskStatus
    changed: bool  # the instance's status changed
    refused: bool  # the request was illegal for the instance's status

    @property
    def task_changed(self) -> bool:
        return self.changed and not self.refused


_TASK_FOLLOWS = {
    InstanceStatus.INSTANTIATED: TaskStatus.INSTANTIATING,
    InstanceStatus.LAUNCHED: TaskStatus.LAUNCHED,
    InstanceStatus.RUNNING: TaskStatus.RUNNING,
    InstanceStatus.DONE: TaskStatus.DONE,
}


@functools.cache
def _reachable(current: TaskStatus, target: TaskStatus) -> bool:
    return task_path(current, target) is not None


def _task_effect(target: InstanceStatus, task: TaskStatus, attempts: int,
                 max_attempts: int) -> TaskStatus:
    """The task's status after its current instance reached ``target``."""
    want = _TASK_FOLLOWS.get(target)
    if want is not None:
        if task == want:
            return task
        return want if _reachable(task, want) else task
    if target in INSTANCE_ERROR_STATUSES or target == InstanceStatus.ERROR_FATAL:
        if (task, TaskStatus.ERROR_RECOVERABLE) not in TASK_TRANSITIONS:
            return task
        if target == InstanceStatus.ERROR_FATAL:
            return TaskStatus.ERROR_FATAL
        return error_policy(attempts, max_attempts, target)
    return task


def instance_step(current: InstanceStatus, target: InstanceStatus, task: TaskStatus,
                  attempts: int, max_attempts: int, is_current: bool) -> InstanceStep:
    """Apply a report of ``target`` to an instance in ``current`` whose task is in ``task``.

    - the same status again, or a known race (``INSTANCE_UNTIMELY``): nothing changes;
    - an instance told to kill itself (K) that reports an error (E/Z/U) ends F: killed;
    - a legal transition changes the instance, and the task too when this instance is the
      task's current one (its latest) and the task's own machine allows it: Q→I, I→O, →R,
      →D, and errors through E and the error policy (F for an instance F);
    - anything else is refused and nothing changes.
    """
    if current == InstanceStatus.KILL_SELF and target in INSTANCE_ERROR_STATUSES:
        target = InstanceStatus.ERROR_FATAL
    if current == target or (current, target) in INSTANCE_UNTIMELY:
        return InstanceStep(current, task, changed=False, refused=False)
    if (current, target) not in INSTANCE_TRANSITIONS:
        return InstanceStep(current, task, changed=False, refused=True)
    new_task = _task_effect(target, task, attempts, max_attempts) if is_current else task
    return InstanceStep(target, new_task, changed=True, refused=False)


def triage_target(status: InstanceStatus, report_by: dt.datetime | None, increment: float,
                  now: dt.datetime) -> InstanceStatus | None:
    """What triage does to one instance of the run at ``now`` (None: nothing).

    - R past its report-by → T (it has one more window for someone to resolve it);
    - T past its report-by (nobody resolved it within that window) → U;
    - O past its report-by and silent for two windows (report-by + increment) → X.
    """
    if report_by is None:
        return None
    if status == InstanceStatus.RUNNING and report_by <= now:
        return InstanceStatus.TRIAGING
    if status == InstanceStatus.TRIAGING and report_by <= now:
        return InstanceStatus.UNKNOWN_ERROR
    if (status == InstanceStatus.LAUNCHED
            and report_by + dt.timedelta(seconds=increment) <= now):
        return InstanceStatus.NO_HEARTBEAT
    return None


def terminate_target(status: InstanceStatus, hot: bool) -> InstanceStatus | None:
    """``terminate_task_instances``: Q/I/O → K, R → K unless the run is a hot resume."""
    if status in (InstanceStatus.QUEUED, InstanceStatus.INSTANTIATED, InstanceStatus.LAUNCHED):
        return InstanceStatus.KILL_SELF
    if status == InstanceStatus.RUNNING and not hot:
        return InstanceStatus.KILL_SELF
    return None
