"""The orchestrator actor: owner of ``SwarmState``; a shell around the pure orchestrator logic.

Receives (tells unless noted):
- from the synchronizer: ``WorkflowRows``/``WorkflowLoaded`` (start-up), ``TaskStatusesChanged``,
  ``LimitsChanged``, ``SyncLegFailed``;
- from the scheduler: ``BatchQueued``, ``BatchFailed``;
- from the heartbeat: ``ServerStatusChanged``, ``HeartbeatFailed``;
- from the supervisor: ``ChildExited`` / ``ChildRestarted`` / ``SupervisorGaveUp``
  (a dead distributor ends the run E at once; a restarted peer is brought up to date);
- from the root or an embedding host: ``StopRun``, ``Subscribe``, ``Unsubscribe``,
  ``GetProgress`` (ask), ``GetResult`` (ask).
Sends: ``LoadWorkflow``/``SyncNow`` to the synchronizer, ``QueueTasks`` to the scheduler (with
``reply_to`` = orchestrator), ``ReportStatus`` to the heartbeat, and run events
(``RunStatusChanged``, ``TasksChanged``, ``Progress``, ``RunFinished``) to subscribers.
Its only HTTP: run-status transitions and terminate_task_instances, on its I/O thread.

Event-driven: a task seen D makes its ready dependents go to the scheduler in the same step.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from concurrent.futures import Future
from typing import Any

import attrs

from actors.common import make_gateway, require_init
from actors.errors import ActorswarmError, ConfigError
from actors.orchestrator import logic
from actors.orchestrator.convert import (
    LoadedWorkflow,
    progress_of,
    queue_tasks_messages,
    real_changes,
    resource_set_of,
    statuses_of,
    wire_result,
)
from actors.orchestrator.state import ReadyTask, SwarmState, UpdateOutcome
from actors.resources import QueueLimits
from actors.runtime import Actor, Incoming
from messages.heartbeat import HeartbeatFailed, ReportStatus, ServerStatusChanged
from messages.orchestrator import (
    GetProgress,
    GetResult,
    OrchestratorResult,
    RunFinished,
    RunStatusChanged,
    StopRun,
    Subscribe,
    TasksChanged,
    Unsubscribe,
)
from messages.resources import ComputeResources
from messages.runtime import ChildExited, ChildRestarted, ChildStarted, SupervisorGaveUp
from messages.scheduler import BatchFailed, BatchQueued
from messages.swarm import HEARTBEAT, SCHEDULER, SYNCHRONIZER
from messages.synchronizer import (
    LimitsChanged,
    LoadWorkflow,
    SyncLegFailed,
    SyncNow,
    TaskStatusesChanged,
    WorkflowLoaded,
    WorkflowRows,
)
from messages.values import ArrayId, RunStatus, TaskId, TaskStatus

__all__ = ["OrchestratorActor"]

TICK = 0.25
COMPUTE_TIMEOUT = 60.0
PROGRESS_EVERY = 1.0
RETRY_AFTER = 1.0


class _Tick:
    """Private timer: timeout and drain checks, progress events, retries."""


@attrs.frozen
class _Retry:
    """Private timer: carry out an effect again after a failed HTTP call."""

    effect: logic.Effect


class OrchestratorActor(Actor):
    """Drives one workflow run to its end (see the module docstring)."""

    io_threads = 1  # run-status transitions must stay in order

    def started(self) -> None:
        init = require_init(self.init, "orchestrator")
        self.swarm = init
        self.run_id = init.workflow_run_id
        self.gateway = make_gateway(init.gateway)
        cfg = init.config
        self.policy = logic.RunPolicy(timeout=cfg.timeout, fail_fast=cfg.run.fail_fast,
                                      fail_after_n_executions=cfg.run.fail_after_n_executions,
                                      server_outage_limit=cfg.server_outage_limit)
        self.subscribers: list[str] = list(init.subscribers)
        self.loading = LoadedWorkflow()  # WorkflowRows chunks, converted as they come
        self.state: SwarmState | None = None
        self.machine: logic.RunMachine | None = None
        self.in_flight: set[int] = set()
        self.release_later: set[int] = set()
        self.pending_stop: str | None = None  # StopRun that came before the workflow loaded
        self.unconfirmed: set[int] = set()  # failed batches: released after a full sync
        self.result: OrchestratorResult | None = None
        self.awaiting_full_sync = False
        self.last_progress = (0.0, None)
        self.restarts: dict[str, int] = {}
        self.status_failing_since: dict[RunStatus, float] = {}
        self.to_compute: set[int] = set(init.computed_tasks)  # resources from a callable
        self.computing: set[int] = set()
        self.tell(SYNCHRONIZER, LoadWorkflow())
        self.send_after(TICK, _Tick())

    def on_stop(self) -> None:
        self.gateway.close()
        super().on_stop()

    # ---------------------------------------------------------------- dispatch

    def receive(self, message: Any, incoming: Incoming) -> Any:
        match message:
            case TaskStatusesChanged():
                self._on_changes(message)
            case BatchQueued():
                self._on_queued(message)
            case BatchFailed():
                self._on_batch_failed(message)
            case LimitsChanged():
                self._on_limits(message)
            case ServerStatusChanged(status=status):
                self._step(lambda m, s, now: logic.on_server_status(m, s, status, now,
                                                                    self.policy))
            case WorkflowRows():
                if self.state is None:
                    self.loading.add(message)
            case WorkflowLoaded():
                self._on_loaded(message)
            case _Tick():
                self._on_tick()
            case _Retry(effect=effect):
                self._run_effects((effect,))
            case ChildExited() | ChildRestarted() | ChildStarted() | SupervisorGaveUp():
                self._on_child_event(message)
            case StopRun(reason=reason):
                if self.machine is None:  # not loaded yet: stop as soon as the run starts
                    self.pending_stop = reason
                self._step(lambda m, s, now: logic.on_stop_requested(m, s, now, reason))
            case Subscribe(name=name):
                if name not in self.subscribers:
                    self.subscribers.append(name)
            case Unsubscribe(name=name):
                if name in self.subscribers:
                    self.subscribers.remove(name)
            case GetProgress():
                return self._progress()
            case GetResult():
                return self.result
            case HeartbeatFailed(silent_for=silent):
                self._step(lambda m, s, now: logic.on_heartbeat_failed(m, s, now, silent,
                                                                       self.policy))
            case SyncLegFailed():
                pass  # retried at the synchronizer's next round; visible in its log
            case _:
                raise TypeError(f"orchestrator cannot handle {type(message).__name__}")
        return None

    # ---------------------------------------------------------------- start-up

    def _on_loaded(self, loaded: WorkflowLoaded) -> None:
        if self.state is not None:
            return  # a repeated load after a synchronizer restart: already running
        loading, self.loading = self.loading, LoadedWorkflow()
        queues = {(q.cluster_name, q.queue_name):
                  QueueLimits.from_params(q.cluster_name, q.queue_name, dict(q.params))
                  for q in loaded.queues}
        elsewhere = max(0, loaded.total_tasks - loaded.num_tasks) if loaded.total_tasks >= 0 else 0
        self.state, _fringe = SwarmState.build(
            loading.tasks.values(), loading.downstream(), queues=queues,
            workflow_limit=loaded.max_concurrently_running, array_limits=loading.array_limits,
            previously_complete_elsewhere=elsewhere)
        del loading
        machine, effects = logic.start_run(self.state, self.swarm.held_status, self.now(),
                                           self.policy)
        self.machine = attrs.evolve(machine, started_at=self.swarm.started_at)
        self._run_effects(effects)
        if self.pending_stop is not None:
            reason = self.pending_stop
            self._step(lambda m, s, now: logic.on_stop_requested(m, s, now, reason))
        self._schedule()
        self._evaluate()

    # ---------------------------------------------------------------- state changes

    def _on_changes(self, msg: TaskStatusesChanged) -> None:
        if self.state is None:
            return  # before the load: the load's server time covers these
        before = statuses_of(self.state, (t for t, _ in msg.changes)) if self.subscribers else {}
        outcome = self.state.apply_updates({TaskId(t): s for t, s in msg.changes})
        self._publish_changes(outcome, before, self.in_flight | self.unconfirmed)
        if msg.full and self.unconfirmed:  # now their statuses are known: still G/A ones retry
            self.release_later.update(self.unconfirmed)
            self.unconfirmed.clear()
        self._schedule()
        if msg.full and self.awaiting_full_sync and self.machine is not None:
            self.awaiting_full_sync = False
            self._step(lambda m, s, now: logic.on_full_sync(m, s, now, self.policy))
        else:
            self._evaluate()

    def _on_queued(self, msg: BatchQueued) -> None:
        self.in_flight.difference_update(msg.requested)
        if self.state is None:
            return
        by_status: dict[TaskStatus, list[TaskId]] = {}
        for tid, status in msg.statuses:
            by_status.setdefault(status, []).append(TaskId(tid))
        before = statuses_of(self.state, msg.requested) if self.subscribers else {}
        outcome = self.state.apply_queued([TaskId(t) for t in msg.requested], by_status)
        self._publish_changes(outcome, before)
        self._schedule()
        self._evaluate()

    def _on_batch_failed(self, msg: BatchFailed) -> None:
        # The batch may have reached the server, and a Jobmon server queues a repeated batch
        # twice: the tasks stay in flight until a full sync says what they are now; those still
        # G/A are then retried at the next tick.
        self.in_flight.difference_update(msg.requested)
        self.unconfirmed.update(msg.requested)
        self.tell(SYNCHRONIZER, SyncNow(full=True))

    def _on_limits(self, msg: LimitsChanged) -> None:
        if self.state is None:
            return
        if msg.workflow_limit is not None:
            self.state.set_workflow_limit(msg.workflow_limit)
        for array_id, limit in msg.array_limits:
            self.state.set_array_limit(ArrayId(array_id), limit)
        self._schedule()

    def _on_child_event(self, event: Any) -> None:
        if isinstance(event, ChildRestarted):
            self.restarts[event.name] = event.restarts
            if event.name == SCHEDULER and self.state is not None:
                lost = sorted(self.in_flight)
                self.in_flight.clear()
                self.state.release([TaskId(t) for t in lost])
                self._schedule()
            elif event.name == SYNCHRONIZER and self.state is None:
                self.loading = LoadedWorkflow()  # it died loading: load again from the start
                self.tell(SYNCHRONIZER, LoadWorkflow())
            elif event.name == SYNCHRONIZER and self.state is not None:
                arrays = tuple(int(a) for a in self.state.active_by_array)
                self.tell(SYNCHRONIZER, SyncNow(full=True, arrays=arrays))
            elif event.name == HEARTBEAT and self.machine is not None:
                self.tell(HEARTBEAT, ReportStatus(self.machine.held))
        elif isinstance(event, ChildExited) and event.name == self.swarm.distributor:
            detail = (f"exit code {event.exit_code}" if event.signal is None
                      else f"killed by signal {event.signal}")
            if event.exit_code == 0:  # it saw the run end on the server? read the status
                self.in_background(
                    functools.partial(self.gateway.run_status, self.swarm.workflow_id,
                                      self.run_id),
                    functools.partial(self._distributor_exited, detail))
                return
            self._step(lambda m, s, now: logic.on_distributor_died(m, s, now, detail))

    def _distributor_exited(self, detail: str, future: Future[Any]) -> None:
        exc = future.exception()
        if exc is not None and not isinstance(exc, ActorswarmError):
            raise exc
        status: RunStatus | None = future.result() if exc is None else None
        self._step(lambda m, s, now: logic.on_distributor_exited(m, s, now, detail, status,
                                                                 self.policy))

    def _on_tick(self) -> None:
        self.send_after(TICK, _Tick())
        if self.state is None or self.machine is None:
            return
        if self.release_later and self.machine.phase is logic.RunPhase.RUNNING:
            retry, self.release_later = sorted(self.release_later), set()
            self.state.release([TaskId(t) for t in retry])
            self._schedule()
        self._evaluate()
        now = self.now()
        if now - self.last_progress[0] >= PROGRESS_EVERY:
            progress = self._progress()
            if progress != self.last_progress[1]:
                self._publish(progress)
            self.last_progress = (now, progress)

    # ---------------------------------------------------------------- scheduling

    def _schedule(self) -> None:
        if self.state is None or self.machine is None or not logic.may_schedule(self.machine):
            return
        taken = self.state.take_ready()
        if self.to_compute and taken:  # their callables run first, in the root process
            for task in [t for t in taken if int(t.task_id) in self.to_compute]:
                self._compute(task)
            taken = tuple(t for t in taken if int(t.task_id) not in self.to_compute
                          and int(t.task_id) not in self.computing)
        self._send(taken)

    def _send(self, taken: Sequence[ReadyTask]) -> None:
        if not taken:
            return
        self.in_flight.update(int(t.task_id) for t in taken)
        for msg in queue_tasks_messages(taken, self.swarm.config.max_batch_size):
            self.tell(SCHEDULER, msg, reply_to=self.name)

    def _compute(self, task: ReadyTask) -> None:
        """Ask the root's resource oracle for the task's resources (once, as it becomes ready);
        the task stays in flight meanwhile."""
        tid = int(task.task_id)
        self.to_compute.discard(tid)
        self.computing.add(tid)
        oracle = self.swarm.resource_oracle or ""
        future = self.node.ask_future(oracle, ComputeResources(tid), timeout=COMPUTE_TIMEOUT,
                                      sender=self.name)
        self.when_done(future, functools.partial(self._computed, task))

    def _computed(self, task: ReadyTask, future: Future[Any]) -> None:
        self.computing.discard(int(task.task_id))
        if self.state is None:
            return
        exc = future.exception()
        if exc is None:
            try:
                resources = self.state.set_resources(
                    task.task_id, resource_set_of(future.result().resources))
            except ConfigError as error:
                exc = error
        if exc is not None:
            if not isinstance(exc, ActorswarmError):
                raise exc
            detail = f"the resource function of task {task.task_id} failed: {exc}"
            self.state.release([task.task_id])
            self._step(lambda m, s, now: logic.on_resources_failed(m, s, now, detail))
            return
        self._send((ReadyTask(task.task_id, task.array_id, resources),))

    # ---------------------------------------------------------------- the run machine

    def _step(self, fn: Any) -> None:
        if self.state is None or self.machine is None:
            return
        self.machine, effects = fn(self.machine, self.state, self.now())
        self._run_effects(effects)
        self._schedule()

    def _evaluate(self) -> None:
        self._step(lambda m, s, now: logic.evaluate(m, s, now, self.policy))

    def _run_effects(self, effects: tuple[logic.Effect, ...]) -> None:
        for effect in effects:
            match effect:
                case logic.SetRunStatus(status=status):
                    self.in_background(
                        functools.partial(self.gateway.update_status, self.run_id, status),
                        functools.partial(self._status_replied, effect))
                case logic.SendTerminate():
                    self.in_background(
                        functools.partial(self.gateway.terminate_task_instances, self.run_id),
                        functools.partial(self._terminated, effect))
                case logic.FullSync():
                    self.awaiting_full_sync = True
                    self.tell(SYNCHRONIZER, SyncNow(full=True))
                case logic.StatusHeld(status=status):
                    self.tell(HEARTBEAT, ReportStatus(status))
                case logic.Finish(result=result):
                    self._finish(result)

    def _status_replied(self, effect: logic.SetRunStatus, future: Future[Any]) -> None:
        asked = effect.status
        exc = future.exception()
        if exc is not None:
            if not isinstance(exc, ActorswarmError):
                raise exc
            first = self.status_failing_since.setdefault(asked, self.now())
            if self.now() - first < self.swarm.config.server_outage_limit:
                self.send_after(RETRY_AFTER, _Retry(effect))  # the server is away: ask again
                return
            detail = f"{type(exc).__name__}: {exc}"
            self._step(lambda m, s, now: logic.on_status_failed(m, s, asked, now, detail))
            return
        self.status_failing_since.pop(asked, None)
        reply: RunStatus = future.result()
        previous = self.machine.held if self.machine is not None else reply
        if reply is not previous:
            self._publish(RunStatusChanged(self.run_id, reply, previous))
        self._step(lambda m, s, now: logic.on_status_reply(m, s, asked, reply, now,
                                                           self.policy))

    def _terminated(self, effect: logic.SendTerminate, future: Future[Any]) -> None:
        exc = future.exception()
        if exc is not None and not isinstance(exc, ActorswarmError):
            raise exc  # a failed terminate is sent again by the drain loop

    def _finish(self, result: logic.RunResult) -> None:
        self.result = wire_result(result, self.swarm.workflow_id, self.run_id)
        self._publish(self._progress())
        self._publish(RunFinished(self.result))

    # ---------------------------------------------------------------- events

    def _progress(self) -> Any:
        return progress_of(self.state, self.machine, self.in_flight, self.run_id, self.now(),
                           self.swarm)

    def _publish_changes(self, outcome: UpdateOutcome, before: dict[int, TaskStatus],
                         queued: Collection[int] = ()) -> None:
        """Tell subscribers the real changes among the tasks whose statuses were ``before``
        (``queued``: tasks whose queue answer is still to come; see ``real_changes``)."""
        if outcome.changed and self.subscribers and self.state is not None:
            changes = real_changes(self.state, before, queued)
            if changes:
                self._publish(TasksChanged(self.run_id, changes))

    def _publish(self, event: Any) -> None:
        for name in self.subscribers:
            self.tell(name, event)
