"""Stopping a command child: SIGTERM reaches the command alone, and nothing it left survives.

A program that stops its own children on SIGTERM (Jobmon's multiprocess distributor joins its
consumer processes) must find them alive: the supervisor signals the guard, the guard passes
SIGTERM on to the command only, and once the command has exited the guard kills whatever the
command left in its process group.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from actors.runtime import CommandSpec, Node, Supervisor

pytestmark = pytest.mark.process

# On SIGTERM: record whether its child is still alive, stop it, exit 0.
PARENT_STOPPING_ITS_CHILD = """
import signal, subprocess, sys, time
child = subprocess.Popen(["sleep", "300"])
def stop(signum, frame):
    time.sleep(0.3)  # a child that got SIGTERM too has died by now
    with open(sys.argv[1], "w") as out:
        out.write("alive" if child.poll() is None else "dead")
    child.terminate()
    child.wait()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("READY", child.pid, flush=True)
while True:
    time.sleep(0.05)
"""

# On SIGTERM: exit at once, leaving its child running.
PARENT_LEAVING_ITS_CHILD = """
import signal, subprocess, sys, time
child = subprocess.Popen(["sleep", "300"])
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
print("READY", child.pid, flush=True)
while True:
    time.sleep(0.05)
"""


@pytest.fixture
def node() -> Iterator[Node]:
    with tempfile.TemporaryDirectory(prefix="stop-") as rundir:
        node = Node(rundir, name="root")
        try:
            yield node
        finally:
            node.close()


def _started(node: Node, tmp_path: Path, script: str, *args: str) -> tuple[Supervisor, int]:
    spec = CommandSpec("cmd", (sys.executable, "-c", script, *args), ready_pattern="^READY",
                       stop_timeout=10.0)
    sup = Supervisor(node, [spec], log_dir=str(tmp_path))
    sup.start()
    line = sup.ready_line("cmd") or ""
    return sup, int(line.split()[1])


@pytest.mark.timeout(60)
def test_sigterm_reaches_the_command_alone(node: Node, tmp_path: Path) -> None:
    record = tmp_path / "child-at-sigterm"
    sup, child = _started(node, tmp_path, PARENT_STOPPING_ITS_CHILD, str(record))
    started = time.monotonic()
    sup.stop()
    assert record.read_text() == "alive"
    assert time.monotonic() - started < 5.0  # stopped by itself, not killed after 10 s
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == "zombie"


@pytest.mark.timeout(60)
def test_what_the_command_left_behind_is_killed(node: Node, tmp_path: Path) -> None:
    sup, child = _started(node, tmp_path, PARENT_LEAVING_ITS_CHILD)
    assert psutil.pid_exists(child)
    sup.stop()
    deadline = time.monotonic() + 5
    while psutil.pid_exists(child) and psutil.Process(child).status() != "zombie":
        assert time.monotonic() < deadline, "the command's child survived the stop"
        time.sleep(0.05)


def test_the_guard_starts_without_the_actor_runtime() -> None:
    """The guard runs in front of every command child: pykka and the codec are not its own."""
    code = ("import sys, actors.runtime.guard; "
            "print(*(m in sys.modules for m in ('pykka', 'messages.codec', 'actors.runtime.node')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=50, check=True)
    assert done.stdout.split() == ["False", "False", "False"]
