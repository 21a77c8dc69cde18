"""Backend ``slurm``: each task instance is one task of a Slurm job array.

The distributor calls this backend from its loop (``actors.distributor.backend``):

- at start it reads the cluster (``scontrol show config``, ``scontrol show partition``,
  ``sinfo``): the partitions become the queues the distributor declares to the server;
- ``launch`` submits one ``sbatch`` job array per array and resource set
  (``actors.distributor.slurm.script``); the job runs the worker wrapper, which reports running,
  heartbeats and its end to the server directly;
- ``poll`` runs one ``squeue`` for all of the run's jobs every ``poll_interval`` seconds; a job
  squeue no longer lists is looked up in ``sacct`` (when accounting answers) and in the
  job-completion log (when readable). Finished jobs become outcomes
  (``actors.distributor.slurm.outcomes``): Slurm's TIMEOUT and OUT_OF_MEMORY are resource errors
  (Z), cancellations by others and node failures errors (U);
- ``kill`` (KILL_SELF) and ``close`` run one ``scancel`` for all the jobs concerned.

Nothing here assumes that the swarm runs on this machine: jobs reach the server by its URL
(which must not be a loopback address when jobs run on other nodes) and the log directory must
be on a file system the nodes share. The job-completion log and the jobs' logs are read when they
can be; when they cannot, the outcome says less but is still reported.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlparse

import attrs

from actors.distributor.backend import DistributorId, LaunchRequest, Outcome, QueueLimits
from actors.distributor.http import ServerClient
from actors.distributor.slurm.cli import SlurmCli
from actors.distributor.slurm.completion import CompletionLog
from actors.distributor.slurm.errors import SlurmError
from actors.distributor.slurm.outcomes import job_outcomes
from actors.distributor.slurm.parse import JobRecord
from actors.distributor.slurm.script import (
    WorkerSettings,
    instance_stem,
    job_log,
    plan_submissions,
)
from actors.errors import GatewayError
from actors.worker import exitcodes
from actors.worker.command import tail
from actors.worker.env import TOKEN_VARIABLE
from messages.values import TaskInstanceStatus

__all__ = ["SlurmBackend", "SlurmConfig"]

log = logging.getLogger(__name__)

#: Array limits are asked of the server again after this many seconds.
_LIMIT_TTL = 60.0
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


@attrs.frozen
class SlurmConfig:
    """Settings of the Slurm backend (from the distributor's command line)."""

    server: str
    workflow_run_id: int
    state_dir: Path
    working_dir: Path
    workflow_id: int | None = None
    token: str | None = None
    heartbeat_interval: float = 30.0
    report_by_buffer: float = 3.1
    kill_grace: float = 2.0
    retry_budget: float = 180.0
    python: str = sys.executable
    poll_interval: float = 5.0
    max_in_flight: int = 10_000
    max_array: int | None = None
    memory_overhead_mib: int = 0
    lost_after: float = 120.0
    command_timeout: float = 60.0


@attrs.define
class _Job:
    request: LaunchRequest
    did: DistributorId
    limits: str
    kill_requested: bool = False
    record: JobRecord | None = None
    missing_since: float | None = None


class SlurmBackend:
    """Runs instances as Slurm job-array tasks; see the module docstring."""

    cluster_name = "slurm"
    cluster_type = "slurm"

    def __init__(self, config: SlurmConfig, *, cli: SlurmCli | None = None,
                 array_limit: Callable[[int], int | None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.cli = cli or SlurmCli(timeout=config.command_timeout)
        self._clock = clock
        slurm = self.cli.config()
        self._queues = self.cli.partitions()
        if not self._queues:
            raise SlurmError("slurm backend: the cluster has no partitions")
        size = slurm.get("MaxArraySize", "1001")
        self.max_array = min(int(size) if size.isdigit() else 1001, config.max_array or 10**9)
        self.completion = _completion_log(slurm)
        self.sacct_enabled = slurm.get("AccountingStorageType", "accounting_storage/none") \
            != "accounting_storage/none"
        wf = f"wf{config.workflow_id}" if config.workflow_id is not None \
            else f"wfr{config.workflow_run_id}"
        self.log_dir = config.state_dir / "logs" / wf
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SlurmError(f"slurm backend: cannot create the log directory {self.log_dir} "
                             f"(it must be on a file system the nodes share): {exc}") from exc
        self.settings = WorkerSettings(
            python=config.python, server=config.server, workflow_run_id=config.workflow_run_id,
            log_dir=self.log_dir, working_dir=config.working_dir,
            workflow_id=config.workflow_id, heartbeat_interval=config.heartbeat_interval,
            report_by_buffer=config.report_by_buffer, kill_grace=config.kill_grace,
            retry_budget=config.retry_budget, memory_overhead_mib=config.memory_overhead_mib)
        self._server: ServerClient | None = None
        if array_limit is None:
            self._server = ServerClient(config.server, token=config.token, retry_budget=10.0)
            array_limit = self._server_array_limit
        self._array_limit = array_limit
        self._limits: dict[int, tuple[float, int | None]] = {}
        self._jobs: dict[DistributorId, _Job] = {}
        self._outcomes: list[Outcome] = []
        self._next_poll = 0.0
        if (urlparse(config.server).hostname or "") in _LOOPBACK:
            log.warning("slurm backend: the server URL %s is a loopback address; only jobs on "
                        "this machine can reach it", config.server)
        log.info("slurm backend: partitions %s, max array size %d, completion log %s, sacct %s",
                 ", ".join(sorted(self._queues)), self.max_array,
                 self.completion.path if self.completion else "unreadable",
                 "on" if self.sacct_enabled else "off")

    # -- Backend interface ------------------------------------------------------------------

    def queues(self) -> Mapping[str, QueueLimits]:
        """The cluster's partitions and their limits."""
        return dict(self._queues)

    def capacity(self) -> int:
        """Room left below ``max_in_flight`` jobs."""
        return max(0, self.config.max_in_flight - len(self._jobs))

    def launch(self, batch: Sequence[LaunchRequest]) -> list[DistributorId | None]:
        """One sbatch per (array, resource set); None for instances whose sbatch failed."""
        throttles = {aid: limit for aid in {r.array_id for r in batch if r.array_id is not None}
                     if (limit := self._limit_of(aid)) is not None}
        ids: dict[int, DistributorId | None] = {}
        env = self._sbatch_env()
        for submission in plan_submissions(batch, self.settings, max_array=self.max_array,
                                           throttles=throttles):
            try:
                job_id = self.cli.sbatch(submission.options, submission.script, env)
            except SlurmError as exc:
                log.error("sbatch of %d instance(s) failed: %s", len(submission.requests), exc)
                for request in submission.requests:
                    ids[request.task_instance_id] = None
                continue
            limits = " ".join(o for o in submission.options
                              if o.startswith(("--mem=", "--time=", "--partition=")))
            for request, did in zip(submission.requests, submission.distributor_ids(job_id)):
                self._jobs[did] = _Job(request, did, limits)
                ids[request.task_instance_id] = did
            log.info("submitted job %s: %d instance(s) %s", job_id, len(submission.requests),
                     " ".join(submission.options[2:]))
        self._next_poll = min(self._next_poll, self._clock() + 1.0)
        return [ids.get(r.task_instance_id) for r in batch]

    def poll(self) -> list[Outcome]:
        """Every ``poll_interval``: one squeue; finished jobs become outcomes."""
        now = self._clock()
        if self._jobs and now >= self._next_poll:
            self._next_poll = now + self.config.poll_interval
            self._refresh(now)
        out, self._outcomes = self._outcomes, []
        return out

    def kill(self, ids: Sequence[DistributorId]) -> None:
        """scancel the jobs of ``ids`` (one call); each ends as F once Slurm says CANCELLED."""
        mine = [did for did in ids if did in self._jobs]
        for did in mine:
            self._jobs[did].kill_requested = True
        try:
            self.cli.scancel(mine)
        except SlurmError as exc:  # the next heartbeat asks again
            log.error("scancel of %d job(s) failed: %s", len(mine), exc)
        self._next_poll = min(self._next_poll, self._clock() + 1.0)

    def alive(self, ids: Sequence[DistributorId]) -> dict[DistributorId, bool]:
        """Pending, running or finishing jobs are alive."""
        out = {}
        for did in ids:
            job = self._jobs.get(did)
            out[did] = job is not None and (job.record is None or not job.record.final)
        return out

    def close(self) -> None:
        """scancel every job still tracked; release the server connection."""
        left = [did for did, job in self._jobs.items()
                if job.record is None or not job.record.final]
        if left:
            log.info("cancelling %d Slurm job(s) still pending or running", len(left))
            try:
                self.cli.scancel(left)
            except SlurmError as exc:
                log.error("scancel at exit failed; jobs may go on: %s", exc)
        self._jobs.clear()
        if self._server is not None:
            self._server.close()

    # -- internals --------------------------------------------------------------------------

    def _refresh(self, now: float) -> None:
        try:
            records = self.cli.squeue(self.settings.job_name)
        except SlurmError as exc:
            log.warning("squeue failed (will retry): %s", exc)
            return
        missing: list[_Job] = []
        for did, job in list(self._jobs.items()):
            record = records.get(did)
            if record is None:
                missing.append(job)
                continue
            job.missing_since = None
            job.record = record
            if record.final:
                self._finish(job, record)
        if missing:
            self._find_missing(missing, now)

    def _find_missing(self, missing: list[_Job], now: float) -> None:
        found: dict[DistributorId, JobRecord] = {}
        if self.completion is not None:
            found.update(self.completion.read_new())
        if self.sacct_enabled:
            try:
                found.update(self.cli.sacct([j.did for j in missing if j.did not in found]))
            except SlurmError as exc:
                log.warning("sacct failed: %s", exc)
        for job in missing:
            record = found.get(job.did)
            if record is not None and record.final:
                self._finish(job, record)
            elif job.missing_since is None:
                job.missing_since = now
            elif now - job.missing_since > self.config.lost_after:
                log.error("job %s vanished from Slurm", job.did)
                del self._jobs[job.did]
                status = TaskInstanceStatus.ERROR_FATAL if job.kill_requested \
                    else TaskInstanceStatus.UNKNOWN_ERROR
                self._outcomes.append(Outcome(
                    job.request.task_instance_id, job.did, status,
                    f"Slurm job {job.did} vanished: squeue, sacct and the job-completion log "
                    f"do not know it after {self.config.lost_after:g} s"))

    def _finish(self, job: _Job, record: JobRecord) -> None:
        del self._jobs[job.did]
        stem = instance_stem(self.log_dir, job.request)
        outcome_file = stem.with_name(stem.name + ".outcome.json")
        outcome_text = None
        if record.returncode == exitcodes.UNREPORTED:
            try:
                outcome_text = outcome_file.read_text()
            except OSError:
                outcome_text = None
        log_tail = "" if record.state == "COMPLETED" and record.returncode == 0 \
            else tail(job_log(self.log_dir, job.did), 3000)
        self._outcomes.extend(job_outcomes(
            job.request.task_instance_id, record, kill_requested=job.kill_requested,
            outcome_text=outcome_text, log_tail=log_tail, limits=job.limits))
        try:
            outcome_file.unlink()
        except OSError:
            pass

    def _limit_of(self, array_id: int) -> int | None:
        now = self._clock()
        cached = self._limits.get(array_id)
        if cached is not None and now - cached[0] < _LIMIT_TTL:
            return cached[1]
        limit = self._array_limit(array_id)
        self._limits[array_id] = (now, limit)
        return limit

    def _server_array_limit(self, array_id: int) -> int | None:
        assert self._server is not None
        try:
            answer = self._server.get(f"/array/{array_id}/get_array_max_concurrently_running")
        except GatewayError as exc:
            log.warning("array %s: no concurrency limit from the server: %s", array_id, exc)
            return None
        value = answer.get("max_concurrently_running") if isinstance(answer, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 \
            else None

    def _sbatch_env(self) -> dict[str, str]:
        """This process's environment for sbatch (``--export=ALL``), token set, and without
        an enclosing job's ``SLURM_*``/``SBATCH_*`` settings (``SLURM_CONF`` is kept)."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLURM_", "SBATCH_")) or k == "SLURM_CONF"}
        env.pop(TOKEN_VARIABLE, None)
        if self.config.token:
            env[TOKEN_VARIABLE] = self.config.token
        return env


def _completion_log(slurm: Mapping[str, str]) -> CompletionLog | None:
    """The job-completion log when Slurm writes one this process can read."""
    if slurm.get("JobCompType") != "jobcomp/filetxt":
        return None
    path = Path(slurm.get("JobCompLoc", ""))
    if not path.is_absolute() or not os.access(path, os.R_OK):
        return None
    return CompletionLog(path)

