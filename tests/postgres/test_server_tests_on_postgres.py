"""The state server's route and migration tests re-run on PostgreSQL: the same test
functions as ``tests/server`` (imported, not copied), with ``db_url`` / ``empty_db_url``
pointing at fresh PostgreSQL databases (``conftest.py``). Every test of these modules that
talks to the app or migrates a database is included."""

from __future__ import annotations

import inspect

from tests.server import (
    test_bad_input,
    test_long_poll,
    test_migrations,
    test_routes_distributor_worker,
    test_routes_swarm,
    test_statement_counts,
)

_MODULES = (test_routes_swarm, test_routes_distributor_worker, test_bad_input,
            test_long_poll, test_statement_counts, test_migrations)
_USES_APP = {"app", "client", "world", "empty_db_url"}

world = test_bad_input.world  # that module's fixture
for _module in _MODULES:
    for _name, _func in inspect.getmembers(_module, inspect.isfunction):
        if not _name.startswith("test_") or _func.__module__ != _module.__name__:
            continue
        if not _USES_APP & set(inspect.signature(_func).parameters):
            continue
        if _name in globals():
            raise AssertionError(f"two re-run tests are named {_name}")
        globals()[_name] = _func


def test_the_re_run_tests_talk_to_postgresql(app: object) -> None:
    db = app.state.server.db  # type: ignore[attr-defined]
    assert db.is_postgres and db.engine.dialect.name == "postgresql"
    assert db.engine.dialect.driver == "psycopg"
