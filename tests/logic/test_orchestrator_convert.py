"""What the orchestrator tells subscribers about task changes: real changes of its own tasks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.orchestrator.convert import real_changes, statuses_of
from messages.values import TaskId, TaskStatus
from tests.logic.helpers import A, D, F, G, Q, R, build, task


def test_unknown_ids_and_same_status_entries_are_left_out() -> None:
    state, _ = build([task(1), task(2, R), task(3)], {1: [3]})
    update = ((1, D), (2, R), (99, D), (3, G))
    before = statuses_of(state, (t for t, _ in update))
    assert before == {1: G, 2: R, 3: G}
    state.apply_updates({TaskId(t): s for t, s in update})
    assert real_changes(state, before) == ((1, D),)


def test_a_queue_answer_the_state_did_not_take_is_left_out() -> None:
    """A batch answer of Q for a task the sync has meanwhile moved to R is stale."""
    state, _ = build([task(1), task(2)])
    taken = state.take_ready()
    assert [t.task_id for t in taken] == [1, 2]
    state.apply_updates({TaskId(1): R})
    before = statuses_of(state, [1, 2])
    state.apply_queued([TaskId(1), TaskId(2)], {Q: [TaskId(1), TaskId(2)]})
    assert real_changes(state, before) == ((2, Q),)


def test_a_queued_task_seen_past_q_before_its_queue_answer_is_listed_q_first() -> None:
    """The distributor claimed it before the scheduler's answer came: subscribers still hear
    of its Q, then of the status the sync brought; tasks not sent to be queued do not."""
    state, _ = build([task(1), task(2), task(3), task(4)])
    taken = state.take_ready()
    assert [t.task_id for t in taken] == [1, 2, 3, 4]
    before = statuses_of(state, [1, 2, 3, 4])
    state.apply_updates({TaskId(1): R, TaskId(2): Q, TaskId(3): D, TaskId(4): R})
    assert real_changes(state, before, queued={1, 2, 3}) == (
        (1, Q), (1, R), (2, Q), (3, Q), (3, D), (4, R))
    before = statuses_of(state, [1, 2])
    state.apply_queued([TaskId(1), TaskId(2)], {Q: [TaskId(1), TaskId(2)]})
    assert real_changes(state, before) == ()  # the late answer changes nothing


STATUSES = st.sampled_from([G, Q, R, D, A, F])


@given(st.dictionaries(st.integers(1, 8), STATUSES, max_size=8))
def test_real_changes_are_exactly_the_status_differences(update: dict[int, TaskStatus]) -> None:
    state, _ = build([task(i) for i in range(1, 6)])
    old = {int(t): rec.status for t, rec in state.tasks.items()}
    before = statuses_of(state, update)
    assert set(before) == set(update) & set(old)
    state.apply_updates({TaskId(t): s for t, s in update.items()})
    changes = dict(real_changes(state, before))
    assert all(t in old for t in changes)
    assert changes == {t: state.tasks[TaskId(t)].status for t in before
                       if state.tasks[TaskId(t)].status is not old[t]}


def _spec(task_id: int, memory: float = 1.0, cluster: str | None = "c") -> Any:
    from messages.synchronizer import TaskRowSpec
    from messages.values import TaskStatus

    return TaskRowSpec(task_id, 1, TaskStatus.REGISTERING, 3, (), (),
                       (("memory", memory), ("queue", "all")), cluster, "all", 7)


def test_loaded_workflow_shares_resources_replaces_repeats_and_maps_edges() -> None:
    from actors.orchestrator.convert import LoadedWorkflow
    from messages.synchronizer import EdgeRow, WorkflowRows

    lw = LoadedWorkflow()
    lw.add(WorkflowRows((_spec(1), _spec(2), _spec(3, memory=2.0)),
                        (EdgeRow(1, 11, (12, 99)), EdgeRow(2, 12, ()), EdgeRow(3, 13, (11,)))))
    lw.add(WorkflowRows((_spec(2),), (EdgeRow(2, 12, ()),)))  # the same chunk again
    assert sorted(lw.tasks) == [1, 2, 3]
    assert lw.tasks[1].resources is lw.tasks[2].resources  # one value for equal resources
    assert lw.tasks[3].resources.memory == 2.0 and lw.array_limits == {1: 7}
    assert lw.downstream() == {1: (2,), 3: (1,)}  # node 99 is a task not loaded (D): dropped


def test_loaded_workflow_names_a_task_with_invalid_resources() -> None:
    from actors.orchestrator.convert import LoadedWorkflow
    from actors.resources import ResourceError
    from messages.synchronizer import WorkflowRows

    with pytest.raises(ResourceError, match="task 5"):
        LoadedWorkflow().add(WorkflowRows((_spec(5, cluster=None),), ()))
