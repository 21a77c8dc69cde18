"""Fixtures of the reliability tier: a state server the tier owns, and no run left going.

``shared_server`` is one real server for the tests that do not harm it (each test drives its
own workflow: a unique directory makes a unique workflow). Tests that stop, freeze or restart
the server start their own with ``own_server``. Servers are started before the leftover
check of tests/conftest.py and stopped by PID.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability.servers import ServerProcess
from tests.swarm.helpers import stop_started_runs


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for a whole test module (SQLite in a temporary state dir)."""
    server = ServerProcess(tmp_path_factory.mktemp("reliability-server"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """A factory of servers owned by one test (stopped after it, even when frozen)."""
    started: list[ServerProcess] = []

    def make(**kw: object) -> ServerProcess:
        server = ServerProcess(tmp_path / f"server-{len(started)}", **kw)  # type: ignore[arg-type]
        started.append(server)
        server.start()
        return server

    yield make
    stop_started_runs()  # a failed test's run first, while its server still answers
    for server in started:
        server.stop()


@pytest.fixture(autouse=True)
def no_run_left_going() -> Iterator[None]:
    """A test that failed while its run went on: stop the run (status S) before the leftover
    check, so that its processes end the normal way."""
    yield
    left = stop_started_runs()
    assert not [run for run in left if run.alive()], "a run did not stop"
