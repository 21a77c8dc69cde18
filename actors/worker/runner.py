"""The worker: wraps one task instance's command and reports it to the state server.

Who talks to whom (``docs/server-api.md`` section 6):

1. worker → server: POST ``/task_instance/{ti}/log_running`` (a K answer: exit without running);
2. the worker starts the command (its own process group, in a memory cgroup when given);
3. a heartbeat thread → server: POST ``log_report_by`` every ``heartbeat_interval`` seconds;
   a K answer makes the main loop kill the command (SIGTERM, grace, SIGKILL);
4. the main loop enforces the limits (resident memory when there is no cgroup, runtime);
5. worker → server: one final report, POST ``log_done`` or ``log_error_worker_node`` (E or Z,
   with the tail of stderr). The exit code tells the backend what is left to report
   (``actors.worker.exitcodes``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from actors.distributor.http import ServerClient
from actors.errors import GatewayError, RequestRejected
from actors.worker import exitcodes
from actors.worker.cgroup import oom_kills
from actors.worker.command import Command, tail
from actors.worker.env import InstanceIdentity, command_environment
from actors.worker.limits import Breach, LimitKind, Limits, LimitWatch, Verdict, classify
from actors.worker.procs import group_alive
from messages.values import TaskInstanceStatus

__all__ = ["Worker", "WorkerConfig", "write_outcome"]

log = logging.getLogger(__name__)

_FINAL = frozenset({"D", "E", "F", "U", "Z", "W", "X"})


@attrs.frozen
class WorkerConfig:
    """Everything one worker needs; built from the command line by ``actors.worker.__main__``."""

    server: str
    identity: InstanceIdentity
    command: str
    stdout_path: Path
    stderr_path: Path
    cwd: Path | None = None
    token: str | None = None
    heartbeat_interval: float = 30.0
    report_by_buffer: float = 3.1
    limits: Limits = attrs.field(factory=Limits)
    cgroup: Path | None = None
    kill_grace: float = 10.0
    parent_pid: int | None = None
    outcome_file: Path | None = None
    retry_budget: float = 180.0
    tick: float = 0.1

    @property
    def next_report_increment(self) -> float:
        """Seconds the server waits for the next heartbeat before triaging the instance."""
        return self.heartbeat_interval * self.report_by_buffer


def write_outcome(path: Path, task_instance_id: int, verdict: Verdict) -> None:
    """Write ``verdict`` as JSON to ``path`` atomically (read by the local backend)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"task_instance_id": task_instance_id,
                               "status": verdict.status.value,
                               "error_message": verdict.error_message,
                               "exit_code": verdict.exit_code}))
    os.replace(tmp, path)


class _Heartbeat(threading.Thread):
    """Sends log_report_by every interval; sets ``kill_self`` when the server answers K."""

    def __init__(self, client: ServerClient, path: str, interval: float, increment: float) -> None:
        super().__init__(name="worker-heartbeat", daemon=True)
        self._client = client
        self._path = path
        self._interval = interval
        self._increment = increment
        self.stopped = threading.Event()
        self.kill_self = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self._interval):
            try:
                answer = self._client.post(self._path,
                                           {"next_report_increment": self._increment})
            except GatewayError as exc:
                log.warning("heartbeat failed (will retry next interval): %s", exc)
                continue
            if isinstance(answer, dict) and answer.get("status") == "K":
                self.kill_self.set()
                return


class Worker:
    """Runs one instance; ``run()`` returns the process exit code (``actors.worker.exitcodes``)."""

    def __init__(self, config: WorkerConfig, *, client: ServerClient | None = None,
                 heartbeat_client: ServerClient | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._client = client or ServerClient(config.server, token=config.token,
                                              retry_budget=config.retry_budget)
        self._hb_client = heartbeat_client or ServerClient(
            config.server, token=config.token, retry_budget=max(config.heartbeat_interval, 1.0))
        self._clock = clock
        self.stop_requested = threading.Event()
        ti = config.identity.task_instance_id
        self._base = f"/task_instance/{ti}"

    def run(self) -> int:
        """Log running, run the command under its limits, send the one final report."""
        try:
            return self._run()
        finally:
            self._client.close()
            self._hb_client.close()

    def _run(self) -> int:
        cfg = self.config
        status = self._log_running()
        if status == "K":
            return exitcodes.KILLED_SELF
        if status in _FINAL:
            log.warning("server already holds final status %s; not running the command", status)
            return exitcodes.REPORTED
        env = command_environment(os.environ, cfg.identity)
        try:
            command = Command.start(cfg.command, env=env, cwd=cfg.cwd,
                                    stdout_path=cfg.stdout_path, stderr_path=cfg.stderr_path,
                                    cgroup=cfg.cgroup)
        except OSError as exc:
            return self._report(Verdict(TaskInstanceStatus.UNKNOWN_ERROR,
                                        f"could not start the command: {exc}", None))
        heartbeat = _Heartbeat(self._hb_client, f"{self._base}/log_report_by",
                               cfg.heartbeat_interval, cfg.next_report_increment)
        heartbeat.start()
        try:
            ended = self._supervise(command, heartbeat)
        finally:
            heartbeat.stopped.set()
            if command.poll() is None:  # an unexpected error left it running
                command.kill_now()
        if group_alive(command.pgid):  # background processes the command left behind
            command.stop(min(cfg.kill_grace, 1.0))
        if isinstance(ended, int):
            return ended
        verdict = classify(command.returncode if command.returncode is not None else -9,
                           breach=ended,
                           oom_kills=oom_kills(cfg.cgroup) if cfg.cgroup is not None else 0,
                           memory_bytes=cfg.limits.memory_bytes,
                           stderr_tail=tail(cfg.stderr_path))
        if cfg.outcome_file is not None:
            write_outcome(cfg.outcome_file, cfg.identity.task_instance_id, verdict)
        return self._report(verdict)

    def _log_running(self) -> str | None:
        cfg = self.config
        body = {"nodename": socket.gethostname(), "process_group_id": os.getpgid(0),
                "next_report_increment": cfg.next_report_increment,
                "stdout_path": str(cfg.stdout_path), "stderr_path": str(cfg.stderr_path)}
        try:
            answer = self._client.post(f"{self._base}/log_running", body)
        except RequestRejected:
            raise
        except GatewayError as exc:
            log.warning("could not log running, running anyway: %s", exc)
            return None
        return _status(answer)

    def _supervise(self, command: Command, heartbeat: _Heartbeat) -> Breach | None | int:
        """Wait for the command; a Breach if a limit killed it, an exit code if we must stop."""
        cfg = self.config
        watch = LimitWatch(cfg.limits, self._clock())
        watch_rss = cfg.cgroup is None and cfg.limits.memory_bytes is not None
        while command.wait(cfg.tick) is None:
            if self.stop_requested.is_set() or self._orphaned():
                log.warning("stopping: %s", "signal" if self.stop_requested.is_set()
                            else "parent process is gone")
                command.stop(cfg.kill_grace)
                return exitcodes.TERMINATED
            if heartbeat.kill_self.is_set():
                log.warning("server answered KILL_SELF; killing the command")
                command.stop(cfg.kill_grace)
                return exitcodes.KILLED_SELF
            breach = watch.check(self._clock(), command.rss() if watch_rss else None)
            if breach is not None:
                log.warning("%s", breach.message)
                if breach.kind is LimitKind.MEMORY:
                    command.kill_now()
                else:
                    command.stop(cfg.kill_grace)
                return breach
        return None

    def _orphaned(self) -> bool:
        parent = self.config.parent_pid
        return parent is not None and os.getppid() != parent

    def _report(self, verdict: Verdict) -> int:
        for _ in range(2):
            try:
                status = self._send_final(verdict)
            except GatewayError as exc:
                log.error("could not report %s: %s", verdict.status.value, exc)
                return self._unreported(verdict)
            if status == "K":
                return exitcodes.KILLED_SELF
            if status != "T":
                return exitcodes.REPORTED
            # Triaged while we ran: a report-by moves it back to R, then report again.
            try:
                self._client.post(f"{self._base}/log_report_by",
                                  {"next_report_increment": self.config.next_report_increment})
            except GatewayError as exc:
                log.error("could not leave triage: %s", exc)
                return self._unreported(verdict)
        return self._unreported(verdict)

    def _send_final(self, verdict: Verdict) -> str | None:
        if verdict.status is TaskInstanceStatus.DONE:
            return _status(self._client.post(f"{self._base}/log_done", {}))
        body = {"error_state": verdict.status.value, "error_message": verdict.error_message,
                "exit_code": verdict.exit_code}
        return _status(self._client.post(f"{self._base}/log_error_worker_node", body))

    def _unreported(self, verdict: Verdict) -> int:
        log.error("outcome %s left to the backend to report", verdict.status.value)
        return exitcodes.UNREPORTED


def _status(answer: Any) -> str | None:
    if isinstance(answer, dict) and isinstance(answer.get("status"), str):
        return str(answer["status"])
    return None
