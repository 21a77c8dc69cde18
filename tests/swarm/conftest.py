"""Fixtures of the swarm's end-to-end tier: one real state server shared by the tier, and no
run left going after a test.

Most tests drive their own workflow (a unique directory makes a unique workflow) on the shared
server, which saves a server start per test; the tests of the embedded path
(``run_workflow`` without ``server_url``) start their own. The server is started before the
first test's leftover check and stopped after the last, so it is never counted as left behind.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from tests.swarm.helpers import stop_started_runs

READY_TIMEOUT = 60.0
#: SIGTERM wakes waiting long polls and the server exits within its 3 s graceful bound.
STOP_GRACE = 5.0


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Root URL of a real ``python -m actors.server`` (SQLite in a temporary state dir)."""
    state = tmp_path_factory.mktemp("swarm-server")
    proc = subprocess.Popen(
        [sys.executable, "-m", "actors.server", "--port", "0", "--state-dir", str(state)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()

    def read_lines() -> None:
        for line in proc.stdout or ():
            lines.put(line)

    reader = threading.Thread(target=read_lines, daemon=True)
    reader.start()
    try:
        line = lines.get(timeout=READY_TIMEOUT)
        assert line.startswith("READY "), f"unexpected first line of the server: {line!r}"
        yield line.split()[1]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        reader.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture(autouse=True)
def no_run_left_going() -> Iterator[None]:
    """A test that failed while its run went on: stop the run (status S) before the leftover
    check, so its processes end the normal way."""
    yield
    left = stop_started_runs()
    assert not [run for run in left if run.alive()], "a run did not stop"
