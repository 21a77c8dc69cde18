"""Conversions between the orchestrator's pure values and its wire messages (no I/O).

Who uses it: ``actors.orchestrator.actor`` only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

from actors.gateway.types import TaskEdges, TaskRow
from actors.orchestrator import logic
from actors.orchestrator.state import ReadyTask, SwarmState
from actors.orchestrator.values import BoundTask
from actors.resources import ResourcePolicy, ResourceSet
from messages.orchestrator import ErrorInfo, OrchestratorResult, Progress
from messages.scheduler import QueueTasks, Resources, TaskGroup
from messages.swarm import SwarmInit
from messages.synchronizer import EdgeRow, TaskRowSpec, WorkflowRows
from messages.values import ArrayId, RunStatus, TaskId, TaskStatus

__all__ = [
    "CHUNK",
    "LoadedWorkflow",
    "edges_of",
    "progress_of",
    "queue_tasks_messages",
    "real_changes",
    "resource_set_of",
    "row_of",
    "statuses_of",
    "wire_result",
]

#: Tasks per QueueTasks message (keeps frames small and lets batches pipeline).
CHUNK = 5000


def row_of(spec: TaskRowSpec) -> TaskRow:
    """The gateway's TaskRow for a wire TaskRowSpec (pairs become mappings)."""
    return TaskRow(task_id=TaskId(spec.task_id), array_id=ArrayId(spec.array_id),
                   status=spec.status, max_attempts=spec.max_attempts,
                   resource_scales=dict(spec.resource_scales),
                   fallback_queues=tuple(spec.fallback_queues),
                   requested_resources=dict(spec.requested_resources),
                   cluster_name=spec.cluster_name, queue_name=spec.queue_name,
                   array_max_concurrently_running=spec.array_max_concurrently_running)


class LoadedWorkflow:
    """What the orchestrator keeps of the synchronizer's ``WorkflowRows`` chunks while loading.

    Each chunk is converted at once into compact ``BoundTask`` values (the message is then
    dropped); tasks with the same resources share one ``ResourceSet`` and ``ResourcePolicy``
    (validated once); a chunk sent again (a restarted synchronizer) replaces, never adds.
    """

    def __init__(self) -> None:
        self.tasks: dict[TaskId, BoundTask] = {}
        self.array_limits: dict[ArrayId, int] = {}
        self.node_of: dict[int, TaskId] = {}
        self.down_nodes: dict[TaskId, tuple[int, ...]] = {}
        self._shared: dict[tuple[Any, ...], tuple[ResourceSet, ResourcePolicy]] = {}

    def add(self, rows: WorkflowRows) -> None:
        """Take one chunk; a task with invalid resources raises ResourceError naming it."""
        for spec in rows.tasks:
            key = (spec.cluster_name, spec.queue_name, spec.requested_resources,
                   spec.resource_scales, spec.fallback_queues)
            shared = self._shared.get(key)
            if shared is None:
                bound = logic.bound_task_from_row(row_of(spec))
                shared = self._shared[key] = (bound.resources, bound.policy)
            task_id, array_id = TaskId(spec.task_id), ArrayId(spec.array_id)
            self.tasks[task_id] = BoundTask(task_id, array_id, spec.status, spec.max_attempts,
                                            shared[0], shared[1])
            self.array_limits[array_id] = spec.array_max_concurrently_running
        for edge in rows.edges:
            self.node_of[edge.node_id] = TaskId(edge.task_id)
            self.down_nodes[TaskId(edge.task_id)] = edge.downstream_node_ids

    def downstream(self) -> dict[TaskId, tuple[TaskId, ...]]:
        """Upstream task id -> downstream task ids (nodes of tasks not loaded, i.e. D, dropped)."""
        node_of = self.node_of
        return {task_id: tuple(node_of[n] for n in nodes if n in node_of)
                for task_id, nodes in self.down_nodes.items() if nodes}


def edges_of(edge: EdgeRow) -> TaskEdges:
    """The gateway's TaskEdges for a wire EdgeRow."""
    return TaskEdges(task_id=TaskId(edge.task_id), node_id=edge.node_id,
                     downstream_node_ids=tuple(edge.downstream_node_ids))


def statuses_of(state: SwarmState, task_ids: Iterable[int]) -> dict[int, TaskStatus]:
    """The current statuses of those ``task_ids`` that are tasks of this run (unknown ids are
    left out); take them before applying an update, for ``real_changes`` after it."""
    tasks = state.tasks
    out = {}
    for task_id in task_ids:
        rec = tasks.get(TaskId(task_id))
        if rec is not None:
            out[task_id] = rec.status
    return out


_QUEUEABLE = frozenset({TaskStatus.REGISTERING, TaskStatus.ADJUSTING_RESOURCES})
_QUEUED_OR_QUEUEABLE = _QUEUEABLE | {TaskStatus.QUEUED}


def real_changes(state: SwarmState, before: Mapping[int, TaskStatus],
                 queued: Collection[int] = ()) -> tuple[tuple[int, TaskStatus], ...]:
    """The tasks of ``before`` whose status in ``state`` now differs, with the new status:
    what subscribers hear of (no unknown ids, no same-status entries, no answers the state
    did not take).

    ``queued``: tasks this orchestrator sent to be queued whose answer has not come yet. A
    sync can bring such a task's I, O, R or later before that answer brings its Q (the
    distributor claimed it at once); the task did pass through Q, so it is listed Q first.
    """
    tasks = state.tasks
    out: list[tuple[int, TaskStatus]] = []
    for task_id, old in before.items():
        new = tasks[TaskId(task_id)].status
        if new is old:
            continue
        if task_id in queued and old in _QUEUEABLE and new not in _QUEUED_OR_QUEUEABLE:
            out.append((task_id, TaskStatus.QUEUED))
        out.append((task_id, new))
    return tuple(out)


def queue_tasks_messages(taken: Sequence[ReadyTask], max_batch_size: int) -> Iterator[QueueTasks]:
    """The taken tasks as QueueTasks messages of at most CHUNK tasks each, grouped by
    (array, resources) in order of first appearance (one pass; resource sets are interned)."""
    for i in range(0, len(taken), CHUNK):
        groups: dict[tuple[int, Any], list[int]] = {}
        for t in taken[i:i + CHUNK]:
            key = (int(t.array_id), t.resources)
            ids = groups.get(key)
            if ids is None:
                ids = groups[key] = []
            ids.append(int(t.task_id))
        yield QueueTasks(tuple(
            TaskGroup(array_id, Resources(cluster=r.cluster, queue=r.queue, cores=r.cores,
                                          memory=r.memory, runtime=r.runtime,
                                          extra=tuple(r.extra)), tuple(ids))
            for (array_id, r), ids in groups.items()), max_batch_size)


def resource_set_of(r: Resources) -> ResourceSet:
    """The pure ResourceSet of wire Resources."""
    return ResourceSet(cluster=r.cluster, queue=r.queue, cores=r.cores, memory=r.memory,
                       runtime=r.runtime, extra=tuple(r.extra))


def wire_result(result: logic.RunResult, workflow_id: int, run_id: int) -> OrchestratorResult:
    """The wire OrchestratorResult of a pure RunResult."""
    error = None
    if result.error is not None:
        error = ErrorInfo(result.error.error_type.__name__, result.error.message)
    return OrchestratorResult(
        final_status=result.final_status, elapsed_time=result.elapsed_time,
        total_tasks=result.total_tasks, done_count=result.done_count,
        failed_count=result.failed_count,
        num_previously_complete=result.num_previously_complete,
        task_final_statuses=tuple((int(t), s) for t, s in result.task_final_statuses.items()),
        done_task_ids=tuple(int(t) for t in result.done_task_ids),
        failed_task_ids=tuple(int(t) for t in result.failed_task_ids),
        error=error, workflow_id=workflow_id, workflow_run_id=run_id)


_RUNNING = (TaskStatus.RUNNING,)
_QUEUED = (TaskStatus.QUEUED, TaskStatus.INSTANTIATING, TaskStatus.LAUNCHED)


def progress_of(state: SwarmState | None, machine: logic.RunMachine | None, in_flight: set[int],
                run_id: int, now: float, swarm: SwarmInit) -> Progress:
    """Counts by bucket for progress displays (zeros before the workflow is loaded)."""
    status = machine.held if machine is not None else swarm.held_status
    elapsed = max(0.0, now - swarm.started_at)
    if state is None:
        return Progress(run_id, RunStatus(status), 0, 0, 0, 0, 0, 0, elapsed)
    total, done, failed = state.total_tasks, state.done_count, state.failed_count
    running = state.count(*_RUNNING)
    queued = state.count(*_QUEUED) + len(in_flight)
    pending = max(0, total - done - failed - running - queued)
    return Progress(run_id, RunStatus(status), total, done, failed, running, queued, pending,
                    elapsed, state.num_previously_complete)
