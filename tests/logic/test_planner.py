"""Scheduler batch planning and the resource binding cache (DESIGN.md section 4, scheduler)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.errors import ConfigError
from actors.orchestrator.state import ReadyTask
from actors.resources import ResourceSet, UnknownQueue
from actors.scheduler.planner import Batch, BindingCache, plan_batches
from messages.values import ArrayId, TaskId

SMALL = ResourceSet("c", "all", cores=1, memory=1.0, runtime=60)
BIG = ResourceSet("c", "all", cores=4, memory=8.0, runtime=3600)


def ready(task_id: int, array: int = 1, resources: ResourceSet = SMALL) -> ReadyTask:
    return ReadyTask(TaskId(task_id), ArrayId(array), resources)


def test_a_batch_holds_one_array_and_equal_resources_in_order() -> None:
    tasks = [ready(1), ready(2, 2), ready(3, 1, BIG), ready(4), ready(5, 2), ready(6, 1, BIG)]
    plan = plan_batches(tasks)
    assert plan.batches == (Batch(ArrayId(1), SMALL, (TaskId(1), TaskId(4))),
                            Batch(ArrayId(2), SMALL, (TaskId(2), TaskId(5))),
                            Batch(ArrayId(1), BIG, (TaskId(3), TaskId(6))))
    assert plan.deferred == ()


def test_a_batch_holds_at_most_max_batch_size_tasks() -> None:
    plan = plan_batches([ready(i) for i in range(1, 1201)])
    assert [len(b.task_ids) for b in plan.batches] == [500, 500, 200]
    assert [t for b in plan.batches for t in b.task_ids] == list(range(1, 1201))
    assert [len(b.task_ids) for b in plan_batches([ready(i) for i in range(7)],
                                                  max_batch_size=3).batches] == [3, 3, 1]
    with pytest.raises(ConfigError, match="max_batch_size"):
        plan_batches([], max_batch_size=0)


def test_capacities_given_to_the_planner_defer_the_rest() -> None:
    tasks = [ready(1, 1), ready(2, 1), ready(3, 2), ready(4, 2), ready(5, 3)]
    plan = plan_batches(tasks, workflow_capacity=3, array_capacity={ArrayId(1): 1})
    assert [b.task_ids for b in plan.batches] == [(1,), (3, 4)]
    assert plan.deferred == (2, 5)
    paused = plan_batches(tasks, workflow_capacity=0)
    assert paused.batches == () and paused.deferred == (1, 2, 3, 4, 5)


@given(st.lists(st.tuples(st.integers(1, 3), st.sampled_from([SMALL, BIG])), max_size=300),
       st.integers(1, 50))
def test_planning_keeps_every_task_once_grouped_and_bounded(
        specs: list[tuple[int, ResourceSet]], size: int) -> None:
    tasks = [ready(i, a, r) for i, (a, r) in enumerate(specs)]
    plan = plan_batches(tasks, max_batch_size=size)
    flat = [t for b in plan.batches for t in b.task_ids]
    assert sorted(flat) == list(range(len(tasks)))
    by_id = {t.task_id: t for t in tasks}
    for batch in plan.batches:
        assert 1 <= len(batch.task_ids) <= size
        assert list(batch.task_ids) == sorted(batch.task_ids)  # order preserved
        assert all(by_id[t].array_id == batch.array_id and by_id[t].resources == batch.resources
                   for t in batch.task_ids)
    firsts = [b.task_ids[0] for b in plan.batches]
    assert firsts == sorted(firsts)


def test_unbound_resources_are_listed_for_binding_first_then_cached() -> None:
    queues = {("c", "all"): 11}
    plan = plan_batches([ready(1), ready(2, 2), ready(3, 1, BIG)])
    cache = BindingCache()
    assert cache.missing(plan.batches, queues) == ((11, SMALL), (11, BIG))
    cache = cache.with_bound(11, SMALL, 501)
    assert cache.get(11, SMALL) == 501 and cache.get(11, BIG) is None
    assert cache.missing(plan.batches, queues) == ((11, BIG),)
    with pytest.raises(UnknownQueue, match="'all'"):
        cache.missing(plan.batches, {})


def test_the_binding_cache_is_bounded_and_drops_the_oldest() -> None:
    cache = BindingCache(max_entries=2)
    for i, res in enumerate([SMALL, BIG, ResourceSet("c", "all", cores=2)]):
        cache = cache.with_bound(1, res, i)
    assert cache.get(1, SMALL) is None and cache.get(1, BIG) == 1 and len(cache.entries) == 2


def test_planning_100k_ready_tasks_is_measured() -> None:
    resources = [ResourceSet("c", "all", cores=1, memory=float(m), runtime=60)
                 for m in range(1, 5)]
    tasks = [ready(i, i % 7, resources[i % 4]) for i in range(100_000)]
    start = time.perf_counter()
    plan = plan_batches(tasks)
    elapsed = time.perf_counter() - start
    print(f"\nplanning 100k ready tasks into {len(plan.batches)} batches: "
          f"{elapsed * 1000:.1f} ms (target <= 200 ms)")
    assert sum(len(b.task_ids) for b in plan.batches) == 100_000


@given(st.lists(st.tuples(st.integers(1, 3), st.sampled_from(["all", "long"])), max_size=60),
       st.integers(1, 7))
def test_plan_groups_equals_plan_batches_of_the_same_tasks(keys: list[tuple[int, str]],
                                                           max_batch_size: int) -> None:
    """Grouping first (as the orchestrator sends QueueTasks) plans the same batches; only the
    order of a group's later batches relative to other groups may differ (they are all sent at
    once anyway)."""
    from actors.resources import ResourceSet
    from actors.scheduler.planner import plan_batches, plan_groups

    class T:
        def __init__(self, i: int, array: int, queue: str) -> None:
            self.task_id, self.array_id = TaskId(i), ArrayId(array)
            self.resources = ResourceSet(cluster="sim", queue=queue)

    tasks = [T(i, a, q) for i, (a, q) in enumerate(keys)]
    groups: dict[tuple[ArrayId, ResourceSet], list[TaskId]] = {}
    for t in tasks:
        groups.setdefault((t.array_id, t.resources), []).append(t.task_id)
    flat = plan_batches(tasks, max_batch_size)
    grouped = plan_groups(((a, r, ids) for (a, r), ids in groups.items()), max_batch_size)
    def key(b: Batch) -> tuple[int, str, tuple[TaskId, ...]]:
        return (b.array_id, b.resources.queue, b.task_ids)

    assert sorted(grouped.batches, key=key) == sorted(flat.batches, key=key)
    assert grouped.batches[:1] == flat.batches[:1]
