"""Synchronizer protocol: load the workflow, then keep the orchestrator's view in sync.

Orchestrator -> synchronizer:
- ``LoadWorkflow`` (tell, at the orchestrator's start): stream the bound workflow back as
  ``WorkflowRows`` chunks, then ``WorkflowLoaded``.
- ``SyncNow`` (tell): run a sync at once (``full``: without ``last_sync``), e.g. before exiting.
Synchronizer -> orchestrator (tells):
- ``TaskStatusesChanged``: status changes since the last sync (the inclusive 1-s overlap is
  de-duplicated; unknown ids may appear and are ignored by the orchestrator).
- ``LimitsChanged``: the workflow's or arrays' concurrency limits changed on the server.
- ``SyncLegFailed``: one leg (triage, status, limits) failed; the others still reported.
The status leg long-polls servers that support it, so a change reaches the orchestrator within
milliseconds; other legs run every ``heartbeat_interval``; a full sync every
``wedged_workflow_sync_interval``.
"""

from __future__ import annotations

from typing import Any

import attrs

from messages.codec import message
from messages.values import TaskStatus

__all__ = [
    "EdgeRow",
    "LimitsChanged",
    "LoadWorkflow",
    "QueueInfo",
    "SyncLegFailed",
    "SyncNow",
    "TaskRowSpec",
    "TaskStatusesChanged",
    "WorkflowLoaded",
    "WorkflowRows",
]


@message("synchronizer.LoadWorkflow")
@attrs.frozen
class LoadWorkflow:
    """Orchestrator -> synchronizer: send me the workflow's tasks, edges and queues."""

    chunk_size: int = 5000


@message("synchronizer.SyncNow")
@attrs.frozen
class SyncNow:
    """Orchestrator -> synchronizer: sync now; ``full`` ignores ``last_sync``.

    A restarted synchronizer has not loaded anything: this message also starts its loops, for
    the workflow's ``arrays`` (the orchestrator sends it on ``ChildRestarted``).
    """

    full: bool = False
    arrays: tuple[int, ...] = ()


@message("synchronizer.TaskRowSpec")
@attrs.frozen
class TaskRowSpec:
    """One task as ``get_tasks`` returns it (resources parsed to pairs)."""

    task_id: int
    array_id: int
    status: TaskStatus
    max_attempts: int
    resource_scales: tuple[tuple[str, float], ...]
    fallback_queues: tuple[str, ...]
    requested_resources: tuple[tuple[str, Any], ...]
    cluster_name: str | None
    queue_name: str | None
    array_max_concurrently_running: int


@message("synchronizer.EdgeRow")
@attrs.frozen
class EdgeRow:
    """One task's DAG node and its downstream node ids."""

    task_id: int
    node_id: int
    downstream_node_ids: tuple[int, ...]


@message("synchronizer.QueueInfo")
@attrs.frozen
class QueueInfo:
    """A queue the workflow's tasks use, with its limits (Jobmon queue params as pairs)."""

    cluster_name: str
    cluster_id: int
    queue_name: str
    queue_id: int
    params: tuple[tuple[str, Any], ...]


@message("synchronizer.WorkflowRows")
@attrs.frozen
class WorkflowRows:
    """Synchronizer -> orchestrator: one chunk of the workflow (tasks not D and their edges)."""

    tasks: tuple[TaskRowSpec, ...]
    edges: tuple[EdgeRow, ...]


@message("synchronizer.WorkflowLoaded")
@attrs.frozen
class WorkflowLoaded:
    """Synchronizer -> orchestrator: all chunks sent.

    ``server_time`` is the server's time before loading began: the first incremental sync
    starts there, so nothing that changed while loading is missed.
    """

    dag_id: int
    max_concurrently_running: int
    num_chunks: int
    num_tasks: int
    queues: tuple[QueueInfo, ...]
    server_time: str
    long_poll: bool
    total_tasks: int = -1  #: every task of the workflow incl. D ones; -1 if the server can't say


@message("synchronizer.TaskStatusesChanged")
@attrs.frozen
class TaskStatusesChanged:
    """Synchronizer -> orchestrator: tasks whose status changed (``full``: a full sync)."""

    changes: tuple[tuple[int, TaskStatus], ...]
    server_time: str
    full: bool = False


@message("synchronizer.LimitsChanged")
@attrs.frozen
class LimitsChanged:
    """Synchronizer -> orchestrator: concurrency limits now on the server (None: unchanged)."""

    workflow_limit: int | None
    array_limits: tuple[tuple[int, int], ...] = ()


@message("synchronizer.SyncLegFailed")
@attrs.frozen
class SyncLegFailed:
    """Synchronizer -> orchestrator: ``leg`` failed with ``error``; retried at the next tick."""

    leg: str
    error_type: str
    error: str
