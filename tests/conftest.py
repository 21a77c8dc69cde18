"""Test-wide fixtures: no process left behind, importable test actors in child processes.

The test process makes itself a child subreaper (Linux), so any process started under a test,
even one orphaned by the death of its parent, stays our descendant and is seen by the
leftover check. The check fails the test that left processes behind, then kills them by PID
(only our own descendants).
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Iterator

import psutil
import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PR_SET_CHILD_SUBREAPER = 36

# child interpreters (actor hosts) must import test actor modules such as tests.runtime.*
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (REPO_ROOT, os.environ.get("PYTHONPATH", "")) if p)


def _become_subreaper() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


_become_subreaper()


def _live_descendants() -> dict[int, str]:
    out: dict[int, str] = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            out[proc.pid] = " ".join(proc.cmdline())[:200]
        except psutil.Error:
            continue
    return out


@pytest.fixture(autouse=True)
def no_process_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves a process running; kill what it left (by PID, ours only)."""
    before = set(_live_descendants())
    yield
    deadline = time.monotonic() + 10.0
    left: dict[int, str] = {}
    while time.monotonic() < deadline:
        left = {pid: cmd for pid, cmd in _live_descendants().items() if pid not in before}
        if not left:
            return
        time.sleep(0.1)
    for pid in left:
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass
    pytest.fail(f"test left processes behind: {left}")
