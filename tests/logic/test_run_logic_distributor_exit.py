"""A distributor that exited 0: the run ended on the server, or the distributor is gone."""

from __future__ import annotations

import pytest

from actors.errors import DistributorDied
from actors.orchestrator.logic import (
    Finish,
    RunMachine,
    RunPhase,
    RunPolicy,
    RunStopped,
    SetRunStatus,
    StatusHeld,
    on_distributor_exited,
    on_status_reply,
    start_run,
)
from actors.orchestrator.state import SwarmState
from messages.values import RunStatus

from .helpers import build, task

POLICY = RunPolicy(timeout=100.0)
RS = RunStatus


def running(state: SwarmState) -> RunMachine:
    m, _ = start_run(state, RS.LAUNCHED, 0.0, POLICY)
    m, effects = on_status_reply(m, state, RS.RUNNING, RS.RUNNING, 0.0, POLICY)
    assert effects[0] == StatusHeld(RS.RUNNING)
    return m


@pytest.mark.parametrize("status", [RS.ERROR, RS.STOPPED, RS.TERMINATED])
def test_a_final_status_on_the_server_ends_the_run_as_is(status: RunStatus) -> None:
    state, _ = build([task(1)])
    m, effects = on_distributor_exited(running(state), state, 1.0, "exit code 0", status,
                                       POLICY)
    (done,) = effects
    assert isinstance(done, Finish) and done.result.final_status is status
    assert done.result.error is not None and done.result.error.error_type is RunStopped
    assert m.phase is RunPhase.FINISHED


@pytest.mark.parametrize("status", [RS.RUNNING, RS.COLD_RESUME, None])
def test_otherwise_the_distributor_died(status: RunStatus | None) -> None:
    """Still R (or C/H, or the server could not say): the run ends E, DistributorDied."""
    state, _ = build([task(1)])
    m, effects = on_distributor_exited(running(state), state, 1.0, "exit code 0", status,
                                       POLICY)
    assert effects == (SetRunStatus(RS.ERROR),)
    assert m.phase is RunPhase.FINISHING
    assert m.pending_error is not None and m.pending_error.error_type is DistributorDied
    assert "exit code 0" in m.pending_error.message


def test_ignored_once_the_run_is_finishing() -> None:
    state, _ = build([task(1)])
    m, effects = on_distributor_exited(running(state), state, 1.0, "exit code 0", None, POLICY)
    assert effects == (SetRunStatus(RS.ERROR),)
    assert on_distributor_exited(m, state, 1.5, "exit code 0", RS.ERROR, POLICY) == (m, ())
