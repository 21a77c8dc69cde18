"""Fixtures of the CLI tests: a real state server process with a bound workflow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from actors.cli.reader_server import reader_server
from actors.gateway import Gateway
from actors.workflow import BoundWorkflow, Task, Workflow, bind


@attrs.frozen
class ServerWithWorkflow:
    """A running server (root URL), a workflow bound on it and one run of that workflow."""

    url: str
    bound: BoundWorkflow
    workflow_run_id: int


@pytest.fixture
def server_url(tmp_path: Path) -> Iterator[str]:
    """``python -m actors.server --port 0 --state-dir TMP``; stopped by PID afterwards."""
    with reader_server(str(tmp_path / "server-state")) as url:
        yield url


@pytest.fixture
def server_with_workflow(server_url: str, tmp_path: Path) -> ServerWithWorkflow:
    wf = Workflow("cli-test", max_concurrently_running=5,
                  default_resources={"memory": "64M", "runtime": "1m", "cores": 1,
                                     "queue": "all"})
    first = wf.add_task(Task("first", "echo first"))
    wf.add_task(Task("second", "echo second", upstream=[first]))
    with Gateway(server_url) as gateway:
        bound = bind(wf.definition(directory=tmp_path), gateway, "local")
        run = gateway.create_workflow_run(int(bound.workflow_id))
    return ServerWithWorkflow(server_url, bound, int(run.workflow_run_id))
