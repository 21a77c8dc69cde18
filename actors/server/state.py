"""The per-app state every route reads (``app.state.server``)."""

from __future__ import annotations

import attrs

from actors.server.changes import ChangeHub
from actors.server.clock import Clock
from actors.server.db import Database
from actors.server.settings import ServerSettings

__all__ = ["SERVER_VERSION", "ServerState"]

SERVER_VERSION = "0.1.0"


@attrs.frozen
class ServerState:
    """Settings, database, long-poll hub and clock of one server app."""

    settings: ServerSettings
    db: Database
    hub: ChangeHub
    clock: Clock
