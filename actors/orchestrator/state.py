"""SwarmState: the orchestrator's authoritative view of a run's tasks (pure; no I/O, no clock).

Who uses it: only the orchestrator actor, which owns one ``SwarmState`` and feeds it what it
hears: task status changes from the synchronizer (``apply_updates``), the scheduler's answers
(``apply_queued`` / ``release``) and concurrency limits (``set_workflow_limit`` /
``set_array_limit``). It asks the state for work with ``take_ready`` and sends that to the
scheduler. Methods return an ``UpdateOutcome`` (or the taken tasks); the actor acts on them.

SwarmState is a mutable aggregate (a million tasks cannot be copied per message), never shared.
Invariants (checked by the Hypothesis state machine in ``tests/logic``): each task is in exactly
one status bucket and counters equal a recount; a task has at most one ready-queue entry and is
never both ready and in flight; ``active`` (per workflow and array) = tasks in Q/I/O/R or in
flight, updated on every transition, never by scanning. One ``__slots__`` record per task.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable, Mapping, Sequence

from actors.errors import ConfigError
from actors.orchestrator.values import BoundTask, Collect, ReadyTask, UpdateOutcome
from actors.resources import (
    QueueKey,
    QueueLimits,
    ResourcePolicy,
    ResourceSet,
    UnknownQueue,
    adjust,
    coerce,
)
from messages.values import ACTIVE_TASK_STATUSES, ArrayId, TaskId, TaskStatus

__all__ = [
    "UNLIMITED", "BoundTask", "InvalidLimit", "ReadyTask", "Stage", "StateError", "SwarmState",
    "TaskRecord", "UpdateOutcome",
]

#: The limit of an array nobody told us about.
UNLIMITED = 2 ** 31 - 1
_ELIGIBLE = frozenset({TaskStatus.REGISTERING, TaskStatus.ADJUSTING_RESOURCES})
_LIVE = frozenset(ACTIVE_TASK_STATUSES | {TaskStatus.ERROR_RECOVERABLE})
_D, _F, _A = TaskStatus.DONE, TaskStatus.ERROR_FATAL, TaskStatus.ADJUSTING_RESOURCES


class StateError(ConfigError):
    """The tasks or edges given to build a SwarmState are inconsistent (names the task/edge)."""


class InvalidLimit(ConfigError):
    """A concurrency limit is not a whole number of at least 0 (names which limit)."""


class Stage(enum.IntEnum):
    """Where a task is in the swarm's own pipeline (independent of its server status)."""

    IDLE = 0      #: not in the ready queue, not handed to the scheduler
    READY = 1     #: has a valid entry in the ready queue
    STALE = 2     #: has an entry in the ready queue that no longer counts (skipped lazily)
    IN_FLIGHT = 3  #: handed to the scheduler, answer not yet applied


class TaskRecord:
    """One task's compact record (``__slots__``); ``downstream`` holds the dependents' records."""

    __slots__ = ("array_id", "downstream", "max_attempts", "policy", "resources", "stage",
                 "status", "task_id", "waiting")

    def __init__(self, task_id: TaskId, status: TaskStatus, array_id: ArrayId,
                 max_attempts: int, resources: ResourceSet, policy: ResourcePolicy) -> None:
        self.task_id = task_id
        self.status = status
        self.array_id = array_id
        self.max_attempts = max_attempts
        self.resources = resources
        self.policy = policy
        self.downstream: tuple[TaskRecord, ...] = ()
        self.waiting = 0  #: upstreams not yet D
        self.stage = Stage.IDLE


def _check_limit(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidLimit(f"{what}: expected a whole number of at least 0, got {value!r}")
    return value


class SwarmState:
    """Tasks, status buckets, the ready queue, capacity counters and limits of one run."""

    def __init__(self, queues: Mapping[QueueKey, QueueLimits], workflow_limit: int,
                 array_limits: Mapping[ArrayId, int], previously_complete_elsewhere: int = 0
                 ) -> None:
        self.tasks: dict[TaskId, TaskRecord] = {}
        self.buckets: dict[TaskStatus, set[TaskId]] = {s: set() for s in TaskStatus}
        self.ready: deque[TaskRecord] = deque()
        self.n_ready = 0
        self.ready_by_array: dict[ArrayId, int] = {}  #: READY entries per array
        self.n_in_flight = 0
        self.active = 0
        self.active_by_array: dict[ArrayId, int] = {}
        self.workflow_limit = _check_limit(workflow_limit, "workflow limit")
        self.array_limits: dict[ArrayId, int] = {
            a: _check_limit(n, f"limit of array {a}") for a, n in array_limits.items()}
        self.queues = dict(queues)
        self.n_executions = 0  #: tasks that reached D during this run
        self.elsewhere_done = _check_limit(previously_complete_elsewhere,
                                           "previously_complete_elsewhere")
        self.num_previously_complete = self.elsewhere_done
        self._coerced: dict[ResourceSet, ResourceSet] = {}
        self._interned: dict[ResourceSet, ResourceSet] = {}

    # ------------------------------------------------------------------------------ building

    @classmethod
    def build(cls, tasks: Iterable[BoundTask], downstream: Mapping[TaskId, Iterable[TaskId]],
              *, queues: Mapping[QueueKey, QueueLimits], workflow_limit: int,
              array_limits: Mapping[ArrayId, int] | None = None,
              previously_complete_elsewhere: int = 0) -> tuple[SwarmState, UpdateOutcome]:
        """A state from bound tasks and edges (upstream id -> downstream ids), and its fringe.

        Tasks already D count as previously complete (plus ``previously_complete_elsewhere``:
        D tasks the server did not send). The initial fringe is every A task (resources
        adjusted) followed by every G task whose upstreams are all D, in the given order.
        """
        state = cls(queues, workflow_limit, array_limits or {}, previously_complete_elsewhere)
        for task in tasks:
            state._add(task)
        for up_id, down_ids in downstream.items():
            up = state.tasks.get(up_id)
            if up is None:
                raise StateError(f"edge from task {up_id}: no such task among the bound tasks")
            records = []
            for down_id in down_ids:
                down = state.tasks.get(down_id)
                if down is None or down is up:
                    raise StateError(f"edge {up_id} -> {down_id}: " + (
                        "a self-edge" if down is up else "no such task among the bound tasks"))
                records.append(down)
                if up.status is not _D:
                    down.waiting += 1
            up.downstream = up.downstream + tuple(records)
        out = Collect()
        for status in (TaskStatus.ADJUSTING_RESOURCES, TaskStatus.REGISTERING):
            for rec in state.tasks.values():
                if rec.status is status:
                    if status is _A:
                        state._adjust(rec, out)
                    state._recheck(rec, out)
        return state, out.freeze()

    def _add(self, task: BoundTask) -> None:
        where = f"task {task.task_id}"
        if task.task_id in self.tasks:
            raise StateError(f"{where}: bound twice")
        for key in [task.resources.queue_key] + [
                (task.resources.cluster, q) for q in task.policy.fallback_queues]:
            if key not in self.queues:
                raise StateError(f"{where}: unknown queue {key[1]!r} of cluster {key[0]!r}")
        rec = TaskRecord(task.task_id, TaskStatus(task.status), task.array_id,
                         task.max_attempts, self._intern(task.resources), task.policy)
        self.tasks[rec.task_id] = rec
        self.buckets[rec.status].add(rec.task_id)
        self.active_by_array.setdefault(rec.array_id, 0)
        self._shift(rec, False)
        if rec.status is _D:
            self.num_previously_complete += 1

    def _intern(self, resources: ResourceSet) -> ResourceSet:
        return self._interned.setdefault(resources, resources)

    # ------------------------------------------------------------------------------ counts

    @property
    def total_tasks(self) -> int:
        """Every task of the run, including D tasks the server did not send."""
        return len(self.tasks) + self.elsewhere_done

    @property
    def done_count(self) -> int:
        """Tasks in D (including previously complete ones)."""
        return len(self.buckets[_D]) + self.elsewhere_done

    @property
    def failed_count(self) -> int:
        """Tasks in F."""
        return len(self.buckets[_F])

    @property
    def live_count(self) -> int:
        """Ready + in flight + tasks in Q/I/O/R/E: more may happen while this is above 0."""
        return self.n_ready + self.n_in_flight + sum(len(self.buckets[s]) for s in _LIVE)

    def count(self, *statuses: TaskStatus) -> int:
        """How many tasks are in any of ``statuses``."""
        return sum(len(self.buckets[s]) for s in statuses)

    def workflow_capacity(self) -> int:
        """Workflow limit minus tasks in Q/I/O/R or in flight (never below 0)."""
        return max(0, self.workflow_limit - self.active)

    def array_capacity(self, array_id: ArrayId) -> int:
        """The array's limit minus its tasks in Q/I/O/R or in flight (never below 0)."""
        limit = self.array_limits.get(array_id, UNLIMITED)
        return max(0, limit - self.active_by_array.get(array_id, 0))

    # ------------------------------------------------------------------------------ limits

    def set_workflow_limit(self, limit: int) -> bool:
        """The workflow's max_concurrently_running (0 pauses); True when it changed."""
        changed = _check_limit(limit, "workflow limit") != self.workflow_limit
        self.workflow_limit = limit
        return changed

    def set_array_limit(self, array_id: ArrayId, limit: int) -> bool:
        """An array's max_concurrently_running (0 pauses it); True when it changed."""
        _check_limit(limit, f"limit of array {array_id}")
        changed = self.array_limits.get(array_id, UNLIMITED) != limit
        self.array_limits[array_id] = limit
        return changed

    # ------------------------------------------------------------------------------ updates

    def apply_updates(self, updates: Mapping[TaskId, TaskStatus]) -> UpdateOutcome:
        """Apply server statuses {task id: status} (from a sync). Unknown ids are ignored.

        A D makes every dependent whose upstreams are now all D ready at once; an A scales
        the task's resources and puts it at the front of the ready queue.
        """
        out = Collect()
        tasks = self.tasks
        for task_id, status in updates.items():
            rec = tasks.get(task_id)
            if rec is None:
                out.unknown += 1
                continue
            if status.__class__ is not TaskStatus:
                status = TaskStatus(status)
            if rec.status is not status:
                self._set_status(rec, status, out)
        return out.freeze()

    def take_ready(self, limit: int | None = None) -> tuple[ReadyTask, ...]:
        """Take ready tasks for the scheduler, within the workflow's and arrays' capacities.

        Walks the ready queue at most once; tasks of a full array keep their place at the
        front. Taken tasks are in flight (counted in capacity) until apply_queued/release.
        """
        room = self.workflow_capacity() if limit is None else min(limit,
                                                                  self.workflow_capacity())
        # how many can be taken at all: the walk stops there, and is skipped when every array
        # with ready tasks is full (no rescan of a long queue blocked by array limits)
        room = min(room, sum(min(n, self.array_capacity(a))
                             for a, n in self.ready_by_array.items() if n))
        if room <= 0:
            return ()
        taken: list[ReadyTask] = []
        blocked: list[TaskRecord] = []
        caps: dict[ArrayId, int] = {}
        ready = self.ready
        for _ in range(len(ready)):
            if len(taken) >= room:
                break
            rec = ready.popleft()
            if rec.stage is not Stage.READY:  # a stale entry: drop it
                rec.stage = Stage.IDLE
                continue
            array_id = rec.array_id
            cap = caps.get(array_id)
            if cap is None:
                cap = self.array_capacity(array_id)
            if cap <= 0:
                blocked.append(rec)
                caps[array_id] = 0
                continue
            caps[array_id] = cap - 1
            was_active = self._is_active(rec)
            rec.stage = Stage.IN_FLIGHT
            self.n_ready -= 1
            self.ready_by_array[array_id] -= 1
            self.n_in_flight += 1
            self._shift(rec, was_active)
            taken.append(ReadyTask(rec.task_id, array_id, rec.resources))
        ready.extendleft(reversed(blocked))
        return tuple(taken)

    def apply_queued(self, requested: Sequence[TaskId],
                     tasks_by_status: Mapping[TaskStatus, Iterable[TaskId]]) -> UpdateOutcome:
        """Apply the scheduler's queue_task_batch answer for the ``requested`` in-flight tasks.

        A task's returned status is taken only if the sync has not already moved it past G/A
        (the sync's news is newer then). A task still G/A afterwards (the server did not queue
        it) goes back to the ready queue; a requested id missing from the answer is released.
        """
        answer = {tid: TaskStatus(status) for status, ids in tasks_by_status.items()
                  for tid in ids}
        out = Collect()
        for task_id in requested:
            rec = self.tasks.get(task_id)
            if rec is None:
                out.unknown += 1
                continue
            if rec.stage is not Stage.IN_FLIGHT:
                continue
            self._land(rec)
            status = answer.get(task_id)
            if status is None:
                self._recheck(rec, out, front=True)
                continue
            if rec.status in _ELIGIBLE and rec.status is not status:
                self._set_status(rec, status, out)
            self._recheck(rec, out)
        return out.freeze()

    def set_resources(self, task_id: TaskId, resources: ResourceSet) -> ResourceSet:
        """A task's resources from its callable, coerced; its queue must be known (UnknownQueue)."""
        rec = self.tasks[task_id]
        if resources.queue_key not in self.queues:
            raise UnknownQueue(resources.queue_key, f"task {task_id}")
        rec.resources = self._coerce(self._intern(resources))
        return rec.resources

    def release(self, task_ids: Sequence[TaskId]) -> UpdateOutcome:
        """In-flight tasks the scheduler could not queue go back to the front, in order."""
        out = Collect()
        for task_id in reversed(task_ids):
            rec = self.tasks.get(task_id)
            if rec is not None and rec.stage is Stage.IN_FLIGHT:
                self._land(rec)
                self._recheck(rec, out, front=True)
        out.ready.reverse()
        return out.freeze()

    # ------------------------------------------------------------------------------ internals

    @staticmethod
    def _is_active(rec: TaskRecord) -> bool:
        return rec.stage is Stage.IN_FLIGHT or rec.status in ACTIVE_TASK_STATUSES

    def _shift(self, rec: TaskRecord, was_active: bool) -> None:
        """Keep the capacity counters right after ``rec`` changed status or stage."""
        delta = self._is_active(rec) - was_active
        if delta:
            self.active += delta
            self.active_by_array[rec.array_id] = (
                self.active_by_array.get(rec.array_id, 0) + delta)

    def _land(self, rec: TaskRecord) -> None:
        """An in-flight task is back with the orchestrator (answered or released)."""
        rec.stage = Stage.IDLE
        self.n_in_flight -= 1
        self._shift(rec, True)

    def _set_status(self, rec: TaskRecord, status: TaskStatus, out: Collect) -> None:
        old = rec.status
        was_active = self._is_active(rec)
        self.buckets[old].discard(rec.task_id)
        self.buckets[status].add(rec.task_id)
        rec.status = status
        self._shift(rec, was_active)
        out.changed += 1
        if old is _D:  # never from a real server; kept consistent anyway
            for down in rec.downstream:
                down.waiting += 1
                self._recheck(down, out)
        if status is _D:
            self.n_executions += 1
            out.done.append(rec.task_id)
            for down in rec.downstream:
                down.waiting -= 1
                if down.waiting == 0:
                    self._recheck(down, out)
        elif status is _F:
            out.failed.append(rec.task_id)
        elif status is _A:
            self._adjust(rec, out)
        self._recheck(rec, out, front=status is _A)

    def _adjust(self, rec: TaskRecord, out: Collect) -> None:
        current = rec.resources
        queues = [self.queues[current.queue_key]] + [
            self.queues[(current.cluster, q)] for q in rec.policy.fallback_queues]
        rec.resources = self._intern(adjust(current, rec.policy, queues))
        out.adjusted.append(rec.task_id)

    def _recheck(self, rec: TaskRecord, out: Collect, front: bool = False) -> None:
        """Enqueue ``rec`` if it became eligible; mark its queue entry stale if it stopped."""
        eligible = rec.waiting == 0 and rec.status in _ELIGIBLE
        stage = rec.stage
        if eligible and (stage is Stage.IDLE or stage is Stage.STALE):
            if rec.status is not _A:
                rec.resources = self._coerce(rec.resources)
            if stage is Stage.IDLE:
                (self.ready.appendleft if front else self.ready.append)(rec)
            rec.stage = Stage.READY  # a stale entry is reused in place: never two entries
            self.n_ready += 1
            self.ready_by_array[rec.array_id] = self.ready_by_array.get(rec.array_id, 0) + 1
            out.ready.append(rec.task_id)
        elif not eligible and stage is Stage.READY:
            rec.stage = Stage.STALE
            self.n_ready -= 1
            self.ready_by_array[rec.array_id] -= 1

    def _coerce(self, resources: ResourceSet) -> ResourceSet:
        """Resources clamped to their queue's limits (cached: few distinct sets exist)."""
        coerced = self._coerced.get(resources)
        if coerced is None:
            coerced = self._intern(coerce(resources, self.queues[resources.queue_key]))
            self._coerced[resources] = coerced
        return coerced
