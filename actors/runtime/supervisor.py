"""An OTP-style one-for-one supervisor for actor and command children.

Who uses it: the composition root (``actors.app``) and embedding hosts. It starts children in
spec order (each must pass its readiness handshake), stops them in reverse order, and watches
them (``prespawn`` starts actor interpreters ahead of their ``add_child``, so the imports of
a fresh interpreter overlap other start-up work; the handshakes stay in start order):

- death through a pidfd per child process (noticed within milliseconds of SIGKILL), or in thread
  mode through the actor's own failure hook;
- hangs through ``Ping`` asks: a child that has not answered for ``hang_timeout`` seconds is
  SIGKILLed and treated as dead (reason "hung");
- restart policy per child (permanent / transient / temporary) and a restart intensity for the
  whole supervisor (more than ``max_restarts`` within ``window_s`` seconds: stop every child and
  give up; ``wait_gave_up``/``check`` then raise ``RestartIntensityExceeded``).

Subscribers (actor refs or callables) are told ``ChildStarted``, ``ChildExited``,
``ChildRestarted`` and ``SupervisorGaveUp`` (``messages.runtime``). Callables run on the
monitor thread and must be quick.
"""

from __future__ import annotations

import functools
import logging
import os
import select
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from messages import decode, encode
from messages.runtime import (
    ChildExited,
    ChildRestarted,
    ChildStarted,
    Ping,
    StopActor,
    SupervisorGaveUp,
)

from actors.errors import ActorDeadError, AskTimeout, RestartIntensityExceeded, RuntimeFailure
from actors.runtime.children import (
    ActorSpec,
    ChildProcess,
    CommandSpec,
    Restart,
    abort,
    handshake_actor_process,
    spawn_actor_process,
    start_actor_process,
    start_command_process,
)
from actors.runtime.node import ActorRef, Node

__all__ = ["Supervisor"]

log = logging.getLogger(__name__)

Spec = ActorSpec | CommandSpec
Subscriber = ActorRef | Callable[[Any], None]


class Supervisor:
    """Supervises ``specs`` on ``node``; ``mode`` is "process" or "thread" (for actor specs)."""

    def __init__(self, node: Node, specs: Sequence[Spec], *, mode: str = "process",
                 max_restarts: int = 5, window_s: float = 10.0, ping_interval: float = 1.0,
                 log_dir: str | None = None) -> None:
        if mode not in ("process", "thread"):
            raise ValueError(f"mode must be 'process' or 'thread', not {mode!r}")
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"child names must be unique: {names}")
        self.node = node
        self.mode = mode
        self.specs = {s.name: s for s in specs}
        self.order = names
        self.max_restarts = max_restarts
        self.window_s = window_s
        self.ping_interval = ping_interval
        self.log_dir = log_dir
        self._procs: dict[str, ChildProcess] = {}
        self._spawned: dict[str, tuple[str, ChildProcess]] = {}  # prespawn: name → (class, proc)
        self._pids: dict[str, int] = {}
        self._restarts: dict[str, int] = dict.fromkeys(names, 0)
        self._restart_times: deque[float] = deque()
        self._last_pong: dict[str, float] = {}
        self._subscribers: list[Subscriber] = []
        self._lock = threading.RLock()
        self._stopping = False
        self._gave_up: RestartIntensityExceeded | None = None
        self._gave_up_event = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._threads: list[threading.Thread] = []
        node.on_actor_failure = self._thread_actor_failed

    # ------------------------------------------------------------------ public API

    def subscribe(self, subscriber: Subscriber) -> None:
        """Tell ``subscriber`` (a ref or a callable) about every child start/exit/restart."""
        with self._lock:
            self._subscribers.append(subscriber)

    def start(self) -> None:
        """Start every child in order; on a failure stop those started and raise StartError."""
        try:
            for name in list(self.order):
                self._start_child(name)
                self._notify(ChildStarted(name, self._pids.get(name, os.getpid()), 0))
        except BaseException:
            self.stop()
            raise
        for target, tname in ((self._monitor, "supervisor-monitor"),
                              (self._pinger, "supervisor-ping")):
            t = threading.Thread(target=target, name=tname, daemon=True)
            t.start()
            self._threads.append(t)

    def add_child(self, spec: Spec) -> None:
        """Start one more child after ``start()`` (it stops first, being the newest)."""
        with self._lock:
            if spec.name in self.specs:
                raise ValueError(f"a child named {spec.name!r} already exists")
            if self._stopping:
                raise RuntimeFailure(f"cannot add {spec.name!r}: the supervisor is stopping")
            self.specs[spec.name] = spec
            self.order.append(spec.name)
            self._restarts[spec.name] = 0
        try:
            self._start_child(spec.name)
        except BaseException:
            with self._lock:
                del self.specs[spec.name]
                self.order.remove(spec.name)
                del self._restarts[spec.name]
            raise
        self._notify(ChildStarted(spec.name, self._pids.get(spec.name, os.getpid()), 0))

    def prespawn(self, actors: Sequence[tuple[str, str]]) -> None:
        """Start the interpreters of actor children ``(name, "module:Class")`` now, without
        waiting; a later ``add_child`` of an ``ActorSpec`` with that name and class only sends
        its init message and waits for READY. Process mode only (a no-op with threads). An
        interpreter never added is killed by ``stop()``; no child is started twice."""
        if self.mode != "process":
            return
        if self.node.rundir is None:
            raise RuntimeFailure("process mode needs a node with a run directory")
        for name, actor in actors:
            with self._lock:
                if self._stopping:
                    raise RuntimeFailure(f"cannot prespawn {name!r}: the supervisor is stopping")
                if name in self.specs or name in self._spawned:
                    raise ValueError(f"a child named {name!r} already exists")
                self._spawned[name] = (actor, spawn_actor_process(name, actor, self.node.rundir,
                                                                  self.log_dir))

    def ready_line(self, name: str) -> str | None:
        """The output line that made command child ``name`` ready (e.g. one carrying its URL)."""
        with self._lock:
            proc = self._procs.get(name)
        return None if proc is None else proc.ready_line

    def stop(self) -> None:
        """Stop every child in reverse start order (graceful, then SIGTERM, then SIGKILL)."""
        with self._lock:
            if self._wake_w < 0:
                return
            self._stopping = True
        os.write(self._wake_w, b"x")
        for name in reversed(list(self.order)):
            self._stop_child(name)
        with self._lock:
            spawned, self._spawned = list(self._spawned.values()), {}
        for _, proc in spawned:  # prespawned, never added: no actor runs in it yet
            abort(proc)
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=5)
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wake_r = self._wake_w = -1

    def pid(self, name: str) -> int | None:
        """The OS pid of a process child (None in thread mode or when not running)."""
        with self._lock:
            return self._pids.get(name)

    def pids(self) -> dict[str, int]:
        with self._lock:
            return dict(self._pids)

    def restarts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._restarts)

    def ref(self, name: str) -> ActorRef:
        return self.node.ref(name)

    def check(self) -> None:
        """Raise ``RestartIntensityExceeded`` if the supervisor has given up."""
        if self._gave_up is not None:
            raise self._gave_up

    def wait_gave_up(self, timeout: float | None = None) -> bool:
        return self._gave_up_event.wait(timeout)

    # ------------------------------------------------------------------ starting/stopping

    def _start_child(self, name: str) -> None:
        spec = self.specs[name]
        if isinstance(spec, CommandSpec):
            proc = start_command_process(spec, self.log_dir)
        elif self.mode == "thread":  # the init message crosses the codec here too
            init = decode(encode(spec.init)) if spec.init is not None else None
            self.node.spawn(name, _load(spec.actor), init)
            with self._lock:
                self._last_pong[name] = time.monotonic()
            return
        else:
            if self.node.rundir is None:
                raise RuntimeFailure("process mode needs a node with a run directory")
            with self._lock:
                actor, spawned = self._spawned.pop(name, (None, None))
            if spawned is not None and (actor != spec.actor or not spawned.alive()):
                abort(spawned)
                spawned = None
            proc = (start_actor_process(spec, self.node.rundir, self.log_dir) if spawned is None
                    else handshake_actor_process(spawned, spec))
        with self._lock:
            stopping = self._stopping
            if not stopping:
                self._procs[name] = proc
                self._pids[name] = proc.pid
                self._last_pong[name] = time.monotonic()
        if stopping:  # stop() began while it started (a restart racing the end of a run)
            proc.stopping = True
            proc.signal(signal.SIGKILL)
            proc.wait(5.0)
            proc.close()
            raise RuntimeFailure(f"{name} started while the supervisor was stopping")
        if self._wake_w >= 0:
            os.write(self._wake_w, b"x")

    def _stop_child(self, name: str) -> None:
        spec = self.specs[name]
        with self._lock:
            proc = self._procs.get(name)
        if proc is None:
            if isinstance(spec, ActorSpec) and self.node.is_local(name):
                self.node.stop_local(name, timeout=spec.stop_timeout)
            return
        proc.stopping = True
        if proc.alive():
            if isinstance(spec, ActorSpec):
                try:
                    self.node.ask(name, StopActor(), timeout=min(2.0, spec.stop_timeout))
                except (ActorDeadError, AskTimeout, RuntimeFailure):
                    pass
                if not proc.wait(spec.stop_timeout):
                    proc.signal(signal.SIGTERM)
            else:
                # to the guard alone: it passes SIGTERM on to the command only (a program that
                # stops its own children, like Jobmon's distributor, must find them alive), then
                # kills whatever the command left behind
                proc.signal_leader(signal.SIGTERM)
            if not proc.wait(spec.stop_timeout):
                proc.signal(signal.SIGKILL)
                proc.wait(5.0)
        proc.close()
        with self._lock:
            self._procs.pop(name, None)
            self._pids.pop(name, None)

    # ------------------------------------------------------------------ watching

    def _monitor(self) -> None:
        poller = select.poll()
        registered: dict[int, str] = {}
        poller.register(self._wake_r, select.POLLIN)
        while True:
            with self._lock:
                if self._stopping:
                    return
                current = {p.pidfd: n for n, p in self._procs.items()}
            for fd in set(registered) - set(current):
                poller.unregister(fd)
                del registered[fd]
            for fd, n in current.items():
                if fd not in registered:
                    poller.register(fd, select.POLLIN)
                    registered[fd] = n
            try:
                events = poller.poll(1000)
            except InterruptedError:
                continue
            for fd, _ in events:
                if fd == self._wake_r:
                    try:
                        os.read(self._wake_r, 4096)
                    except OSError:
                        return
                    continue
                name = registered.get(fd)
                if name is not None:
                    poller.unregister(fd)
                    del registered[fd]
                    self._process_died(name)

    def _pinger(self) -> None:
        while True:
            time.sleep(self.ping_interval)
            with self._lock:
                if self._stopping or self._gave_up is not None:
                    return
                names = [n for n in self.order if isinstance(self.specs[n], ActorSpec)
                         and (n in self._procs or self.node.is_local(n))]
            now = time.monotonic()
            for name in names:
                spec = self.specs[name]
                assert isinstance(spec, ActorSpec)
                if spec.hang_timeout is None:
                    continue
                future = self.node.ask_future(name, Ping(), timeout=spec.hang_timeout)
                future.add_done_callback(functools.partial(self._pong, name))
                with self._lock:
                    last = self._last_pong.get(name, now)
                    proc = self._procs.get(name)
                if proc is not None and now - last > spec.hang_timeout and not proc.stopping:
                    log.warning("child %s (pid %d) silent for %.1f s: killing it as hung",
                                name, proc.pid, now - last)
                    proc.hung = True
                    proc.signal(signal.SIGKILL)

    def _pong(self, name: str, future: Any) -> None:
        if future.exception() is None:
            with self._lock:
                self._last_pong[name] = time.monotonic()

    def _process_died(self, name: str) -> None:
        with self._lock:
            proc = self._procs.get(name)
        if proc is None:
            return
        proc.wait(5.0)
        code = proc.popen.returncode
        sig = -code if code is not None and code < 0 else None
        exit_code = None if sig is not None else code
        if proc.stopping:
            return
        reason = "hung" if proc.hung else ("killed" if sig is not None else "exited")
        self._child_gone(name, proc.pid, exit_code, sig, reason)
        proc.close()

    def _thread_actor_failed(self, name: str, exc: BaseException | None) -> None:
        with self._lock:
            if self._stopping or name not in self.specs:
                return
        threading.Thread(target=self._child_gone, args=(name, os.getpid(), 1, None, "crashed"),
                         daemon=True).start()

    def _child_gone(self, name: str, pid: int, exit_code: int | None, sig: int | None,
                    reason: str) -> None:
        spec = self.specs[name]
        abnormal = not (exit_code == 0 and sig is None)
        will_restart = spec.restart is Restart.PERMANENT or (
            spec.restart is Restart.TRANSIENT and abnormal)
        with self._lock:
            if self._stopping:
                return
            self._procs.pop(name, None)
            self._pids.pop(name, None)
            if will_restart:
                now = time.monotonic()
                self._restart_times.append(now)
                while self._restart_times and now - self._restart_times[0] > self.window_s:
                    self._restart_times.popleft()
                if len(self._restart_times) > self.max_restarts:
                    will_restart = False
                    self._gave_up = RestartIntensityExceeded(
                        f"child {name} exceeded {self.max_restarts} restarts in "
                        f"{self.window_s:g} s (last: {reason}, exit {exit_code}, signal {sig})")
        log.warning("child %s (pid %d) %s: exit %s signal %s; restart: %s", name, pid, reason,
                    exit_code, sig, will_restart)
        self._notify(ChildExited(name, pid, exit_code, sig, abnormal, reason, will_restart))
        if self._gave_up is not None:
            self._notify(SupervisorGaveUp(name, len(self._restart_times), self.window_s,
                                          str(self._gave_up)))
            threading.Thread(target=self._give_up, daemon=True).start()
            return
        if will_restart:
            try:
                self._start_child(name)
            except RuntimeFailure as exc:
                if self._stopping:
                    return  # the supervisor stops everything anyway
                log.error("restart of %s failed: %s", name, exc)
                self._child_gone(name, pid, None, None, "restart failed")
                return
            with self._lock:
                self._restarts[name] += 1
                count = self._restarts[name]
                new_pid = self._pids.get(name, os.getpid())
            self._notify(ChildRestarted(name, new_pid, count))

    def _give_up(self) -> None:
        self.stop()
        self._gave_up_event.set()

    def _notify(self, event: Any) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            if isinstance(sub, ActorRef):
                sub.tell(event)
            else:
                try:
                    sub(event)
                except Exception:  # noqa: BLE001 - supervision boundary: a bad subscriber
                    log.exception("supervisor subscriber %r failed", sub)


def _load(spec: str) -> Any:
    import importlib

    module_name, _, class_name = spec.partition(":")
    return getattr(importlib.import_module(module_name), class_name)
