"""The orchestrator's run-level behaviours of DESIGN.md section 4 (RunPhase machine, result)."""

from __future__ import annotations

import pytest

from actors.errors import (
    DistributorDied,
    FailAfterNExecutions,
    RunTimeout,
    ServerUnavailable,
    TransitionError,
)
from actors.gateway.types import TaskEdges, TaskRow
from actors.orchestrator.logic import (
    Fate,
    Finish,
    FullSync,
    RunMachine,
    RunPhase,
    RunPolicy,
    RunResult,
    RunStopped,
    SendTerminate,
    SetRunStatus,
    StatusHeld,
    TasksFailed,
    array_limits_from_rows,
    bound_task_from_row,
    decide_fate,
    downstream_from_edges,
    evaluate,
    may_schedule,
    on_distributor_died,
    on_full_sync,
    on_server_status,
    on_status_failed,
    on_status_reply,
    on_stop_requested,
    start_run,
)
from actors.orchestrator.state import SwarmState
from actors.resources import ResourceError, ResourceSet
from messages.values import ArrayId, RunStatus, TaskId

from .helpers import QUEUES, A, D, F, G, I, O, Q, R, build, task

POLICY = RunPolicy(timeout=100.0)
RS = RunStatus


def running(state: SwarmState, policy: RunPolicy = POLICY, now: float = 0.0) -> RunMachine:
    """A machine that asked for R at ``now`` and got it."""
    m, effects = start_run(state, RS.LAUNCHED, now, policy)
    assert effects == (SetRunStatus(RS.RUNNING),)
    m, effects = on_status_reply(m, state, RS.RUNNING, RS.RUNNING, now, policy)
    assert effects[0] == StatusHeld(RS.RUNNING)
    return m


def queue(state: SwarmState) -> None:
    """Take every ready task and answer as the server does: all queued."""
    taken = [t.task_id for t in state.take_ready()]
    state.apply_queued(taken, {Q: taken})


def finish(m: RunMachine, state: SwarmState, effects: tuple[object, ...], reply: RunStatus,
           now: float = 5.0) -> RunResult:
    """Answer the final SetRunStatus with ``reply`` and return the result."""
    assert m.phase is RunPhase.FINISHING and m.requested is not None
    assert effects[-1] == SetRunStatus(m.requested)
    m, effects = on_status_reply(m, state, m.requested, reply, now, POLICY)
    assert m.phase is RunPhase.FINISHED
    (done,) = effects
    assert isinstance(done, Finish) and done.result == m.result
    return done.result


def test_R_is_requested_unless_already_R() -> None:
    state, _ = build([task(1)])
    m, effects = start_run(state, RS.LAUNCHED, 0.0, POLICY)
    assert effects == (SetRunStatus(RS.RUNNING),) and not may_schedule(m)
    m, effects = start_run(state, RS.RUNNING, 0.0, POLICY)
    assert effects == (StatusHeld(RS.RUNNING),) and may_schedule(m)


@pytest.mark.parametrize("reply", [RS.BOUND, RS.LAUNCHED])
def test_a_different_reply_to_R_is_a_transition_error(reply: RunStatus) -> None:
    state, _ = build([task(1)])
    m, _ = start_run(state, RS.LAUNCHED, 0.0, POLICY)
    m, effects = on_status_reply(m, state, RS.RUNNING, reply, 1.0, POLICY)
    assert effects == (SetRunStatus(RS.ERROR),) and not may_schedule(m)
    result = finish(m, state, effects, RS.ERROR)
    assert result.final_status is RS.ERROR and result.error is not None
    assert result.error.error_type is TransitionError
    assert "refused run status R" in result.error.message


def test_a_refusal_with_a_final_status_is_left_as_is() -> None:
    state, _ = build([task(1)])
    m, _ = start_run(state, RS.LAUNCHED, 0.0, POLICY)
    m, (done,) = on_status_reply(m, state, RS.RUNNING, RS.STOPPED, 1.0, POLICY)
    assert isinstance(done, Finish) and done.result.final_status is RS.STOPPED
    assert done.result.error is not None and done.result.error.error_type is TransitionError


def test_all_tasks_D_ends_the_run_D() -> None:
    state, _ = build([task(1), task(2)], {1: [2]})
    m = running(state)
    state.take_ready()
    state.apply_queued([TaskId(1)], {Q: [TaskId(1)]})
    state.apply_updates({TaskId(1): D})
    m, effects = evaluate(m, state, 2.0, POLICY)
    assert effects == () and may_schedule(m)
    state.take_ready()
    state.apply_updates({TaskId(2): D})   # the sync saw D before the scheduler answered
    m, effects = evaluate(m, state, 3.0, POLICY)
    assert effects == ()                  # in flight: not over yet
    state.apply_queued([TaskId(2)], {Q: [TaskId(2)]})
    m, effects = evaluate(m, state, 3.0, POLICY)
    assert effects == (SetRunStatus(RS.DONE),)
    result = finish(m, state, effects, RS.DONE, now=4.0)
    assert result.final_status is RS.DONE and result.error is None
    assert (result.total_tasks, result.done_count, result.failed_count) == (2, 2, 0)
    assert result.done_task_ids == (1, 2) and result.elapsed_time == 4.0


def test_a_mix_of_D_and_F_with_nothing_pending_ends_E_with_the_failed_ids() -> None:
    state, _ = build([task(1, D), task(2), task(3), task(4)], {2: [4]})
    m = running(state)
    queue(state)
    state.apply_updates({TaskId(2): F, TaskId(3): D})
    m, effects = evaluate(m, state, 2.0, POLICY)
    assert effects == (FullSync(),) and m.phase is RunPhase.FINAL_SYNC
    m, effects = on_full_sync(m, state, 3.0, POLICY)
    assert effects == (SetRunStatus(RS.ERROR),)
    result = finish(m, state, effects, RS.ERROR)
    assert result.failed_task_ids == (2,) and result.done_task_ids == (1, 3)
    assert result.num_previously_complete == 1 and result.failed_count == 1
    assert dict(result.task_final_statuses) == {1: D, 2: F, 3: D, 4: G}
    assert result.error is not None and result.error.error_type is TasksFailed
    assert "1 task(s) failed: 2; 1 task(s) can never run" == result.error.message


def test_before_exiting_with_tasks_not_final_one_more_full_sync() -> None:
    state, _ = build([task(1), task(2)], {1: [2]})
    m = running(state)
    state.take_ready()
    state.apply_queued([TaskId(1)], {F: [TaskId(1)]})  # looks hopeless...
    m, effects = evaluate(m, state, 1.0, POLICY)
    assert effects == (FullSync(),) and not may_schedule(m)
    m, effects = evaluate(m, state, 1.5, POLICY)       # waiting for that sync: nothing new
    assert effects == ()
    state.apply_updates({TaskId(1): G})                # ...but the full sync says G (retry)
    m, effects = on_full_sync(m, state, 2.0, POLICY)
    assert effects == () and may_schedule(m) and not m.final_sync_done
    queue(state)
    state.apply_updates({TaskId(1): D})
    queue(state)
    state.apply_updates({TaskId(2): D})
    m, effects = evaluate(m, state, 3.0, POLICY)
    assert effects == (SetRunStatus(RS.DONE),)


def test_a_timeout_ends_the_run_E_with_a_clear_timeout_error() -> None:
    state, _ = build([task(1)])
    m = running(state, now=10.0)
    m, effects = evaluate(m, state, 110.0, POLICY)
    assert effects == ()
    m, effects = evaluate(m, state, 110.5, POLICY)
    assert effects == (SetRunStatus(RS.ERROR),)
    result = finish(m, state, effects, RS.ERROR, now=111.0)
    assert result.error is not None and result.error.error_type is RunTimeout
    assert isinstance(result.error.to_exception(), TimeoutError)
    assert "timeout of 100 s" in result.error.message and result.elapsed_time == 101.0


def test_a_dead_distributor_ends_the_run_E_with_a_distributor_error() -> None:
    state, _ = build([task(1)])
    m = running(state)
    m, effects = on_distributor_died(m, state, 1.0, "exit code -9")
    assert effects == (SetRunStatus(RS.ERROR),)
    assert on_distributor_died(m, state, 1.1, "again") == (m, ())
    result = finish(m, state, effects, RS.ERROR)
    assert result.error is not None and result.error.error_type is DistributorDied
    assert "exit code -9" in result.error.message


@pytest.mark.parametrize("status", [RS.ERROR, RS.TERMINATED, RS.STOPPED])
def test_server_set_E_T_S_stops_the_loop_and_is_left_as_is(status: RunStatus) -> None:
    state, _ = build([task(1)])
    m = running(state)
    m, effects = on_server_status(m, state, status, 1.0, POLICY)
    (done,) = effects
    assert isinstance(done, Finish) and done.result.final_status is status
    assert not any(isinstance(e, SetRunStatus) for e in effects)
    assert done.result.error is not None and done.result.error.error_type is RunStopped
    assert m.phase is RunPhase.FINISHED


@pytest.mark.parametrize("status", [RS.COLD_RESUME, RS.HOT_RESUME])
def test_C_H_with_tasks_in_IOR_sends_terminate_and_syncs_until_they_drain_then_T(
        status: RunStatus) -> None:
    state, _ = build([task(1, I), task(2, O), task(3, R), task(4, Q), task(5)])
    m = running(state)
    m, effects = on_server_status(m, state, status, 1.0, POLICY)
    assert effects == (StatusHeld(status), SendTerminate(), FullSync())
    assert not may_schedule(m)
    state.apply_updates({TaskId(1): F, TaskId(2): F})
    m, effects = on_full_sync(m, state, 1.5, POLICY)  # R left: terminate again at once
    assert effects == (SendTerminate(),)
    m, effects = evaluate(m, state, 2.0, POLICY)
    assert effects == ()
    m, effects = evaluate(m, state, 31.5, POLICY)  # still R after terminate_resend: again
    assert effects == (SendTerminate(),)
    state.apply_updates({TaskId(3): D})
    m, effects = evaluate(m, state, 32.0, POLICY)
    assert effects == (SetRunStatus(RS.TERMINATED),)
    result = finish(m, state, effects, RS.TERMINATED)
    assert result.final_status is RS.TERMINATED
    assert result.error is not None and result.error.error_type is RunStopped


def test_C_with_nothing_running_terminates_after_a_full_sync_confirms_it() -> None:
    state, _ = build([task(1, Q)])
    m = running(state)
    m, effects = on_server_status(m, state, RS.COLD_RESUME, 1.0, POLICY)
    # terminate anyway (the server may know more), and wait for a full sync
    assert effects == (StatusHeld(RS.COLD_RESUME), SendTerminate(), FullSync())
    assert evaluate(m, state, 2.0, POLICY)[1] == ()
    m, effects = on_full_sync(m, state, 2.5, POLICY)
    assert effects == (SetRunStatus(RS.TERMINATED),)


def test_C_while_the_swarm_still_sees_Q_for_a_running_task_waits_for_it_to_drain() -> None:
    """Jobmon: the task started between two syncs; the full sync shows it R, so the run
    terminates it and waits until it leaves R (then T), instead of ending T at once."""
    state, _ = build([task(1, Q), task(2)])
    m = running(state)
    m, effects = on_server_status(m, state, RS.COLD_RESUME, 1.0, POLICY)
    assert effects == (StatusHeld(RS.COLD_RESUME), SendTerminate(), FullSync())
    state.apply_updates({TaskId(1): R})  # what the full sync found
    m, effects = on_full_sync(m, state, 1.5, POLICY)
    assert effects == (SendTerminate(),)
    assert evaluate(m, state, 2.0, POLICY)[1] == ()
    state.apply_updates({TaskId(1): F})  # killed: the worker reported
    assert evaluate(m, state, 3.0, POLICY)[1] == (SetRunStatus(RS.TERMINATED),)


def test_fail_fast_stops_after_the_first_F() -> None:
    policy = RunPolicy(fail_fast=True)
    state, _ = build([task(1), task(2), task(3)])
    m = running(state, policy)
    state.take_ready()
    state.apply_updates({TaskId(1): R, TaskId(2): F})
    assert decide_fate(state, policy) is Fate.FAIL_FAST
    m, effects = evaluate(m, state, 1.0, policy)
    assert effects == (SetRunStatus(RS.ERROR),)
    result = finish(m, state, effects, RS.ERROR)
    assert result.error is not None and result.error.error_type is TasksFailed
    assert result.failed_task_ids == (2,)


def test_fail_after_n_executions_raises_after_N_tasks_reached_D() -> None:
    policy = RunPolicy(fail_after_n_executions=2)
    state, _ = build([task(1, D), task(2), task(3), task(4)])
    m = running(state, policy)
    state.take_ready()
    state.apply_updates({TaskId(2): D})
    m, effects = evaluate(m, state, 1.0, policy)
    assert effects == ()  # the previously complete task does not count
    state.apply_updates({TaskId(3): D})
    m, effects = evaluate(m, state, 2.0, policy)
    assert effects == (SetRunStatus(RS.ERROR),)
    result = finish(m, state, effects, RS.ERROR)
    assert result.error is not None and result.error.error_type is FailAfterNExecutions
    assert isinstance(result.error.to_exception(), FailAfterNExecutions)


def test_a_refused_final_status_is_a_transition_error_with_the_servers_status() -> None:
    state, _ = build([task(1, D)])
    m, _ = start_run(state, RS.LAUNCHED, 0.0, POLICY)
    m, effects = on_status_reply(m, state, RS.RUNNING, RS.RUNNING, 1.0, POLICY)
    assert effects == (StatusHeld(RS.RUNNING), SetRunStatus(RS.DONE))
    result = finish(m, state, effects, RS.STOPPED)
    assert result.final_status is RS.STOPPED
    assert result.error is not None and result.error.error_type is TransitionError


def test_a_reply_overtaken_by_a_later_request_is_ignored() -> None:
    state, _ = build([task(1)])
    m, _ = start_run(state, RS.LAUNCHED, 0.0, POLICY)
    m, effects = on_distributor_died(m, state, 0.5, "gone")   # while R is still pending
    assert effects == (SetRunStatus(RS.ERROR),)
    assert on_status_reply(m, state, RS.RUNNING, RS.RUNNING, 0.6, POLICY) == (m, ())
    result = finish(m, state, effects, RS.ERROR)
    assert result.final_status is RS.ERROR and result.error is not None
    assert result.error.error_type is DistributorDied


def test_an_unreachable_server_for_run_status_ends_the_run_with_a_server_error() -> None:
    state, _ = build([task(1)])
    m, _ = start_run(state, RS.LAUNCHED, 0.0, POLICY)
    m, effects = on_status_failed(m, state, RS.RUNNING, 1.0, "connection refused")
    assert effects == (SetRunStatus(RS.ERROR),)
    m, (done,) = on_status_failed(m, state, RS.ERROR, 2.0, "connection refused")
    assert isinstance(done, Finish) and done.result.final_status is RS.LAUNCHED
    assert done.result.error is not None
    assert done.result.error.error_type is ServerUnavailable
    assert "could not set run status R: connection refused" in done.result.error.message


def test_a_stop_request_asks_for_S_and_ends_with_a_stopped_error() -> None:
    state, _ = build([task(1, R)])
    m = running(state)
    m, effects = on_stop_requested(m, state, 1.0, "interrupted (SIGINT)")
    assert effects == (SetRunStatus(RS.STOPPED),)
    result = finish(m, state, effects, RS.STOPPED)
    assert result.final_status is RS.STOPPED and result.error is not None
    assert result.error.error_type is RunStopped and "SIGINT" in result.error.message


def test_events_after_the_end_change_nothing() -> None:
    state, _ = build([task(1, D)])
    m, effects = start_run(state, RS.RUNNING, 0.0, POLICY)
    assert effects == (StatusHeld(RS.RUNNING), SetRunStatus(RS.DONE))
    finish(m, state, effects, RS.DONE)
    m, _ = on_status_reply(m, state, RS.DONE, RS.DONE, 1.0, POLICY)
    for step in (evaluate(m, state, 500.0, POLICY),
                 on_server_status(m, state, RS.COLD_RESUME, 2.0, POLICY),
                 on_distributor_died(m, state, 2.0, "x"),
                 on_stop_requested(m, state, 2.0, "x")):
        assert step == (m, ())


# ------------------------------------------------------------------------------ from the server

def test_get_tasks_rows_and_edges_build_a_state() -> None:
    def row(task_id: int, status: object, **extra: object) -> TaskRow:
        fields: dict[str, object] = {
            "task_id": TaskId(task_id), "array_id": 7, "status": status, "max_attempts": 3,
            "resource_scales": {}, "fallback_queues": ("long",),
            "requested_resources": {"memory": "2G", "runtime": "1h", "cores": 1},
            "cluster_name": "c", "queue_name": "all", "array_max_concurrently_running": 4}
        fields.update(extra)
        return TaskRow(**fields)  # type: ignore[arg-type]

    rows = [row(10, G), row(11, A), row(12, G)]
    edges = [TaskEdges(TaskId(10), 100, (102,)), TaskEdges(TaskId(11), 101, ()),
             TaskEdges(TaskId(12), 102, (999,))]  # node 999: a task already D, not sent
    tasks = [bound_task_from_row(r) for r in rows]
    assert tasks[0].resources == ResourceSet("c", "all", 1, 2.0, 3600)
    assert dict(tasks[0].policy.scales) == {"memory": 0.5, "runtime": 0.5}
    downstream = downstream_from_edges(edges)
    assert downstream == {10: (12,), 11: (), 12: ()}
    state, fringe = SwarmState.build(tasks, downstream, queues=QUEUES, workflow_limit=10,
                                     array_limits=array_limits_from_rows(rows),
                                     previously_complete_elsewhere=5)
    assert fringe.ready == (11, 10) and fringe.adjusted == (11,)
    assert state.array_capacity(ArrayId(7)) == 4 and state.total_tasks == 8
    with pytest.raises(ResourceError, match="task 13: memory"):
        bound_task_from_row(row(13, G, requested_resources={"memory": "lots"}))
    with pytest.raises(ResourceError, match="task 14: cluster_name"):
        bound_task_from_row(row(14, G, cluster_name=None))
