"""The pure status machines: tables, the error policy, triage, and Hypothesis sequences."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from actors.server import fsm
from actors.server.fsm import InstanceStatus as TI
from actors.server.fsm import RunStatus as Run
from actors.server.fsm import TaskStatus as Task

T0 = dt.datetime(2026, 1, 1, 12, 0, 0)


def test_tables_match_design() -> None:
    assert len(fsm.RUN_TRANSITIONS) == 18
    assert len(fsm.TASK_TRANSITIONS) == 14
    assert len(fsm.INSTANCE_TRANSITIONS) == 25
    assert (Run.COLD_RESUME, Run.TERMINATED) in fsm.RUN_TRANSITIONS
    assert (TI.QUEUED, TI.RUNNING) not in fsm.INSTANCE_TRANSITIONS


def test_run_step_applies_ignores_and_refuses() -> None:
    assert fsm.run_step(Run.LAUNCHED, Run.RUNNING) == fsm.RunStep(Run.RUNNING, True, False)
    assert fsm.run_step(Run.RUNNING, Run.RUNNING) == fsm.RunStep(Run.RUNNING, False, False)
    assert fsm.run_step(Run.BOUND, Run.DONE) == fsm.RunStep(Run.BOUND, False, True)


def test_heartbeat_records_same_status_but_not_illegal() -> None:
    assert fsm.heartbeat_step(Run.COLD_RESUME, Run.COLD_RESUME)[1] is True
    step, record = fsm.heartbeat_step(Run.COLD_RESUME, Run.RUNNING)
    assert (step.status, step.refused, record) == (Run.COLD_RESUME, True, False)
    step, record = fsm.heartbeat_step(Run.LAUNCHED, Run.RUNNING)
    assert (step.status, record) == (Run.RUNNING, True)


def test_resume_targets() -> None:
    assert fsm.resume_target(Run.RUNNING, True) == Run.COLD_RESUME
    assert fsm.resume_target(Run.BOUND, False) == Run.HOT_RESUME
    assert fsm.resume_target(Run.LAUNCHED, True) is None


def test_error_policy() -> None:
    assert fsm.error_policy(3, 3, TI.ERROR) == Task.ERROR_FATAL
    assert fsm.error_policy(3, 3, TI.RESOURCE_ERROR) == Task.ERROR_FATAL
    assert fsm.error_policy(1, 3, TI.RESOURCE_ERROR) == Task.ADJUSTING_RESOURCES
    assert fsm.error_policy(1, 3, TI.UNKNOWN_ERROR) == Task.REGISTERING


def test_instance_step_examples() -> None:
    step = fsm.instance_step(TI.RUNNING, TI.ERROR, Task.RUNNING, 1, 3, True)
    assert (step.instance_status, step.task_status) == (TI.ERROR, Task.REGISTERING)
    step = fsm.instance_step(TI.RUNNING, TI.RESOURCE_ERROR, Task.RUNNING, 1, 3, True)
    assert step.task_status == Task.ADJUSTING_RESOURCES
    step = fsm.instance_step(TI.RUNNING, TI.ERROR, Task.RUNNING, 3, 3, True)
    assert step.task_status == Task.ERROR_FATAL
    step = fsm.instance_step(TI.KILL_SELF, TI.ERROR, Task.RUNNING, 1, 3, True)
    assert (step.instance_status, step.task_status) == (TI.ERROR_FATAL, Task.ERROR_FATAL)
    step = fsm.instance_step(TI.LAUNCHED, TI.DONE, Task.LAUNCHED, 1, 3, True)
    assert step.refused and step.task_status == Task.LAUNCHED
    step = fsm.instance_step(TI.RUNNING, TI.LAUNCHED, Task.RUNNING, 1, 3, True)
    assert not step.refused and not step.changed  # a known race: ignored
    step = fsm.instance_step(TI.RUNNING, TI.DONE, Task.REGISTERING, 1, 3, False)
    assert step.instance_status == TI.DONE and step.task_status == Task.REGISTERING


def test_triage_targets() -> None:
    late = T0 - dt.timedelta(seconds=1)
    assert fsm.triage_target(TI.RUNNING, late, 10, T0) == TI.TRIAGING
    assert fsm.triage_target(TI.TRIAGING, late, 10, T0) == TI.UNKNOWN_ERROR
    assert fsm.triage_target(TI.LAUNCHED, late, 10, T0) is None
    assert fsm.triage_target(TI.LAUNCHED, T0 - dt.timedelta(seconds=10), 10, T0) == \
        TI.NO_HEARTBEAT
    assert fsm.triage_target(TI.RUNNING, T0 + dt.timedelta(seconds=1), 10, T0) is None
    assert fsm.triage_target(TI.DONE, late, 10, T0) is None


def test_terminate_targets() -> None:
    assert fsm.terminate_target(TI.RUNNING, hot=True) is None
    assert fsm.terminate_target(TI.RUNNING, hot=False) == TI.KILL_SELF
    assert fsm.terminate_target(TI.QUEUED, hot=True) == TI.KILL_SELF
    assert fsm.terminate_target(TI.DONE, hot=False) is None


# --- Hypothesis: one task with its instances driven by random reports --------------------

events = st.lists(st.one_of(
    st.tuples(st.just("queue")),
    st.tuples(st.just("report"), st.integers(0, 5), st.sampled_from(list(TI))),
    st.tuples(st.just("triage"), st.integers(0, 5), st.integers(0, 30)),
    st.tuples(st.just("terminate"), st.integers(0, 5), st.booleans()),
), max_size=60)


def _legal_task_change(before: Task, after: Task) -> bool:
    if before == after:
        return True
    if fsm.task_path(before, after) is not None:
        return True
    return ((before, Task.ERROR_RECOVERABLE) in fsm.TASK_TRANSITIONS
            and (Task.ERROR_RECOVERABLE, after) in fsm.TASK_TRANSITIONS)


@settings(max_examples=400, deadline=None)
@given(max_attempts=st.integers(1, 4), script=events)
def test_random_sequences_stay_legal(max_attempts: int, script: list[tuple]) -> None:
    task = Task.REGISTERING
    attempts = 0
    instances: list[TI] = []
    for event in script:
        before_task = task
        if event[0] == "queue":
            if task in fsm.QUEUEABLE_TASK_STATUSES:
                task, attempts = Task.QUEUED, attempts + 1
                instances.append(TI.QUEUED)
            continue
        if not instances:
            continue
        idx = event[1] % len(instances)
        current = idx == len(instances) - 1
        if event[0] == "report":
            targets = [event[2]]
        elif event[0] == "triage":
            report_by = T0 - dt.timedelta(seconds=event[2])
            t = fsm.triage_target(instances[idx], report_by, 10, T0)
            targets = [] if t is None else [t] + ([TI.ERROR] if t == TI.NO_HEARTBEAT else [])
        else:
            t = fsm.terminate_target(instances[idx], event[2])
            targets = [] if t is None else [t]
        for target in targets:
            old = instances[idx]
            step = fsm.instance_step(old, target, task, attempts, max_attempts, current)
            if step.changed:
                assert (old, step.instance_status) in fsm.INSTANCE_TRANSITIONS
            else:
                assert step.instance_status == old and step.task_status == task
            if (current and step.changed and target in fsm.INSTANCE_ERROR_STATUSES
                    and task in (Task.INSTANTIATING, Task.LAUNCHED, Task.RUNNING)):
                expected = (Task.ERROR_FATAL if old == TI.KILL_SELF  # killed: no retry
                            else fsm.error_policy(attempts, max_attempts, target))
                assert step.task_status == expected
            instances[idx], task = step.instance_status, step.task_status
        assert _legal_task_change(before_task, task), (before_task, task)
        assert task != Task.ERROR_RECOVERABLE  # E never persists on the server
        assert attempts <= max_attempts
        if task == Task.DONE:
            assert TI.DONE in instances
        if task == Task.ERROR_FATAL and attempts < max_attempts:
            assert instances[-1] == TI.ERROR_FATAL  # only a fatal instance skips retries
