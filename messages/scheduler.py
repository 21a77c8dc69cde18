"""Scheduler protocol: queue ready tasks on the server in batches.

Orchestrator -> scheduler: ``QueueTasks`` (tell, ``reply_to`` = orchestrator) with tasks the
orchestrator already admitted under its capacities, grouped by array and current resources. The
scheduler groups them (one array and equal resources per batch, at most ``max_batch_size``),
binds resources it has not bound yet, and calls ``queue_task_batch`` once per batch.
Scheduler -> orchestrator, once per batch: ``BatchQueued`` with the server's answer, or
``BatchFailed`` when the server could not be reached (the orchestrator retries those tasks;
``queue_task_batch`` moves only G/A tasks, so a repeat never queues a task twice).
The scheduler keeps no run state between messages (only a cache of bound resource ids).
"""

from __future__ import annotations

from typing import Any

import attrs

from messages.codec import message
from messages.values import TaskStatus

__all__ = ["BatchFailed", "BatchQueued", "QueueTasks", "Resources", "TaskGroup"]


@message("scheduler.Resources")
@attrs.frozen
class Resources:
    """A task's resources on one queue (memory GiB, runtime s; None: not requested)."""

    cluster: str
    queue: str
    cores: int | None = None
    memory: float | None = None
    runtime: int | None = None
    extra: tuple[tuple[str, Any], ...] = ()


@message("scheduler.TaskGroup")
@attrs.frozen
class TaskGroup:
    """Admitted tasks of one array with equal resources, in the order they were admitted."""

    array_id: int
    resources: Resources
    task_ids: tuple[int, ...]


@message("scheduler.QueueTasks")
@attrs.frozen
class QueueTasks:
    """Orchestrator -> scheduler (tell, reply_to orchestrator): queue these tasks now.

    Tasks come grouped by (array, resources), groups in the order of their first task, so a
    message of thousands of tasks carries each resource set once.
    """

    groups: tuple[TaskGroup, ...]
    max_batch_size: int = 500


@message("scheduler.BatchQueued")
@attrs.frozen
class BatchQueued:
    """Scheduler -> orchestrator: the server's answer for one batch (all requested ids)."""

    requested: tuple[int, ...]
    statuses: tuple[tuple[int, TaskStatus], ...]
    array_id: int
    seconds: float = 0.0


@message("scheduler.BatchFailed")
@attrs.frozen
class BatchFailed:
    """Scheduler -> orchestrator: a batch could not be queued; ``error`` says why."""

    requested: tuple[int, ...]
    error_type: str
    error: str
