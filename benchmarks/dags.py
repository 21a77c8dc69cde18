"""Synthetic workflows for the pure-logic benchmarks (pure: no I/O, no clock).

Who uses it: ``benchmarks.planner`` (and any later suite needing a DAG for ``SwarmState``).

``layered_dag(n, width)``: ``n`` tasks in layers of ``width``; task ``j`` of layer ``k + 1``
depends on tasks ``j`` and ``j + 1`` (mod width) of layer ``k`` (a fan-in of two, so readiness
has to be counted, not just passed on). Each layer is one array (``k % arrays``) and each array
has its own resources, so a layer plans into ``ceil(width / max_batch_size)`` batches, as
Jobmon's task templates do. Task ids are ``1 .. n``.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from actors.orchestrator.state import BoundTask
from actors.resources import QueueKey, QueueLimits, ResourcePolicy, ResourceSet
from benchmarks.errors import BenchmarkConfigError
from messages.values import ArrayId, TaskId, TaskStatus

__all__ = ["FIRST_TASK_ID", "SyntheticDag", "layered_dag"]

FIRST_TASK_ID = 1
_QUEUE = QueueLimits.from_params("bench", "all.q", {"max_cores": 64, "max_memory": 512,
                                                    "max_runtime": 7 * 86400})


@attrs.frozen
class SyntheticDag:
    """Inputs of ``SwarmState.build``: bound tasks, edges (upstream -> downstreams), queues."""

    tasks: tuple[BoundTask, ...]
    downstream: Mapping[TaskId, tuple[TaskId, ...]]
    queues: Mapping[QueueKey, QueueLimits]
    width: int
    layers: int

    @property
    def edges(self) -> int:
        """Number of dependency edges."""
        return sum(len(d) for d in self.downstream.values())


def layered_dag(n: int, width: int = 1000, arrays: int = 10, fan_in: int = 2) -> SyntheticDag:
    """``n`` G tasks in layers of ``width`` (the last may be shorter); see the module doc."""
    if n < 1 or width < 1 or arrays < 1 or fan_in < 1:
        raise BenchmarkConfigError(f"layered_dag: n, width, arrays and fan_in must be >= 1, "
                                   f"got {n}, {width}, {arrays}, {fan_in}")
    width = min(width, n)
    fan_in = min(fan_in, width)
    resources = [ResourceSet("bench", "all.q", cores=1 + a % 4, memory=float(2 ** (a % 5)),
                             runtime=600 * (1 + a % 3)) for a in range(arrays)]
    policy = ResourcePolicy()
    registering = TaskStatus.REGISTERING
    tasks = []
    for i in range(n):
        array = (i // width) % arrays
        tasks.append(BoundTask(TaskId(FIRST_TASK_ID + i), ArrayId(array + 1), registering, 3,
                               resources[array], policy))
    layers = -(-n // width)
    downstream: dict[TaskId, tuple[TaskId, ...]] = {}
    for i in range((layers - 1) * width):  # every task with a layer below it
        layer, j = divmod(i, width)
        below = (layer + 1) * width
        downs = {below + (j - k) % width for k in range(fan_in)}
        downstream[TaskId(FIRST_TASK_ID + i)] = tuple(
            TaskId(FIRST_TASK_ID + d) for d in sorted(downs) if d < n)
    return SyntheticDag(tuple(tasks), downstream, {_QUEUE.key: _QUEUE}, width, layers)
