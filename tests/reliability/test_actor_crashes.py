"""Heartbeat, synchronizer and scheduler processes SIGKILLed at random moments of a run, in a
seeded loop (10 runs here, 100 more under ``nightly``), and actors frozen with SIGSTOP.

Each run has 300 tasks in three layers on the ``sim`` backend (5 % of instances fail, so
retries happen too). The promises, checked in the server's database: the run ends D; no task
has more instances in the run than its max_attempts; no task is queued twice for one attempt
(one instance per task, run and attempt); every task has exactly one D instance; the kills
appear in ``RunOutcome.restarts``. A frozen actor stops answering the supervisor's pings: it
is declared hung after ``ACTORSWARM_HANG_TIMEOUT`` seconds, killed and replaced.
"""

from __future__ import annotations

import functools
import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from messages.orchestrator import RunFinished
from messages.values import TaskStatus
from tests.reliability.checks import ledger, problems
from tests.reliability.faults import Chaos, answers, layered_workflow
from tests.reliability.servers import ServerProcess
from tests.swarm.helpers import Run, config, host_pids, request, sim_args, wait_for

pytestmark = pytest.mark.process

LAYERS, WIDTH = 3, 100
#: Restarts that finish after the run's end are not counted in its outcome.
COUNTED_BEFORE_END = 3.0

SEEDS = ([pytest.param(s, id=f"seed{s}") for s in range(10)]
         + [pytest.param(s, id=f"seed{s}", marks=pytest.mark.nightly)
            for s in range(1000, 1100)])


def _started(run: Run, name: str) -> list[int]:
    """The actor's PIDs; fails at once with the run's error if the run ended."""
    if not run.alive():
        run.wait(0)  # raises the run's error, or returns its outcome
        raise AssertionError(f"the run ended before its {name} was seen")
    return host_pids(name)


def _replaced(name: str, old: int) -> list[int]:
    return [p for p in host_pids(name) if p != old]


def _done(run: Run) -> int:
    return sum(s is TaskStatus.DONE for s in run.task_statuses().values())


@pytest.mark.timeout(180)
@pytest.mark.parametrize("seed", SEEDS)
def test_random_actor_kills_lose_nothing(seed: int, tmp_path: Path,
                                         shared_server: ServerProcess) -> None:
    definition = layered_workflow(f"kills-{seed}", tmp_path, layers=LAYERS, width=WIDTH,
                                  seed=seed, max_attempts=5, limit=40)
    run = Run(request(definition, state_dir=tmp_path / "state", server_url=shared_server.url,
                      distributor_args=sim_args("uniform:0.1:0.5", failure_rate=0.05,
                                                seed=seed),
                      cfg=config(timeout=150))).start()
    wait_for(lambda: _done(run) >= 5, 60, "the first tasks to finish")
    chaos = Chaos(seed, kills=3, spacing=(0.2, 1.2), going=lambda: not run.finished()).start()
    try:
        outcome = run.wait(150)
    finally:
        chaos.join()
    result = outcome.result
    assert outcome.exit_code == 0, result.error
    assert (result.done_count, result.failed_count) == (LAYERS * WIDTH, 0)
    assert chaos.killed, "the run ended before any kill: make it longer"

    (end, _), = run.timed(RunFinished)
    early = Counter(name for (name, _), at in zip(chaos.killed, chaos.kill_times)
                    if at < end - COUNTED_BEFORE_END)
    for name, killed in chaos.counts().items():
        assert early[name] <= outcome.restarts.get(name, 0) <= killed, (outcome.restarts,
                                                                          chaos.killed)
    assert outcome.restarts.get("orchestrator", 0) == 0
    lines = ledger(shared_server.db_path, result.workflow_id)
    assert len(lines) == LAYERS * WIDTH
    assert problems(lines) == []


FROZEN = ("heartbeat", "scheduler", "synchronizer", "orchestrator")


@pytest.mark.timeout(150)
def test_frozen_actors_are_detected_as_hung_and_replaced(
        tmp_path: Path, shared_server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each of the four actors in turn is frozen (SIGSTOP) in one run: the supervisor's pings
    go unanswered, it is declared hung after ACTORSWARM_HANG_TIMEOUT (2 s), killed and
    replaced; the run ends D with nothing lost."""
    monkeypatch.setenv("ACTORSWARM_HANG_TIMEOUT", "2")
    # long enough (15 waves of 1 s) that the run cannot end before the last hang is
    # detected: a frozen heartbeat does not hold the run up
    definition = layered_workflow("frozen", tmp_path, layers=2, width=30, seed=7, limit=4)
    run = Run(request(definition, state_dir=tmp_path / "state", server_url=shared_server.url,
                      distributor_args=sim_args("1"), cfg=config(timeout=120))).start()
    wait_for(lambda: _done(run) >= 3, 60, "the first tasks to finish")
    for victim in FROZEN:
        (old,) = wait_for(functools.partial(host_pids, victim), 10, f"the {victim} process")
        os.kill(old, signal.SIGSTOP)
        try:
            wait_for(functools.partial(_replaced, victim, old), 30, f"a new {victim} process")
        finally:
            if old in host_pids(victim):
                os.kill(old, signal.SIGCONT)  # not replaced: let it run and end normally
        assert old not in host_pids(victim), f"the frozen {victim} was not killed"
        assert not run.finished(), f"the run ended before the {victim} was replaced"
    outcome = run.wait(90)

    assert outcome.exit_code == 0, outcome.result.error
    assert {v: outcome.restarts.get(v) for v in FROZEN} == dict.fromkeys(FROZEN, 1), \
        outcome.restarts
    lines = ledger(shared_server.db_path, outcome.result.workflow_id)
    assert len(lines) == 60 and problems(lines) == []


@pytest.mark.timeout(180)
def test_a_synchronizer_killed_while_loading_the_workflow_loads_it_again(
        tmp_path: Path, shared_server: ServerProcess) -> None:
    """Found here: a synchronizer that died during the initial load was restarted but never
    asked to load again (the orchestrator only re-synced loaded runs): the run hung until
    its timeout. Now the orchestrator asks the new one to load from the start."""
    definition = layered_workflow("sync-kill-loading", tmp_path, layers=2, width=1500, seed=2)
    run = Run(request(definition, state_dir=tmp_path / "state", server_url=shared_server.url,
                      distributor_args=sim_args("0"), cfg=config(timeout=150))).start()
    (orchestrator,) = wait_for(lambda: _started(run, "orchestrator"), 120, "the orchestrator")
    wait_for(lambda: answers(orchestrator, "orchestrator"), 30, "the orchestrator to start")
    (sync,) = host_pids("synchronizer")  # it has been told to load the workflow
    os.kill(sync, signal.SIGKILL)
    killed_at = time.monotonic()
    outcome = run.wait(150)

    assert outcome.exit_code == 0, outcome.result.error
    assert outcome.restarts.get("synchronizer") == 1, outcome.restarts
    first_event = min(t for t, _ in run.events)
    assert first_event > killed_at, "the load had finished before the kill: make it bigger"
    lines = ledger(shared_server.db_path, outcome.result.workflow_id)
    assert len(lines) == 3000 and problems(lines) == []
