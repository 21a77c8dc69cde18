"""Child specs and the processes behind them: start with a readiness handshake, stop, kill.

Who uses it: ``actors.runtime.supervisor.Supervisor`` only. Two kinds of children:

- ``ActorSpec``: an ``actors.runtime.Actor`` subclass in its own fresh interpreter
  (``python -m actors.runtime.host NAME MODULE:CLASS``), or in thread mode a pykka thread of the
  supervisor's node. Ready when the host prints ``READY <pid>``. The interpreter may be spawned
  ahead (``spawn_actor_process``: it imports its class, then waits for its init message) and
  handshaken later, when the init message is known (``handshake_actor_process``).
- ``CommandSpec``: a plain OS command (e.g. a distributor) under ``actors.runtime.guard``. Ready
  when a line matching ``ready_pattern`` appears on ``ready_stream``, when ``ready_probe``
  returns True, or at once when neither is given.

Every child process gets its own session (``start_new_session``): a Ctrl-C on the terminal
reaches only the root, which then stops the children in reverse order. Every child holds a pipe
from the root on stdin and exits when it reaches EOF, so no child outlives a killed root.
"""

from __future__ import annotations

import enum
import os
import re
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import IO, Any

import attrs

from messages import encode

from actors.errors import StartError

__all__ = ["ActorSpec", "ChildProcess", "CommandSpec", "Restart", "abort",
           "handshake_actor_process", "spawn_actor_process", "start_actor_process",
           "start_command_process"]


class Restart(enum.Enum):
    """OTP restart types: permanent always, transient after abnormal exits, temporary never."""

    PERMANENT = "permanent"
    TRANSIENT = "transient"
    TEMPORARY = "temporary"


@attrs.frozen
class ActorSpec:
    """An actor child. ``actor`` is ``"module:Class"``; ``init`` a registered message or None."""

    name: str
    actor: str
    init: Any = None
    restart: Restart = Restart.PERMANENT
    start_timeout: float = 15.0
    stop_timeout: float = 5.0
    #: hang detection: declared hung after this many seconds without a Pong (None: never)
    hang_timeout: float | None = 10.0


@attrs.frozen
class CommandSpec:
    """A plain OS command child, supervised with the same liveness as actors."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] | None = None
    cwd: str | None = None
    restart: Restart = Restart.TEMPORARY
    ready_pattern: str | None = None
    ready_stream: str = "stdout"  # or "stderr"
    ready_probe: Callable[[], bool] | None = None
    start_timeout: float = 30.0
    stop_timeout: float = 10.0


class ChildProcess:
    """A started child process: its Popen, pidfd and output pump."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], log_path: str | None) -> None:
        self.name = name
        self.popen = popen
        self.pid = popen.pid
        self.pidfd = os.pidfd_open(popen.pid)
        self.log_path = log_path
        self.tail: deque[str] = deque(maxlen=40)
        self.stopping = False
        self.hung = False
        self.ready_line: str | None = None
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        """Signal the child's whole process group (its session), only if it is still ours."""
        if self.popen.returncode is not None:
            return
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            self.popen.send_signal(sig)

    def signal_leader(self, sig: int) -> None:
        """Signal the child process alone (a command's guard passes it on to the command)."""
        if self.popen.returncode is None:
            try:
                self.popen.send_signal(sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> bool:
        try:
            self.popen.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def close(self) -> None:
        try:
            os.close(self.pidfd)
        except OSError:
            pass
        if self.popen.stdin is not None:
            try:
                self.popen.stdin.close()
            except OSError:
                pass


def _read_line(stream: IO[bytes], deadline: float, proc: subprocess.Popen[bytes],
               partial: Callable[[bytes], bool] | None = None) -> bytes | None:
    """One line from a pipe before ``deadline``; None on EOF or timeout.

    With ``partial``, an unterminated line is returned as soon as the pipe has nothing more to
    read and ``partial(line)`` is true (a program that writes ``ALIVE`` without a newline).
    """
    fd = stream.fileno()
    buf = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], min(remaining, 0.2))
        if not ready:
            if partial is not None and buf and partial(buf):
                return buf
            if proc.poll() is not None:
                return None
            continue
        byte = os.read(fd, 1)
        if not byte:
            return None
        if byte == b"\n":
            return buf
        buf += byte


def _pump(stream: IO[bytes], child: ChildProcess, sink: IO[bytes] | None) -> None:
    """Drain a child's pipe for its whole life: to a log file, keeping a tail for errors."""
    for line in iter(stream.readline, b""):
        child.tail.append(line.decode("utf-8", "replace").rstrip("\n"))
        if sink is not None:
            sink.write(line)
            sink.flush()
    stream.close()


def spawn_actor_process(name: str, actor: str, rundir: str,
                        log_dir: str | None) -> ChildProcess:
    """Start the interpreter of actor ``name`` (``"module:Class"``) without waiting: it imports
    its class, then waits on stdin for the init frame of ``handshake_actor_process``."""
    log_path = os.path.join(log_dir, f"{name}.log") if log_dir else None
    stderr: Any = open(log_path, "ab") if log_path else None  # noqa: SIM115 - child owns it
    argv = [sys.executable, "-m", "actors.runtime.host", name, actor, "--rundir", rundir]
    try:
        popen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=stderr, start_new_session=True, close_fds=True)
    finally:
        if stderr is not None:
            stderr.close()
    return ChildProcess(name, popen, log_path)


def handshake_actor_process(child: ChildProcess, spec: ActorSpec) -> ChildProcess:
    """Send ``spec.init`` to a spawned actor interpreter and wait ``spec.start_timeout`` s for
    its ``READY``; a ``StartError`` (the child killed) when it does not come."""
    popen, log_path = child.popen, child.log_path
    init = encode(spec.init) if spec.init is not None else b""
    try:
        assert popen.stdin is not None and popen.stdout is not None
        popen.stdin.write(struct.pack(">I", len(init)) + init)
        popen.stdin.flush()
        line = _read_line(popen.stdout, time.monotonic() + spec.start_timeout, popen)
    except OSError as exc:
        line = None
        child.tail.append(f"handshake failed: {exc}")
    if line is None or not line.startswith(b"READY"):
        exited = popen.poll()
        abort(child)
        where = f" (log: {log_path})" if log_path else ""
        if exited is not None:
            raise StartError(f"actor {spec.name} exited with status {exited} before its "
                             f"readiness handshake{where}")
        raise StartError(f"actor {spec.name} did not become ready within "
                         f"{spec.start_timeout:g} s{where}; exit code {popen.returncode}")
    assert popen.stdout is not None
    popen.stdout.close()
    return child


def start_actor_process(spec: ActorSpec, rundir: str, log_dir: str | None) -> ChildProcess:
    """Start ``spec`` in a fresh interpreter and complete the READY handshake."""
    child = spawn_actor_process(spec.name, spec.actor, rundir, log_dir)
    return handshake_actor_process(child, spec)


def start_command_process(spec: CommandSpec, log_dir: str | None) -> ChildProcess:
    """Start a command under the guard; wait for its readiness signal if it has one."""
    log_path = os.path.join(log_dir, f"{spec.name}.log") if log_dir else None
    argv = [sys.executable, "-m", "actors.runtime.guard", "--grace", str(spec.stop_timeout), "--",
            *spec.argv]
    env = None if spec.env is None else {**os.environ, **spec.env}
    popen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env, cwd=spec.cwd,
                             start_new_session=True, close_fds=True)
    child = ChildProcess(spec.name, popen, log_path)
    sink: IO[bytes] | None = open(log_path, "ab") if log_path else None  # noqa: SIM115
    assert popen.stdout is not None and popen.stderr is not None
    streams = {"stdout": popen.stdout, "stderr": popen.stderr}
    deadline = time.monotonic() + spec.start_timeout
    ready = spec.ready_pattern is None
    if spec.ready_pattern is not None:
        pattern = re.compile(spec.ready_pattern)
        watched = streams[spec.ready_stream]
        def matches(data: bytes) -> bool:
            return pattern.search(data.decode("utf-8", "replace")) is not None

        while not ready:
            line = _read_line(watched, deadline, popen, matches)
            if line is None:
                break
            text = line.decode("utf-8", "replace")
            child.tail.append(text)
            if sink is not None:
                sink.write(line + b"\n")
            ready = pattern.search(text) is not None
            if ready:
                child.ready_line = text
    for stream in streams.values():
        threading.Thread(target=_pump, args=(stream, child, sink), daemon=True,
                         name=f"pump-{spec.name}").start()
    while ready and spec.ready_probe is not None:
        try:
            if spec.ready_probe():
                break
        except BaseException:
            abort(child)  # the probe's error says why; the command must not outlive it
            raise
        if popen.poll() is not None or time.monotonic() > deadline:
            ready = False
            break
        time.sleep(0.05)
    if not ready or popen.poll() is not None:
        abort(child)
        tail = " | ".join(list(child.tail)[-5:])
        if spec.ready_pattern is not None and child.ready_line is None:
            waited = f"a line matching {spec.ready_pattern!r} on its {spec.ready_stream}"
        else:
            waited = "its readiness probe" if spec.ready_probe is not None else "it to stay up"
        raise StartError(f"command {spec.name} did not become ready within "
                         f"{spec.start_timeout:g} s (waited for {waited}; exit code "
                         f"{popen.returncode}): {tail or 'no output'}")
    return child


def abort(child: ChildProcess) -> None:
    """Kill a child's whole session and release it (no handshake, no grace)."""
    child.signal(signal.SIGKILL)
    child.wait(5.0)
    child.close()
