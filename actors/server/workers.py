"""Server worker processes for ``--workers N`` (PostgreSQL): a small supervisor of our own.

The serving process (``actors.server.serve``) binds the listening socket, then this pool
starts N fresh interpreters, ``python -m actors.server.worker --fd F``, that inherit the
socket (``pass_fds``) and read their settings as JSON from the environment
(``WORKER_SETTINGS_ENV``). Nothing is pickled and ``multiprocessing`` is not used (uvicorn's
own multi-process supervisor pickles its configuration for every worker and answers health
checks through a pickle pipe).

Each worker serves the app with a single-process uvicorn, wakes its long polls and stops on
SIGINT/SIGTERM, and stops by itself when its stdin, a pipe from the pool, reaches EOF (the
pool's process died: no orphan keeps serving). The pool restarts a worker that died, at most
``max_restarts`` times in ``window`` seconds (then it stops them all and gives up), and on
``stop`` sends every worker SIGTERM, then SIGKILL after ``grace`` seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

__all__ = ["WorkerPool", "stop_on_signals", "watch_parent", "worker_argv"]

Launch = Callable[[int], "subprocess.Popen[bytes]"]


def worker_argv(fd: int, log_level: str) -> list[str]:
    """The command line of one worker serving the socket ``fd``."""
    return [sys.executable, "-m", "actors.server.worker", "--fd", str(fd),
            "--log-level", log_level]


class WorkerPool:
    """Keeps ``size`` workers running until ``stop`` is set; see the module docstring.

    ``argv(index)`` gives each worker's command line; ``env`` and ``pass_fds`` are handed to
    every one. ``clock``/``poll`` make the loop testable.
    """

    def __init__(self, size: int, argv: Callable[[int], Sequence[str]], *,
                 env: dict[str, str] | None = None, pass_fds: Sequence[int] = (),
                 grace: float = 5.0, max_restarts: int = 10, window: float = 60.0,
                 poll: float = 0.2, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.argv = argv
        self.env = env
        self.pass_fds = tuple(pass_fds)
        self.grace = grace
        self.max_restarts = max_restarts
        self.window = window
        self.poll = poll
        self.clock = clock
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.restarts: deque[float] = deque()
        self.gave_up = False

    def _start(self, index: int) -> None:
        self.procs[index] = subprocess.Popen(
            list(self.argv(index)), stdin=subprocess.PIPE, env=self.env,
            pass_fds=self.pass_fds, close_fds=True)

    def run(self, stop: threading.Event) -> int:
        """Start the workers, keep them up until ``stop``; 0, or 1 if the pool gave up."""
        try:
            for index in range(self.size):
                self._start(index)
            while not stop.wait(self.poll):
                if not self._replace_dead():
                    self.gave_up = True
                    break
        finally:
            self.stop_all()
        return 1 if self.gave_up else 0

    def _replace_dead(self) -> bool:
        """Restart dead workers; False when they died too often."""
        for index, proc in list(self.procs.items()):
            if proc.poll() is None:
                continue
            now = self.clock()
            self.restarts.append(now)
            while self.restarts and now - self.restarts[0] > self.window:
                self.restarts.popleft()
            if len(self.restarts) > self.max_restarts:
                print(f"actorswarm server: worker processes died {len(self.restarts)} times "
                      f"in {self.window:g} s (last exit status {proc.returncode}); giving up",
                      file=sys.stderr, flush=True)
                return False
            print(f"actorswarm server: worker {proc.pid} exited with status "
                  f"{proc.returncode}; starting another", file=sys.stderr, flush=True)
            self._start(index)
        return True

    def stop_all(self) -> None:
        """SIGTERM every worker, SIGKILL those still up after ``grace`` seconds."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for proc in self.procs.values():
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            if proc.stdin is not None:
                proc.stdin.close()

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs.values() if p.poll() is None]


def stop_on_signals(stop: threading.Event) -> None:
    """SIGINT/SIGTERM set ``stop`` (main thread only)."""
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())


def watch_parent(on_gone: Callable[[], None]) -> None:
    """Call ``on_gone`` (on a daemon thread) once stdin, a pipe from the parent, ends."""
    def watch() -> None:
        while True:
            try:
                if not os.read(0, 4096):
                    break
            except OSError:
                break
        on_gone()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
