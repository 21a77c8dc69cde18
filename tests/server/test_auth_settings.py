"""Token authentication and server settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.server import ServerConfigError, ServerSettings, create_app
from actors.server.settings import default_db_url, is_loopback
from tests.server.conftest import FakeClock
from tests.server.helpers import API, TestClient, snapshot


def test_token_is_required_on_every_route(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    app = create_app(ServerSettings(db_url=f"sqlite:///{db}", token="s3cret"), FakeClock())
    with TestClient(app, base_url=API) as c:
        before = snapshot(db)
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            r = c.get("/health", headers=headers)
            assert r.status_code == 401
            assert r.json()["error"]["type"] == "AuthError"
            assert "s3cret" not in r.text
            r = c.post("/workflow/bind", json={"name": "w", "workflow_args": "x",
                                               "max_concurrently_running": 1}, headers=headers)
            assert r.status_code == 401
        assert c.get("http://testserver/openapi.json").status_code == 401
        assert snapshot(db) == before
        ok = {"Authorization": "Bearer s3cret"}
        assert c.get("/health", headers=ok).json() == {"status": "OK"}
        assert c.post("/workflow/bind", headers=ok, json={
            "name": "w", "workflow_args": "x", "max_concurrently_running": 1}).status_code == 200
    app.state.server.db.dispose()


def test_settings_refuse_public_host_without_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACTORSWARM_TOKEN", raising=False)
    with pytest.raises(ServerConfigError, match="--host 0.0.0.0"):
        ServerSettings(db_url="sqlite://", host="0.0.0.0")
    assert ServerSettings(db_url="sqlite://", host="0.0.0.0", token="t").token == "t"
    assert "zq-secret" not in repr(ServerSettings(db_url="sqlite://", host="0.0.0.0",
                                                 token="zq-secret"))
    with pytest.raises(ServerConfigError, match="--port"):
        ServerSettings(db_url="sqlite://", port=70000)
    with pytest.raises(ServerConfigError, match="empty"):
        ServerSettings(db_url="sqlite://", token=" ")
    monkeypatch.setenv("ACTORSWARM_TOKEN", "from-env")
    s = ServerSettings.from_options(db=None, host="::", port=0, token=None, state_dir="/x")
    assert s.token == "from-env" and s.db_url == default_db_url("/x")
    assert is_loopback("127.0.0.5") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("10.0.0.1") and not is_loopback("example.org")


def test_bad_database_url_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ServerConfigError, match="--db"):
        create_app(ServerSettings(db_url="not a url"))
    (tmp_path / "dir.sqlite").mkdir()
    with pytest.raises(ServerConfigError, match="--db"):
        create_app(ServerSettings(db_url=f"sqlite:///{tmp_path / 'dir.sqlite'}"))
