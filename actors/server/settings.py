"""Settings of one state-server process (built by ``serve`` from argv and environment)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import attrs

from actors.server.errors import ServerConfigError

__all__ = ["DB_FILE_NAME", "TOKEN_ENV", "ServerSettings", "default_db_url", "is_loopback"]

TOKEN_ENV = "ACTORSWARM_TOKEN"
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
    """

    db_url: str
    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = attrs.field(default=None, repr=False)
    state_dir: str | None = None
    sync_margin: float = 1.0

    def __attrs_post_init__(self) -> None:
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
                     state_dir: str | None) -> ServerSettings:
        """Settings from CLI options; the token falls back to ``ACTORSWARM_TOKEN``."""
        token = token if token is not None else os.environ.get(TOKEN_ENV) or None
        return cls(db_url=db or default_db_url(state_dir), host=host, port=port, token=token,
                   state_dir=state_dir)
