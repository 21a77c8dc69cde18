"""Run the real Jobmon client and distributor from the reference venv, and clean up after them.

Who uses it: the interop tests (and ``record_traffic.py``). The environment they pass is
``JobmonServer.client_env()`` (service URL, route prefix, 1 s heartbeats, the venv's ``bin``
first on PATH so the distributors find ``worker_node_entry_point``).

- ``ReferenceDistributor.start(argv, env)`` starts ``python -m jobmon.distributor.cli start
  --cluster_name C --workflow_run_id N`` (see ``distributor_argv``) in its own process group
  and waits until ``ALIVE`` appears on its stderr. By then the distributor has moved the run
  B -> I -> O. ``stop()`` sends SIGTERM (it answers ``SHUTDOWN``), then kills whatever is left
  of its process group (multiprocess consumers, workers, task commands).
- ``run_client_driver(env, vars, mode, spec)`` runs ``jobmon_client_driver.py`` with the venv's
  interpreter: ``bind`` binds a workflow (optionally creates a run and moves it to B), ``run``
  binds and runs it with Jobmon's own swarm, ``swarm`` lets Jobmon's swarm alone drive a run
  already bound (on any server) with a given distributor. It returns the driver's ``RESULT``
  JSON.

Errors: ``DistributorStartError`` (no ALIVE in time, or exited first) and ``ClientDriverError``
(the driver printed no RESULT, or timed out), both ``ActorswarmError``.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import psutil

from actors.errors import ActorswarmError

from .jobmon_ref import ReferenceEnv

__all__ = [
    "DRIVER_SCRIPT",
    "ClientDriverError",
    "DistributorStartError",
    "ReferenceDistributor",
    "distributor_argv",
    "distributor_command",
    "kill_process_group",
    "parse_result",
    "run_client_driver",
]

DRIVER_SCRIPT = Path(__file__).resolve().parent / "jobmon_client_driver.py"
ALIVE = "ALIVE"
SHUTDOWN = "SHUTDOWN"


class DistributorStartError(ActorswarmError):
    """The distributor exited, or did not print ALIVE on stderr, within its start timeout."""


class ClientDriverError(ActorswarmError):
    """The real-client driver failed: it timed out or printed no ``RESULT`` line."""


def distributor_argv(env: ReferenceEnv, cluster: str, workflow_run_id: int | str) -> list[str]:
    """The command line the Jobmon client itself uses to start a distributor."""
    return [str(env.python), "-m", "jobmon.distributor.cli", "start", "--cluster_name", cluster,
            "--workflow_run_id", str(workflow_run_id)]


def distributor_command(env: ReferenceEnv, cluster: str,
                        client_env: Mapping[str, str] | None = None) -> str:
    """A shell command template with a ``{workflow_run_id}`` placeholder.

    For ``actors.main run --distributor-command``. With ``client_env`` (a server's
    ``client_env()``) the command starts with ``env JOBMON__...=... PATH=...`` so that it finds
    the server and ``worker_node_entry_point`` whatever environment it is started from.
    """
    argv = distributor_argv(env, cluster, 0)[:-1]
    if client_env is not None:
        assignments = [f"{key}={value}" for key, value in sorted(client_env.items())
                       if key.startswith("JOBMON__") or key == "PATH"]
        argv = ["env", *assignments, *argv]
    return " ".join(shlex.quote(part) for part in argv) + " {workflow_run_id}"


def kill_process_group(pgid: int, *, exclude: int | None = None) -> list[int]:
    """SIGKILL every live process whose process group is ``pgid`` (a group we created).

    Returns the killed PIDs. Processes that started their own session are out of reach.
    """
    victims = []
    for proc in psutil.process_iter():
        try:
            if proc.pid != exclude and proc.pid != os.getpid() and os.getpgid(proc.pid) == pgid:
                proc.kill()
                victims.append(proc)
        except (psutil.Error, ProcessLookupError, PermissionError):
            continue
    psutil.wait_procs(victims, timeout=5)
    return [proc.pid for proc in victims]


class _StderrWatcher(threading.Thread):
    """Drains a pipe into a buffer (so the child never blocks) and flags a marker string."""

    def __init__(self, pipe: Any, marker: str) -> None:
        super().__init__(name="stderr-watcher", daemon=True)
        self._pipe = pipe
        self._marker = marker
        self._lock = threading.Lock()
        self._chunks: list[str] = []
        self._tail = ""
        self.seen = threading.Event()

    def run(self) -> None:
        fd = self._pipe.fileno()
        while data := os.read(fd, 65536):
            chunk = data.decode("utf-8", errors="replace")
            with self._lock:
                self._chunks.append(chunk)
            window = self._tail + chunk
            if self._marker in window:
                self.seen.set()
            self._tail = window[-len(self._marker):]
        self._pipe.close()

    def snapshot(self) -> str:
        with self._lock:
            return "".join(self._chunks)


class ReferenceDistributor:
    """A distributor process started by ``start()``; always ``stop()`` it."""

    def __init__(self, process: subprocess.Popen[bytes], watcher: _StderrWatcher) -> None:
        self.process = process
        self._watcher = watcher

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def stderr(self) -> str:
        """Everything the distributor wrote to stderr so far."""
        return self._watcher.snapshot()

    def alive(self) -> bool:
        return self.process.poll() is None

    @classmethod
    def start(cls, argv: Sequence[str], env: Mapping[str, str], *, timeout: float = 60,
              marker: str = ALIVE, clock: Callable[[], float] = time.monotonic) -> ReferenceDistributor:
        """Start ``argv`` and wait (``timeout`` s) for ``marker`` on its stderr."""
        process = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, env=dict(env), start_new_session=True)
        watcher = _StderrWatcher(process.stderr, marker)
        watcher.start()
        dist = cls(process, watcher)
        deadline = clock() + timeout
        while not watcher.seen.wait(0.05):
            if process.poll() is not None or clock() >= deadline:
                why = (f"exited with {process.returncode}" if process.returncode is not None
                       else f"printed no {marker!r} within {timeout} s")
                dist.stop()
                raise DistributorStartError(f"distributor {' '.join(argv[-4:])} {why}; "
                                            f"stderr: {watcher.snapshot()[-2000:]!r}")
        return dist

    def stop(self, timeout: float = 30) -> str:
        """SIGTERM, wait, SIGKILL the rest of its process group; returns its stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        kill_process_group(self.process.pid)
        self._watcher.join(timeout=5)
        return self.stderr

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def parse_result(stdout: str) -> dict[str, Any] | None:
    """The JSON object on the last ``RESULT `` line of ``stdout``, or None."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT "):
            value = json.loads(line[len("RESULT "):])
            return value if isinstance(value, dict) else None
    return None


def run_client_driver(env: ReferenceEnv, client_env: Mapping[str, str], mode: str,
                      spec: Mapping[str, Any], *, args: Sequence[str] = (),
                      timeout: float = 300) -> dict[str, Any]:
    """Run the driver (``bind`` or ``run``) on ``spec``; return its RESULT.

    The driver runs in its own process group; whatever it leaves behind (a distributor, workers)
    is killed before returning. A RESULT with ``"ok": false`` is returned, not raised: the
    caller asserts on it.
    """
    argv = [str(env.python), str(DRIVER_SCRIPT), mode, *args]
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=dict(client_env),
                               start_new_session=True)
    try:
        out, err = process.communicate(json.dumps(dict(spec)).encode(), timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        process.kill()
        out, err = process.communicate()
        raise ClientDriverError(f"jobmon client driver {mode} timed out after {timeout} s; "
                                f"stderr: {err.decode(errors='replace')[-2000:]!r}") from exc
    finally:
        kill_process_group(process.pid)
    result = parse_result(out.decode(errors="replace"))
    if result is None:
        raise ClientDriverError(f"jobmon client driver {mode} exited {process.returncode} with "
                                f"no RESULT; stderr: {err.decode(errors='replace')[-2000:]!r}")
    result.setdefault("stderr_tail", err.decode(errors="replace")[-4000:])
    return result
