"""Schema migrations of the state server (Alembic): the one source of truth for the schema.

``Database.migrate()`` → ``ensure_schema(engine)`` at every server start, on SQLite and on
PostgreSQL alike::

    one transaction (PostgreSQL: holding an advisory lock, so servers starting together
    migrate one after the other)
      alembic_version == HEAD            → nothing to do (one SELECT; alembic is not imported)
      no alembic_version, no tables      → create HEAD's tables from ``schema.metadata`` and
                                           write HEAD into ``alembic_version`` (alembic is
                                           not imported: it costs ~0.35 s of start-up)
      no alembic_version, other tables   → upgrade from nothing to HEAD (as before)
      no alembic_version, schema_version
        row 1 (a first-server database)  → stamp 0001 (baseline), upgrade to HEAD
      a known older revision             → upgrade to HEAD
      anything else                      → ServerConfigError naming ``--db``

``actors.server.schema`` mirrors HEAD for queries and creates fresh databases; tests compare
it with the migrated database (tables, columns, types, keys, indexes and rows). New revisions
go to ``versions/`` (``NNNN_name.py``); ``HEAD`` is read from their ``revision`` /
``down_revision`` lines (the one revision no other revises), so it moves by itself.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    inspect,
    text,
)

from actors.server.errors import ServerConfigError
from actors.server.schema import metadata

__all__ = ["HEAD", "MIGRATION_LOCK_KEY", "current_revision", "ensure_schema", "script_revisions",
           "upgrade"]

BASELINE = "0001"
MIGRATION_LOCK_KEY = 0x61637473776D  # "actswm": pg_advisory_xact_lock key of migrations
_HERE = Path(__file__).resolve().parent
_REVISION = re.compile(r"""^revision\s*(?::[^=]*)?=\s*["']([^"']+)["']""", re.M)
_DOWN = re.compile(r"""^down_revision\s*(?::[^=]*)?=\s*(?:None|["']([^"']+)["'])\s*$""", re.M)

#: Alembic's own version table, as ``alembic upgrade`` creates it.
_version_table = Table("alembic_version", MetaData(),
                       Column("version_num", String(32), nullable=False),
                       PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))


def script_revisions(versions: Path = _HERE / "versions") -> tuple[dict[str, str | None], str]:
    """The revisions of the scripts in ``versions`` (revision → down revision) and their head,
    read from the scripts' text (importing Alembic to ask it costs more than a server start's
    worth of work). A ``ServerConfigError`` when the scripts do not form one linear chain: a
    script this reader cannot parse, a merge, or two heads."""
    chain: dict[str, str | None] = {}
    for path in sorted(versions.glob("[0-9]*_*.py")):
        source = path.read_text(encoding="utf-8")
        rev, down = _REVISION.search(source), _DOWN.search(source)
        if rev is None or down is None:
            raise ServerConfigError(f"migration script {path.name}: no plain revision / "
                                    "down_revision lines")
        chain[rev.group(1)] = down.group(1)
    heads = set(chain) - set(chain.values())
    if len(heads) != 1 or sum(d is None for d in chain.values()) != 1 or any(
            d is not None and d not in chain for d in chain.values()):
        raise ServerConfigError(f"migration scripts in {versions} do not form one chain: "
                                f"{chain}")
    return chain, heads.pop()


_CHAIN, HEAD = script_revisions()


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


def _create_head(conn: Connection) -> None:
    """An empty database straight to HEAD: ``schema.metadata``'s tables, HEAD recorded the
    way Alembic records it (tests check this equals running every migration)."""
    metadata.create_all(conn, checkfirst=False)
    _version_table.create(conn, checkfirst=False)
    conn.execute(_version_table.insert().values(version_num=HEAD))


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
            elif not tables:
                _create_head(conn)
                return ""
            else:  # tables of someone else's: Alembic's upgrade fails on a clash, loudly
                found = ""
        elif found not in _CHAIN:
            raise ServerConfigError(
                f"--db: database schema revision {found!r} is unknown to this server "
                f"(its newest is {HEAD!r}; was the database upgraded by a newer server?)")
        upgrade(conn)
        return found
