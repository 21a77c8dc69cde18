"""The server's own worker pool (``--workers N``), which replaced uvicorn's multiprocessing
supervisor (it pickled its configuration to every worker): restart a dead worker, give up
after too many deaths, stop them all, and leave no worker behind when the pool's process is
SIGKILLed (each worker watches a pipe from it). The PostgreSQL tier runs the real
``--workers 4`` server (tests/postgres/test_concurrency.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

from actors.server.workers import WorkerPool
from tests.reliability.faults import wait_gone

pytestmark = pytest.mark.process

SLEEPER = [sys.executable, "-c", "import sys; sys.stdin.read()"]  # lives until stdin ends


def _run_in_thread(pool: WorkerPool) -> tuple[threading.Event, threading.Thread, list[int]]:
    stop = threading.Event()
    code: list[int] = []
    thread = threading.Thread(target=lambda: code.append(pool.run(stop)), daemon=True)
    thread.start()
    return stop, thread, code


def _wait(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.timeout(60)
def test_a_dead_worker_is_replaced_and_stop_ends_them_all() -> None:
    pool = WorkerPool(3, lambda i: SLEEPER, poll=0.05, grace=5)
    stop, thread, code = _run_in_thread(pool)
    assert _wait(lambda: len(pool.pids()) == 3)
    first = pool.pids()
    os.kill(first[1], signal.SIGKILL)
    assert _wait(lambda: len(pool.pids()) == 3 and first[1] not in pool.pids())
    everyone = [psutil.Process(p) for p in pool.pids()]
    stop.set()
    thread.join(20)
    assert code == [0] and not wait_gone(everyone, 10)


@pytest.mark.timeout(60)
def test_workers_that_keep_dying_make_the_pool_give_up() -> None:
    pool = WorkerPool(2, lambda i: [sys.executable, "-c", "raise SystemExit(3)"], poll=0.05,
                      max_restarts=4, window=60)
    _stop, thread, code = _run_in_thread(pool)
    thread.join(30)
    assert code == [1] and pool.gave_up and not pool.pids()


@pytest.mark.timeout(90)
def test_no_worker_outlives_a_killed_pool_process(tmp_path: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-m", "tests.reliability.pool_script",
                               str(tmp_path / "state")], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        assert parent.stdout is not None
        info = json.loads(parent.stdout.readline())
        (worker,) = [psutil.Process(p) for p in info["pids"]]
        url = f"http://127.0.0.1:{info['port']}/api/v3"
        assert httpx.get(url + "/health", timeout=10).json() == {"status": "OK"}
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        assert not wait_gone([worker], 20), "the worker outlived its pool's process"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
