"""Process-group operations shared by the worker and the local backend.

The worker runs its command as the leader of a new process group and uses these helpers to
measure the group's resident memory and to stop it (SIGTERM, a grace period, SIGKILL). The local
backend uses them to stop a worker's session and whatever its command left behind.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterable

import psutil

__all__ = ["group_alive", "group_members", "signal_group", "stop_groups", "tree_rss"]


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to process group ``pgid``; False when the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def group_members(pgid: int) -> list[int]:
    """PIDs of the live (non-zombie) processes whose process group is ``pgid``."""
    members = []
    for proc in psutil.process_iter(["status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if os.getpgid(proc.pid) == pgid:
                members.append(proc.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def group_alive(pgid: int) -> bool:
    """Whether a non-zombie process is left in group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return bool(group_members(pgid))


def tree_rss(pid: int) -> int:
    """Resident memory in bytes of ``pid`` and all its descendants (0 if it is gone)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total


def stop_groups(pgids: Iterable[int], *, grace: float, reap: Callable[[], object] = lambda: None,
                extra_pids: Callable[[], Iterable[int]] = lambda: (),
                clock: Callable[[], float] = time.monotonic,
                sleep: Callable[[float], None] = time.sleep) -> bool:
    """SIGTERM every group, wait up to ``grace`` seconds, then SIGKILL what is left.

    ``reap`` is called while waiting so the caller can reap its own children (a zombie leader
    would make a group look alive); ``extra_pids`` lists processes to kill too (e.g. members of
    a memory cgroup that left the group). Returns True when nothing was left to SIGKILL.
    """
    groups = list(dict.fromkeys(pgids))
    for pgid in groups:
        signal_group(pgid, signal.SIGTERM)
    for pid in extra_pids():
        _signal_pid(pid, signal.SIGTERM)
    deadline = clock() + grace
    while True:
        reap()
        left = [g for g in groups if group_alive(g)]
        stray = list(extra_pids())
        if not left and not stray:
            return True
        if clock() >= deadline:
            break
        sleep(0.02)
    for pgid in groups:
        signal_group(pgid, signal.SIGKILL)
    for pid in extra_pids():
        _signal_pid(pid, signal.SIGKILL)
    reap()
    return False


def _signal_pid(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
