"""``create_app(settings)``: the state server's FastAPI application.

HTTP clients (swarm gateway, distributor, worker, CLI) → ``/api/v3/...`` routes → ``ops``
functions inside ``Database`` transactions. Every refusal is the JSON error body of
docs/server-api.md; FastAPI's own 422 and 404 answers are rewritten into that format.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from actors.server.changes import ChangeHub
from actors.server.clock import Clock, SystemClock
from actors.server.db import Database, PoolSettings
from actors.server.errors import (
    AuthError,
    Conflict,
    InvalidInput,
    RequestError,
    ServerConfigError,
    Unavailable,
)
from actors.server.limits import BodyLimit
from actors.server.ops.clusters import seed_clusters
from actors.server.routes import api_router
from actors.server.settings import ServerSettings
from actors.server.state import SERVER_VERSION, ServerState

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v3"
log = logging.getLogger(__name__)


def create_app(settings: ServerSettings, clock: Clock | None = None) -> FastAPI:
    """Open the database (migrated to the schema head), seed the clusters, listen for other
    server processes' changes (PostgreSQL), and build the app."""
    hub = ChangeHub()
    clk = clock if clock is not None else SystemClock()
    db = Database(settings.db_url, clk, on_commit=hub.bump,
                  pool=PoolSettings(size=settings.db_pool_size,
                                    overflow=settings.db_max_overflow))
    try:
        db.migrate()
        db.transact(seed_clusters)
        db.listen(hub.bump, hub.bump_all)
    except OperationalError as exc:
        db.dispose()
        raise ServerConfigError(f"--db: the database is not usable: {exc.orig}") from exc
    except BaseException:
        db.dispose()
        raise
    app = FastAPI(title="actorswarm state server", version=SERVER_VERSION,
                  description="Jobmon v3 compatible state server (see docs/server-api.md).")
    app.state.server = ServerState(settings=settings, db=db, hub=hub, clock=clk)
    app.include_router(api_router, prefix=API_PREFIX)
    _install_error_handlers(app)
    if settings.token is not None:
        _install_auth(app, settings.token)
    app.add_middleware(BodyLimit)  # outermost of ours: before the token check reads anything
    return app


def _error(exc: RequestError) -> JSONResponse:
    return JSONResponse(status_code=exc.status_code, content=exc.to_body())


class RouteNotFound(RequestError):
    status_code = 404


class MethodNotAllowed(RequestError):
    status_code = 405


class BadRequest(RequestError):
    status_code = 400


def _describe(errors: list[Any]) -> tuple[str, str]:
    """A sentence and a location from pydantic's error list."""
    parts = []
    first_loc = ""
    for err in errors[:5]:
        if err.get("type") == "json_invalid":
            reason = (err.get("ctx") or {}).get("error", "JSON decode error")
            first_loc = first_loc or "body"
            parts.append(f"body is not valid JSON ({reason})")
            continue
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        first_loc = first_loc or loc
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid request: " + "; ".join(parts) + more, first_loc


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestError)
    async def _request_error(_req: Request, exc: RequestError) -> JSONResponse:
        return _error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        message, location = _describe(list(exc.errors()))
        body = {"detail": message, "error": {"type": "InvalidInput", "message": message,
                                             "location": location}}
        return JSONResponse(status_code=422, content=body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(req: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return _error(RouteNotFound(f"no route {req.url.path}", location=req.url.path))
        if exc.status_code == 405:
            return _error(MethodNotAllowed(f"method {req.method} is not allowed on "
                                            f"{req.url.path}", location=req.url.path))
        return _error(BadRequest(str(exc.detail), location=req.url.path))

    @app.exception_handler(IntegrityError)
    async def _integrity(req: Request, exc: IntegrityError) -> JSONResponse:
        # a safety net: validation should have refused the request; the transaction was
        # rolled back, so nothing changed
        log.warning("integrity error in %s %s: %s", req.method, req.url.path, exc.orig)
        return _error(Conflict(f"the request conflicts with stored data in {req.url.path}",
                               location=req.url.path))

    @app.exception_handler(DataError)
    async def _data(req: Request, exc: DataError) -> JSONResponse:
        # a safety net: a value the database cannot store (validation should have refused it)
        log.warning("data error in %s %s: %s", req.method, req.url.path, exc.orig)
        return _error(InvalidInput(f"a value in the request cannot be stored "
                                   f"({type(exc.orig).__name__}) in {req.url.path}",
                                   location=req.url.path))

    @app.exception_handler(OperationalError)
    async def _db_down(req: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database error in %s %s: %s", req.method, req.url.path, exc.orig)
        return _error(Unavailable(f"the database is unavailable ({type(exc.orig).__name__}); "
                                  "retry later", location="database"))

    @app.exception_handler(PoolTimeout)
    async def _pool(req: Request, exc: PoolTimeout) -> JSONResponse:
        log.warning("no free database connection for %s %s", req.method, req.url.path)
        return _error(Unavailable("the server has no free database connection; retry later",
                                  location="database"))

    @app.exception_handler(Exception)
    async def _unexpected(req: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error in %s %s", req.method, req.url.path)
        message = f"internal server error in {req.url.path}: {type(exc).__name__}"
        return JSONResponse(status_code=500, content={"detail": message, "error": {
            "type": "InternalError", "message": message, "location": req.url.path}})


def _install_auth(app: FastAPI, token: str) -> None:
    expected = f"Bearer {token}".encode()

    @app.middleware("http")
    async def _check_token(request: Request,
                           call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return _error(AuthError("missing or wrong bearer token (send 'Authorization: "
                                    "Bearer TOKEN')", location="Authorization"))
        return await call_next(request)
