"""Errors of the state server (extends the tree of ``actors.errors``).

Each request error knows its HTTP status and renders as the JSON body of docs/server-api.md::

    ActorswarmError
    ├── ConfigError
    │   └── ServerConfigError                 bad server settings (e.g. a public host, no token)
    └── RequestError                          a request the server refuses; nothing changed
        ├── InvalidInput (ValueError)   422   malformed body/parameter, bad reference in it
        ├── UnknownId (LookupError)     404   an id in the path or body does not exist
        ├── Conflict                    409   the request clashes with the current state
        ├── AuthError                   401   missing or wrong bearer token
        └── Unavailable                 503   the database is unreachable, or still contended
                                              after the server's own retries: retry later
"""

from __future__ import annotations

from typing import Any

from actors.errors import ActorswarmError, ConfigError

__all__ = [
    "AuthError",
    "Conflict",
    "InvalidInput",
    "RequestError",
    "ServerConfigError",
    "Unavailable",
    "UnknownId",
]


class ServerConfigError(ConfigError):
    """The server cannot start with these settings; the message names the setting."""


class RequestError(ActorswarmError):
    """A refused request: ``status_code``, a sentence, the ``location`` (field path or id)."""

    status_code = 400

    def __init__(self, message: str, *, location: str = "", extra: dict[str, Any] | None = None
                 ) -> None:
        self.message = message
        self.location = location
        self.extra = dict(extra or {})
        super().__init__(message)

    def to_body(self) -> dict[str, Any]:
        """The JSON error body every 4xx answer carries."""
        error: dict[str, Any] = {"type": type(self).__name__, "message": self.message,
                                 "location": self.location}
        error.update(self.extra)
        return {"detail": self.message, "error": error}


class InvalidInput(RequestError, ValueError):
    """A body or parameter is malformed or refers to something inconsistent (422)."""

    status_code = 422


class UnknownId(RequestError, LookupError):
    """An id (workflow, run, array, task, instance, cluster, queue...) does not exist (404)."""

    status_code = 404


class Conflict(RequestError):
    """The request clashes with the current state, e.g. an active run exists (409)."""

    status_code = 409


class AuthError(RequestError):
    """The server requires ``Authorization: Bearer TOKEN`` and the request lacks it (401)."""

    status_code = 401


class Unavailable(RequestError):
    """The database cannot serve the request now (down, pool exhausted, or a write still
    conflicting after the server's retries); nothing changed, a retry may succeed (503)."""

    status_code = 503
