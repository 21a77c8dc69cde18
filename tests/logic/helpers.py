"""Builders and a from-scratch recount shared by the pure-logic tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from actors.orchestrator.state import BoundTask, Stage, SwarmState, UpdateOutcome
from actors.resources import QueueLimits, ResourcePolicy, ResourceSet
from messages.values import ACTIVE_TASK_STATUSES, ArrayId, TaskId, TaskStatus

G, Q, I, O, R = (TaskStatus.REGISTERING, TaskStatus.QUEUED, TaskStatus.INSTANTIATING,
                 TaskStatus.LAUNCHED, TaskStatus.RUNNING)
D, E, A, F = (TaskStatus.DONE, TaskStatus.ERROR_RECOVERABLE, TaskStatus.ADJUSTING_RESOURCES,
              TaskStatus.ERROR_FATAL)

ALL = QueueLimits.from_params("c", "all", {"max_cores": 8, "max_memory": 16,
                                           "max_runtime": 3600})
LONG = QueueLimits.from_params("c", "long", {"max_cores": 8, "max_memory": 64,
                                             "max_runtime": 86400})
QUEUES = {ALL.key: ALL, LONG.key: LONG}
RES = ResourceSet("c", "all", cores=1, memory=1.0, runtime=60)


def task(task_id: int, status: TaskStatus = G, array: int = 1,
         resources: ResourceSet = RES, fallback: Sequence[str] = ()) -> BoundTask:
    """A bound task with default resources on queue ``all``."""
    return BoundTask(TaskId(task_id), ArrayId(array), status, 3, resources,
                     ResourcePolicy(fallback_queues=tuple(fallback)))


def build(tasks: Iterable[BoundTask], edges: Mapping[int, Sequence[int]] | None = None,
          limit: int = 1000, arrays: Mapping[int, int] | None = None,
          ) -> tuple[SwarmState, UpdateOutcome]:
    """A SwarmState over ``tasks`` and ``edges`` (upstream -> downstreams)."""
    return SwarmState.build(
        list(tasks), {TaskId(u): [TaskId(d) for d in ds] for u, ds in (edges or {}).items()},
        queues=QUEUES, workflow_limit=limit,
        array_limits={ArrayId(a): n for a, n in (arrays or {}).items()})


def ready_ids(state: SwarmState) -> list[TaskId]:
    """Task ids with a valid ready-queue entry, in queue order."""
    return [rec.task_id for rec in state.ready if rec.stage is Stage.READY]


def check_invariants(state: SwarmState) -> None:
    """Every invariant of SwarmState, recounted from scratch."""
    statuses = Counter(rec.status for rec in state.tasks.values())
    for status in TaskStatus:
        bucket = state.buckets[status]
        assert len(bucket) == statuses[status], status
        assert all(state.tasks[t].status is status for t in bucket)
    assert sum(len(b) for b in state.buckets.values()) == len(state.tasks)
    entries = Counter(id(rec) for rec in state.ready)
    assert max(entries.values(), default=0) <= 1, "a task has two ready-queue entries"
    stages = Counter(rec.stage for rec in state.tasks.values())
    assert stages[Stage.READY] == state.n_ready
    per_array = Counter(rec.array_id for rec in state.tasks.values() if rec.stage is Stage.READY)
    assert {a: n for a, n in state.ready_by_array.items() if n} == dict(per_array)
    assert stages[Stage.IN_FLIGHT] == state.n_in_flight
    in_queue = {id(rec) for rec in state.ready}
    active_by_array: Counter[ArrayId] = Counter()
    for rec in state.tasks.values():
        queued = id(rec) in in_queue
        assert queued == (rec.stage in (Stage.READY, Stage.STALE)), rec.task_id
        eligible = rec.waiting == 0 and rec.status in (G, A)
        if eligible:
            assert rec.stage in (Stage.READY, Stage.IN_FLIGHT), rec.task_id
        if rec.stage is Stage.READY:
            assert eligible, rec.task_id
        if rec.stage is Stage.IN_FLIGHT or rec.status in ACTIVE_TASK_STATUSES:
            active_by_array[rec.array_id] += 1
    assert state.active == sum(active_by_array.values())
    for array_id, count in state.active_by_array.items():
        assert count == active_by_array[array_id], array_id
    waiting: Counter[TaskId] = Counter()
    for rec in state.tasks.values():
        if rec.status is not D:
            for down in rec.downstream:
                waiting[down.task_id] += 1
    for rec in state.tasks.values():
        assert rec.waiting == waiting[rec.task_id], rec.task_id
    assert state.done_count + state.failed_count + sum(
        1 for r in state.tasks.values() if r.status not in (D, F)) == state.total_tasks

