"""Database access of the state server: engine and pool, transactions with retries, schema.

Routes (in worker threads) → ``Database.read()`` / ``Database.transact(op, ...)``.

SQLite (the default; one server process): one writer at a time, so write transactions take a
process-wide lock and ``BEGIN IMMEDIATE``; the time of a write is read inside that lock, so
dates follow commit order.

PostgreSQL (psycopg 3; one or several server processes): a QueuePool per process with
pre-ping; READ COMMITTED transactions made safe by the ``ops``' row locks (``FOR UPDATE``,
``SKIP LOCKED`` for claims), conditional updates and unique keys. A write that fails with a
serialization failure, a deadlock, a lock timeout or a unique violation (two processes
inserting the same key at once) is rolled back and run again from the start, up to
``WRITE_ATTEMPTS`` times with jittered backoff; then the request is answered 503
(``Unavailable``; 409 for a unique violation that persists). Each write's first statement
sets its lock timeout and its time is read just after, so ``pg_stat_activity.xact_start``
never postdates the dates it writes (``write_lag`` relies on that). A write that touched
workflows also NOTIFYs the other server processes (``actors.server.notify``).

After a write commits, the workflows it touched go to ``on_commit`` (the long-poll hub).

Exact sync horizon (SQLite): writes are serialised and each takes its time inside the write
lock, never earlier than any time handed out before (``_latest``), so dates follow commit
order. ``sync_horizon()``, called before a read's first statement, is a time at or before the
date of every write that read may not see: the time of the write in progress, if any, else
now. A status sync that answers it as its cursor misses nothing and repeats (almost) nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import attrs
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.pool import StaticPool

from actors.server.clock import Clock
from actors.server.errors import ServerConfigError, Unavailable
from actors.server.migrations import ensure_schema
from actors.server.notify import ChangeListener, new_sender, notify_payloads

__all__ = ["APPLICATION_NAME", "WRITE_ATTEMPTS", "Database", "PoolSettings", "Tx"]

APPLICATION_NAME = "actorswarm-server"
WRITE_ATTEMPTS = 8
LOCK_TIMEOUT = "15s"
_SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA busy_timeout=15000",
                   "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL")
# serialization failure, deadlock, lock timeout: run the transaction again
_RETRY_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
_UNIQUE_VIOLATION = "23505"
_LOCK_TIMEOUT_SQL = text("SELECT set_config('lock_timeout', :value, true)")
_LAG_SQL = text(
    "SELECT COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(xact_start)), 0) "
    "FROM pg_stat_activity WHERE datname = current_database() AND application_name = :app "
    "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL")

P = ParamSpec("P")
R = TypeVar("R")


@attrs.define
class Tx:
    """One write transaction: the connection, its time, and the workflows whose tasks or runs
    it changed (for long-poll wake-ups)."""

    conn: Connection
    now: dt.datetime
    touched: set[int] = attrs.field(factory=set)


@attrs.frozen
class PoolSettings:
    """Connection pool of one server process (PostgreSQL): ``size`` kept open, up to
    ``overflow`` more under load, ``timeout`` s to wait for a free one (then 503)."""

    size: int = 5
    overflow: int = 10
    timeout: float = 30.0
    recycle: int = 1800


def _normalise_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ServerConfigError(f"--db: {url!r} is not a database URL") from exc
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgresql", "postgres"):
        if driver not in ("", "psycopg"):
            raise ServerConfigError(f"--db: driver {driver!r} is not supported for PostgreSQL "
                                    "(use postgresql:// or postgresql+psycopg://)")
        return parsed.set(drivername="postgresql+psycopg")
    if backend != "sqlite":
        raise ServerConfigError(f"--db: {backend!r} databases are not supported (use a sqlite:// "
                                "or postgresql:// URL)")
    return parsed


class Database:
    """Engine + transactions for one database URL (SQLite file by default, PostgreSQL by URL)."""

    def __init__(self, url: str, clock: Clock,
                 on_commit: Callable[[Iterable[int]], None] | None = None,
                 pool: PoolSettings | None = None) -> None:
        parsed = _normalise_url(url)
        self.clock = clock
        self.on_commit = on_commit
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.is_postgres = not self.is_sqlite
        self._listener: ChangeListener | None = None
        self.sender = new_sender()
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            database = parsed.database or ""
            kwargs["connect_args"] = {"check_same_thread": False}
            if database in ("", ":memory:"):
                kwargs["poolclass"] = StaticPool
            else:
                # a directory made here is private to the user (the database's home)
                Path(database).expanduser().parent.mkdir(mode=0o700, parents=True,
                                                         exist_ok=True)
                # one connection per route worker thread (anyio's pool has 40 threads)
                kwargs.update(pool_size=10, max_overflow=40)
        else:
            p = pool if pool is not None else PoolSettings()
            kwargs.update(pool_size=p.size, max_overflow=p.overflow, pool_timeout=p.timeout,
                          pool_recycle=p.recycle, pool_pre_ping=True,
                          connect_args={"application_name": APPLICATION_NAME,
                                        "connect_timeout": 10})
        try:
            self.engine: Engine = create_engine(parsed, **kwargs)
        except (ImportError, NoSuchModuleError) as exc:
            raise ServerConfigError(f"--db: the driver for {parsed.drivername} is not "
                                    "installed (PostgreSQL needs psycopg[binary])") from exc
        self._write_lock = threading.Lock()
        self._time_lock = threading.Lock()
        self._latest = dt.datetime.min  # SQLite: the latest write time or horizon handed out
        self._writing: dt.datetime | None = None  # SQLite: the time of the write in progress
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine)

    def migrate(self) -> str:
        """Create or upgrade the schema to the migrations' head; returns the revision found."""
        try:
            return ensure_schema(self.engine)
        except OperationalError as exc:
            raise ServerConfigError(f"--db: cannot open the database: {exc.orig}") from exc

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (SQLite: a snapshot; PostgreSQL: READ COMMITTED)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Tx]:
        """One write transaction, not retried; commits on success, rolls back on any exception."""
        lock = self._write_lock if self.is_sqlite else contextlib.nullcontext()
        with lock, self.engine.connect() as conn:
            if self.is_sqlite:
                conn = conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
            try:
                with conn.begin():
                    if self.is_postgres:
                        conn.execute(_LOCK_TIMEOUT_SQL, {"value": LOCK_TIMEOUT})  # SET LOCAL
                    tx = Tx(conn=conn, now=self._write_time())
                    yield tx
                    if tx.touched and self.is_postgres:
                        for payload in notify_payloads(self.sender, tx.touched):
                            conn.execute(text("SELECT pg_notify(:channel, :payload)"), payload)
            finally:
                self._writing = None  # committed or rolled back: no longer in progress
        if tx.touched and self.on_commit is not None:
            self.on_commit(tx.touched)

    def _write_time(self) -> dt.datetime:
        """The time of a write starting now (SQLite: never before a time handed out)."""
        if self.is_postgres:
            return self.clock.now()
        with self._time_lock:
            self._latest = self._writing = max(self.clock.now(), self._latest)
            return self._writing

    def sync_horizon(self) -> dt.datetime | None:
        """SQLite: call before a read's first statement; every write the read will not see
        is dated at or after the returned time (see the module docstring). PostgreSQL (writes
        from several processes at once): None."""
        if self.is_postgres:
            return None
        with self._time_lock:
            if self._writing is not None:
                return self._writing
            self._latest = max(self.clock.now(), self._latest)
            return self._latest

    def transact(self, op: Callable[Concatenate[Tx, P], R], /, *args: P.args,
                 **kwargs: P.kwargs) -> R:
        """``op(tx, *args, **kwargs)`` in a write transaction, run again from the start when
        PostgreSQL aborts it for a concurrency reason (see the module docstring)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                with self.write() as tx:
                    return op(tx, *args, **kwargs)
            except DBAPIError as exc:
                state = getattr(exc.orig, "sqlstate", None) if self.is_postgres else None
                unique = state == _UNIQUE_VIOLATION and isinstance(exc, IntegrityError)
                if not unique and state not in _RETRY_SQLSTATES:
                    raise
                if attempt >= WRITE_ATTEMPTS:
                    if unique:
                        raise
                    raise Unavailable(f"the database write still conflicted with concurrent "
                                      f"writes after {attempt} attempts",
                                      location="database") from exc
            time.sleep(random.uniform(0, min(0.25, 0.004 * 2 ** attempt)))

    def write_lag(self, conn: Connection) -> float:
        """Seconds since the oldest write transaction still open in any server process began
        (PostgreSQL; 0 on SQLite, where writes are serialised). A status sync must not claim
        to cover times after that: such a transaction commits dates from its start."""
        if self.is_sqlite:
            return 0.0
        lag = conn.execute(_LAG_SQL, {"app": APPLICATION_NAME}).scalar()
        return max(0.0, float(lag or 0.0))

    def listen(self, on_change: Callable[[Iterable[int]], None],
               on_gap: Callable[[], None]) -> None:
        """PostgreSQL: deliver other server processes' committed changes to ``on_change``
        (``on_gap`` when notifications may have been missed); returns once listening."""
        if self.is_sqlite or self._listener is not None:
            return
        cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
        params = dict(cparams, application_name=f"{APPLICATION_NAME}-listen")
        self._listener = ChangeListener(self.sender, lambda: (cargs, params), on_change, on_gap)
        self._listener.start()

    def dispose(self) -> None:
        """Stop listening and close every pooled connection."""
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
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
