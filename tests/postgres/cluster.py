"""The PostgreSQL server of the postgres tier: started by ``.ci/postgres.sh`` or given.

``PostgresCluster.start()`` runs ``.ci/postgres.sh start`` (which installs Debian's
postgresql when it is missing) and ``stop()`` runs ``.ci/postgres.sh stop DIR`` for exactly
that cluster. With ``ACTORSWARM_TEST_POSTGRES_URL`` set, that server is used and never
stopped. ``fresh_database`` makes a throw-away database from a template already migrated to
the schema head, so every test starts from an empty, current schema.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from actors.server.migrations import ensure_schema

__all__ = ["URL_ENV", "CannotStart", "PostgresCluster"]

URL_ENV = "ACTORSWARM_TEST_POSTGRES_URL"
SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "postgres.sh"
START_TIMEOUT = 900.0  # installing the package may take minutes on a cold machine
_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37


class CannotStart(Exception):
    """PostgreSQL could not be installed or started here (the tier skips)."""


@contextmanager
def _not_a_subreaper() -> Iterator[None]:
    """Let processes orphaned meanwhile go to init, not to this (subreaper) test process.

    ``tests/conftest.py`` makes the test process a child subreaper so that it sees every
    process a test leaves behind. The cluster's postmaster is orphaned when ``pg_ctl start``
    returns; were it adopted by the test process, every database connection's backend would
    be a descendant of the tests and be taken for a leftover. The cluster is stopped by
    ``stop()`` through its own PID file instead.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        yield
        return
    flag = ctypes.c_int(0)
    was = libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0) == 0 and flag.value
    if was:
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
    try:
        yield
    finally:
        if was:
            libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


class PostgresCluster:
    """One PostgreSQL server for a test session, and throw-away databases on it."""

    def __init__(self, url: str, cluster_dir: str | None, start_seconds: float) -> None:
        self.url: URL = make_url(url)
        self.cluster_dir = cluster_dir
        self.start_seconds = start_seconds
        self._template: str | None = None

    @classmethod
    def start(cls) -> PostgresCluster:
        """The server of ``ACTORSWARM_TEST_POSTGRES_URL``, or a private one from the script."""
        given = os.environ.get(URL_ENV)
        if given:
            return cls(given, None, 0.0)
        t0 = time.monotonic()
        try:
            with _not_a_subreaper():
                done = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True,
                                      text=True, timeout=START_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CannotStart(f"{SCRIPT.name} start did not finish: {exc}") from exc
        values = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        if done.returncode != 0 or URL_ENV not in values:
            tail = done.stderr.strip().splitlines()[-5:]
            raise CannotStart(f"{SCRIPT.name} start failed (exit {done.returncode}): "
                              + " | ".join(tail))
        return cls(values[URL_ENV], values.get("ACTORSWARM_TEST_POSTGRES_DIR"),
                   time.monotonic() - t0)

    def close(self) -> None:
        """Drop the template database and stop the cluster this object started (a server
        given by URL is left running)."""
        if self._template is not None:
            self.drop_database(self._template)
            self._template = None
        self.stop()

    def stop(self) -> None:
        """Stop the cluster this object started (nothing when the URL was given)."""
        if self.cluster_dir is not None:
            subprocess.run(["bash", str(SCRIPT), "stop", self.cluster_dir], timeout=120,
                           check=False, capture_output=True)
            self.cluster_dir = None

    def url_of(self, database: str) -> str:
        """The URL of another database on this server."""
        return self.url.set(database=database).render_as_string(hide_password=False)

    @contextmanager
    def admin(self) -> Iterator[sqlalchemy.Connection]:
        """An autocommit connection to the session's database (for DDL on others)."""
        engine = sqlalchemy.create_engine(self.url, poolclass=NullPool,
                                          isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    def create_database(self, template: str | None = None) -> str:
        """A new empty database (copied from ``template``); returns its name."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        with self.admin() as conn:
            suffix = f" TEMPLATE {template}" if template else ""
            conn.exec_driver_sql(f"CREATE DATABASE {name}{suffix}")
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database made by ``create_database`` (closing its connections)."""
        with self.admin() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def fresh_database(self) -> str:
        """A new database already migrated to the schema head; returns its name."""
        if self._template is None:
            name = self.create_database()
            engine = sqlalchemy.create_engine(self.url_of(name), poolclass=NullPool)
            try:
                ensure_schema(engine)
            finally:
                engine.dispose()
            self._template = name
        return self.create_database(self._template)
