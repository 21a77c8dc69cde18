"""Resource limits of one command and the verdict on how it ended (pure; no I/O, no clock).

The worker's loop (``actors.worker.runner``) feeds ``LimitWatch.check`` the time from its
injected monotonic clock and the command's resident memory; a returned ``Breach`` makes the loop
kill the command's process group. ``classify`` turns the end of the command (exit status, breach,
OOM kills seen in its memory cgroup, stderr tail) into the one report the worker sends.
"""

from __future__ import annotations

import enum
import signal

import attrs

from messages.values import TaskInstanceStatus

__all__ = ["Breach", "LimitKind", "LimitWatch", "Limits", "Verdict", "classify", "format_bytes"]


class LimitKind(enum.Enum):
    """Which limit a command exceeded."""

    MEMORY = "memory"
    RUNTIME = "runtime"


def format_bytes(n: int) -> str:
    """``209715200`` → ``"200 MiB"``; ``1.5 * 2**30`` → ``"1.5 GiB"``."""
    for unit, size in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.4g} {unit}"
    return f"{n} B"


@attrs.frozen
class Limits:
    """Limits of one command: ``None`` means unlimited."""

    memory_bytes: int | None = None
    runtime_s: float | None = None


@attrs.frozen
class Breach:
    """A limit the command exceeded, with the sentence the server will show."""

    kind: LimitKind
    message: str


@attrs.frozen
class LimitWatch:
    """Checks one running command against its limits; ``started`` is a monotonic time."""

    limits: Limits
    started: float

    def check(self, now: float, rss_bytes: int | None) -> Breach | None:
        """The first limit exceeded at ``now`` with resident memory ``rss_bytes``, or None.

        ``rss_bytes`` is None when memory is enforced elsewhere (a memory cgroup).
        """
        memory = self.limits.memory_bytes
        if memory is not None and rss_bytes is not None and rss_bytes > memory:
            return Breach(LimitKind.MEMORY,
                          f"memory limit exceeded: resident memory {format_bytes(rss_bytes)} > "
                          f"limit {format_bytes(memory)}; the process group was killed")
        runtime = self.limits.runtime_s
        if runtime is not None and now - self.started > runtime:
            return Breach(LimitKind.RUNTIME,
                          f"runtime limit exceeded: ran longer than {runtime:g} s; "
                          f"the process group was killed")
        return None

    def deadline(self) -> float | None:
        """Monotonic time at which the runtime limit expires, or None."""
        runtime = self.limits.runtime_s
        return None if runtime is None else self.started + runtime


@attrs.frozen
class Verdict:
    """The final report of one instance."""

    status: TaskInstanceStatus
    error_message: str | None
    exit_code: int | None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def classify(returncode: int, *, breach: Breach | None, oom_kills: int,
             memory_bytes: int | None, stderr_tail: str) -> Verdict:
    """How a command ended → D, E or Z and the message (stderr tail included for errors).

    ``returncode`` is Popen's (negative: killed by that signal). ``oom_kills`` counts the kernel
    OOM kills in the command's memory cgroup (0 without a cgroup).
    """
    exit_code = returncode if returncode >= 0 else 128 - returncode
    tail = f"\n--- stderr tail ---\n{stderr_tail}" if stderr_tail else ""
    if breach is not None:
        return Verdict(TaskInstanceStatus.RESOURCE_ERROR, breach.message + tail, exit_code)
    if returncode != 0 and oom_kills > 0:
        limit = format_bytes(memory_bytes) if memory_bytes is not None else "its limit"
        return Verdict(TaskInstanceStatus.RESOURCE_ERROR,
                       f"memory limit exceeded: the kernel killed a process of the task in its "
                       f"memory cgroup (limit {limit}, {oom_kills} OOM kill(s)){tail}",
                       exit_code)
    if returncode == 0:
        return Verdict(TaskInstanceStatus.DONE, None, 0)
    how = f"exit code {returncode}" if returncode > 0 else \
        f"killed by {_signal_name(-returncode)}"
    return Verdict(TaskInstanceStatus.ERROR, f"command failed: {how}{tail}", exit_code)
