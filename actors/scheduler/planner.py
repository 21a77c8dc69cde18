"""Batch planning for the scheduler (pure; no I/O): ready tasks -> queue_task_batch batches.

Who uses it: the scheduler actor. The orchestrator sends it the tasks it took for scheduling
(``ReadyTask``: id, array, resources) with its capacities; the scheduler calls
``plan_batches`` to group them, ``BindingCache.missing`` to learn which resource sets still
need a ``bind_resources`` call, binds those, records the ids with ``BindingCache.with_bound``
and then sends one ``queue_task_batch`` per batch. Deferred tasks go back to the orchestrator.

A batch holds tasks of one array with equal resources, at most ``max_batch_size`` of them
(Jobmon: 500), in the order they came. Planning is one pass over the tasks (O(n)).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import attrs

from actors.errors import ConfigError
from actors.resources import QueueKey, ResourceSet, UnknownQueue
from messages.values import ArrayId, TaskId

__all__ = [
    "DEFAULT_MAX_BATCH_SIZE",
    "Batch",
    "BindingCache",
    "Plan",
    "PlannableTask",
    "plan_batches",
    "plan_groups",
]

#: Jobmon's batch size.
DEFAULT_MAX_BATCH_SIZE = 500


class PlannableTask(Protocol):
    """What the planner needs about a task (``actors.orchestrator.state.ReadyTask``)."""

    @property
    def task_id(self) -> TaskId: ...
    @property
    def array_id(self) -> ArrayId: ...
    @property
    def resources(self) -> ResourceSet: ...


@attrs.frozen
class Batch:
    """Tasks of one array with equal resources: one queue_task_batch call."""

    array_id: ArrayId
    resources: ResourceSet
    task_ids: tuple[TaskId, ...]


@attrs.frozen
class Plan:
    """The batches to queue, in order, and the tasks left over for lack of capacity."""

    batches: tuple[Batch, ...]
    deferred: tuple[TaskId, ...] = ()


def plan_batches(tasks: Iterable[PlannableTask], max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
                 *, workflow_capacity: int | None = None,
                 array_capacity: Mapping[ArrayId, int] | None = None) -> Plan:
    """Group ``tasks`` into batches: one array and equal resources each, order preserved.

    Batches come in the order of their first task; a full batch is closed and the next task of
    its group opens a new one. With capacities given, tasks beyond them are deferred (a task
    over its array's capacity does not use workflow capacity; an array missing from
    ``array_capacity`` is not limited).
    """
    if isinstance(max_batch_size, bool) or not isinstance(max_batch_size, int) \
            or max_batch_size < 1:
        raise ConfigError(f"max_batch_size: expected a whole number of at least 1, "
                          f"got {max_batch_size!r}")
    room = workflow_capacity
    caps = dict(array_capacity) if array_capacity is not None else None
    open_batches: dict[tuple[ArrayId, ResourceSet], list[TaskId]] = {}
    ordered: list[tuple[tuple[ArrayId, ResourceSet], list[TaskId]]] = []
    deferred: list[TaskId] = []
    for task in tasks:
        array_id = task.array_id
        cap = caps.get(array_id) if caps is not None else None
        if (cap is not None and cap <= 0) or (room is not None and room <= 0):
            deferred.append(task.task_id)
            continue
        if cap is not None and caps is not None:
            caps[array_id] = cap - 1
        if room is not None:
            room -= 1
        key = (array_id, task.resources)
        ids = open_batches.get(key)
        if ids is None or len(ids) >= max_batch_size:
            ids = open_batches[key] = []
            ordered.append((key, ids))
        ids.append(task.task_id)
    batches = tuple(Batch(array_id=key[0], resources=key[1], task_ids=tuple(ids))
                    for key, ids in ordered)
    return Plan(batches=batches, deferred=tuple(deferred))


def plan_groups(groups: Iterable[tuple[ArrayId, ResourceSet, Sequence[TaskId]]],
                max_batch_size: int = DEFAULT_MAX_BATCH_SIZE) -> Plan:
    """Batches for tasks that come already grouped by (array, resources), order preserved:
    the same plan ``plan_batches`` makes of the ungrouped tasks, in O(number of batches)."""
    if isinstance(max_batch_size, bool) or not isinstance(max_batch_size, int) \
            or max_batch_size < 1:
        raise ConfigError(f"max_batch_size: expected a whole number of at least 1, "
                          f"got {max_batch_size!r}")
    merged: dict[tuple[ArrayId, ResourceSet], list[TaskId]] = {}
    for array_id, resources, task_ids in groups:
        merged.setdefault((array_id, resources), []).extend(task_ids)
    batches = tuple(Batch(array_id=key[0], resources=key[1],
                          task_ids=tuple(ids[i:i + max_batch_size]))
                    for key, ids in merged.items() for i in range(0, len(ids), max_batch_size))
    return Plan(batches=batches)


@attrs.frozen
class BindingCache:
    """task_resources ids already bound, by (queue id, resources); at most ``max_entries``.

    A value: ``with_bound`` returns a new cache (the oldest entry is dropped when full).
    """

    entries: Mapping[tuple[int, ResourceSet], int] = attrs.field(factory=dict, eq=False)
    max_entries: int = 10_000

    def get(self, queue_id: int, resources: ResourceSet) -> int | None:
        """The bound task_resources id, or None if it still has to be bound."""
        return self.entries.get((queue_id, resources))

    def with_bound(self, queue_id: int, resources: ResourceSet,
                   task_resources_id: int) -> BindingCache:
        """A cache that also knows ``task_resources_id`` for (queue id, resources)."""
        entries = dict(self.entries)
        entries.pop((queue_id, resources), None)
        entries[(queue_id, resources)] = task_resources_id
        while len(entries) > self.max_entries:
            del entries[next(iter(entries))]
        return attrs.evolve(self, entries=entries)

    def missing(self, batches: Sequence[Batch],
                queue_ids: Mapping[QueueKey, int]) -> tuple[tuple[int, ResourceSet], ...]:
        """(queue id, resources) of the batches not bound yet, each once, in batch order.

        ``queue_ids`` maps (cluster, queue) names to the server's queue ids; a queue missing
        from it raises UnknownQueue.
        """
        seen: dict[tuple[int, ResourceSet], None] = {}
        for batch in batches:
            queue_id = queue_ids.get(batch.resources.queue_key)
            if queue_id is None:
                raise UnknownQueue(batch.resources.queue_key,
                                   f"batch of array {batch.array_id}")
            key = (queue_id, batch.resources)
            if key not in self.entries:
                seen.setdefault(key, None)
        return tuple(seen)
