"""Soak: a big run on the ``sim`` backend with random actor kills and a frozen server.

Nightly: 20,000 tasks, 10 kills, a 30 s server stall. Here (``slow``): 3,000 tasks, 4 kills,
a 10 s stall. 2 % of instances fail (retried). The promises: the run ends D; every task has
exactly one D instance, no task more instances than its max_attempts, none queued twice for
one attempt; the kills appear in the outcome's restarts. The wall time is printed (``-s``)
for docs/reliability.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from messages.values import TaskStatus
from tests.reliability.checks import ledger, problems
from tests.reliability.faults import Chaos, layered_workflow
from tests.reliability.servers import ServerProcess
from tests.swarm.helpers import Run, config, request, sim_args, wait_for

pytestmark = [pytest.mark.process, pytest.mark.slow]

SIZES = [
    pytest.param(3_000, 4, 10.0, 400, id="3k-4kills-10s"),
    pytest.param(20_000, 10, 30.0, 1_000, id="20k-10kills-30s", marks=pytest.mark.nightly),
]


def _done(run: Run) -> int:
    return sum(s is TaskStatus.DONE for s in run.task_statuses().values())


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("tasks,kills,stall,limit", SIZES)
def test_soak_with_kills_and_a_frozen_server(
        tasks: int, kills: int, stall: float, limit: int, tmp_path: Path,
        own_server: Callable[..., ServerProcess]) -> None:
    server = own_server()
    definition = layered_workflow(f"soak-{tasks}", tmp_path, layers=4, width=tasks // 4,
                                  seed=tasks, max_attempts=5, limit=limit)
    started = time.monotonic()
    run = Run(request(definition, state_dir=tmp_path / "state", server_url=server.url,
                      distributor_args=sim_args("uniform:0.1:0.6", failure_rate=0.02,
                                                seed=tasks),
                      cfg=config(timeout=1500))).start()
    wait_for(lambda: _done(run) >= 20, 300, "the first tasks to finish")
    chaos = Chaos(tasks, kills=kills, spacing=(1.0, 3.0),
                  going=lambda: not run.finished()).start()
    stalled = threading.Event()

    def freeze_midway() -> None:
        if wait_for_quietly(lambda: _done(run) >= tasks * 0.4 or run.finished(), 900) \
                and not run.finished():
            server.pause()
            time.sleep(stall)
            server.resume()
            stalled.set()

    freezer = threading.Thread(target=freeze_midway, daemon=True)
    freezer.start()
    try:
        outcome = run.wait(1500)
    finally:
        chaos.join()
        freezer.join(stall + 60)
        if server.paused:
            server.resume()
    took = time.monotonic() - started

    result = outcome.result
    assert outcome.exit_code == 0, result.error
    assert result.done_count == tasks and result.failed_count == 0
    assert stalled.is_set(), "the run ended before the server stall"
    assert len(chaos.killed) == kills, f"only {len(chaos.killed)} kills before the end"
    restarted = sum(outcome.restarts.get(n, 0) for n in ("heartbeat", "synchronizer",
                                                          "scheduler"))
    assert kills - 1 <= restarted <= kills, (outcome.restarts, chaos.killed)
    lines = ledger(server.db_path, result.workflow_id)
    assert len(lines) == tasks and problems(lines) == []
    print(f"\n[soak] {tasks} tasks, {kills} kills ({dict(chaos.counts())}), {stall:g} s stall: "
          f"D in {took:.1f} s (run {result.elapsed_time:.1f} s)")


def wait_for_quietly(predicate: Callable[[], bool], timeout: float) -> bool:
    """Like wait_for, without failing: whether ``predicate`` came true in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False
