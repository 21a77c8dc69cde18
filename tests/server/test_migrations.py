"""Schema migrations (Alembic): empty → head, head is idempotent, baseline data upgrades,
first-server databases are adopted, foreign ones refused, and ``schema`` equals head. An empty
database is created from ``schema`` without Alembic: it must equal running every migration,
and the head it records must be Alembic's head of the scripts.

Run on SQLite here and on PostgreSQL by ``tests/postgres`` (``empty_db_url`` is overridden).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, inspect, text

from actors.server import ServerConfigError, migrations
from actors.server.clock import SystemClock
from actors.server.db import Database
from actors.server.migrations import (
    HEAD,
    _alembic_config,
    current_revision,
    script_revisions,
    upgrade,
)
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


def _scripts_head(versions: Path) -> str | None:
    """Alembic's own answer: its script directory over ``versions``."""
    with connect("sqlite://") as conn:
        cfg: Any = _alembic_config(conn)
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(versions))
    return ScriptDirectory.from_config(cfg).get_current_head()


def test_head_is_read_from_the_scripts_as_alembic_reads_it(tmp_path: Path) -> None:
    versions = Path(migrations.__file__).parent / "versions"
    assert script_revisions(versions)[1] == HEAD == _scripts_head(versions)
    for script in versions.glob("[0-9]*_*.py"):
        shutil.copy(script, tmp_path)
    newest = max(script_revisions(versions)[0], key=int)
    nxt = f"{int(newest) + 1:04d}"  # a migration added after this test was written
    (tmp_path / f"{nxt}_next.py").write_text(
        f'"""Next."""\nrevision: str = "{nxt}"\ndown_revision: str | None = "{newest}"\n'
        "branch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n    pass\n")
    assert script_revisions(tmp_path)[1] == nxt == _scripts_head(tmp_path)
    (tmp_path / "9999_branch.py").write_text(f'revision = "9999"\ndown_revision = "{newest}"\n')
    with pytest.raises(ServerConfigError, match="do not form one chain"):
        script_revisions(tmp_path)


def _drop_everything(url: str) -> None:
    with connect(url) as conn:
        tables = MetaData()
        tables.reflect(conn)
        tables.drop_all(conn)
        assert inspect(conn).get_table_names() == []


def _full_layout(url: str) -> dict[str, Any]:
    """Every table's columns (in order, with types, nullability, defaults), keys, indexes,
    constraints and rows."""
    layout: dict[str, Any] = {}
    with connect(url) as conn:
        insp = inspect(conn)
        for t in sorted(insp.get_table_names()):
            columns = [(c["name"], str(c["type"]), c["nullable"], c.get("default"))
                       for c in insp.get_columns(t)]
            rows = sorted(map(tuple, conn.execute(text(f'SELECT * FROM "{t}"')).all()))
            layout[t] = {
                "columns": columns,
                "primary key": _plain(dict(insp.get_pk_constraint(t))),
                "foreign keys": sorted(str(_plain(dict(k))) for k in insp.get_foreign_keys(t)),
                "indexes": sorted(str(_plain(dict(i))) for i in insp.get_indexes(t)),
                "unique": sorted(str(_plain(dict(u))) for u in insp.get_unique_constraints(t)),
                "checks": sorted(str(_plain(dict(c))) for c in insp.get_check_constraints(t)),
                "rows": rows,
            }
        layout["views"] = sorted(insp.get_view_names())
    return layout


def test_fresh_database_equals_running_every_migration(empty_db_url: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with connect(empty_db_url) as conn:
        upgrade(conn)  # Alembic from nothing to head: the reference
    migrated = _full_layout(empty_db_url)
    assert migrated["alembic_version"]["rows"] == [(HEAD,)]
    _drop_everything(empty_db_url)

    def no_alembic(*args: object) -> None:
        raise AssertionError("an empty database must be created without Alembic")

    monkeypatch.setattr(migrations, "upgrade", no_alembic)
    monkeypatch.setattr(migrations, "_stamp", no_alembic)
    assert _migrate(empty_db_url) == ""
    assert _full_layout(empty_db_url) == migrated
    assert _migrate(empty_db_url) == HEAD


def test_a_server_start_on_a_fresh_database_imports_no_alembic_httpx_psutil(tmp_path: Path
                                                                           ) -> None:
    """What the embedded server's start-up costs: none of these is needed to serve."""
    code = ("import sys; from actors.server.serve import ServerSettings, create_app; "
            "s = ServerSettings.from_options(db=None, host='127.0.0.1', port=0, token=None, "
            "state_dir=sys.argv[1]); app = create_app(s); first = app.state.server.db.migrate(); "
            "print(repr(first), *(m in sys.modules for m in ('alembic', 'httpx', 'psutil')))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                         text=True, timeout=60, check=True).stdout.split()
    assert out == [repr(HEAD), "False", "False", "False"]  # the app's migrate found it empty


def test_a_database_with_foreign_tables_only_goes_through_alembic(empty_db_url: str) -> None:
    with connect(empty_db_url) as conn:
        conn.execute(text("CREATE TABLE node (id INTEGER PRIMARY KEY)"))  # clashes with ours
    with pytest.raises((ServerConfigError, sqlalchemy.exc.DatabaseError),
                       match="(?i)already exists"):  # SQLite wraps it, PostgreSQL does not
        _migrate(empty_db_url)
    with connect(empty_db_url) as conn:
        assert current_revision(conn) is None


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
