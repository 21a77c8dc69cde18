"""Schema migrations of the state server (Alembic): the one source of truth for the schema.

``Database.migrate()`` → ``ensure_schema(engine)`` at every server start, on SQLite and on
PostgreSQL alike::

    one transaction (PostgreSQL: holding an advisory lock, so servers starting together
    migrate one after the other)
      alembic_version == HEAD            → nothing to do (one SELECT; alembic is not imported)
      no alembic_version, no tables      → upgrade an empty database to HEAD
      no alembic_version, schema_version
        row 1 (a first-server database)  → stamp 0001 (baseline), upgrade to HEAD
      a known older revision             → upgrade to HEAD
      anything else                      → ServerConfigError naming ``--db``

``actors.server.schema`` mirrors HEAD for queries; a test compares it with the migrated
database. New revisions go to ``versions/`` (``NNNN_name.py``) and move ``HEAD``.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

from actors.server.errors import ServerConfigError

__all__ = ["HEAD", "MIGRATION_LOCK_KEY", "current_revision", "ensure_schema", "upgrade"]

HEAD = "0003"
BASELINE = "0001"
MIGRATION_LOCK_KEY = 0x61637473776D  # "actswm": pg_advisory_xact_lock key of migrations
_HERE = Path(__file__).resolve().parent


def current_revision(conn: Connection) -> str | None:
    """The database's Alembic revision (None when it has no ``alembic_version`` table)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _alembic_config(conn: Connection) -> object:
    try:
        from alembic.config import Config
    except ImportError as exc:
        raise ServerConfigError("--db: creating or upgrading the schema needs Alembic "
                                "(pip install 'alembic>=1.13')") from exc

    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    cfg.attributes["connection"] = conn
    return cfg


def upgrade(conn: Connection, target: str = "head") -> None:
    """Run Alembic's upgrade to ``target`` on ``conn`` (inside the caller's transaction)."""
    cfg = _alembic_config(conn)
    from alembic import command

    command.upgrade(cfg, target)  # type: ignore[arg-type]


def _stamp(conn: Connection, revision: str) -> None:
    cfg = _alembic_config(conn)
    from alembic import command

    command.stamp(cfg, revision)  # type: ignore[arg-type]


def _known_revisions() -> set[str]:
    return {p.name.split("_", 1)[0] for p in (_HERE / "versions").glob("[0-9]*_*.py")}


def ensure_schema(engine: Engine) -> str:
    """Bring the database to ``HEAD``; returns the revision found before (``""``: empty)."""
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                         {"key": MIGRATION_LOCK_KEY})
        found = current_revision(conn)
        if found == HEAD:
            return found
        if found is None:
            tables = set(inspect(conn).get_table_names())
            if "workflow" in tables:
                legacy = ("schema_version" in tables and conn.execute(
                    text("SELECT max(version) FROM schema_version")).scalar() == 1)
                if not legacy:
                    raise ServerConfigError(
                        "--db: the database holds tables but no actorswarm schema revision "
                        "(not an actorswarm database?)")
                _stamp(conn, BASELINE)
                found = BASELINE
            else:
                found = ""
        elif found not in _known_revisions():
            raise ServerConfigError(
                f"--db: database schema revision {found!r} is unknown to this server "
                f"(its newest is {HEAD!r}; was the database upgraded by a newer server?)")
        upgrade(conn)
        return found
