"""A server that does not answer, in the pure logic: how long it was silent, and when to stop.

The heartbeat measures the silence from the moment the first beat of a failing streak was
sent (a beat stuck on a frozen server fails only after its read timeouts); an answered beat
ends the streak. The orchestrator ends the run E with a ServerUnavailable error once the
silence reaches ``server_outage_limit``, without asking the unreachable server for anything.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from actors.errors import ServerUnavailable
from actors.heartbeat import logic as hb
from actors.orchestrator.logic import (
    Finish,
    RunMachine,
    RunPhase,
    RunPolicy,
    SetRunStatus,
    on_heartbeat_failed,
    on_status_reply,
    on_stop_requested,
    start_run,
)
from actors.orchestrator.state import SwarmState
from messages.values import RunStatus
from tests.logic.helpers import D, G, build, task

CONFIG = hb.HeartbeatConfig(interval=10.0, tick=1.0)


def test_silence_is_measured_from_the_first_failed_beat_sent() -> None:
    state = hb.start(CONFIG, RunStatus.RUNNING, now=0.0)
    state, beats = hb.on_tick(state, CONFIG, now=10.0)
    assert beats and hb.silent_for(state, 70.0) == 0.0  # in flight: nothing failed yet
    state = hb.on_beat_failed(state, now=70.0)  # two read timeouts of 30 s
    assert hb.silent_for(state, 70.0) == 60.0
    state, beats = hb.on_tick(state, CONFIG, now=71.0)  # retried at the next tick
    assert beats
    state = hb.on_beat_failed(state, now=72.0)  # refused at once this time
    assert state.failures == 2 and hb.silent_for(state, 72.0) == 62.0
    state, _ = hb.on_tick(state, CONFIG, now=73.0)
    state, _ = hb.on_beat_reply(state, RunStatus.RUNNING)
    assert state.failures == 0 and hb.silent_for(state, 500.0) == 0.0


def _running(policy: RunPolicy) -> tuple[RunMachine, SwarmState]:
    state, _ = build([task(1, D), task(2, G)])
    m, _ = start_run(state, RunStatus.LAUNCHED, 0.0, policy)
    m, _ = on_status_reply(m, state, RunStatus.RUNNING, RunStatus.RUNNING, 0.0, policy)
    return m, state


def test_past_the_outage_limit_the_run_ends_e_with_a_clear_error() -> None:
    policy = RunPolicy(server_outage_limit=30.0)
    m, state = _running(policy)
    same, effects = on_heartbeat_failed(m, state, 40.0, 29.9, policy)
    assert (same, effects) == (m, ())
    m, effects = on_heartbeat_failed(m, state, 41.0, 30.0, policy)
    (finish,) = effects
    assert isinstance(finish, Finish) and m.phase is RunPhase.FINISHED
    result = finish.result
    assert result.final_status is RunStatus.ERROR
    assert result.error is not None and result.error.error_type is ServerUnavailable
    assert "has not answered for 30 s (outage limit 30 s)" in result.error.message
    assert "left R on the server" in result.error.message
    assert not any(isinstance(e, SetRunStatus) for e in effects)  # nobody to tell


def test_a_run_already_finishing_is_left_to_its_own_retries() -> None:
    policy = RunPolicy(server_outage_limit=30.0)
    m, state = _running(policy)
    m, effects = on_stop_requested(m, state, 5.0, "user")
    assert effects == (SetRunStatus(RunStatus.STOPPED),)
    assert on_heartbeat_failed(m, state, 100.0, 95.0, policy) == (m, ())


@given(st.floats(min_value=0.0, max_value=1e6), st.floats(min_value=0.001, max_value=1e6))
def test_the_run_ends_exactly_when_the_silence_reaches_the_limit(silent: float,
                                                                 limit: float) -> None:
    policy = RunPolicy(server_outage_limit=limit)
    m, state = _running(policy)
    after, effects = on_heartbeat_failed(m, state, 1.0, silent, policy)
    assert (after.phase is RunPhase.FINISHED) == (silent >= limit)
    assert bool(effects) == (silent >= limit)
