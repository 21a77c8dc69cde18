"""Database access of the state server: engine, SQLite pragmas, transactions, schema.

Routes (in worker threads) → ``Database.read()`` / ``Database.write()``. SQLite allows one
writer at a time, so write transactions take a process-wide lock and ``BEGIN IMMEDIATE``; the
time of a write is read from the clock *inside* that lock, so dates follow commit order. After
a write commits, the workflows it touched are passed to ``on_commit`` (the long-poll hub).
Everything SQLite-specific lives in this module.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs
from sqlalchemy import Connection, Engine, create_engine, event, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import StaticPool

from actors.server.clock import Clock
from actors.server.errors import ServerConfigError
from actors.server.schema import SCHEMA_VERSION, metadata, schema_version

__all__ = ["Database", "Tx"]

_SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA busy_timeout=15000",
                   "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL")


@attrs.define
class Tx:
    """One write transaction: the connection, its time, and the workflows whose tasks or runs
    it changed (for long-poll wake-ups)."""

    conn: Connection
    now: dt.datetime
    touched: set[int] = attrs.field(factory=set)


class Database:
    """Engine + transactions for one database URL (SQLite file by default, PostgreSQL by URL)."""

    def __init__(self, url: str, clock: Clock,
                 on_commit: Callable[[Iterable[int]], None] | None = None) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ServerConfigError(f"--db: {url!r} is not a database URL") from exc
        self.clock = clock
        self.on_commit = on_commit
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            database = parsed.database or ""
            kwargs["connect_args"] = {"check_same_thread": False}
            if database in ("", ":memory:"):
                kwargs["poolclass"] = StaticPool
            else:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
                # one connection per route worker thread (anyio's pool has 40 threads)
                kwargs.update(pool_size=10, max_overflow=40)
        self.engine: Engine = create_engine(parsed, **kwargs)
        self._write_lock = threading.Lock()
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine)

    def create_schema(self) -> None:
        """Create missing tables and record (or check) the schema version."""
        try:
            metadata.create_all(self.engine)
        except OperationalError as exc:
            raise ServerConfigError(f"--db: cannot open the database: {exc.orig}") from exc
        with self.write() as tx:
            found = tx.conn.execute(select(schema_version.c.version)).scalars().all()
            if not found:
                tx.conn.execute(insert(schema_version).values(version=SCHEMA_VERSION,
                                                              applied_date=tx.now))
            elif max(found) != SCHEMA_VERSION:
                raise ServerConfigError(
                    f"--db: database schema version {max(found)} is not the server's "
                    f"version {SCHEMA_VERSION}")

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (a consistent snapshot)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Tx]:
        """A write transaction; commits on success, rolls back on any exception."""
        with self._write_lock, self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
            with conn.begin():
                tx = Tx(conn=conn, now=self.clock.now())
                yield tx
        if tx.touched and self.on_commit is not None:
            self.on_commit(tx.touched)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _install_sqlite_hooks(engine: Engine) -> None:
    """Pragmas on every new connection; explicit BEGIN (the sqlite3 module's is lazy)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))
