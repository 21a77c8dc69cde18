"""The state server frozen (SIGSTOP) or restarted mid-run, or gone for good.

- Frozen for ``STALL`` seconds (15 here, the full 60 under ``nightly``): requests hang, time
  goes on. The actors wait and retry; nobody marks the run E for a missed heartbeat; the run
  ends D and every task has exactly one D instance.
- Stopped and started again on the same port and database (down 10 s here, 60 s nightly):
  requests are refused meanwhile; the actors retry with backoff; the run ends D, nothing lost.
- Gone for good: the run ends with a ServerUnavailable error once the server has not
  answered for ``OrchestratorConfig.server_outage_limit`` seconds (small here), in bounded
  time, and the whole tree stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from messages.values import TaskStatus
from tests.reliability.checks import ledger, problems
from tests.reliability.faults import layered_workflow
from tests.reliability.servers import ClosedDoor, ServerProcess, db_rows
from tests.swarm.helpers import Run, config, request, sim_args, wait_for

pytestmark = pytest.mark.process

LAYERS, WIDTH = 3, 60
#: Bound on the reconnection attempts per second of a whole run while its server is down.
RETRIES_PER_SECOND = 30


def _done(run: Run) -> int:
    return sum(s is TaskStatus.DONE for s in run.task_statuses().values())


def _start(tmp_path: Path, server: ServerProcess, name: str,
           outage_limit: float = 600.0) -> Run:
    definition = layered_workflow(name, tmp_path, layers=LAYERS, width=WIDTH, seed=11,
                                  limit=30)
    return Run(request(definition, state_dir=tmp_path / "state", server_url=server.url,
                       distributor_args=sim_args("uniform:0.2:0.6"),
                       cfg=attrs.evolve(config(timeout=300),
                                        server_outage_limit=outage_limit))).start()


def _check_ended_d(server: ServerProcess, run: Run, timeout: float) -> None:
    outcome = run.wait(timeout)
    assert outcome.exit_code == 0, outcome.result.error
    workflow_id = outcome.result.workflow_id
    runs = db_rows(server.db_path, "SELECT id, status FROM workflow_run WHERE workflow_id = ?",
                   (workflow_id,))
    assert runs == [(outcome.result.workflow_run_id, "D")]  # never E, never replaced
    lines = ledger(server.db_path, workflow_id)
    assert len(lines) == LAYERS * WIDTH and problems(lines) == []


@pytest.mark.slow
@pytest.mark.timeout(400)
@pytest.mark.parametrize("stall", [pytest.param(15.0, id="15s"),
                                   pytest.param(60.0, id="60s", marks=pytest.mark.nightly)])
def test_a_frozen_server_stalls_the_run_and_loses_nothing(
        stall: float, tmp_path: Path, own_server: Callable[..., ServerProcess]) -> None:
    server = own_server()
    run = _start(tmp_path, server, f"frozen-{stall:g}")
    wait_for(lambda: _done(run) >= 30, 60, "30 tasks to finish")
    server.pause()
    try:
        time.sleep(stall)
        assert not run.finished()
    finally:
        server.resume()
    _check_ended_d(server, run, 300)


@pytest.mark.slow
@pytest.mark.timeout(400)
@pytest.mark.parametrize("down", [pytest.param(10.0, id="10s"),
                                  pytest.param(60.0, id="60s", marks=pytest.mark.nightly)])
def test_a_restarted_server_loses_nothing(down: float, tmp_path: Path,
                                          own_server: Callable[..., ServerProcess]) -> None:
    server = own_server()
    run = _start(tmp_path, server, f"restart-{down:g}")
    wait_for(lambda: _done(run) >= 30, 60, "30 tasks to finish")
    assert server.stop() == 0
    door = ClosedDoor(server.port)  # counts the reconnection attempts while it is down
    try:
        time.sleep(down)
    finally:
        door.close()
    assert not run.finished()
    server.start()  # same port, same database
    _check_ended_d(server, run, 300)
    # five clients (heartbeat, synchronizer's legs, scheduler, orchestrator, distributor)
    # retrying with backoff: a few attempts a second in all, not a busy loop
    print(f"\n[outage] {door.attempts} reconnection attempts in {down:g} s down")
    assert 0 < door.attempts < RETRIES_PER_SECOND * down, door.attempts


@pytest.mark.timeout(120)
def test_a_server_that_never_comes_back_ends_the_run_with_a_clear_error(
        tmp_path: Path, own_server: Callable[..., ServerProcess]) -> None:
    limit = 4.0
    server = own_server()
    run = _start(tmp_path, server, "gone", outage_limit=limit)
    wait_for(lambda: _done(run) >= 30, 60, "30 tasks to finish")
    server.kill()
    gone_at = time.monotonic()
    outcome = run.wait(60)
    took = time.monotonic() - gone_at

    result = outcome.result
    assert outcome.exit_code == 1
    assert result.error is not None and result.error.type == "ServerUnavailable"
    assert "not answered" in result.error.message and f"{limit:g} s" in result.error.message
    assert limit <= took < 60
