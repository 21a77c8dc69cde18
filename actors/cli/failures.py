"""Fetch the task instances of a finished run's workflow, to print failed tasks' errors.

Called by ``run``/``resume`` after ``run_workflow`` returned with failed tasks. Against an
external server (``--server``) it asks that server; after an embedded run (whose server has
stopped) it starts a short-lived reader server on the run's state directory
(``actors.cli.reader_server``).
"""

from __future__ import annotations

from actors.cli.client import open_gateway
from actors.cli.reader_server import DATABASE_FILE, has_database, reader_server
from actors.errors import ConfigError
from actors.gateway import TaskInstanceRow

__all__ = ["fetch_task_instances"]


def _rows(url: str, token: str | None, workflow_id: int) -> tuple[TaskInstanceRow, ...]:
    with open_gateway(url, token) as gateway:
        return gateway.task_instances(workflow_id)


def fetch_task_instances(*, workflow_id: int, embedded: bool, server_url: str, state_dir: str,
                         token: str | None) -> tuple[TaskInstanceRow, ...]:
    """Every task instance of ``workflow_id``, from the run's server (see the module doc).

    Raises ``GatewayError`` when the server cannot answer, ``StartError`` when the reader
    server does not start, ``ConfigError`` when the embedded database is not there.
    """
    if not embedded:
        return _rows(server_url, token, workflow_id)
    if not has_database(state_dir):
        raise ConfigError(f"no {DATABASE_FILE} in the state directory {state_dir}")
    with reader_server(state_dir) as url:
        return _rows(url, token, workflow_id)
