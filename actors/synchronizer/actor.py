"""The synchronizer actor: a thin shell around ``actors.synchronizer.logic``.

Receives: ``LoadWorkflow`` and ``SyncNow`` (orchestrator -> synchronizer, tells).
Sends to the orchestrator: ``WorkflowRows`` chunks then ``WorkflowLoaded`` (after LoadWorkflow);
then, for as long as it lives, ``TaskStatusesChanged``, ``LimitsChanged`` and ``SyncLegFailed``.

Two loops run on the actor's I/O threads, each one request at a time:
- the status loop: ``task_status_updates`` (long-polled against servers that support it, so a
  change reaches the orchestrator within milliseconds; polled every ``poll_interval`` against
  a Jobmon server); a full sync every ``wedged_workflow_sync_interval`` or when asked. A full
  sync asked for while a long poll waits starts at once; the long poll's answer is then
  dropped (the next incremental round starts from the full sync's time, so nothing is lost);
- the slow legs, every ``poll_interval``: triage, the workflow limit and every array's limit,
  concurrently. A failing leg is reported and retried next time; it never stops the others.
"""

from __future__ import annotations

import datetime as dt
import functools
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from actors.common import describe, make_gateway, require_init
from actors.errors import ActorswarmError, GatewayError
from actors.gateway import RetryPolicy
from actors.gateway.types import TaskRow
from actors.runtime import Actor, Incoming
from actors.synchronizer import logic
from messages.swarm import ORCHESTRATOR
from messages.synchronizer import (
    EdgeRow,
    LimitsChanged,
    LoadWorkflow,
    QueueInfo,
    SyncLegFailed,
    SyncNow,
    TaskRowSpec,
    TaskStatusesChanged,
    WorkflowLoaded,
    WorkflowRows,
)
from messages.values import ArrayId

__all__ = ["SynchronizerActor", "loaded_mark"]

#: Seconds the first incremental sync after a load reaches back before the load's server
#: time: a write dated before that time may commit after the load read its tasks.
LOAD_MARGIN = 5.0
_SERVER_TIME = "%Y-%m-%d %H:%M:%S"


def loaded_mark(server_time: str, margin: float = LOAD_MARGIN) -> str | None:
    """The first ``last_sync`` after a load that read the server's time ``server_time``.

    ``margin`` seconds earlier, so that a write dated just before that time but committed
    after the load read its task is still seen (its statuses come twice at worst). A time in
    a form this does not know gives None: the first round is then a full sync.
    """
    try:
        then = dt.datetime.strptime(server_time, _SERVER_TIME)
    except (TypeError, ValueError):
        return None
    return (then - dt.timedelta(seconds=margin)).strftime(_SERVER_TIME)


class _StatusRound:
    """Private timer: start the next status round."""


class _SlowRound:
    """Private timer: run the triage and limit legs."""


def _row_spec(row: TaskRow) -> TaskRowSpec:
    return TaskRowSpec(
        task_id=int(row.task_id), array_id=int(row.array_id), status=row.status,
        max_attempts=row.max_attempts,
        resource_scales=tuple(sorted((str(k), float(v)) for k, v in row.resource_scales.items())),
        fallback_queues=tuple(row.fallback_queues),
        requested_resources=tuple(sorted((str(k), v) for k, v in
                                         row.requested_resources.items())),
        cluster_name=row.cluster_name, queue_name=row.queue_name,
        array_max_concurrently_running=row.array_max_concurrently_running)


class SynchronizerActor(Actor):
    """Keeps the orchestrator's view of task statuses and limits current."""

    io_threads = 3  # a long poll, a full sync that overtakes it, the slow legs

    def started(self) -> None:
        init = require_init(self.init, "synchronizer")
        self.swarm = init
        run = init.config.run
        self.poll_interval = min(1.0, run.heartbeat_interval)
        wait = init.config.long_poll_wait
        self.config = logic.SyncConfig(
            wedged_interval=run.wedged_workflow_sync_interval,
            poll_interval=self.poll_interval,
            long_poll_wait=wait if wait > 0 else 1.0)
        self.use_long_poll = wait > 0
        # a short budget: whatever fails is tried again at the next round
        self.gateway = make_gateway(init.gateway, RetryPolicy(max_attempts=3, max_elapsed=10.0))
        self.state = logic.SyncState()
        self.loaded = False
        self.status_busy = False
        self.status_round = 0  # the round whose answer counts; older answers are dropped
        self.status_waits = False  # the round in flight is a long poll
        self.slow_busy = False
        self.legs = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sync-leg")

    def on_stop(self) -> None:
        self.legs.shutdown(wait=False, cancel_futures=True)
        self.gateway.close()
        super().on_stop()

    def receive(self, message: Any, incoming: Incoming) -> Any:
        if isinstance(message, LoadWorkflow):
            self.in_background(lambda: self._load(message.chunk_size), self._loaded)
        elif isinstance(message, SyncNow):
            if not self.loaded:  # restarted: pick up the orchestrator's arrays, sync in full
                self.in_background(self.gateway.features,
                                   functools.partial(self._resumed, message.arrays))
                return None
            if message.full:
                self.state = logic.request_full(self.state)
            self._start_status_round(overtake=message.full)
        elif isinstance(message, _StatusRound):
            self._start_status_round()
        elif isinstance(message, _SlowRound):
            self._start_slow_round()
        else:
            raise TypeError(f"synchronizer cannot handle {type(message).__name__}")
        return None

    # ---------------------------------------------------------------- loading

    def _load(self, chunk_size: int) -> tuple[WorkflowLoaded, tuple[ArrayId, ...]]:
        """On an I/O thread: stream the workflow to the orchestrator, chunk by chunk."""
        gw, wf = self.gateway.with_retry(RetryPolicy()), self.swarm.workflow_id
        server_time = gw.time()
        meta = gw.fetch_workflow_metadata(wf)
        features = gw.features()
        queue_keys: dict[tuple[str, str], None] = {}
        arrays: dict[ArrayId, None] = {}
        chunks = num_tasks = 0
        rows: list[TaskRow] = []
        for row in gw.iter_tasks(wf, chunk_size=min(chunk_size, 5000)):
            rows.append(row)
            arrays[row.array_id] = None
            if row.cluster_name:
                for name in (row.queue_name, *row.fallback_queues):
                    if name:
                        queue_keys[(row.cluster_name, name)] = None
            if len(rows) >= chunk_size:
                self._send_chunk(gw, rows, meta.dag_id)
                chunks, num_tasks, rows = chunks + 1, num_tasks + len(rows), []
        if rows or not chunks:
            self._send_chunk(gw, rows, meta.dag_id)
            chunks, num_tasks = chunks + 1, num_tasks + len(rows)
        queues = []
        cluster_ids: dict[str, int] = {}
        for cluster, queue in queue_keys:
            if cluster not in cluster_ids:
                cluster_ids[cluster] = gw.get_cluster(cluster).cluster_id
            q = gw.get_queue(cluster_ids[cluster], queue)
            queues.append(QueueInfo(cluster, cluster_ids[cluster], queue, q.queue_id,
                                    tuple(sorted((str(k), v) for k, v in q.params.items()))))
        try:
            total = sum(gw.workflow_status(wf).task_counts.values())
        except GatewayError:
            total = -1  # a Jobmon server has no such route
        loaded = WorkflowLoaded(meta.dag_id, meta.max_concurrently_running, chunks, num_tasks,
                                tuple(queues), server_time, features.long_poll, total)
        return loaded, tuple(arrays)

    def _send_chunk(self, gw: Any, rows: list[TaskRow], dag_id: int) -> None:
        edges = gw.get_downstream_tasks([r.task_id for r in rows], dag_id) if rows else {}
        self.tell(ORCHESTRATOR, WorkflowRows(
            tuple(_row_spec(r) for r in rows),
            tuple(EdgeRow(int(e.task_id), e.node_id, tuple(e.downstream_node_ids))
                  for e in edges.values())))

    def _loaded(self, future: Future[Any]) -> None:
        loaded, arrays = future.result()  # a failed load is a crash: restarted, it reloads
        self.tell(ORCHESTRATOR, loaded)
        self.state = logic.SyncState(arrays=arrays,
                                     last_sync=loaded_mark(loaded.server_time),
                                     last_full_at=self.now(),
                                     long_poll=loaded.long_poll and self.use_long_poll)
        self.loaded = True
        # a round still in flight (a reload for a restarted orchestrator) was planned before
        # this load: the orchestrator dropped what came before the load, and its answer's
        # cursor would skip the changes between the load's server time and that answer
        self.status_round += 1
        self.status_busy = False
        self._start_status_round()
        self._start_slow_round()

    def _resumed(self, arrays: tuple[int, ...], future: Future[Any]) -> None:
        if self.loaded:
            return
        long_poll = future.result().long_poll  # a failure is a crash: restarted again
        self.state = logic.SyncState(arrays=tuple(ArrayId(a) for a in arrays),
                                     long_poll=long_poll and self.use_long_poll)
        self.loaded = True
        self._start_status_round()
        self._start_slow_round()

    # ---------------------------------------------------------------- status loop

    def _start_status_round(self, overtake: bool = False) -> None:
        """Start the next status round; ``overtake``: even while a long poll waits (its answer
        will be dropped), so that an asked-for full sync does not wait for it."""
        if not self.loaded or (self.status_busy and not (overtake and self.status_waits)):
            return
        plan = logic.plan_round(self.state, self.config, self.now())
        self.status_busy = True
        self.status_waits = bool(plan.wait)
        self.status_round += 1
        wf, round_id = self.swarm.workflow_id, self.status_round
        self.in_background(
            lambda: self.gateway.task_status_updates(wf, plan.last_sync, plan.wait or None),
            lambda f: self._status_done(plan, round_id, f))

    def _status_done(self, plan: logic.SyncPlan, round_id: int, future: Future[Any]) -> None:
        if round_id != self.status_round:
            return  # overtaken by a full sync: its answer may be older than what we hold
        self.status_busy = False
        exc = future.exception()
        if exc is not None and not isinstance(exc, ActorswarmError):
            raise exc
        status: logic.StatusDelta | logic.LegFailure
        if exc is None:
            updates = future.result()
            status = logic.StatusDelta(updates.tasks_by_status, updates.time, updates.cursor)
        else:
            status = logic.LegFailure(*describe(exc))
        workflow_limit = self.state.workflow_limit
        result = logic.RoundResult(triage=None, status=status,
                                   workflow_limit=workflow_limit if workflow_limit is not None
                                   else logic.LegFailure("NotRunYet", "limits not read yet"),
                                   array_limits={})
        self.state, effects = logic.apply_round(self.state, plan, result, self.now())
        self._emit([e for e in effects if not (isinstance(e, logic.LegFailed)
                                                and e.leg == "workflow_limit")])
        delay = logic.next_round_delay(self.state, self.config, result)
        if delay <= 0:
            self._start_status_round()
        else:
            self.send_after(delay, _StatusRound())

    # ---------------------------------------------------------------- slow legs

    def _start_slow_round(self) -> None:
        if self.slow_busy:
            return
        self.slow_busy = True
        self.in_background(self._slow_legs, self._slow_done)

    def _slow_legs(self) -> logic.RoundResult:
        """On an I/O thread: triage, workflow limit and array limits, concurrently."""
        gw, run, wf = self.gateway, self.swarm.workflow_run_id, self.swarm.workflow_id
        triage = self.legs.submit(gw.set_status_for_triaging, run)
        limit = self.legs.submit(gw.get_max_concurrently_running, wf)
        arrays = {a: self.legs.submit(gw.get_array_max_concurrently_running, a)
                  for a in self.state.arrays}

        def outcome(f: Future[Any]) -> Any:
            exc = f.exception()
            if exc is None:
                return f.result()
            if not isinstance(exc, ActorswarmError):
                raise exc
            return logic.LegFailure(*describe(exc))

        triage_out = outcome(triage)
        return logic.RoundResult(
            triage=triage_out if isinstance(triage_out, logic.LegFailure) else None,
            status=logic.LegFailure("Skipped", "status runs in its own loop"),
            workflow_limit=outcome(limit),
            array_limits={a: outcome(f) for a, f in arrays.items()})

    def _slow_done(self, future: Future[Any]) -> None:
        self.slow_busy = False
        result: logic.RoundResult = future.result()
        plan = logic.SyncPlan(full=False, last_sync=self.state.last_sync, wait=None,
                              arrays=self.state.arrays)
        self.state, effects = logic.apply_round(self.state, plan, result, self.now())
        self._emit([e for e in effects if not (isinstance(e, logic.LegFailed)
                                                and e.leg == "status")])
        self.send_after(self.poll_interval, _SlowRound())

    # ---------------------------------------------------------------- to the orchestrator

    def _emit(self, effects: list[Any]) -> None:
        for effect in effects:
            if isinstance(effect, logic.TaskChanges):
                self.tell(ORCHESTRATOR, TaskStatusesChanged(
                    tuple((int(t), s) for t, s in effect.changes.items()),
                    effect.server_time, effect.full))
            elif isinstance(effect, logic.WorkflowLimitChanged):
                self.tell(ORCHESTRATOR, LimitsChanged(effect.limit))
            elif isinstance(effect, logic.ArrayLimitsChanged):
                self.tell(ORCHESTRATOR, LimitsChanged(
                    None, tuple((int(a), n) for a, n in effect.limits.items())))
            elif isinstance(effect, logic.LegFailed):
                self.tell(ORCHESTRATOR, SyncLegFailed(effect.leg, effect.failure.error_type,
                                                      effect.failure.message))

