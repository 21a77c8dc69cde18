"""A Hypothesis state machine over SwarmState, checked against a plain-dict model.

Random DAGs (several arrays, some tasks already D/A/F), random server updates (any status,
duplicates, unknown ids), realistic task lifecycles, scheduler answers (queued, refused, missing,
stale), releases and limit changes. After every step: each task in exactly one bucket, counters
equal a recount, the ready queue holds exactly the eligible tasks that are not in flight, no
task is taken twice for one attempt, takes never exceed capacity, done + failed + pending ==
total.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from actors.orchestrator.state import UNLIMITED, SwarmState
from messages.values import ACTIVE_TASK_STATUSES, ArrayId, TaskId, TaskStatus

from .helpers import A, D, E, F, G, I, Q, R, build, check_invariants, ready_ids, task

STATUSES = st.sampled_from(list(TaskStatus))
NEXT = {G: [Q], A: [Q], Q: [I], I: [R, E], R: [D, E], E: [G, A, F]}


class SwarmStateMachine(RuleBasedStateMachine):
    """Drives one SwarmState and a model of what it must contain."""

    state: SwarmState

    @initialize(data=st.data())
    def build_dag(self, data: st.DataObject) -> None:
        n = data.draw(st.integers(1, 14), label="tasks")
        statuses = data.draw(st.lists(st.sampled_from([G, G, G, G, D, A, F]), min_size=n,
                                      max_size=n), label="statuses")
        arrays = data.draw(st.lists(st.integers(1, 3), min_size=n, max_size=n), label="arrays")
        edges: dict[int, list[int]] = {}
        for down in range(2, n + 1):
            ups = data.draw(st.sets(st.integers(1, down - 1), max_size=3), label="ups")
            for up in sorted(ups):
                edges.setdefault(up, []).append(down)
        self.upstreams = {TaskId(t): [TaskId(u) for u, ds in edges.items() if t in ds]
                          for t in range(1, n + 1)}
        limit = data.draw(st.one_of(st.just(0), st.integers(2, 8)), label="limit")
        array_limits = data.draw(st.dictionaries(st.integers(1, 3), st.integers(0, 4),
                                                 max_size=2), label="array limits")
        self.state, fringe = build([task(i + 1, statuses[i], arrays[i]) for i in range(n)],
                                   edges, limit=limit, arrays=array_limits)
        self.model = {TaskId(i + 1): statuses[i] for i in range(n)}
        self.in_flight: set[TaskId] = set()
        self.batches: list[tuple[TaskId, ...]] = []
        self.executions = 0
        assert set(fringe.ready) == self.eligible()

    # ------------------------------------------------------------------------------ model

    def eligible(self) -> set[TaskId]:
        return {t for t, s in self.model.items() if s in (G, A) and t not in self.in_flight
                and all(self.model[u] is D for u in self.upstreams[t])}

    def model_active(self, array: ArrayId | None = None) -> int:
        return sum(1 for t, s in self.model.items()
                   if (s in ACTIVE_TASK_STATUSES or t in self.in_flight)
                   and (array is None or self.state.tasks[t].array_id == array))

    def set_model(self, task_id: TaskId, status: TaskStatus) -> None:
        if status is D and self.model[task_id] is not D:
            self.executions += 1
        self.model[task_id] = status

    def apply(self, updates: Mapping[TaskId, TaskStatus]) -> None:
        self.state.apply_updates(updates)
        for task_id, status in updates.items():
            if task_id in self.model:
                self.set_model(task_id, status)

    # ------------------------------------------------------------------------------ rules

    @rule(limit=st.one_of(st.none(), st.integers(0, 5)))
    def take(self, limit: int | None) -> None:
        room = max(0, self.state.workflow_limit - self.model_active())
        caps = {a: max(0, self.state.array_limits.get(a, UNLIMITED) - self.model_active(a))
                for a in {r.array_id for r in self.state.tasks.values()}}
        eligible = self.eligible()
        taken = self.state.take_ready(limit)
        ids = [t.task_id for t in taken]
        assert len(ids) == len(set(ids)) and len(ids) <= room
        assert limit is None or len(ids) <= limit
        for t in taken:
            assert t.task_id in eligible, "taken twice for one attempt, or not eligible"
            caps[t.array_id] -= 1
            assert caps[t.array_id] >= 0, "array capacity exceeded"
        self.in_flight.update(ids)
        if ids:
            self.batches.append(tuple(ids))

    @precondition(lambda self: self.batches)
    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        batch = self.batches.pop(data.draw(st.integers(0, len(self.batches) - 1)))
        answer: dict[TaskStatus, list[TaskId]] = {}
        for task_id in batch:
            status = data.draw(st.sampled_from([Q, Q, Q, G, D, None]), label="answer")
            if status is not None:
                answer.setdefault(status, []).append(task_id)
        self.state.apply_queued(batch, answer)
        for status, ids in answer.items():
            for task_id in ids:
                if task_id in self.in_flight and self.model[task_id] in (G, A):
                    self.set_model(task_id, status)
        self.in_flight.difference_update(batch)

    @precondition(lambda self: self.batches)
    @rule()
    def release(self) -> None:
        batch = self.batches.pop()
        self.state.release(batch)
        self.in_flight.difference_update(batch)

    @rule(data=st.data())
    def random_update(self, data: st.DataObject) -> None:
        ids = st.integers(1, len(self.model) + 3).map(TaskId)  # includes unknown ids
        updates = data.draw(st.dictionaries(ids, STATUSES, max_size=5))
        self.apply(updates)
        if data.draw(st.booleans(), label="duplicate"):
            self.apply(updates)

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def update_in_flight(self, data: st.DataObject) -> None:
        """The sync reports a task the scheduler has not answered for yet."""
        chosen = data.draw(st.lists(st.sampled_from(sorted(self.in_flight)), min_size=1,
                                    max_size=3, unique=True))
        self.apply({t: data.draw(st.sampled_from([Q, I, R, D, E, A, F])) for t in chosen})

    @rule(data=st.data())
    def upstream_done(self, data: st.DataObject) -> None:
        """An upstream of a waiting task reaches D (possibly the last one)."""
        waiting = sorted({u for t, ups in self.upstreams.items() for u in ups
                          if self.model[u] is not D})
        if waiting:
            self.apply({data.draw(st.sampled_from(waiting)): D})

    @rule(data=st.data())
    def lifecycle_step(self, data: st.DataObject) -> None:
        movable = sorted(t for t, s in self.model.items() if s in NEXT)
        if not movable:
            return
        chosen = data.draw(st.lists(st.sampled_from(movable), max_size=4, unique=True))
        self.apply({t: data.draw(st.sampled_from(NEXT[self.model[t]])) for t in chosen})

    @rule(limit=st.integers(0, 8))
    def workflow_limit(self, limit: int) -> None:
        self.state.set_workflow_limit(limit)

    @rule(array=st.integers(1, 3), limit=st.integers(0, 4))
    def array_limit(self, array: int, limit: int) -> None:
        self.state.set_array_limit(ArrayId(array), limit)

    # ------------------------------------------------------------------------------ checks

    @invariant()
    def consistent(self) -> None:
        state = self.state
        check_invariants(state)
        assert {t: r.status for t, r in state.tasks.items()} == self.model
        assert set(ready_ids(state)) == self.eligible()
        assert {t for t, r in state.tasks.items() if r.stage.name == "IN_FLIGHT"} \
            == self.in_flight
        assert state.active == self.model_active()
        assert state.n_executions == self.executions
        done = sum(1 for s in self.model.values() if s is D)
        failed = sum(1 for s in self.model.values() if s is F)
        pending = sum(1 for s in self.model.values() if s not in (D, F))
        assert (state.done_count, state.failed_count) == (done, failed)
        assert done + failed + pending == state.total_tasks
        live = state.n_ready + state.n_in_flight + sum(
            1 for s in self.model.values() if s in (Q, I, R, E, TaskStatus.LAUNCHED))
        assert state.live_count == live


TestSwarmStateMachine = SwarmStateMachine.TestCase
TestSwarmStateMachine.settings = settings(
    max_examples=200, stateful_step_count=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
pytestmark = pytest.mark.timeout(300)
