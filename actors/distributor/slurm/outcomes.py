"""What a finished Slurm job means for its task instance (pure; no I/O).

The Slurm backend hands ``job_outcomes`` the job's final ``JobRecord`` (from squeue, the
job-completion log or sacct), whether it asked for the job to be cancelled, and, when they could
be read, the worker's outcome file and the tail of the job's own log (the batch script's stdout
and stderr, where slurmstepd writes its messages). Exactly one side reports each end:

- limits Slurm enforced: TIMEOUT, OUT_OF_MEMORY, and FAILED with jobacct_gather's "Exceeded job
  memory limit" → Z (resource error: the server moves the task to A, the swarm scales its
  resources and queues it again). The worker stayed silent (it was killed, or its guard kept it
  from reporting the command's death), so the distributor reports.
- CANCELLED after our scancel (KILL_SELF) → F; CANCELLED by anyone else, NODE_FAIL, BOOT_FAIL,
  PREEMPTED, DEADLINE and other ends → U (an error: the task is retried while attempts remain).
- COMPLETED or FAILED with an exit code: the worker's exit code says who reports
  (``actors.worker.exitcodes``), read exactly as the local backend reads it.
"""

from __future__ import annotations

import re

from actors.distributor.backend import DistributorId, Outcome
from actors.distributor.local.outcomes import worker_outcomes
from actors.distributor.slurm.parse import JobRecord
from actors.worker import exitcodes
from messages.values import TaskInstanceId, TaskInstanceStatus

__all__ = ["job_outcomes", "memory_killed"]

_S = TaskInstanceStatus
_JOBACCT_MEMORY = re.compile(r"Exceeded (job|step) memory limit")
_CGROUP_OOM = re.compile(r"oom-kill event")


def memory_killed(log_tail: str) -> bool:
    """Whether slurmstepd wrote that it killed the job for memory (jobacct or cgroup)."""
    return bool(_JOBACCT_MEMORY.search(log_tail) or _CGROUP_OOM.search(log_tail))


def _tail(log_tail: str) -> str:
    return f"\n--- slurm job log tail ---\n{log_tail}" if log_tail else ""


def _describe(record: JobRecord) -> str:
    reason = f", reason {record.reason}" if record.reason else ""
    return f"Slurm job {record.did} ended {record.state}{reason}"


def job_outcomes(ti: TaskInstanceId, record: JobRecord, *, kill_requested: bool,
                 outcome_text: str | None, log_tail: str,
                 limits: str = "") -> list[Outcome]:
    """The outcomes to hand the distributor for one finished job (``record.final``).

    ``limits`` describes what was asked of Slurm (``--mem=300M --time=1``) for messages.
    """
    did: DistributorId = record.did
    state = record.state
    detail = "; ".join(p for p in (f"{state}, reason {record.reason}" if record.reason
                                   else state, limits) if p)
    if state == "TIMEOUT":
        return [Outcome(ti, did, _S.RESOURCE_ERROR,
                        f"runtime limit exceeded: Slurm stopped job {did} at its time limit "
                        f"({detail}){_tail(log_tail)}", None)]
    if state == "OUT_OF_MEMORY":
        return [Outcome(ti, did, _S.RESOURCE_ERROR,
                        f"memory limit exceeded: the kernel killed a process of Slurm job {did} "
                        f"in its memory cgroup ({detail}){_tail(log_tail)}", None)]
    code = record.returncode
    if state in ("COMPLETED", "FAILED") and code != exitcodes.REPORTED and memory_killed(log_tail):
        return [Outcome(ti, did, _S.RESOURCE_ERROR,
                        f"memory limit exceeded: slurmstepd killed Slurm job {did} for memory "
                        f"({detail}){_tail(log_tail)}", None)]
    if state == "CANCELLED":
        if kill_requested:
            return [Outcome(ti, did, _S.ERROR_FATAL, "killed on KILL_SELF (scancel)", None)]
        return [Outcome(ti, did, _S.UNKNOWN_ERROR,
                        f"{_describe(record)}: cancelled outside actorswarm{_tail(log_tail)}",
                        None)]
    if state in ("COMPLETED", "FAILED") and code is not None:
        return worker_outcomes(ti, did, code, kill_requested=kill_requested,
                               outcome_text=outcome_text, worker_log_tail=log_tail)
    if kill_requested:
        return [Outcome(ti, did, _S.ERROR_FATAL, f"killed on KILL_SELF; {_describe(record)}",
                        None)]
    return [Outcome(ti, did, _S.UNKNOWN_ERROR, f"{_describe(record)}{_tail(log_tail)}",
                    code if code is not None and code >= 0 else None)]
