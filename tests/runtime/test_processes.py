"""The runtime across real OS processes: asks, deadlines, restarts, intensity, no orphans."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msgpack
import psutil
import pytest

from actors.errors import ActorDeadError, AskTimeout, RestartIntensityExceeded, StartError
from actors.runtime import ActorSpec, CommandSpec, Node, Restart, Supervisor
from messages.runtime import ChildExited, ChildRestarted, SupervisorGaveUp
from tests.runtime.sample_actors import Add, Count, Echo, GetCount, Identity, Init, Sleep, WhoAmI

pytestmark = [pytest.mark.process, pytest.mark.timeout(60)]

ECHO = "tests.runtime.sample_actors:EchoActor"


def _wait(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    n = Node(str(tmp_path / "run"))
    yield n
    n.close()


def _sup(node: Node, specs: list, tmp_path: Path, **kw) -> Supervisor:  # type: ignore[no-untyped-def,type-arg]
    sup = Supervisor(node, specs, log_dir=str(tmp_path), **kw)
    sup.start()
    return sup


def test_actor_runs_in_its_own_named_process(node: Node, tmp_path: Path) -> None:
    sup = _sup(node, [ActorSpec("echo", ECHO, Init("hello"))], tmp_path)
    try:
        ident = node.ref("echo").ask(WhoAmI(), timeout=5)
        assert ident == Identity("echo", sup.pid("echo"), "hello")
        assert ident.pid != os.getpid()
        args = " ".join(psutil.Process(ident.pid).cmdline())
        assert "actors.runtime.host echo" in args
        rundir = Path(node.rundir or "")
        assert rundir.stat().st_mode & 0o777 == 0o700
        assert (rundir / "echo.sock").stat().st_mode & 0o777 == 0o600
    finally:
        sup.stop()


def test_tell_and_ask_across_processes(node: Node, tmp_path: Path) -> None:
    sup = _sup(node, [ActorSpec("echo", ECHO)], tmp_path)
    try:
        ref = node.ref("echo")
        for _ in range(1000):
            ref.tell(Count(1))
        assert ref.ask(GetCount(), timeout=5) == Count(1000)
        assert ref.ask(Add(20, 22), timeout=5) == Count(42)
    finally:
        sup.stop()


def test_ask_past_its_deadline(node: Node, tmp_path: Path) -> None:
    sup = _sup(node, [ActorSpec("echo", ECHO)], tmp_path)
    try:
        with pytest.raises(AskTimeout):
            node.ref("echo").ask(Sleep(1.0), timeout=0.1)
        assert node.ref("echo").ask(Add(1, 1), timeout=5) == Count(2)
        assert _wait(lambda: node.stats().dead_letters >= 1)
    finally:
        sup.stop()


def test_a_dead_peer_fails_pending_asks_at_once(node: Node, tmp_path: Path) -> None:
    sup = _sup(node, [ActorSpec("echo", ECHO, restart=Restart.TEMPORARY)], tmp_path)
    try:
        future = node.ref("echo").ask_future(Sleep(30), timeout=30)
        time.sleep(0.2)
        started = time.monotonic()
        os.kill(sup.pid("echo") or 0, signal.SIGKILL)
        with pytest.raises(ActorDeadError):
            future.result(timeout=5)
        assert time.monotonic() - started < 2.0
    finally:
        sup.stop()


def test_sigkilled_child_is_restarted_and_the_same_ref_works(node: Node, tmp_path: Path) -> None:
    events: list[object] = []
    sup = Supervisor(node, [ActorSpec("echo", ECHO)], log_dir=str(tmp_path))
    sup.subscribe(events.append)
    sup.start()
    try:
        ref = node.ref("echo")
        old = sup.pid("echo")
        os.kill(old or 0, signal.SIGKILL)
        assert _wait(lambda: any(isinstance(e, ChildRestarted) for e in events))
        exited = [e for e in events if isinstance(e, ChildExited)]
        assert exited[0].signal == signal.SIGKILL and exited[0].will_restart
        ident = ref.ask(WhoAmI(), timeout=5)
        assert ident.pid == sup.pid("echo") != old
        assert sup.restarts() == {"echo": 1}
    finally:
        sup.stop()


def test_restart_intensity_exceeded_gives_up(node: Node, tmp_path: Path) -> None:
    events: list[object] = []
    sup = Supervisor(node, [ActorSpec("echo", ECHO)], max_restarts=2, window_s=30,
                     log_dir=str(tmp_path))
    sup.subscribe(events.append)
    sup.start()
    try:
        for _ in range(3):
            pid = sup.pid("echo")
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            assert _wait(lambda p=pid: sup.pid("echo") not in (None, p) or sup.wait_gave_up(0))
        assert sup.wait_gave_up(10)
        with pytest.raises(RestartIntensityExceeded, match="echo"):
            sup.check()
        assert any(isinstance(e, SupervisorGaveUp) for e in events)
        assert sup.pids() == {}
    finally:
        sup.stop()


def test_hung_child_is_detected_and_replaced(node: Node, tmp_path: Path) -> None:
    events: list[object] = []
    sup = Supervisor(node, [ActorSpec("echo", ECHO, hang_timeout=1.0)], ping_interval=0.25,
                     log_dir=str(tmp_path))
    sup.subscribe(events.append)
    sup.start()
    try:
        old = sup.pid("echo")
        os.kill(old or 0, signal.SIGSTOP)
        assert _wait(lambda: any(isinstance(e, ChildRestarted) for e in events), 15)
        assert [e.reason for e in events if isinstance(e, ChildExited)] == ["hung"]
        assert node.ref("echo").ask(WhoAmI(), timeout=5).pid != old
    finally:
        sup.stop()


def test_children_start_in_order_and_stop_in_reverse(node: Node, tmp_path: Path) -> None:
    log = tmp_path / "order.txt"
    specs = [
        ActorSpec("first", ECHO),
        CommandSpec("second", ("sh", "-c", f"echo ready; trap 'echo second >> {log}; exit 0' TERM;"
                               " while true; do sleep 0.05; done"), ready_pattern="ready"),
        ActorSpec("third", ECHO),
    ]
    sup = _sup(node, specs, tmp_path)
    pids = sup.pids()
    assert list(pids) == ["first", "second", "third"]
    stopped: list[str] = []
    sup.subscribe(lambda e: stopped.append(e.name))
    sup.stop()
    for pid in pids.values():
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert log.read_text().strip() == "second"


def test_command_child_readiness_and_failure_to_start(node: Node, tmp_path: Path) -> None:
    sup = Supervisor(node, [CommandSpec("never", ("sh", "-c", "echo nope; exit 2"),
                                        ready_pattern="ALIVE", ready_stream="stdout",
                                        start_timeout=5)], log_dir=str(tmp_path))
    with pytest.raises(StartError, match="never"):
        sup.start()


def test_command_child_death_is_noticed_by_pidfd(node: Node, tmp_path: Path) -> None:
    events: list[object] = []
    sup = Supervisor(node, [CommandSpec("cmd", ("sh", "-c", "echo ALIVE >&2; exec sleep 60"),
                                        ready_pattern="ALIVE", ready_stream="stderr")],
                     log_dir=str(tmp_path))
    sup.subscribe(events.append)
    sup.start()
    try:
        guard = psutil.Process(sup.pid("cmd") or 0)
        sleeper = guard.children()[0]
        started = time.monotonic()
        sleeper.kill()
        assert _wait(lambda: any(isinstance(e, ChildExited) for e in events), 5)
        assert time.monotonic() - started < 1.0
        exited = [e for e in events if isinstance(e, ChildExited)][0]
        assert exited.name == "cmd" and exited.exit_code == 128 + signal.SIGKILL
        assert not exited.will_restart  # commands are temporary by default
    finally:
        sup.stop()


def test_malformed_bytes_on_an_actor_socket_do_not_crash_it(node: Node, tmp_path: Path) -> None:
    sup = _sup(node, [ActorSpec("echo", ECHO)], tmp_path)
    try:
        path = os.path.join(node.rundir or "", "echo.sock")
        for junk in (b"\xc1\xc1\xc1", msgpack.packb(["no.such.tag", 1]),
                     msgpack.packb(["envelope", 0, 0, "", None, None, ["test.Echo", 5]]),
                     b"\xdb\xff\xff\xff\xff"):  # a str header claiming 4 GiB
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(path)
                s.sendall(junk)
        assert node.ref("echo").ask(Echo("still here"), timeout=5) == Echo("still here")
    finally:
        sup.stop()


def _orphan_check(tmp_path: Path, how: str) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "tests.runtime.root_script",
                             str(tmp_path / "run")], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        children = list(info["children"].values())
        grandchildren = [c.pid for pid in children for c in psutil.Process(pid).children()]
        everyone = children + grandchildren
        assert all(psutil.pid_exists(p) for p in everyone)
        os.kill(proc.pid, {"kill": signal.SIGKILL, "term": signal.SIGTERM,
                           "int": signal.SIGINT}[how])
        proc.wait(15)

        def gone() -> bool:
            alive = []
            for p in everyone:
                try:
                    if psutil.Process(p).status() != psutil.STATUS_ZOMBIE:
                        alive.append(p)
                except psutil.NoSuchProcess:
                    pass
            return not alive

        assert _wait(gone, 15), "children survived their root"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("how", ["kill", "term", "int"])
def test_no_child_survives_its_root(tmp_path: Path, how: str) -> None:
    _orphan_check(tmp_path, how)
