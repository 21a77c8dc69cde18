"""Orchestrator memory per task (target: <= 1 KiB per task at 1M tasks), measured with tracemalloc.

Prints the figures; asserts only the memory budget, never time. The 1M-task size is ``slow``.
"""

from __future__ import annotations

import gc
import time
import tracemalloc

import pytest

from actors.orchestrator.state import BoundTask, SwarmState
from actors.resources import QueueLimits, ResourcePolicy, ResourceSet
from messages.values import ArrayId, TaskId, TaskStatus

KIB = 1024


def measure(n: int) -> float:
    """Bytes per task held by a SwarmState of ``n`` tasks (a chain-of-pairs DAG, 10 arrays).

    Everything is allocated under tracemalloc and the inputs are dropped before measuring, so
    the figure includes what the state keeps of them (ids, resources).
    """
    gc.collect()
    tracemalloc.start()
    try:
        queue = QueueLimits.from_params("c", "all", {"max_memory": 64})
        resources = [ResourceSet("c", "all", cores=1, memory=float(m), runtime=600)
                     for m in range(1, 9)]
        policy = ResourcePolicy()
        tasks = [BoundTask(TaskId(i), ArrayId(i % 10), TaskStatus.REGISTERING, 3,
                           resources[i % 8], policy) for i in range(n)]
        edges = {TaskId(i): (TaskId(i + 1),) for i in range(0, n - 1, 2)}
        start = time.perf_counter()
        state, fringe = SwarmState.build(tasks, edges, queues={queue.key: queue},
                                         workflow_limit=n)
        built = time.perf_counter() - start
        del fringe, tasks, edges
        taken = state.take_ready(limit=n // 4)  # some in flight, the rest ready or waiting
        del taken
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    per_task = current / n
    print(f"\n{n} tasks: {per_task:.0f} B/task held by SwarmState (peak with inputs "
          f"{peak / n:.0f} B/task), build {built:.2f} s under tracemalloc")
    assert len(state.tasks) == n
    return per_task

def test_memory_per_task_is_within_1_kib() -> None:
    assert measure(200_000) <= KIB


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_memory_per_task_is_within_1_kib_at_one_million_tasks() -> None:
    assert measure(1_000_000) <= KIB


def test_cpu_per_task_transition_is_measured() -> None:
    """A 50k-task fan-out through take -> queued -> R -> D; prints microseconds per transition."""
    n = 50_000
    queue = QueueLimits.from_params("c", "all", {})
    res = ResourceSet("c", "all", cores=1, memory=1.0, runtime=60)
    tasks = [BoundTask(TaskId(i), ArrayId(1), TaskStatus.REGISTERING, 3, res)
             for i in range(n + 1)]
    state, _ = SwarmState.build(tasks, {TaskId(0): [TaskId(i) for i in range(1, n + 1)]},
                                queues={queue.key: queue}, workflow_limit=n + 1)
    start = time.process_time()
    transitions = 0
    while state.live_count:
        taken = [t.task_id for t in state.take_ready()]
        state.apply_queued(taken, {TaskStatus.QUEUED: taken})
        running = {t: TaskStatus.RUNNING for t in taken}
        state.apply_updates(running)
        state.apply_updates(dict.fromkeys(taken, TaskStatus.DONE))
        transitions += 3 * len(taken)
    cpu = time.process_time() - start
    print(f"\n{transitions} transitions of {n + 1} tasks: "
          f"{cpu / transitions * 1e6:.2f} us CPU per transition (target <= 50 us)")
    assert state.done_count == n + 1 and state.n_executions == n + 1
