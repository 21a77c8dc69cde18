"""Database settings without a database server: URLs, drivers, ``--workers``, pool sizes,
NOTIFY payloads and the hub's wake-all (PostgreSQL behaviour itself: ``tests/postgres``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.server import ServerConfigError, ServerSettings
from actors.server.changes import ChangeHub
from actors.server.clock import SystemClock
from actors.server.db import Database
from actors.server.notify import notify_payloads, parse_payload
from actors.server.serve import main


def test_workers_need_postgresql(tmp_path: Path) -> None:
    with pytest.raises(ServerConfigError, match="--workers 2: several server processes need "
                                                "PostgreSQL"):
        ServerSettings(db_url=f"sqlite:///{tmp_path / 's.sqlite'}", workers=2)
    for bad in (0, 65):
        with pytest.raises(ServerConfigError, match="--workers"):
            ServerSettings(db_url="postgresql://u@/db", workers=bad)
    with pytest.raises(ServerConfigError, match="--db-pool-size"):
        ServerSettings(db_url="postgresql://u@/db", db_pool_size=0)
    assert ServerSettings(db_url="postgresql://u@/db", workers=4).workers == 4
    settings = ServerSettings(db_url="postgresql://u@/db", workers=3, token="t")
    assert ServerSettings.from_json(settings.to_json()) == settings
    with pytest.raises(ServerConfigError, match="malformed"):
        ServerSettings.from_json('{"db_url": 1, "nope": 2}')


def test_cli_refuses_workers_with_sqlite(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--state-dir", str(tmp_path), "--workers", "3"]) == 2
    err = capsys.readouterr().err
    assert "--workers 3" in err and "PostgreSQL" in err
    assert not (tmp_path / "server.sqlite").exists()  # refused before touching anything


@pytest.mark.parametrize(("url", "message"), [
    ("mysql://u@h/db", "'mysql' databases are not supported"),
    ("postgresql+psycopg2://u@h/db", "driver 'psycopg2' is not supported"),
    ("not a url", "is not a database URL"),
])
def test_unsupported_database_urls(url: str, message: str) -> None:
    with pytest.raises(ServerConfigError, match=f"--db: .*{message}"):
        Database(url, SystemClock())


def test_postgresql_urls_use_psycopg_and_a_pre_pinged_pool() -> None:
    pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
    db = Database("postgresql://user@/db?host=/nowhere", SystemClock())
    try:
        assert db.is_postgres and db.engine.dialect.driver == "psycopg"
        assert db.engine.pool.size() == 5 and db.engine.pool._pre_ping  # type: ignore[attr-defined]
    finally:
        db.dispose()


def test_unreachable_postgresql_is_a_config_error(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
    url = f"postgresql://nobody@/nodb?host={tmp_path}&port=1"
    assert main(["--db", url]) == 2
    assert "--db: cannot open the database" in capsys.readouterr().err


@given(ids=st.sets(st.integers(1, 2**31 - 1), max_size=3000),
       sender=st.text("0123456789abcdef", min_size=1, max_size=16))
@settings(max_examples=50, deadline=None)
def test_notify_payloads_fit_postgresql_and_parse_back(ids: set[int], sender: str) -> None:
    payloads = list(notify_payloads(sender, ids))
    assert all(len(p["payload"].encode()) < 8000 and p["channel"] == "actorswarm_change"
               for p in payloads)
    parsed = [parse_payload(p["payload"]) for p in payloads]
    assert all(p is not None and p[0] == sender and p[1] for p in parsed)
    assert sorted(i for p in parsed if p for i in p[1]) == sorted(ids)


def test_foreign_notify_payloads_are_ignored() -> None:
    assert len(list(notify_payloads("abc", range(1, 3000)))) > 1
    assert parse_payload("garbage") is None and parse_payload("x:1,y") is None
    assert parse_payload(":1") is None and list(notify_payloads("s", [])) == []


@pytest.mark.timeout(30)
def test_hub_bump_all_wakes_every_waiter() -> None:
    hub = ChangeHub()
    hub.remember(5, "t", 0)

    async def main() -> list[bool]:
        waiters = [asyncio.create_task(hub.wait_change(wf, 0, timeout=20)) for wf in (5, 6)]
        await asyncio.sleep(0.05)
        hub.bump_all()
        return list(await asyncio.gather(*waiters))

    assert asyncio.run(main()) == [True, True]
    assert hub.version(5) == 1 and hub.version(6) == 1
