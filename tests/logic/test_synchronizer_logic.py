"""Synchronizer plan behaviours of DESIGN.md sections 4 and 5 (fake clock)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from actors.errors import ConfigError
from actors.synchronizer.logic import (
    ArrayLimitsChanged,
    LegFailed,
    LegFailure,
    RoundResult,
    StatusDelta,
    SyncConfig,
    SyncPlan,
    SyncState,
    TaskChanges,
    WorkflowLimitChanged,
    apply_round,
    next_round_delay,
    on_features,
    plan_round,
    request_full,
)
from actors.synchronizer.actor import loaded_mark
from messages.values import ArrayId, TaskId, TaskStatus

CONFIG = SyncConfig(wedged_interval=600.0, poll_interval=1.0, long_poll_wait=10.0)
G, Q, R, D = (TaskStatus.REGISTERING, TaskStatus.QUEUED, TaskStatus.RUNNING,
              TaskStatus.DONE)
DOWN = LegFailure("ServerUnavailable", "connection refused")
T0, T1, T2 = "2024-05-01 10:00:00", "2024-05-01 10:00:01", "2024-05-01 10:00:02"


def delta(time: str, **by_status: Sequence[int]) -> StatusDelta:
    return StatusDelta({TaskStatus(k): [TaskId(t) for t in v] for k, v in by_status.items()},
                       time)


def result(status: StatusDelta | LegFailure, limit: int | LegFailure = 10,
           arrays: Mapping[int, int | LegFailure] | None = None,
           triage: LegFailure | None = None) -> RoundResult:
    return RoundResult(triage, status, limit,
                       {ArrayId(a): n for a, n in (arrays or {}).items()})


def changes(effects: Sequence[object]) -> dict[TaskId, TaskStatus] | None:
    found = [e for e in effects if isinstance(e, TaskChanges)]
    return dict(found[0].changes) if found else None


def synced(now: float = 0.0, time: str = T0, **kwargs: object) -> SyncState:
    """A state after a successful first (full) round at ``now``."""
    state = SyncState(arrays=(ArrayId(1),), **kwargs)  # type: ignore[arg-type]
    plan = plan_round(state, CONFIG, now)
    state, _ = apply_round(state, plan, result(delta(time)), now)
    return state


def test_the_first_round_is_a_full_sync_without_last_sync() -> None:
    plan = plan_round(SyncState(arrays=(ArrayId(1), ArrayId(2))), CONFIG, 0.0)
    assert plan == SyncPlan(full=True, last_sync=None, wait=None,
                            arrays=(ArrayId(1), ArrayId(2)))


def test_the_returned_time_becomes_the_next_last_sync() -> None:
    state = synced(time=T0)
    plan = plan_round(state, CONFIG, 1.0)
    assert (plan.full, plan.last_sync) == (False, T0)
    state, _ = apply_round(state, plan, result(delta(T1, R=[1])), 1.0)
    assert plan_round(state, CONFIG, 2.0).last_sync == T1


def test_an_exact_cursor_becomes_the_next_last_sync_and_repeats_are_still_dropped() -> None:
    c1, c2 = "2024-05-01 10:00:00.100000", "2024-05-01 10:00:00.200000"
    state = synced(time=T0)
    state, effects = apply_round(state, plan_round(state, CONFIG, 1.0),
                                 result(StatusDelta({Q: [TaskId(1)]}, T0, c1)), 1.0)
    assert changes(effects) == {1: Q}
    assert plan_round(state, CONFIG, 2.0).last_sync == c1  # not the whole-second time
    # a change dated exactly at the cursor may come again: it is not news
    state, effects = apply_round(state, plan_round(state, CONFIG, 2.0),
                                 result(StatusDelta({Q: [TaskId(1)], D: [TaskId(2)]}, T0, c2)),
                                 2.0)
    assert changes(effects) == {2: D}
    assert plan_round(state, CONFIG, 3.0).last_sync == c2


def test_a_full_sync_runs_every_wedged_interval() -> None:
    state = synced(now=0.0)
    assert not plan_round(state, CONFIG, 599.0).full
    plan = plan_round(state, CONFIG, 600.0)
    assert plan.full and plan.last_sync is None
    state, _ = apply_round(state, plan, result(delta(T1)), 600.0)
    assert not plan_round(state, CONFIG, 601.0).full


def test_a_status_change_without_a_timestamp_bump_is_seen_by_the_full_sync() -> None:
    state = synced(now=0.0)
    state, effects = apply_round(state, plan_round(state, CONFIG, 1.0),
                                 result(delta(T1, Q=[5])), 1.0)
    assert changes(effects) == {5: Q}
    state, effects = apply_round(state, plan_round(state, CONFIG, 2.0), result(delta(T2)), 2.0)
    assert changes(effects) is None  # task 5 went R without a bump: incremental misses it
    plan = plan_round(state, CONFIG, 700.0)
    state, effects = apply_round(state, plan, result(delta(T2, R=[5], D=[6])), 700.0)
    (full,) = [e for e in effects if isinstance(e, TaskChanges)]
    assert full.full and dict(full.changes) == {5: R, 6: D}


def test_legs_are_independent_a_failed_leg_keeps_the_others() -> None:
    state = synced(now=0.0)
    plan = plan_round(state, CONFIG, 1.0)
    state, effects = apply_round(state, plan,
                                 result(DOWN, limit=7, arrays={1: 3}, triage=DOWN), 1.0)
    assert LegFailed("triage", DOWN) in effects and LegFailed("status", DOWN) in effects
    assert WorkflowLimitChanged(7) in effects
    assert any(isinstance(e, ArrayLimitsChanged) and dict(e.limits) == {1: 3}
               for e in effects)
    assert plan_round(state, CONFIG, 2.0).last_sync == T0  # not advanced by a failed leg
    state, effects = apply_round(state, plan_round(state, CONFIG, 2.0),
                                 result(delta(T1, D=[3]), limit=DOWN, arrays={1: DOWN}), 2.0)
    assert changes(effects) == {3: D}
    assert LegFailed("workflow_limit", DOWN) in effects and LegFailed("array 1", DOWN) in effects
    assert plan_round(state, CONFIG, 3.0).last_sync == T1


def test_a_failed_full_sync_is_retried_as_a_full_sync() -> None:
    state = SyncState()
    plan = plan_round(state, CONFIG, 0.0)
    state, _ = apply_round(state, plan, result(DOWN), 0.0)
    assert plan_round(state, CONFIG, 1.0).full
    state = request_full(synced())
    plan = plan_round(state, CONFIG, 5.0)
    assert plan.full
    state, _ = apply_round(state, plan, result(DOWN), 5.0)
    assert plan_round(state, CONFIG, 6.0).full


def test_the_inclusive_overlap_is_deduped_only_real_changes_are_emitted() -> None:
    state = synced()
    state, effects = apply_round(state, plan_round(state, CONFIG, 1.0),
                                 result(delta(T1, Q=[1, 2])), 1.0)
    assert changes(effects) == {1: Q, 2: Q}
    # the next answer repeats the updates of second T1, plus real news
    state, effects = apply_round(state, plan_round(state, CONFIG, 2.0),
                                 result(delta(T1, Q=[1], R=[2], D=[3])), 2.0)
    assert changes(effects) == {2: R, 3: D}
    state, effects = apply_round(state, plan_round(state, CONFIG, 3.0),
                                 result(delta(T1, Q=[1], R=[2], D=[3])), 3.0)
    assert changes(effects) is None  # still the same second: all of it seen before
    state, effects = apply_round(state, plan_round(state, CONFIG, 4.0),
                                 result(delta(T2, D=[3])), 4.0)
    assert changes(effects) is None
    state, effects = apply_round(state, plan_round(state, CONFIG, 5.0),
                                 result(delta(T2, G=[1])), 5.0)
    assert changes(effects) == {1: G}  # a retry: a real change


def test_a_full_sync_reports_every_status_even_unchanged_ones() -> None:
    state = synced()
    state, _ = apply_round(state, plan_round(state, CONFIG, 1.0), result(delta(T1, Q=[1])), 1.0)
    state = request_full(state)
    state, effects = apply_round(state, plan_round(state, CONFIG, 2.0),
                                 result(delta(T1, Q=[1], G=[2])), 2.0)
    assert changes(effects) == {1: Q, 2: G}


def test_limits_changed_on_the_server_are_reported_at_the_next_sync_only_on_change() -> None:
    state = SyncState(arrays=(ArrayId(1), ArrayId(2)))
    state, effects = apply_round(state, plan_round(state, CONFIG, 0.0),
                                 result(delta(T0), limit=10, arrays={1: 2, 2: 5}), 0.0)
    assert WorkflowLimitChanged(10) in effects
    state, effects = apply_round(state, plan_round(state, CONFIG, 1.0),
                                 result(delta(T1), limit=10, arrays={1: 2, 2: 0}), 1.0)
    assert not any(isinstance(e, WorkflowLimitChanged) for e in effects)
    (arrays,) = [e for e in effects if isinstance(e, ArrayLimitsChanged)]
    assert dict(arrays.limits) == {2: 0}


def test_long_poll_only_when_the_server_supports_it_and_never_past_the_next_full_sync() -> None:
    state = synced(now=0.0)
    assert plan_round(state, CONFIG, 1.0).wait is None
    assert next_round_delay(state, CONFIG, result(delta(T1))) == 1.0
    state = on_features(state, long_poll=True)
    assert plan_round(state, CONFIG, 1.0).wait == 10.0
    assert plan_round(state, CONFIG, 595.0).wait == 5.0
    assert plan_round(state, CONFIG, 600.0).wait is None  # full: answered at once
    assert next_round_delay(state, CONFIG, result(delta(T1))) == 0.0
    assert next_round_delay(state, CONFIG, result(DOWN)) == 1.0
    assert plan_round(on_features(SyncState(), True), CONFIG, 0.0).wait is None
    assert SyncConfig(long_poll_wait=300).long_poll_wait == 300
    assert plan_round(on_features(synced(), True), SyncConfig(long_poll_wait=300),
                      1.0).wait == 60.0


@pytest.mark.parametrize("field", ["wedged_interval", "poll_interval", "long_poll_wait"])
def test_bad_sync_config_is_a_config_error_naming_the_field(field: str) -> None:
    with pytest.raises(ConfigError, match=f"synchronizer {field}"):
        SyncConfig(**{field: -1})


def test_the_first_sync_after_a_load_reaches_back_before_the_loads_server_time() -> None:
    assert loaded_mark("2026-01-01 12:00:03") == "2026-01-01 11:59:58"
    assert loaded_mark("2026-01-01 00:00:01", margin=2) == "2025-12-31 23:59:59"
    state = SyncState(last_sync=loaded_mark("2026-01-01 12:00:03"), last_full_at=0.0)
    assert plan_round(state, SyncConfig(), 1.0).last_sync == "2026-01-01 11:59:58"
    # a time this does not understand: no mark, so the first round is a full sync
    assert loaded_mark("yesterday") is None
    state = SyncState(last_sync=loaded_mark("yesterday"), last_full_at=0.0)
    assert plan_round(state, SyncConfig(), 1.0).full
