"""The actorswarm state server: a Jobmon v3 compatible HTTP API over SQLAlchemy Core.

::

    create_app(settings) -> FastAPI        the app (routes under /api/v3)
    ServerSettings                         db URL, host, port, token, state dir, workers
    python -m actors.server ...            the process (prints ``READY http://host:port``)

Databases: SQLite (default; one server process) or PostgreSQL through psycopg 3 (pooled;
``--workers N`` processes; concurrent writers made safe by row locks, conditional updates,
unique keys and retried transactions; LISTEN/NOTIFY for long polls across processes). The
schema comes from Alembic migrations (``actors.server.migrations``) on both.

Layers: ``routes`` (HTTP, pydantic ``models``) → ``ops`` (SQL, set-based) → ``fsm`` (pure
status machines) and ``schema``/``db`` (tables, transactions). Contract: docs/server-api.md.
"""

from actors.server.app import API_PREFIX, create_app
from actors.server.errors import (
    AuthError,
    Conflict,
    InvalidInput,
    RequestError,
    ServerConfigError,
    Unavailable,
    UnknownId,
)
from actors.server.settings import ServerSettings

__all__ = [
    "API_PREFIX",
    "AuthError",
    "Conflict",
    "InvalidInput",
    "RequestError",
    "ServerConfigError",
    "ServerSettings",
    "Unavailable",
    "UnknownId",
    "create_app",
]
