"""The scheduler actor: a thin shell around ``actors.scheduler.planner``.

Receives: ``QueueTasks`` (orchestrator -> scheduler, tell with ``reply_to``). Plans batches (one
array and equal resources each, at most ``max_batch_size``), binds resource sets it has not
bound yet, and calls ``queue_task_batch`` once per batch on its I/O threads.
Sends, per batch, to the ``reply_to`` actor: ``BatchQueued`` (the server's statuses for every
requested id) or ``BatchFailed`` (the server could not be reached or refused the batch).
Keeps no run state between messages: only caches of server ids (clusters, queues, bound
resources), which a restart simply rebuilds.
"""

from __future__ import annotations

import functools
import threading
import time
from concurrent.futures import Future
from typing import Any

from actors.common import describe, make_gateway, require_init
from actors.errors import ActorswarmError
from actors.resources import QueueKey, ResourceSet
from actors.runtime import Actor, Incoming
from actors.scheduler.planner import Batch, BindingCache, plan_groups
from messages.scheduler import BatchFailed, BatchQueued, QueueTasks, Resources
from messages.swarm import ORCHESTRATOR
from messages.values import ArrayId, TaskId

__all__ = ["SchedulerActor", "resource_set", "wire_resources"]


def resource_set(r: Resources) -> ResourceSet:
    """The planner's value for wire resources."""
    return ResourceSet(cluster=r.cluster, queue=r.queue, cores=r.cores, memory=r.memory,
                       runtime=r.runtime, extra=tuple(r.extra))


def wire_resources(r: ResourceSet) -> Resources:
    """The wire value for the planner's resources."""
    return Resources(cluster=r.cluster, queue=r.queue, cores=r.cores, memory=r.memory,
                     runtime=r.runtime, extra=tuple(r.extra))


class SchedulerActor(Actor):
    """Queues admitted tasks on the server in batches (see the module docstring)."""

    io_threads = 4  # batches in flight at once (queue_task_batch calls are independent)

    def started(self) -> None:
        init = require_init(self.init, "scheduler")
        self.run_id = init.workflow_run_id
        self.gateway = make_gateway(init.gateway)
        self._ids_lock = threading.Lock()
        self._resolve_lock = threading.Lock()
        self._clusters: dict[str, int] = {}
        self._queues: dict[QueueKey, int] = {}
        self._bindings = BindingCache()

    def on_stop(self) -> None:
        self.gateway.close()
        super().on_stop()

    def receive(self, message: Any, incoming: Incoming) -> Any:
        if not isinstance(message, QueueTasks):
            raise TypeError(f"scheduler cannot handle {type(message).__name__}")
        reply_to = incoming.reply_to or ORCHESTRATOR
        plan = plan_groups(((ArrayId(g.array_id), resource_set(g.resources),
                             [TaskId(t) for t in g.task_ids]) for g in message.groups),
                           message.max_batch_size)
        for batch in plan.batches:
            self.in_background(functools.partial(self._queue, batch),
                               functools.partial(self._queued, batch, reply_to=reply_to))
        return None

    # ---------------------------------------------------------------- on the I/O threads

    def _queue(self, batch: Batch) -> BatchQueued:
        started = time.monotonic()
        cluster_id, queue_id = self._queue_ids(batch.resources.queue_key)
        tr_id = self._bound(queue_id, batch.resources)
        result = self.gateway.queue_task_batch(batch.array_id, batch.task_ids, tr_id,
                                               self.run_id, cluster_id)
        statuses = tuple((int(tid), status) for status, ids in result.tasks_by_status.items()
                         for tid in ids)
        return BatchQueued(tuple(batch.task_ids), statuses, batch.array_id,
                           time.monotonic() - started)

    def _queue_ids(self, key: QueueKey) -> tuple[int, int]:
        cluster, queue = key
        with self._ids_lock:
            cluster_id = self._clusters.get(cluster)
            queue_id = self._queues.get(key)
        if cluster_id is not None and queue_id is not None:
            return cluster_id, queue_id
        with self._resolve_lock:  # one lookup per miss, however many batches need it
            with self._ids_lock:
                cluster_id = self._clusters.get(cluster)
                queue_id = self._queues.get(key)
            if cluster_id is None:
                cluster_id = self.gateway.get_cluster(cluster).cluster_id
            if queue_id is None:
                queue_id = self.gateway.get_queue(cluster_id, queue).queue_id
            with self._ids_lock:
                self._clusters[cluster] = cluster_id
                self._queues[key] = queue_id
        return cluster_id, queue_id

    def _bound(self, queue_id: int, resources: ResourceSet) -> int:
        with self._ids_lock:
            known = self._bindings.get(queue_id, resources)
        if known is not None:
            return known
        with self._resolve_lock:
            with self._ids_lock:
                known = self._bindings.get(queue_id, resources)
            if known is not None:
                return known
            tr_id = self.gateway.bind_resources(queue_id, resources.to_requested())
            with self._ids_lock:
                self._bindings = self._bindings.with_bound(queue_id, resources, tr_id)
        return tr_id

    # ---------------------------------------------------------------- on the actor thread

    def _queued(self, batch: Batch, future: Future[Any], *, reply_to: str) -> None:
        exc = future.exception()
        if exc is None:
            self.tell(reply_to, future.result())
            return
        if not isinstance(exc, ActorswarmError):
            raise exc  # a bug, not the server: crash and be restarted
        kind, text = describe(exc)
        self.tell(reply_to, BatchFailed(tuple(batch.task_ids), kind, text))
