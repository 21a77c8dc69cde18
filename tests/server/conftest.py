"""Fixtures of the state-server tests: a fake clock, a real database (a SQLite file here;
``tests/postgres`` re-runs these tests with ``db_url`` on PostgreSQL), an HTTP client."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from actors.server import ServerSettings, create_app
from tests.server.helpers import API, TestClient


class FakeClock:
    """A wall clock tests move by hand (the server reads it for every date it writes)."""

    def __init__(self, start: dt.datetime = dt.datetime(2026, 1, 1, 12, 0, 0)) -> None:
        self.t = start

    def now(self) -> dt.datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "server.sqlite"


@pytest.fixture
def empty_db_url(tmp_path: Path) -> str:
    """A database with no tables yet (tests/postgres overrides it with PostgreSQL)."""
    return f"sqlite:///{tmp_path / 'empty.sqlite'}"


@pytest.fixture
def db_url(db_path: Path) -> str:
    """The database of the app under test (tests/postgres overrides it with PostgreSQL)."""
    return f"sqlite:///{db_path}"


@pytest.fixture
def app(db_url: str, clock: FakeClock) -> Iterator[FastAPI]:
    app = create_app(ServerSettings(db_url=db_url), clock=clock)
    yield app
    app.state.server.db.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=API, raise_server_exceptions=False) as c:
        yield c
    app.state.server.db.dispose()
