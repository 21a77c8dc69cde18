"""Heartbeat cadence behaviours of DESIGN.md section 4 (fake clock: ``now`` is a number)."""

from __future__ import annotations

import pytest

from actors.errors import ConfigError
from actors.heartbeat.logic import (
    HeartbeatConfig,
    HeartbeatState,
    SendBeat,
    ServerStatusChanged,
    on_beat_failed,
    on_beat_reply,
    on_status_told,
    on_tick,
    start,
)
from messages.values import RunStatus

CONFIG = HeartbeatConfig(interval=10.0, report_by_buffer=3.1, tick=1.0)
RS = RunStatus


def beat_at(state: HeartbeatState, now: float) -> tuple[HeartbeatState, SendBeat]:
    state, effects = on_tick(state, CONFIG, now)
    (beat,) = effects
    return state, beat


def test_next_report_increment_is_interval_times_report_by_buffer() -> None:
    assert CONFIG.next_report_increment == pytest.approx(31.0)
    assert HeartbeatConfig().next_report_increment == pytest.approx(93.0)  # Jobmon: 30 x 3.1
    state = start(CONFIG, RS.RUNNING, 0.0)
    _, beat = beat_at(state, 10.0)
    assert beat.status is RS.RUNNING and beat.next_report_increment == pytest.approx(31.0)
    assert isinstance(beat, SendBeat)


def test_the_first_beat_is_not_due_at_start() -> None:
    state = start(CONFIG, RS.RUNNING, 100.0)
    for now in (100.0, 101.0, 109.9):
        state, effects = on_tick(state, CONFIG, now)
        assert effects == ()
    state, beat = beat_at(state, 110.0)
    assert beat.status is RS.RUNNING


def test_beats_keep_their_cadence_and_never_overlap() -> None:
    state = start(CONFIG, RS.RUNNING, 0.0)
    state, _ = beat_at(state, 10.5)
    assert on_tick(state, CONFIG, 25.0)[1] == ()       # the first is still in flight
    state, _ = on_beat_reply(state, RS.RUNNING)
    assert on_tick(state, CONFIG, 20.0)[1] == ()       # due 10 s after it was sent
    state, _ = beat_at(state, 20.5)
    assert state.beats == 1 and state.next_due == 30.5


def test_a_failed_beat_is_retried_at_the_next_tick_and_never_ends_the_run() -> None:
    state = start(CONFIG, RS.RUNNING, 0.0)
    for n in range(1, 6):
        state, _ = beat_at(state, 10.0 + n)
        state = on_beat_failed(state, 10.0 + n)
        assert state.failures == n and not state.in_flight
    state, beat = beat_at(state, 16.0)                 # the very next tick
    state, effects = on_beat_reply(state, RS.RUNNING)
    assert effects == () and state.failures == 0 and beat.status is RS.RUNNING


def test_a_different_server_status_reaches_the_orchestrator_once_per_change() -> None:
    state = start(CONFIG, RS.RUNNING, 0.0)
    state, _ = beat_at(state, 10.0)
    state, effects = on_beat_reply(state, RS.COLD_RESUME)
    assert effects == (ServerStatusChanged(RS.COLD_RESUME, RS.RUNNING),)
    state, _ = beat_at(state, 20.0)
    state, effects = on_beat_reply(state, RS.COLD_RESUME)
    assert effects == ()                                # same news: not repeated
    state, _ = beat_at(state, 30.0)
    state, effects = on_beat_reply(state, RS.STOPPED)
    assert effects == (ServerStatusChanged(RS.STOPPED, RS.RUNNING),)


def test_the_beat_sends_the_status_the_orchestrator_told_us() -> None:
    state = start(CONFIG, RS.RUNNING, 0.0)
    state, _ = beat_at(state, 10.0)
    state, effects = on_beat_reply(state, RS.HOT_RESUME)
    assert len(effects) == 1
    state = on_status_told(state, RS.HOT_RESUME)
    state, beat = beat_at(state, 20.0)
    assert beat.status is RS.HOT_RESUME
    state, effects = on_beat_reply(state, RS.HOT_RESUME)
    assert effects == () and state.notified is None


@pytest.mark.parametrize("field", ["interval", "report_by_buffer", "tick"])
@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), "30", True])
def test_bad_heartbeat_config_is_a_config_error_naming_the_field(field: str,
                                                                 bad: object) -> None:
    with pytest.raises(ConfigError, match=f"heartbeat {field}"):
        HeartbeatConfig(**{field: bad})  # type: ignore[arg-type]
