"""Backend ``local``: each task instance runs on this machine under the worker wrapper.

The distributor calls this backend from its loop (see ``actors.distributor.backend``). For each
launched instance it starts ``python -m actors.worker`` as the leader of a new session; the worker
runs the command in its own process group (in a per-instance memory cgroup when the machine
offers one, otherwise under a resident-memory watch), enforces the runtime limit, and reports to
the server. This backend reaps the workers and turns their exit codes into the outcomes the
distributor still has to report (``actors.distributor.local.outcomes``). Parallelism is bounded
by ``actors.distributor.local.admission``.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs
import psutil

from actors.distributor.backend import DistributorId, LaunchRequest, Outcome, QueueLimits
from actors.distributor.errors import BackendError
from actors.distributor.local.admission import Budget, Demand, admit
from actors.distributor.local.outcomes import worker_outcomes
from actors.worker.cgroup import MemoryCgroups, cgroup_procs
from actors.worker.command import tail
from actors.worker.env import TOKEN_VARIABLE
from actors.worker.procs import group_alive, signal_group, stop_groups
from messages.values import TaskInstanceStatus

__all__ = ["LocalBackend", "LocalConfig", "local_queue"]

log = logging.getLogger(__name__)

_WEEK = 7 * 24 * 3600
_GIB = 1024 ** 3
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def local_queue(cores: int, memory_gib: float) -> QueueLimits:
    """Queue ``all`` of this machine (the same shape the server seeds)."""
    return QueueLimits(min_cores=1, max_cores=cores, min_memory=0.001,
                       max_memory=round(memory_gib, 2), min_runtime=1, max_runtime=_WEEK)


@attrs.frozen
class LocalConfig:
    """Settings of the local backend (from the distributor's command line)."""

    server: str
    workflow_run_id: int
    state_dir: Path
    working_dir: Path
    workflow_id: int | None = None
    token: str | None = None
    max_parallel: int | None = None
    max_cores: int | None = None
    max_memory_gib: float | None = None
    heartbeat_interval: float = 30.0
    report_by_buffer: float = 3.1
    kill_grace: float = 10.0
    memory_enforcement: str = "auto"  # auto | cgroup | rss
    retry_budget: float = 180.0
    python: str = sys.executable


@attrs.define
class _Job:
    request: LaunchRequest
    did: DistributorId
    demand: Demand
    stem: Path
    popen: subprocess.Popen[bytes] | None = None
    cgroup: Path | None = None
    command_pgid: int | None = None
    kill_at: float | None = None

    @property
    def outcome_file(self) -> Path:
        return self.stem.with_name(self.stem.name + ".outcome.json")

    @property
    def worker_log(self) -> Path:
        return self.stem.with_name(self.stem.name + ".worker.log")


class LocalBackend:
    """Runs instances as local worker processes; see the module docstring."""

    cluster_name = "local"
    cluster_type = "local"

    def __init__(self, config: LocalConfig, *, cgroups: MemoryCgroups | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.config = config
        self._clock = clock or time.monotonic
        cores = config.max_cores or os.cpu_count() or 1
        memory = config.max_memory_gib or psutil.virtual_memory().total / _GIB
        self.budget = Budget(max_parallel=config.max_parallel or cores, cores=cores,
                             memory_gib=memory)
        if config.memory_enforcement not in ("auto", "cgroup", "rss"):
            raise BackendError(f"local backend: memory enforcement must be auto, cgroup or "
                               f"rss, not {config.memory_enforcement!r}")
        if cgroups is None and config.memory_enforcement != "rss":
            cgroups = MemoryCgroups.detect(name=f"actorswarm-wfr{config.workflow_run_id}")
            if cgroups is None and config.memory_enforcement == "cgroup":
                raise BackendError("local backend: memory enforcement 'cgroup' asked for, but "
                                   "no writable cgroup v1 memory controller was found")
        self.cgroups = cgroups
        log.info("local backend: memory enforced by %s",
                 "cgroup " + str(cgroups.base) if cgroups else "resident-memory watch")
        wf = f"wf{config.workflow_id}" if config.workflow_id is not None \
            else f"wfr{config.workflow_run_id}"
        self.log_dir = config.state_dir / "logs" / wf
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._pending: dict[DistributorId, _Job] = {}
        self._running: dict[DistributorId, _Job] = {}
        self._outcomes: list[Outcome] = []

    # -- Backend interface ------------------------------------------------------------------

    def queues(self) -> Mapping[str, QueueLimits]:
        """Queue ``all``: this backend's cores and memory budget, runtime up to a week."""
        return {"all": local_queue(self.budget.cores, self.budget.memory_gib)}

    def capacity(self) -> int:
        """Free slots: ``max_parallel`` minus what runs or waits."""
        return max(0, self.budget.max_parallel - len(self._running) - len(self._pending))

    def launch(self, batch: Sequence[LaunchRequest]) -> list[DistributorId | None]:
        """Queue ``batch`` locally and start what fits; one id per request."""
        ids: list[DistributorId | None] = []
        for request in batch:
            ti = request.task_instance_id
            did = DistributorId(f"{os.getpid()}.{ti}")
            stem = self.log_dir / f"{_UNSAFE.sub('_', request.name)[:100]}.{ti}"
            self._pending[did] = _Job(request, did, Demand(request.cores,
                                                           request.memory_gib or 0.0), stem)
            ids.append(did)
        self._start_fitting()
        return ids

    def poll(self) -> list[Outcome]:
        """Reap finished workers, enforce kill deadlines, start waiting instances."""
        now = self._clock()
        for did, job in list(self._running.items()):
            assert job.popen is not None
            if job.command_pgid is None:
                job.command_pgid = _command_pgid(job.popen.pid)
            code = job.popen.poll()
            if code is not None:
                self._finish(job, code)
            elif job.kill_at is not None and now - job.kill_at > self.config.kill_grace + 5:
                self._hard_kill(job)
        self._start_fitting()
        out, self._outcomes = self._outcomes, []
        return out

    def kill(self, ids: Sequence[DistributorId]) -> None:
        """SIGTERM the workers of ``ids`` (they stop their commands); drop waiting ones."""
        for did in ids:
            if did in self._pending:
                job = self._pending.pop(did)
                self._outcomes.append(Outcome(job.request.task_instance_id, did,
                                              TaskInstanceStatus.ERROR_FATAL,
                                              "killed on KILL_SELF before it started"))
            elif did in self._running and self._running[did].kill_at is None:
                job = self._running[did]
                job.kill_at = self._clock()
                assert job.popen is not None
                job.command_pgid = job.command_pgid or _command_pgid(job.popen.pid)
                signal_group(job.popen.pid, signal.SIGTERM)

    def alive(self, ids: Sequence[DistributorId]) -> dict[DistributorId, bool]:
        """Waiting or running (worker not yet reaped) instances are alive."""
        alive = {}
        for did in ids:
            job = self._running.get(did)
            alive[did] = did in self._pending or (
                job is not None and job.popen is not None and job.popen.poll() is None)
        return alive

    def close(self) -> None:
        """Stop every worker and command group, reap them, remove the memory cgroups."""
        self._pending.clear()
        jobs = list(self._running.values())
        for job in jobs:
            assert job.popen is not None
            job.command_pgid = job.command_pgid or _command_pgid(job.popen.pid)
        groups = [g for job in jobs for g in (job.popen.pid if job.popen else None,
                                              job.command_pgid) if g is not None]

        def reap() -> None:
            for job in jobs:
                if job.popen is not None:
                    job.popen.poll()

        def strays() -> list[int]:
            return [p for job in jobs if job.cgroup is not None for p in cgroup_procs(job.cgroup)]

        if groups:
            stop_groups(groups, grace=self.config.kill_grace + 2, reap=reap, extra_pids=strays)
        for job in jobs:
            if job.popen is not None:
                try:
                    job.popen.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    log.error("worker %s did not exit after SIGKILL", job.popen.pid)
            self._release(job)
        self._running.clear()
        if self.cgroups is not None:
            self.cgroups.close()

    # -- internals --------------------------------------------------------------------------

    def _start_fitting(self) -> None:
        waiting = list(self._pending.values())
        count = admit(self.budget, (j.demand for j in self._running.values()),
                      [j.demand for j in waiting])
        for job in waiting[:count]:
            del self._pending[job.did]
            try:
                self._start(job)
            except (OSError, BackendError) as exc:
                log.error("could not start %s: %s", job.did, exc)
                self._release(job)
                self._outcomes.append(Outcome(job.request.task_instance_id, job.did,
                                              TaskInstanceStatus.UNKNOWN_ERROR,
                                              f"local backend could not start the worker: "
                                              f"{exc}"))
                continue
            self._running[job.did] = job

    def _start(self, job: _Job) -> None:
        cfg, req = self.config, job.request
        memory = None if req.memory_gib is None else int(req.memory_gib * _GIB)
        if memory is not None and self.cgroups is not None:
            try:
                job.cgroup = self.cgroups.create(f"ti{req.task_instance_id}", memory)
            except OSError as exc:
                log.warning("no memory cgroup for %s (watching resident memory): %s",
                            job.did, exc)
        argv = [cfg.python, "-m", "actors.worker", "--server", cfg.server,
                "--task-instance-id", str(req.task_instance_id), "--task-id", str(req.task_id),
                "--workflow-run-id", str(cfg.workflow_run_id), "--name", req.name,
                "--attempt", str(req.attempt), "--command", req.command,
                "--stdout", str(job.stem) + ".out", "--stderr", str(job.stem) + ".err",
                "--cwd", str(cfg.working_dir),
                "--heartbeat-interval", str(cfg.heartbeat_interval),
                "--report-by-buffer", str(cfg.report_by_buffer),
                "--kill-grace", str(cfg.kill_grace), "--parent-pid", str(os.getpid()),
                "--outcome-file", str(job.outcome_file),
                "--retry-budget", str(cfg.retry_budget)]
        if cfg.workflow_id is not None:
            argv += ["--workflow-id", str(cfg.workflow_id)]
        if req.array_id is not None:
            argv += ["--array-id", str(req.array_id)]
        if memory is not None:
            argv += ["--memory-limit", str(memory)]
        if job.cgroup is not None:
            argv += ["--cgroup", str(job.cgroup)]
        if req.runtime_s is not None:
            argv += ["--runtime-limit", str(req.runtime_s)]
        env = dict(os.environ)
        env.pop(TOKEN_VARIABLE, None)
        if cfg.token:
            env[TOKEN_VARIABLE] = cfg.token
        with open(job.worker_log, "ab") as worker_log:
            job.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=worker_log,
                                         stderr=subprocess.STDOUT, cwd=cfg.working_dir,
                                         env=env, start_new_session=True, close_fds=True)

    def _finish(self, job: _Job, code: int) -> None:
        del self._running[job.did]
        if job.command_pgid is not None and group_alive(job.command_pgid):
            stop_groups([job.command_pgid], grace=1.0)
        try:
            outcome_text: str | None = job.outcome_file.read_text()
        except OSError:
            outcome_text = None
        self._outcomes.extend(worker_outcomes(
            job.request.task_instance_id, job.did, code, kill_requested=job.kill_at is not None,
            outcome_text=outcome_text, worker_log_tail=tail(job.worker_log, 2000)))
        self._release(job)

    def _hard_kill(self, job: _Job) -> None:
        assert job.popen is not None
        log.warning("worker %s ignored SIGTERM; SIGKILL", job.popen.pid)
        for pgid in (job.popen.pid, job.command_pgid):
            if pgid is not None:
                signal_group(pgid, signal.SIGKILL)
        if job.cgroup is not None:
            for pid in cgroup_procs(job.cgroup):
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def _release(self, job: _Job) -> None:
        if job.cgroup is not None and self.cgroups is not None:
            self.cgroups.remove(job.cgroup)
            job.cgroup = None
        try:
            job.outcome_file.unlink()
        except FileNotFoundError:
            pass


def _command_pgid(worker_pid: int) -> int | None:
    """The process group of the worker's command (its child in another group), if started."""
    try:
        for child in psutil.Process(worker_pid).children():
            pgid = os.getpgid(child.pid)
            if pgid != worker_pid:
                return pgid
    except (psutil.Error, ProcessLookupError):
        return None
    return None
