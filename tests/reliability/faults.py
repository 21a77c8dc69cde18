"""Fault injection for the reliability tier: seeded actor kills, process trees, workflows.

``Chaos`` is a thread that SIGKILLs actor processes of the running tree (found among this test
process's descendants by their ``actors.runtime.host NAME`` command line) at random moments
drawn from a seeded generator; it waits until each victim's replacement answers a ``Ping``
(it is started) before the next kill, so the kills stay within the supervisor's restart
intensity. It records what it killed and when.

Only PIDs found this way (our own descendants) are ever signalled.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

from actors.errors import RuntimeFailure
from actors.runtime import Node
from actors.workflow import Task, WorkflowDefinition
from messages.runtime import Ping
from tests.swarm.helpers import host_pids, workflow

__all__ = ["ACTOR_VICTIMS", "Chaos", "answers", "layered_workflow", "process_tree",
           "wait_gone"]

#: The swarm actors whose death the run survives without losing anything.
ACTOR_VICTIMS = ("heartbeat", "synchronizer", "scheduler")


class Chaos:
    """Kill ``kills`` random victims, one every ``spacing`` seconds (drawn uniformly), after
    ``first_after`` seconds, while ``going()`` is true."""

    def __init__(self, seed: int, victims: Sequence[str] = ACTOR_VICTIMS, *, kills: int = 3,
                 spacing: tuple[float, float] = (0.3, 1.5), first_after: float = 0.0,
                 going: Callable[[], bool] = lambda: True, sig: int = signal.SIGKILL) -> None:
        self.rng = random.Random(seed)
        self.victims = tuple(victims)
        self.kills = kills
        self.spacing = spacing
        self.first_after = first_after
        self.going = going
        self.sig = sig
        self.killed: list[tuple[str, int]] = []
        self.kill_times: list[float] = []  #: monotonic time of each kill
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="chaos", daemon=True)

    def start(self) -> Chaos:
        self._thread.start()
        return self

    def join(self, timeout: float = 60.0) -> None:
        self.stop.set()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the chaos thread did not end"

    def counts(self) -> Counter[str]:
        return Counter(name for name, _ in self.killed)

    def _main(self) -> None:
        if self.stop.wait(self.first_after):
            return
        while len(self.killed) < self.kills and self.going():
            if self.stop.wait(self.rng.uniform(*self.spacing)) or not self.going():
                return
            name = self.rng.choice(self.victims)
            pids = host_pids(name)
            if len(pids) != 1:
                continue  # being replaced right now: draw again
            try:
                os.kill(pids[0], self.sig)
            except ProcessLookupError:
                continue
            self.killed.append((name, pids[0]))
            self.kill_times.append(time.monotonic())
            self._wait_replaced(name, pids[0])

    def _wait_replaced(self, name: str, old: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stop.is_set() and self.going():
            new = [p for p in host_pids(name) if p != old]
            if new and answers(new[0], name):
                return
            time.sleep(0.05)


def answers(pid: int, name: str) -> bool:
    """Whether actor ``name`` (process ``pid``) answers a Ping through its run directory."""
    try:
        argv = psutil.Process(pid).cmdline()
    except psutil.Error:
        return False
    if "--rundir" not in argv:
        return False
    probe = Node(argv[argv.index("--rundir") + 1], name="chaos-probe")
    try:
        probe.ask(name, Ping(), timeout=1.0)
        return True
    except RuntimeFailure:
        return False
    finally:
        probe.close()


def layered_workflow(name: str, directory: Path, *, layers: int, width: int, seed: int,
                     max_attempts: int = 3, limit: int | None = None,
                     fan_in: int = 2) -> WorkflowDefinition:
    """``layers`` x ``width`` tasks; each task past the first layer depends on up to ``fan_in``
    random tasks of the layer before (seeded)."""
    rng = random.Random(seed)
    tasks = []
    for layer in range(layers):
        for i in range(width):
            upstream = [] if layer == 0 else sorted({
                f"l{layer - 1}-{rng.randrange(width)}" for _ in range(rng.randint(1, fan_in))})
            tasks.append(Task(f"l{layer}-{i}", "true", upstream=upstream,
                              max_attempts=max_attempts))
    return workflow(name, directory, tasks, max_concurrently_running=limit)


def process_tree(root: int) -> list[psutil.Process]:
    """``root`` and its live descendants."""
    try:
        proc = psutil.Process(root)
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def wait_gone(procs: Sequence[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every process has exited (zombies count as gone); those still alive."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for p in procs:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.NoSuchProcess:
                continue
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)
