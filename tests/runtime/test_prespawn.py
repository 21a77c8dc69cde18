"""``Supervisor.prespawn``: actor interpreters started ahead of their ``add_child``.

The prespawned interpreter is the one that becomes the child (it gets its init message at the
handshake); one never added, dead, or spawned for another class is killed and replaced; none
outlives ``stop()`` or its root; thread mode spawns nothing.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from actors.errors import RuntimeFailure
from actors.runtime import ActorSpec, Node, Supervisor
from actors.runtime.children import abort, spawn_actor_process
from tests.runtime.sample_actors import Identity, Init, WhoAmI

pytestmark = [pytest.mark.process, pytest.mark.timeout(60)]

ECHO = "tests.runtime.sample_actors:EchoActor"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    n = Node(str(tmp_path / "run"))
    yield n
    n.close()


def _hosts() -> dict[str, int]:
    """Our actor host processes by actor name."""
    out = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            args = proc.cmdline()
            if proc.status() != psutil.STATUS_ZOMBIE and "actors.runtime.host" in args:
                out[args[args.index("actors.runtime.host") + 1]] = proc.pid
        except psutil.Error:
            continue
    return out


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False


def test_the_prespawned_interpreter_becomes_the_child(node: Node, tmp_path: Path) -> None:
    sup = Supervisor(node, [], log_dir=str(tmp_path))
    sup.start()
    try:
        sup.prespawn([("echo", ECHO), ("spare", ECHO)])
        spawned = _hosts()
        assert set(spawned) == {"echo", "spare"}
        assert sup.pids() == {}  # not children yet: no pings, no restarts
        sup.add_child(ActorSpec("echo", ECHO, Init("late init")))
        assert sup.pid("echo") == spawned["echo"]
        assert node.ref("echo").ask(WhoAmI(), timeout=5) == Identity(
            "echo", spawned["echo"], "late init")
        with pytest.raises(ValueError, match="already exists"):
            sup.prespawn([("echo", ECHO)])
    finally:
        sup.stop()
    assert _gone(spawned["echo"]) and _gone(spawned["spare"])  # the unused one too
    with pytest.raises(RuntimeFailure, match="stopping"):
        sup.prespawn([("other", ECHO)])


def test_a_dead_or_mismatched_prespawn_is_replaced(node: Node, tmp_path: Path) -> None:
    sup = Supervisor(node, [], log_dir=str(tmp_path))
    sup.start()
    try:
        sup.prespawn([("dead", ECHO), ("other", "tests.runtime.sample_actors:NoSuchActor")])
        dead = _hosts()["dead"]
        os.kill(dead, signal.SIGKILL)
        assert _gone(dead)
        sup.add_child(ActorSpec("dead", ECHO))
        sup.add_child(ActorSpec("other", ECHO))  # the prespawned one was for another class
        for name in ("dead", "other"):
            assert node.ref(name).ask(WhoAmI(), timeout=5).name == name
        assert sup.pid("dead") != dead
    finally:
        sup.stop()


def test_a_prespawned_interpreter_exits_when_its_root_is_gone(tmp_path: Path) -> None:
    child = spawn_actor_process("orphan", ECHO, str(tmp_path), str(tmp_path))
    try:
        assert child.popen.stdin is not None
        child.popen.stdin.close()  # what the root's death does to the pipe
        assert child.wait(10.0)
    finally:
        abort(child)


def test_thread_mode_prespawns_nothing(node: Node, tmp_path: Path) -> None:
    sup = Supervisor(node, [], mode="thread", log_dir=str(tmp_path))
    sup.start()
    try:
        sup.prespawn([("echo", ECHO)])
        assert _hosts() == {}
        sup.add_child(ActorSpec("echo", ECHO, Init("t")))
        assert node.ref("echo").ask(WhoAmI(), timeout=5).pid == os.getpid()
    finally:
        sup.stop()
