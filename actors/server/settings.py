"""Settings of one state-server process (built by ``serve`` from argv and environment)."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

import attrs

from actors.server.errors import ServerConfigError

__all__ = ["DB_FILE_NAME", "MAX_WORKERS", "TOKEN_ENV", "ServerSettings", "default_db_url",
           "is_loopback"]

TOKEN_ENV = "ACTORSWARM_TOKEN"
MAX_WORKERS = 64
DB_FILE_NAME = "server.sqlite"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_db_url(state_dir: str | None) -> str:
    """``sqlite:///<state_dir>/server.sqlite`` (state dir default: ``./.actorswarm``)."""
    base = Path(state_dir) if state_dir else Path.cwd() / ".actorswarm"
    return f"sqlite:///{(base / DB_FILE_NAME).resolve()}"


@attrs.frozen
class ServerSettings:
    """Where the server stores its state, where it listens, and who may talk to it.

    ``sync_margin`` (s) is subtracted from the time ``task_status_updates`` answers, so a
    write committed just after that time is never missed by the next incremental sync.
    ``workers`` server processes share the listening socket (more than one needs
    PostgreSQL); each keeps a pool of ``db_pool_size`` connections plus up to
    ``db_max_overflow`` more under load.
    """

    db_url: str
    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = attrs.field(default=None, repr=False)
    state_dir: str | None = None
    sync_margin: float = 1.0
    workers: int = 1
    db_pool_size: int = 5
    db_max_overflow: int = 10

    @property
    def is_sqlite(self) -> bool:
        """True when the database URL is a SQLite one."""
        return self.db_url.split(":", 1)[0].split("+", 1)[0] == "sqlite"

    def __attrs_post_init__(self) -> None:
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ServerConfigError(f"--workers: {self.workers} is not between 1 and "
                                    f"{MAX_WORKERS}")
        if self.workers > 1 and self.is_sqlite:
            raise ServerConfigError(
                f"--workers {self.workers}: several server processes need PostgreSQL "
                "(--db postgresql://...); SQLite allows one writing process")
        if not 1 <= self.db_pool_size <= 1000:
            raise ServerConfigError(f"--db-pool-size: {self.db_pool_size} is not between 1 "
                                    "and 1000")
        if not 0 <= self.db_max_overflow <= 1000:
            raise ServerConfigError(f"--db-max-overflow: {self.db_max_overflow} is not "
                                    "between 0 and 1000")
        if not 0 <= self.port <= 65535:
            raise ServerConfigError(f"--port: {self.port} is not a TCP port (0-65535)")
        if self.token is not None and not self.token.strip():
            raise ServerConfigError(f"--token / {TOKEN_ENV}: the token is empty")
        if not is_loopback(self.host) and self.token is None:
            raise ServerConfigError(
                f"--host {self.host}: listening beyond loopback needs a token "
                f"(--token or the {TOKEN_ENV} environment variable)")

    @classmethod
    def from_options(cls, *, db: str | None, host: str, port: int, token: str | None,
                     state_dir: str | None, workers: int = 1, db_pool_size: int = 5,
                     db_max_overflow: int = 10) -> ServerSettings:
        """Settings from CLI options; the token falls back to ``ACTORSWARM_TOKEN``."""
        token = token if token is not None else os.environ.get(TOKEN_ENV) or None
        return cls(db_url=db or default_db_url(state_dir), host=host, port=port, token=token,
                   state_dir=state_dir, workers=workers, db_pool_size=db_pool_size,
                   db_max_overflow=db_max_overflow)

    def to_json(self) -> str:
        """These settings as JSON (handed to server worker processes in the environment)."""
        return json.dumps(attrs.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServerSettings:
        """Settings from ``to_json`` output; ServerConfigError when it is not that."""
        try:
            data = json.loads(text)
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise ServerConfigError(f"server worker settings are malformed: {exc}") from exc
