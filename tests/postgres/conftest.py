"""The postgres tier: a real PostgreSQL server for every test here (marker ``postgres``).

The session's server comes from ``ACTORSWARM_TEST_POSTGRES_URL`` or from ``.ci/postgres.sh``
(which installs and starts a private cluster and is told to stop exactly that one at the
end). When PostgreSQL cannot be installed or started, every test here is skipped with the
reason. ``db_url`` replaces the SQLite database of the state-server fixtures
(``tests/server/conftest.py``) with a fresh PostgreSQL database, so the server's route tests
re-run here unchanged (see ``test_routes_on_postgres.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres.cluster import CannotStart, PostgresCluster
from tests.server.conftest import app, client, clock  # noqa: F401  (fixtures used here)

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.postgres)
            item.add_marker(pytest.mark.process)  # the session's PostgreSQL cluster


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """The session's PostgreSQL server (skips the tier when there can be none)."""
    try:
        cluster = PostgresCluster.start()
    except CannotStart as exc:
        pytest.skip(f"PostgreSQL is not available: {exc}")
    if cluster.cluster_dir is not None:
        print(f"\n[postgres] private cluster installed/started in "
              f"{cluster.start_seconds:.2f} s")
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def pg_database(postgres: PostgresCluster) -> Iterator[str]:
    """A fresh database at the schema head, dropped after the test; yields its URL."""
    name = postgres.fresh_database()
    try:
        yield postgres.url_of(name)
    finally:
        postgres.drop_database(name)


@pytest.fixture
def empty_db_url(postgres: PostgresCluster) -> Iterator[str]:
    """A PostgreSQL database with no tables (for the migration tests)."""
    name = postgres.create_database()
    try:
        yield postgres.url_of(name)
    finally:
        postgres.drop_database(name)


@pytest.fixture
def db_url(pg_database: str) -> str:
    """The state-server fixtures' database, on PostgreSQL."""
    return pg_database

