"""What the benchmarks read from the machine: the environment record and process memory.

Who uses it: the CLI (``benchmarks.__main__``) records ``capture_environment()`` in every JSON
result; suites call ``rss_bytes`` / ``peak_rss_bytes`` for the memory of a measured process.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from typing import Any

import psutil

__all__ = ["capture_environment", "cpu_model", "git_commit", "peak_rss_bytes", "rss_bytes"]


def cpu_model() -> str:
    """The CPU model name (``/proc/cpuinfo`` on Linux, else what ``platform`` knows)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def git_commit(where: str | None = None) -> dict[str, Any] | None:
    """``{"commit", "dirty"}`` of the git checkout holding ``where`` (default: this package),
    or None when git or the checkout is not available."""
    cwd = where or os.path.dirname(os.path.abspath(__file__))
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                              text=True, timeout=10, check=False)
        if head.returncode != 0:
            return None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=cwd, capture_output=True, text=True, timeout=10,
                                check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    dirty = None if status.returncode != 0 else bool(status.stdout.strip())
    return {"commit": head.stdout.strip(), "dirty": dirty}


def capture_environment() -> dict[str, Any]:
    """Python, platform, CPUs, memory, load, git commit and date of this run."""
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_bytes": psutil.virtual_memory().total,
        "load_average": load,
        "git": git_commit(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def rss_bytes(pid: int | None = None) -> int:
    """Current resident set size of process ``pid`` (default: this one)."""
    return int(psutil.Process(pid).memory_info().rss)


def peak_rss_bytes(pid: int | None = None) -> tuple[int, str]:
    """(bytes, source): the peak RSS (``VmHWM``, Linux) or else the current RSS ("rss")."""
    target = pid if pid is not None else os.getpid()
    try:
        with open(f"/proc/{target}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024, "rss-peak"
    except (OSError, ValueError, IndexError):
        pass
    return rss_bytes(pid), "rss"
