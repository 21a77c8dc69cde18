"""SwarmState behaviours of DESIGN.md section 4 (orchestrator and scheduler lines, pure parts)."""

from __future__ import annotations

import pytest

from actors.errors import ConfigError
from actors.orchestrator.state import InvalidLimit, Stage, StateError
from actors.resources import ResourceSet
from messages.values import ArrayId, TaskId

from .helpers import (
    QUEUES,
    A,
    D,
    E,
    F,
    G,
    I,
    O,
    Q,
    R,
    build,
    check_invariants,
    ready_ids,
    task,
)

# ------------------------------------------------------------------------------ orchestrator


def test_initial_fringe_holds_A_tasks_adjusted_and_G_tasks_whose_upstreams_are_done() -> None:
    tasks = [task(1, D), task(2), task(3), task(4, A), task(5, F), task(6)]
    state, fringe = build(tasks, {1: [2], 3: [6], 5: [6]})
    assert fringe.ready == (4, 2, 3)
    assert fringe.adjusted == (4,)
    assert state.tasks[TaskId(4)].resources == ResourceSet("c", "all", 1, 2.0, 90)
    assert ready_ids(state) == [4, 2, 3]
    assert state.num_previously_complete == 1 and state.done_count == 1
    check_invariants(state)


def test_previously_complete_tasks_the_server_did_not_send_are_counted() -> None:
    state, _ = build([task(1), task(2, D)])
    state2, _ = type(state).build([task(1)], {}, queues=QUEUES, workflow_limit=5,
                                  previously_complete_elsewhere=7)
    assert (state.total_tasks, state.num_previously_complete) == (2, 1)
    assert (state2.total_tasks, state2.done_count, state2.num_previously_complete) == (8, 7, 7)


def test_a_done_task_makes_its_dependents_ready_at_once() -> None:
    state, _ = build([task(1), task(2), task(3), task(4)], {1: [2, 3], 2: [4], 3: [4]})
    state.take_ready()
    state.apply_queued([TaskId(1)], {Q: [TaskId(1)]})
    out = state.apply_updates({TaskId(1): D})
    assert out.done == (1,) and out.ready == (2, 3)
    out = state.apply_updates({TaskId(2): D})
    assert out.ready == ()  # 4 still waits for 3
    assert state.apply_updates({TaskId(3): D}).ready == (4,)
    check_invariants(state)


@pytest.mark.parametrize("order", ["upstream first", "own G first"])
def test_a_task_is_never_enqueued_twice_when_upstream_D_and_its_own_G_arrive_together(
        order: str) -> None:
    state, _ = build([task(1), task(2)], {1: [2]})
    state.take_ready()
    state.apply_queued([TaskId(1)], {R: [TaskId(1)]})
    update = {TaskId(1): D, TaskId(2): G}
    if order == "own G first":
        update = {TaskId(2): G, TaskId(1): D}
    out = state.apply_updates(update)
    assert out.ready == (2,)
    assert ready_ids(state) == [2]
    check_invariants(state)


def test_a_G_for_a_task_already_ready_or_in_flight_does_not_enqueue_it_again() -> None:
    state, _ = build([task(1), task(2)])
    taken = state.take_ready(limit=1)
    assert [t.task_id for t in taken] == [1]
    out = state.apply_updates({TaskId(1): G, TaskId(2): G})
    assert out.ready == () and out.changed == 0
    state.apply_updates({TaskId(1): Q})   # the sync saw it queued before the answer came
    state.apply_updates({TaskId(1): E})
    assert state.apply_updates({TaskId(1): G}).ready == ()  # still in flight
    assert ready_ids(state) == [2]
    check_invariants(state)


def test_A_tasks_get_adjusted_resources_and_go_to_the_front() -> None:
    state, _ = build([task(i, resources=ResourceSet("c", "all", 1, 12.0, 3000),
                           fallback=["long"]) for i in (1, 2, 3)])
    state.take_ready(limit=1)
    state.apply_queued([TaskId(1)], {Q: [TaskId(1)]})
    state.apply_updates({TaskId(1): R})
    out = state.apply_updates({TaskId(1): A})
    assert out.adjusted == (1,) and out.ready == (1,)
    assert ready_ids(state) == [1, 2, 3]
    # 12 GiB x 1.5 = 18 > 16 on "all": falls back to "long"; runtime 3000 x 1.5 = 4500
    assert state.tasks[TaskId(1)].resources == ResourceSet("c", "long", 1, 18.0, 4500)
    check_invariants(state)


def test_resource_scales_are_applied_on_each_A() -> None:
    state, _ = build([task(1, A, resources=ResourceSet("c", "all", 1, 2.0, 100))])
    assert state.tasks[TaskId(1)].resources.memory == 3.0
    for status in (Q, I, R, E, A):
        state.apply_updates({TaskId(1): status})
    assert state.tasks[TaskId(1)].resources == ResourceSet("c", "all", 1, 5.0, 225)


def test_resources_are_coerced_to_the_queue_when_a_task_becomes_ready() -> None:
    big = ResourceSet("c", "all", cores=99, memory=99.0, runtime=10 ** 6)
    state, _ = build([task(1), task(2, resources=big)], {1: [2]})
    assert state.tasks[TaskId(2)].resources == big  # not ready yet: untouched
    state.apply_updates({TaskId(1): D})
    assert state.tasks[TaskId(2)].resources == ResourceSet("c", "all", 8, 16.0, 3600)


def test_unknown_task_ids_in_updates_are_ignored() -> None:
    state, _ = build([task(1)])
    out = state.apply_updates({TaskId(99): D, TaskId(1): Q})
    assert out.unknown == 1 and out.changed == 1 and out.done == ()
    assert state.total_tasks == 1
    check_invariants(state)


def test_a_same_status_update_is_no_change() -> None:
    state, _ = build([task(1, R), task(2)], {1: [2]})
    before = (state.active, state.n_ready, state.n_executions)
    out = state.apply_updates({TaskId(1): R, TaskId(2): G})
    assert out.changed == 0 and out.ready == () and out.done == ()
    assert (state.active, state.n_ready, state.n_executions) == before


def test_letters_are_accepted_as_statuses() -> None:
    state, _ = build([task(1)])
    state.apply_updates({TaskId(1): "D"})  # type: ignore[dict-item]
    assert state.done_count == 1


# ------------------------------------------------------------------------------ scheduler

def test_workflow_capacity_is_limit_minus_tasks_in_QIOR_and_in_flight() -> None:
    state, _ = build([task(1, Q), task(2, I), task(3, O), task(4, R), task(5, E), task(6),
                      task(7), task(8)], limit=6)
    assert state.workflow_capacity() == 2
    taken = state.take_ready()
    assert [t.task_id for t in taken] == [6, 7]
    assert state.workflow_capacity() == 0 and state.take_ready() == ()
    state.apply_updates({TaskId(1): D})
    assert [t.task_id for t in state.take_ready()] == [8]


def test_array_capacity_is_its_limit_minus_its_tasks_in_QIOR_and_in_flight() -> None:
    state, _ = build([task(1, R, array=1), task(2, array=1), task(3, array=1),
                      task(4, array=2)], arrays={1: 2, 2: 5})
    assert state.array_capacity(ArrayId(1)) == 1 and state.array_capacity(ArrayId(2)) == 5
    assert [t.task_id for t in state.take_ready()] == [2, 4]
    assert state.array_capacity(ArrayId(1)) == 0 and state.array_capacity(ArrayId(2)) == 4


def test_tasks_blocked_by_a_full_array_keep_their_place_at_the_front() -> None:
    state, _ = build([task(1, array=1), task(2, array=1), task(3, array=2),
                      task(4, array=1), task(5, array=2)], arrays={1: 1})
    assert [t.task_id for t in state.take_ready()] == [1, 3, 5]
    assert ready_ids(state) == [2, 4]
    state.apply_queued([TaskId(1)], {Q: [TaskId(1)]})
    state.apply_updates({TaskId(1): D})
    assert [t.task_id for t in state.take_ready()] == [2]
    assert ready_ids(state) == [4]
    check_invariants(state)


def test_a_limit_of_0_pauses_and_a_changed_limit_takes_effect_at_once() -> None:
    state, _ = build([task(1, array=1), task(2, array=2)], limit=0)
    assert state.take_ready() == ()
    assert state.set_workflow_limit(10) is True
    assert state.set_workflow_limit(10) is False
    assert state.set_array_limit(ArrayId(1), 0) is True
    assert [t.task_id for t in state.take_ready()] == [2]
    state.set_array_limit(ArrayId(1), 3)
    assert [t.task_id for t in state.take_ready()] == [1]


def test_take_ready_returns_current_resources_and_marks_tasks_in_flight() -> None:
    state, _ = build([task(1)])
    (taken,) = state.take_ready()
    assert taken.resources == ResourceSet("c", "all", 1, 1.0, 60)
    assert state.tasks[TaskId(1)].stage is Stage.IN_FLIGHT and state.n_in_flight == 1


def test_the_queued_answer_moves_in_flight_tasks_to_their_returned_status() -> None:
    state, _ = build([task(1), task(2), task(3)], limit=3)
    state.take_ready()
    out = state.apply_queued([TaskId(1), TaskId(2), TaskId(3)],
                             {Q: [TaskId(1), TaskId(2)], D: [TaskId(3)]})
    assert out.done == (3,) and state.n_in_flight == 0
    assert state.active == 2 and state.workflow_capacity() == 1
    check_invariants(state)


def test_the_answer_does_not_override_newer_news_from_the_sync() -> None:
    state, _ = build([task(1), task(2)], {1: [2]})
    state.take_ready()
    state.apply_updates({TaskId(1): D})          # the sync was faster than the answer
    out = state.apply_queued([TaskId(1)], {Q: [TaskId(1)]})
    assert out.changed == 0 and state.tasks[TaskId(1)].status is D
    assert ready_ids(state) == [2] and state.active == 0
    check_invariants(state)


def test_a_task_the_server_did_not_queue_goes_back_to_the_ready_queue() -> None:
    state, _ = build([task(1), task(2)])
    state.take_ready()
    out = state.apply_queued([TaskId(1), TaskId(2)], {G: [TaskId(1)]})  # 2 missing
    assert set(out.ready) == {1, 2}
    assert ready_ids(state) == [2, 1]  # the missing one at the front, the refused one behind
    check_invariants(state)


def test_release_puts_tasks_back_at_the_front_in_order() -> None:
    state, _ = build([task(i) for i in range(1, 6)], limit=3)
    taken = [t.task_id for t in state.take_ready()]
    assert taken == [1, 2, 3]
    assert state.release(taken).ready == (1, 2, 3)
    assert ready_ids(state) == [1, 2, 3, 4, 5] and state.active == 0
    check_invariants(state)


# ------------------------------------------------------------------------------ bad input

def test_inconsistent_build_input_is_a_typed_error_naming_the_task() -> None:
    with pytest.raises(StateError, match="task 1: bound twice"):
        build([task(1), task(1)])
    with pytest.raises(StateError, match="edge 1 -> 9"):
        build([task(1)], {1: [9]})
    with pytest.raises(StateError, match="edge from task 9"):
        build([task(1)], {9: [1]})
    with pytest.raises(StateError, match="self-edge"):
        build([task(1)], {1: [1]})
    with pytest.raises(StateError, match="task 2: unknown queue 'gpu'"):
        build([task(1), task(2, fallback=["gpu"])])
    with pytest.raises(StateError, match="unknown queue 'other'"):
        build([task(1, resources=ResourceSet("c", "other"))])
    assert issubclass(StateError, ConfigError) and issubclass(InvalidLimit, ValueError)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_bad_limits_are_typed_errors_naming_the_limit(bad: object) -> None:
    with pytest.raises(InvalidLimit, match="workflow limit"):
        build([task(1)], limit=bad)  # type: ignore[arg-type]
    state, _ = build([task(1)])
    with pytest.raises(InvalidLimit, match="limit of array 4"):
        state.set_array_limit(ArrayId(4), bad)  # type: ignore[arg-type]
    assert state.array_limits == {} and state.workflow_limit == 1000

