"""Resources from a task's callable: SwarmState.set_resources and the run's end on failure."""

from __future__ import annotations

import pytest

from actors.orchestrator import logic
from actors.orchestrator.logic import FailureKind, RunPhase, SetRunStatus
from actors.resources import ResourceSet, UnknownQueue
from messages.values import RunStatus, TaskId

from .helpers import build, check_invariants, task


def test_set_resources_replaces_and_coerces_to_the_queue_limits() -> None:
    state, _ = build([task(1)])
    (taken,) = state.take_ready()
    got = state.set_resources(taken.task_id, ResourceSet("c", "all", memory=40.0, runtime=30))
    assert got.memory == 16.0 and got.runtime == 30  # queue "all" allows 16 GiB
    assert state.tasks[TaskId(1)].resources is got
    check_invariants(state)


def test_set_resources_on_a_queue_the_workflow_does_not_use_is_refused() -> None:
    state, _ = build([task(1)])
    with pytest.raises(UnknownQueue):
        state.set_resources(TaskId(1), ResourceSet("c", "gpu", memory=1.0))


def test_a_failed_resource_callable_ends_the_run_E_with_its_reason() -> None:
    state, _ = build([task(1)])
    policy = logic.RunPolicy()
    m, _ = logic.start_run(state, RunStatus.RUNNING, 0.0, policy)
    m, effects = logic.on_resources_failed(m, state, 1.0, "task 1: must return a dict")
    assert effects == (SetRunStatus(RunStatus.ERROR),)
    assert m.phase is RunPhase.FINISHING and m.pending_error is not None
    assert m.pending_error.kind is FailureKind.RESOURCES
    assert m.pending_error.error_type is logic.ResourcesFailed
    assert logic.on_resources_failed(m, state, 2.0, "again") == (m, ())  # once
