"""sbatch submissions for claimed task instances (pure; no I/O).

The Slurm backend hands ``plan_submissions`` one claim's ``LaunchRequest`` values. They are
grouped by array and resource set (partition, memory, cores, time), in claim order, and each
group becomes one job array: one ``sbatch`` call whose options carry the resources
(``--partition``, ``--mem``, ``--cpus-per-task``, ``--time``, ``--array=0-N%limit``) and whose
script, read by sbatch on stdin, maps ``SLURM_ARRAY_TASK_ID`` to one instance and ``exec``\\ s the
worker wrapper (``python -m actors.worker``, the distributor's own interpreter unless told
otherwise), which reports to the server directly. Index ``i`` of job ``J`` is distributor id
``J_i``.

Slurm, not the worker, enforces memory and time here, so the worker gets no limits. Its
command is wrapped in ``GUARD``: when Slurm ends the job (time limit, scancel: SIGTERM to every
process of the job) or the kernel kills a process of the job's memory cgroup, the guard keeps
the worker from reporting the command's death as an ordinary error; the distributor then
reports what Slurm says (``actors.distributor.slurm.outcomes``).
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from actors.distributor.backend import DistributorId, LaunchRequest

__all__ = [
    "GUARD",
    "Submission",
    "WorkerSettings",
    "guard_command",
    "instance_stem",
    "job_log",
    "memory_mib",
    "plan_submissions",
    "time_minutes",
]

#: POSIX sh run by the worker as ``sh -c GUARD actorswarm-guard COMMAND``: runs COMMAND and ends
#: as it ended (same exit code or signal), except that when Slurm stops the job (SIGTERM/INT/HUP
#: to every process) it waits to be killed instead of exiting, and when the job's memory cgroup
#: counted a new OOM kill (cgroup v1 ``memory.oom_control`` or v2 ``memory.events``) it kills the
#: worker ($PPID) so that the worker cannot report.
GUARD = r"""cg=$(sed -n 's/^[0-9]*:[^:]*memory[^:]*:\(.*\)$/\1/p' /proc/self/cgroup 2>/dev/null)
if [ -n "$cg" ]; then oc="/sys/fs/cgroup/memory$cg/memory.oom_control"
else
  cg=$(sed -n 's/^0::\(.*\)$/\1/p' /proc/self/cgroup 2>/dev/null)
  oc="/sys/fs/cgroup$cg/memory.events"
fi
case "$cg" in */job_*) ;; *) oc= ;; esac
ooms() { if [ -n "$oc" ] && [ -r "$oc" ]; then sed -n 's/^oom_kill //p' "$oc"; else echo 0; fi; }
before=$(ooms)
stopping=
trap 'stopping=1' TERM INT HUP
/bin/sh -c "$1" &
child=$!
while :; do
  wait "$child"; rc=$?
  kill -0 "$child" 2>/dev/null || break
done
if [ "$rc" -gt 128 ] && [ -z "$stopping" ]; then sleep 1; fi
if [ -n "$stopping" ]; then while :; do sleep 1; done; fi
after=$(ooms)
if [ "${after:-0}" -gt "${before:-0}" ]; then
  echo "actorswarm: the kernel killed a process of this job for memory; Slurm reports it" >&2
  kill -KILL "$PPID"
  while :; do sleep 1; done
fi
if [ "$rc" -gt 128 ]; then trap - TERM INT HUP; kill -$((rc - 128)) $$; fi
exit "$rc"
"""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_SCRIPT_BYTES = 1_000_000


@attrs.frozen
class WorkerSettings:
    """What every job of one distributor shares (from its command line)."""

    python: str
    server: str
    workflow_run_id: int
    log_dir: Path
    working_dir: Path
    workflow_id: int | None = None
    heartbeat_interval: float = 30.0
    report_by_buffer: float = 3.1
    kill_grace: float = 2.0
    retry_budget: float = 180.0
    memory_overhead_mib: int = 0

    @property
    def job_name(self) -> str:
        """Slurm job name of every job of this run (``squeue --name`` finds them)."""
        return f"actorswarm-wfr{self.workflow_run_id}"


@attrs.frozen
class Submission:
    """One sbatch call: its options, the script it reads on stdin, the instances in order."""

    requests: tuple[LaunchRequest, ...]
    options: tuple[str, ...]
    script: str

    def distributor_ids(self, job_id: str) -> list[DistributorId]:
        """``J_0 .. J_n-1``: the distributor id of each request once sbatch answered ``J``."""
        return [DistributorId(f"{job_id}_{i}") for i in range(len(self.requests))]


def memory_mib(gib: float) -> int:
    """``--mem`` in MiB for ``gib`` GiB (rounded up, at least 1)."""
    return max(1, math.ceil(round(gib * 1024, 6)))


def time_minutes(seconds: float) -> int:
    """``--time`` in whole minutes for ``seconds`` (rounded up; Slurm's minimum is 1)."""
    return max(1, math.ceil(round(seconds / 60, 6)))


def instance_stem(log_dir: Path, request: LaunchRequest) -> Path:
    """``<log_dir>/<task name>.<ti>``: the instance's ``.out``, ``.err``, ``.outcome.json``."""
    return log_dir / f"{_UNSAFE.sub('_', request.name)[:100]}.{request.task_instance_id}"


def job_log(log_dir: Path, did: DistributorId) -> Path:
    """The job's own log (worker and slurmstepd messages) for distributor id ``J_i``."""
    return log_dir / f"slurm-{did}.log"


def guard_command(command: str) -> str:
    """``command`` wrapped in ``GUARD`` (the worker runs the result with ``/bin/sh -c``)."""
    return f"exec /bin/sh -c {shlex.quote(GUARD)} actorswarm-guard {shlex.quote(command)}"


def _key(request: LaunchRequest, overhead: int) -> tuple[object, ...]:
    memory = None if request.memory_gib is None else memory_mib(request.memory_gib) + overhead
    minutes = None if request.runtime_s is None else time_minutes(request.runtime_s)
    return (request.array_id, request.queue_name, memory, request.cores, minutes)


def _instance_args(settings: WorkerSettings, request: LaunchRequest) -> list[str]:
    stem = instance_stem(settings.log_dir, request)
    args = ["--task-instance-id", str(request.task_instance_id),
            "--task-id", str(request.task_id), "--name", request.name,
            "--attempt", str(request.attempt), "--command", guard_command(request.command),
            "--stdout", f"{stem}.out", "--stderr", f"{stem}.err",
            "--outcome-file", f"{stem}.outcome.json"]
    if request.array_id is not None:
        args += ["--array-id", str(request.array_id)]
    return args


def _common_args(settings: WorkerSettings) -> list[str]:
    args = ["-m", "actors.worker", "--server", settings.server,
            "--workflow-run-id", str(settings.workflow_run_id),
            "--cwd", str(settings.working_dir),
            "--heartbeat-interval", str(settings.heartbeat_interval),
            "--report-by-buffer", str(settings.report_by_buffer),
            "--kill-grace", str(settings.kill_grace),
            "--retry-budget", str(settings.retry_budget)]
    if settings.workflow_id is not None:
        args += ["--workflow-id", str(settings.workflow_id)]
    return args


def _script(settings: WorkerSettings, lines: Sequence[str]) -> str:
    head = ["#!/bin/bash",
            (f"# actorswarm: task instances of workflow run {settings.workflow_run_id}; "
             "array index -> task instance"),
            'case "${SLURM_ARRAY_TASK_ID:-}" in']
    tail = [('  *) echo "actorswarm: no task instance for array index '
             '\'${SLURM_ARRAY_TASK_ID:-}\'" >&2; exit 2 ;;'),
            "esac",
            f"exec {shlex.quote(settings.python)} {shlex.join(_common_args(settings))} \"$@\"",
            ""]
    return "\n".join([*head, *lines, *tail])


def _options(settings: WorkerSettings, first: LaunchRequest, count: int,
             throttle: int | None) -> tuple[str, ...]:
    array = f"0-{count - 1}" + (f"%{throttle}" if throttle is not None and throttle < count
                                else "")
    options = ["--parsable", f"--job-name={settings.job_name}", f"--array={array}",
               f"--output={settings.log_dir}/slurm-%A_%a.log", "--no-requeue",
               "--export=ALL", f"--chdir={settings.working_dir}", "--nodes=1", "--ntasks=1",
               f"--cpus-per-task={first.cores}"]
    if first.queue_name:
        options.append(f"--partition={first.queue_name}")
    if first.memory_gib is not None:
        options.append(f"--mem={memory_mib(first.memory_gib) + settings.memory_overhead_mib}M")
    if first.runtime_s is not None:
        options.append(f"--time={time_minutes(first.runtime_s)}")
    return tuple(options)


def plan_submissions(batch: Sequence[LaunchRequest], settings: WorkerSettings, *,
                     max_array: int, throttles: Mapping[int, int] | None = None
                     ) -> list[Submission]:
    """One submission per (array, resource set), at most ``max_array`` instances each.

    ``throttles`` maps an array id to its ``max_concurrently_running``; a group larger than
    its array's limit is submitted with ``--array=0-N%limit``.
    """
    if max_array < 1:
        raise ValueError(f"max_array must be at least 1, not {max_array}")
    groups: dict[tuple[object, ...], list[LaunchRequest]] = {}
    for request in batch:
        groups.setdefault(_key(request, settings.memory_overhead_mib), []).append(request)
    out: list[Submission] = []
    for requests in groups.values():
        chunk: list[LaunchRequest] = []
        lines: list[str] = []
        size = 0
        for request in requests:
            line = f"  {len(chunk)}) set -- {shlex.join(_instance_args(settings, request))} ;;"
            if chunk and (len(chunk) >= max_array or size + len(line) > _MAX_SCRIPT_BYTES):
                out.append(_submission(settings, chunk, lines, throttles))
                chunk, lines, size = [], [], 0
                line = f"  0) set -- {shlex.join(_instance_args(settings, request))} ;;"
            chunk.append(request)
            lines.append(line)
            size += len(line) + 1
        out.append(_submission(settings, chunk, lines, throttles))
    return out


def _submission(settings: WorkerSettings, chunk: list[LaunchRequest], lines: list[str],
                throttles: Mapping[int, int] | None) -> Submission:
    first = chunk[0]
    limit = None
    if throttles is not None and first.array_id is not None:
        limit = throttles.get(first.array_id)
    if limit is not None and limit < 1:
        limit = None
    return Submission(tuple(chunk), _options(settings, first, len(chunk), limit),
                      _script(settings, lines))
