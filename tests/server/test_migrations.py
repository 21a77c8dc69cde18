"""Schema migrations (Alembic): empty → head, head is idempotent, baseline data upgrades,
first-server databases are adopted, foreign ones refused, and ``schema`` equals head.

Run on SQLite here and on PostgreSQL by ``tests/postgres`` (``empty_db_url`` is overridden).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from actors.server import ServerConfigError
from actors.server.clock import SystemClock
from actors.server.db import Database
from actors.server.migrations import HEAD, _alembic_config, current_revision, upgrade
from actors.server.schema import metadata


@contextmanager
def connect(url: str) -> Iterator[Connection]:
    db = Database(url, SystemClock())
    try:
        with db.engine.connect() as conn, conn.begin():
            yield conn
    finally:
        db.dispose()


def _migrate(url: str) -> str:
    db = Database(url, SystemClock())
    try:
        return db.migrate()
    finally:
        db.dispose()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return sorted((k, _plain(v)) for k, v in value.items())
    return value if isinstance(value, (list, int, type(None))) else str(value)


def _layout(url: str) -> dict[str, Any]:
    with connect(url) as conn:
        insp = inspect(conn)
        return {t: (sorted(c["name"] for c in insp.get_columns(t)),
                    sorted(str(_plain(dict(i))) for i in insp.get_indexes(t)))
                for t in sorted(insp.get_table_names())}


def test_head_constant_is_the_scripts_head() -> None:
    with connect("sqlite://") as conn:
        scripts = ScriptDirectory.from_config(_alembic_config(conn))  # type: ignore[arg-type]
        assert scripts.get_current_head() == HEAD
        assert [s.revision for s in scripts.walk_revisions()][-1] == "0001"


def test_empty_database_to_head_equals_schema_and_head_is_idempotent(empty_db_url: str
                                                                      ) -> None:
    assert _migrate(empty_db_url) == ""
    with connect(empty_db_url) as conn:
        assert current_revision(conn) == HEAD
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], diff
    layout = _layout(empty_db_url)
    assert _migrate(empty_db_url) == HEAD  # nothing to do
    assert _layout(empty_db_url) == layout
    with connect(empty_db_url) as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1


_BASELINE_ROWS = [
    "INSERT INTO cluster (id, name, cluster_type, params) VALUES (1, 'c', 'sim', '{}')",
    "INSERT INTO queue (id, cluster_id, name, params) VALUES (1, 1, 'q', '{}')",
    ("INSERT INTO task_resources (id, queue_id, resources_type, requested_resources) "
     "VALUES (1, 1, 'O', '{\"cores\"\\:1}')"),  # \\: is a colon in text()
    "INSERT INTO dag (id, created_date) VALUES (1, '2026-01-01 00:00:00')",
    ("INSERT INTO workflow (id, dag_id, name, workflow_args, workflow_args_hash, "
     "max_concurrently_running, created_date) VALUES (1, 1, 'w', 'a', 'h', 5, "
     "'2026-01-01 00:00:00')"),
    "INSERT INTO array (id, workflow_id, name, max_concurrently_running) VALUES (1, 1, 'a', 5)",
    "INSERT INTO node (id, dag_id) VALUES (1, 1)",
    "INSERT INTO node (id, dag_id) VALUES (2, 1)",
    "INSERT INTO edge (dag_id, upstream_node_id, downstream_node_id) VALUES (1, 1, 2)",
    ("INSERT INTO task (id, workflow_id, array_id, node_id, task_resources_id, name, command, "
     "max_attempts, num_attempts, resource_scales, fallback_queues, status, status_date) "
     "VALUES (1, 1, 1, 1, 1, 't1', 'true', 3, 1, '{}', '[]', 'D', '2026-01-01 00:00:00')"),
    ("INSERT INTO workflow_run (id, workflow_id, reset_running_jobs, status, status_date, "
     "created_date, heartbeat_date) VALUES (1, 1, TRUE, 'R', '2026-01-01 00:00:00', "
     "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"),
    ("INSERT INTO task_instance (id, task_id, workflow_run_id, array_id, task_resources_id, "
     "attempt, status, status_date, submitted_date, report_increment) VALUES "
     "(1, 1, 1, 1, 1, 1, 'D', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0)"),
]


def _baseline_with_data(url: str, first_server: bool) -> None:
    with connect(url) as conn:
        upgrade(conn, "0001")
        for sql in _BASELINE_ROWS:
            conn.execute(text(sql.replace("array", '"array"', 1) if "INTO array" in sql
                              else sql))
        if first_server:  # what the first server left: no alembic_version, schema_version 1
            conn.execute(text("DROP TABLE alembic_version"))
            conn.execute(text("INSERT INTO schema_version (version, applied_date) "
                              "VALUES (1, '2026-01-01 00:00:00')"))


def _assert_upgraded_with_data(url: str) -> None:
    with connect(url) as conn:
        assert current_revision(conn) == HEAD
        assert "schema_version" not in inspect(conn).get_table_names()
        assert conn.execute(text("SELECT status FROM task_instance WHERE id = 1")).scalar() == "D"
        digest = conn.execute(text("SELECT requested_resources_hash FROM task_resources")
                              ).scalar()
        assert digest == hashlib.sha256(b'{"cores":1}').hexdigest()
    duplicates = [  # each violates one of the new unique keys
        ("INSERT INTO task_instance (task_id, workflow_run_id, array_id, task_resources_id, "
         "attempt, status, status_date, submitted_date, report_increment) VALUES "
         "(1, 1, 1, 1, 1, 'Q', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0)"),
        ("INSERT INTO workflow_run (workflow_id, reset_running_jobs, status, status_date, "
         "created_date, heartbeat_date) VALUES (1, TRUE, 'B', '2026-01-01 00:00:00', "
         "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"),
        (f"INSERT INTO task_resources (queue_id, resources_type, requested_resources, "
         f"requested_resources_hash) VALUES (1, 'O', '{{\"cores\"\\:1}}', '{digest}')"),
    ]
    for sql in duplicates:
        with pytest.raises(sqlalchemy.exc.IntegrityError), connect(url) as conn:
            conn.execute(text(sql))
    with connect(url) as conn:  # a run that is over does not count as active
        conn.execute(text("UPDATE workflow_run SET status = 'D' WHERE id = 1"))
        conn.execute(text(duplicates[1]))


def test_baseline_database_with_data_upgrades_to_head(empty_db_url: str) -> None:
    _baseline_with_data(empty_db_url, first_server=False)
    assert _migrate(empty_db_url) == "0001"
    _assert_upgraded_with_data(empty_db_url)


def test_first_server_database_is_adopted_and_upgraded(empty_db_url: str) -> None:
    _baseline_with_data(empty_db_url, first_server=True)
    assert _migrate(empty_db_url) == "0001"
    _assert_upgraded_with_data(empty_db_url)


def test_downgrade_to_baseline_and_back(empty_db_url: str) -> None:
    _baseline_with_data(empty_db_url, first_server=False)
    _migrate(empty_db_url)
    with connect(empty_db_url) as conn:
        from alembic import command

        command.downgrade(_alembic_config(conn), "0001")  # type: ignore[arg-type]
        assert current_revision(conn) == "0001"
        assert "schema_version" in inspect(conn).get_table_names()
    assert _migrate(empty_db_url) == "0001"
    _assert_upgraded_with_data(empty_db_url)


def test_foreign_or_newer_databases_are_refused(empty_db_url: str) -> None:
    with connect(empty_db_url) as conn:
        conn.execute(text("CREATE TABLE workflow (id INTEGER PRIMARY KEY)"))
    with pytest.raises(ServerConfigError, match="--db: .*not an actorswarm database"):
        _migrate(empty_db_url)
    with connect(empty_db_url) as conn:
        conn.execute(text("DROP TABLE workflow"))
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('9999')"))
    with pytest.raises(ServerConfigError, match="--db: database schema revision '9999'"):
        _migrate(empty_db_url)
