"""Reading what Slurm's commands print (pure; no I/O).

The Slurm backend (``actors.distributor.slurm.backend``) runs the commands through
``actors.distributor.slurm.cli`` and hands their text here:

- ``squeue --array --states=all --Format=JobArrayID:|,State:|,Reason:|,exit_code:|`` →
  ``parse_squeue`` (one ``JobRecord`` per array task; ``exit_code`` is a raw wait status);
- a job-completion log line (``jobcomp/filetxt``) or ``scontrol show job -o`` line →
  ``parse_record_line``; ``sacct -X -n -P -o JobID,State,ExitCode,Reason`` → ``parse_sacct``;
- ``scontrol show config`` → ``parse_config``;
- ``scontrol show partition -o`` and ``sinfo -N -h -o %N|%R|%c|%m`` → ``parse_partitions``.

Malformed text raises ``SlurmOutputError`` naming the command and the line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

from actors.distributor.backend import DistributorId, QueueLimits
from actors.distributor.slurm.errors import SlurmOutputError

__all__ = [
    "ACTIVE_STATES",
    "FINAL_STATES",
    "SQUEUE_FORMAT",
    "JobRecord",
    "parse_config",
    "parse_key_values",
    "parse_partitions",
    "parse_record_line",
    "parse_sacct",
    "parse_squeue",
    "parse_time_limit",
]

#: The ``--Format`` the backend asks squeue for (fields end with ``|``, no padding).
SQUEUE_FORMAT = "JobArrayID:|,State:|,Reason:|,exit_code:|"

#: Job states after which Slurm does nothing more with a job.
FINAL_STATES = frozenset({
    "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL",
    "DEADLINE", "PREEMPTED", "SPECIAL_EXIT", "REVOKED"})
#: Job states of a job that is waiting, starting, running or finishing.
ACTIVE_STATES = frozenset({
    "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_FED",
    "REQUEUE_HOLD", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD"})

_UNLIMITED_RUNTIME = 365 * 24 * 3600
_KEY = re.compile(r"(?:^|\s)([A-Za-z][A-Za-z0-9_/:]*)=")
_ARRAY_TASK = re.compile(r"^\d+_\d+$")


@attrs.frozen
class JobRecord:
    """What Slurm says about one array task (``did`` is ``JOBID_INDEX``).

    ``exit_code`` and ``signal`` are the batch script's exit status and the signal that ended
    it (None when unknown).
    """

    did: DistributorId
    state: str
    reason: str = ""
    exit_code: int | None = None
    signal: int | None = None

    @property
    def final(self) -> bool:
        """Whether Slurm is done with the job (an unknown state counts as not done)."""
        return self.state in FINAL_STATES

    @property
    def returncode(self) -> int | None:
        """Popen's convention: the exit code, or minus the signal that killed it."""
        if self.signal:
            return -self.signal
        return self.exit_code


def _state(text: str) -> str:
    """``CANCELLED by 0`` → ``CANCELLED``; ``CANCELLED+`` → ``CANCELLED``."""
    return text.strip().split(" ", 1)[0].rstrip("+").upper()


def _exit_pair(command: str, text: str) -> tuple[int | None, int | None]:
    """``"1:0"`` (exit code, signal) → (1, 0); empty or unknown → (None, None)."""
    text = text.strip()
    if not text or text.upper() in ("N/A", "(NULL)"):
        return None, None
    code, sep, sig = text.partition(":")
    if not sep or not code.isdigit() or not sig.isdigit():
        raise SlurmOutputError(command, "exit code is not CODE:SIGNAL", text)
    return int(code), int(sig)


def parse_squeue(text: str) -> dict[DistributorId, JobRecord]:
    """Records from squeue's ``SQUEUE_FORMAT`` output (array tasks only; others are skipped)."""
    out: dict[DistributorId, JobRecord] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) < 4:
            raise SlurmOutputError("squeue", "expected 4 fields separated by '|'", line)
        did, state, reason, status = (f.strip() for f in fields[:4])
        if not _ARRAY_TASK.match(did):
            continue
        if status.isdigit():
            raw: int | None = int(status)
        elif status in ("", "N/A", "(null)"):
            raw = None
        else:
            raise SlurmOutputError("squeue", "exit_code is not a number", line)
        out[DistributorId(did)] = JobRecord(
            DistributorId(did), _state(state), "" if reason == "None" else reason,
            None if raw is None else (raw >> 8) & 0xFF, None if raw is None else raw & 0x7F)
    return out


def parse_key_values(line: str) -> dict[str, str]:
    """``Key=Value Key2=Value with spaces`` → a dict (a value runs until the next ``Key=``)."""
    matches = list(_KEY.finditer(line))
    out: dict[str, str] = {}
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(line)
        out[match.group(1)] = line[match.end():end].strip()
    return out


def parse_record_line(line: str, command: str = "jobcomp") -> JobRecord | None:
    """A job-completion log line or a ``scontrol show job -o`` line → a record.

    None for a job that is not an array task (not submitted by this backend).
    """
    values = parse_key_values(line)
    if "JobId" not in values or "JobState" not in values:
        raise SlurmOutputError(command, "line lacks JobId or JobState", line)
    array_job, task = values.get("ArrayJobId", ""), values.get("ArrayTaskId", "")
    if not (array_job.isdigit() and task.isdigit()):
        return None
    code, sig = _exit_pair(command, values.get("ExitCode", ""))
    reason = values.get("Reason", "")
    return JobRecord(DistributorId(f"{array_job}_{task}"), _state(values["JobState"]),
                     "" if reason == "None" else reason, code, sig)


def parse_sacct(text: str) -> dict[DistributorId, JobRecord]:
    """Records from ``sacct -X -n -P -o JobID,State,ExitCode,Reason``."""
    out: dict[DistributorId, JobRecord] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) < 3:
            raise SlurmOutputError("sacct", "expected JobID|State|ExitCode|Reason", line)
        did = fields[0].strip()
        if not _ARRAY_TASK.match(did):
            continue
        code, sig = _exit_pair("sacct", fields[2])
        reason = fields[3].strip() if len(fields) > 3 else ""
        out[DistributorId(did)] = JobRecord(DistributorId(did), _state(fields[1]),
                                            "" if reason == "None" else reason, code, sig)
    return out


def parse_config(text: str) -> dict[str, str]:
    """``scontrol show config`` (``Key = Value`` lines) → a dict."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and " " not in key.strip():
            out[key.strip()] = value.strip()
    return out


def parse_time_limit(text: str) -> int | None:
    """A Slurm time (``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH[:MM[:SS]]``) in seconds.

    None for ``UNLIMITED``, ``INFINITE``, ``NONE`` or ``N/A``.
    """
    text = text.strip()
    if text.upper() in ("UNLIMITED", "INFINITE", "NONE", "N/A", ""):
        return None
    days, dash, rest = text.partition("-")
    if not dash:
        days, rest = "0", text
    parts = rest.split(":")
    if not days.isdigit() or not all(p.isdigit() for p in parts) or len(parts) > 3:
        raise SlurmOutputError("scontrol show partition", "unreadable time limit", text)
    numbers = [int(p) for p in parts]
    if dash:  # D-HH, D-HH:MM, D-HH:MM:SS
        numbers += [0] * (3 - len(numbers))
        hours, minutes, seconds = numbers
    elif len(numbers) == 1:  # minutes
        hours, minutes, seconds = 0, numbers[0], 0
    elif len(numbers) == 2:  # MM:SS
        hours, (minutes, seconds) = 0, numbers
    else:
        hours, minutes, seconds = numbers
    return ((int(days) * 24 + hours) * 60 + minutes) * 60 + seconds


def _limit(values: Mapping[str, str], key: str) -> int | None:
    value = values.get(key, "UNLIMITED")
    return int(value) if value.isdigit() else None


def _node_table(sinfo: str) -> dict[str, list[tuple[int, int]]]:
    """``%N|%R|%c|%m`` lines → partition → [(cpus, memory MB) per node]."""
    nodes: dict[str, dict[str, tuple[int, int]]] = {}
    for line in sinfo.splitlines():
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split("|")]
        if len(fields) < 4:
            raise SlurmOutputError("sinfo", "expected NODE|PARTITION|CPUS|MEMORY", line)
        node, partition, cpus, memory = fields[:4]
        cpus, memory = cpus.rstrip("+"), memory.rstrip("+")
        if not cpus.isdigit() or not memory.isdigit():
            raise SlurmOutputError("sinfo", "CPUs and memory must be numbers", line)
        nodes.setdefault(partition, {})[node] = (int(cpus), int(memory))
    return {p: list(v.values()) for p, v in nodes.items()}


def parse_partitions(partitions: str, sinfo: str) -> dict[str, QueueLimits]:
    """Queue limits of each partition from its settings and its nodes' CPUs and memory.

    max_cores: the largest node's CPUs (capped by MaxCPUsPerNode); max_memory (GiB): the largest
    node's memory (capped by MaxMemPerNode); max_runtime: MaxTime (a year when unlimited);
    min_runtime: 60 s (Slurm's time limits are whole minutes).
    """
    nodes = _node_table(sinfo)
    out: dict[str, QueueLimits] = {}
    for line in partitions.splitlines():
        if not line.strip():
            continue
        values = parse_key_values(line)
        name = values.get("PartitionName")
        if not name:
            raise SlurmOutputError("scontrol show partition", "line lacks PartitionName", line)
        sizes = nodes.get(name, [])
        cpus = max((c for c, _ in sizes), default=1)
        memory_mb = max((m for _, m in sizes), default=1024)
        if (cap := _limit(values, "MaxCPUsPerNode")) is not None:
            cpus = min(cpus, cap)
        if (cap := _limit(values, "MaxMemPerNode")) is not None:
            memory_mb = min(memory_mb, cap)
        runtime = parse_time_limit(values.get("MaxTime", "UNLIMITED"))
        out[name] = QueueLimits(
            min_cores=1, max_cores=max(1, cpus), min_memory=0.001,
            max_memory=round(max(memory_mb, 1) / 1024, 3), min_runtime=60,
            max_runtime=_UNLIMITED_RUNTIME if runtime is None else max(60, runtime))
    return out

