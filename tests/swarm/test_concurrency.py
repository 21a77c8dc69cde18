"""An operator changes the workflow's concurrency limit while a run goes on.

The limit is changed the way an operator does (PUT update_max_concurrently_running through the
gateway); the test watches the server's own task counts (tasks in Q/I/O/R, which the limit
bounds) while many short sim tasks run: the swarm follows each new limit, and 0 pauses it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from actors.workflow import DEFAULT_ARRAY, Task
from messages.values import TaskStatus
from tests.swarm.helpers import (
    ACTIVE,
    Run,
    gateway,
    request,
    sim_args,
    wait_for,
    workflow,
    workflow_id_named,
)

pytestmark = pytest.mark.process

N_TASKS = 150
SETTLE = 0.75


@attrs.frozen
class Sample:
    """The server's counts at one moment."""

    active: int
    done: int


class Watcher:
    """Samples the server's task counts of one workflow."""

    def __init__(self, url: str, workflow_id: int) -> None:
        self.gw = gateway(url)
        self.workflow_id = workflow_id

    def sample(self) -> Sample:
        counts = self.gw.workflow_status(self.workflow_id).task_counts
        return Sample(active=sum(n for s, n in counts.items() if s in ACTIVE),
                      done=counts.get(TaskStatus.DONE, 0))

    def until(self, predicate: Callable[[Sample], bool], timeout: float, what: str) -> list[Sample]:
        """Samples every 50 ms until ``predicate(sample)`` holds; all samples taken."""
        samples: list[Sample] = []
        deadline = time.monotonic() + timeout
        while True:
            samples.append(self.sample())
            if predicate(samples[-1]):
                return samples
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; "
                                     f"last samples {samples[-5:]}")
            time.sleep(0.05)

    def settle(self, predicate: Callable[[Sample], bool], timeout: float, what: str,
               seconds: float = SETTLE) -> None:
        """Wait until ``predicate`` held for ``seconds`` in a row, at least ``seconds`` after
        the call (the swarm reads limits every poll interval; tasks it queued before end)."""
        start = time.monotonic()
        held_since: float | None = None
        while True:
            now = time.monotonic()
            if predicate(self.sample()):
                held_since = now if held_since is None else held_since
                if now - held_since >= seconds and now - start >= 2 * seconds:
                    return
            else:
                held_since = None
            if now - start > timeout:
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
            time.sleep(0.05)

    def during(self, seconds: float) -> list[Sample]:
        samples: list[Sample] = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            samples.append(self.sample())
            time.sleep(0.05)
        return samples


@pytest.mark.timeout(150)
def test_the_swarm_follows_a_limit_changed_mid_run(tmp_path: Path, server_url: str) -> None:
    definition = workflow("limits", tmp_path, [Task(f"t{i:03d}", "true")
                                               for i in range(N_TASKS)],
                          max_concurrently_running=4,
                          arrays={DEFAULT_ARRAY: 100})  # else the array inherits the 4
    run = Run(request(definition, state_dir=tmp_path / "state", server_url=server_url,
                      distributor_args=sim_args("0.3"))).start()
    workflow_id = wait_for(lambda: workflow_id_named(server_url, "limits"), 45, "binding")
    watch = Watcher(server_url, workflow_id)
    try:
        first = watch.until(lambda s: s.done >= 12, 60, "12 tasks done at limit 4")
        assert max(s.active for s in first) <= 4
        assert max(s.active for s in first) >= 2  # the run did use its room

        watch.gw.update_max_concurrently_running(workflow_id, 1)
        watch.settle(lambda s: s.active <= 1, 20, "the run to shrink to 1")
        narrow = watch.during(2.5)
        assert max(s.active for s in narrow) <= 1
        assert narrow[-1].done > narrow[0].done  # still going, one at a time

        watch.gw.update_max_concurrently_running(workflow_id, 0)
        watch.settle(lambda s: s.active == 0, 20, "the paused run to drain")
        paused = watch.during(1.5)
        assert {s.active for s in paused} == {0}
        assert paused[-1].done == paused[0].done  # nothing ran while paused
        assert not run.finished()

        watch.gw.update_max_concurrently_running(workflow_id, 60)
        wide = watch.until(lambda s: s.done == N_TASKS, 60, "the rest of the run")
        assert max(s.active for s in wide) > 4
        assert max(s.active for s in wide) <= 60
    finally:
        watch.gw.close()
    outcome = run.wait(60)
    assert outcome.exit_code == 0, outcome.result.error
    assert outcome.result.done_count == N_TASKS
