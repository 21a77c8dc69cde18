"""A restart racing the supervisor's stop (an actor killed just as its run ends).

Found by the seeded kill loop: the scheduler, killed a moment before the run finished, was
restarted after ``Supervisor.stop()`` had passed it, and its new process kept running (the
root still held its stdin, so it never saw its parent go). Now a child that finishes
starting while the supervisor stops is killed at once.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from actors.runtime import ActorSpec, Node, Supervisor
from tests.reliability.faults import wait_gone
from tests.swarm.helpers import descendants

pytestmark = pytest.mark.process

ECHO = "tests.runtime.sample_actors:EchoActor"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("delay", [0.0, 0.02, 0.05, 0.1, 0.2])
def test_a_child_restarting_while_the_supervisor_stops_is_not_left_running(
        tmp_path: Path, delay: float) -> None:
    before = {p.pid for p in descendants()}
    node = Node(str(tmp_path / "run"))
    sup = Supervisor(node, [ActorSpec("a", ECHO), ActorSpec("b", ECHO)],
                     log_dir=str(tmp_path))
    sup.start()
    try:
        os.kill(sup.pid("b") or 0, signal.SIGKILL)
        time.sleep(delay)  # the restart of b is under way (or about to start)
    finally:
        sup.stop()
        node.close()
    left = [p for p in descendants() if p.pid not in before]
    assert not wait_gone(left, 10), [p.cmdline() for p in left if p.is_running()]
