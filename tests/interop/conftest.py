"""Fixtures of the interop tier: the real Jobmon server from the reference venv.

- ``jobmon_reference`` (session): the verified ``ReferenceEnv``. The venv is built or validated
  once, after collection and outside any test's timeout (``pytest_collection_finish``), only
  when a selected test needs it. When it cannot be built, every test needing it is SKIPPED
  with the reason (pip's log tail); nothing else skips.
- ``jobmon_server`` (session): a real server on a fresh SQLite file in pytest's temp dir,
  stopped (by PID) at the end of the session. ``.base_url``, ``.client_env()``, ``.query()``.
- ``jobmon_client_env``: ``jobmon_server.client_env()`` (1 s heartbeats and poll interval).
- ``tag``: a fresh hex tag, so each test's workflows are new on the shared server.

Every test using these fixtures is marked ``interop`` here (tests declare it as well).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .jobmon_ref import (
    MARKER_NAME,
    JobmonServer,
    ReferenceEnv,
    ReferenceEnvError,
    default_venv_dir,
    ensure_venv,
)

_REFERENCE_FIXTURES = {"jobmon_reference", "jobmon_server", "jobmon_client_env"}
_STATE: dict[str, ReferenceEnv | str] = {}
_HERE = Path(__file__).resolve().parent


def _needs_reference(item: pytest.Item) -> bool:
    return bool(_REFERENCE_FIXTURES.intersection(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents and _needs_reference(item):
            item.add_marker(pytest.mark.interop)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build/validate the venv once, before the first test and outside its timeout."""
    if any(_needs_reference(item) for item in session.items) and not _STATE:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and not (default_venv_dir() / MARKER_NAME).exists():
            reporter.write_line(f"interop: preparing the Jobmon reference venv in "
                                f"{default_venv_dir()} (a first build downloads from PyPI)")
        try:
            _STATE["env"] = ensure_venv()
        except ReferenceEnvError as exc:
            _STATE["error"] = str(exc)


@pytest.fixture(scope="session")
def jobmon_reference() -> ReferenceEnv:
    """The reference venv, or a skip naming why it could not be built."""
    if not _STATE:
        try:
            _STATE["env"] = ensure_venv()
        except ReferenceEnvError as exc:
            _STATE["error"] = str(exc)
    env = _STATE.get("env")
    if not isinstance(env, ReferenceEnv):
        pytest.skip(f"Jobmon reference environment cannot be built: {_STATE.get('error')}")
    return env


@pytest.fixture(scope="session")
def jobmon_server(jobmon_reference: ReferenceEnv,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[JobmonServer]:
    """A real Jobmon server for the whole session; stopped by PID afterwards."""
    db = tmp_path_factory.mktemp("jobmon-ref") / "jobmon.sqlite"
    server = JobmonServer.start(jobmon_reference, db, timeout=90)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def jobmon_client_env(jobmon_server: JobmonServer) -> dict[str, str]:
    return jobmon_server.client_env()


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:10]
