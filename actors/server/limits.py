"""The request body limit of the state server: an ASGI middleware in front of every route.

Any HTTP client → ``BodyLimit`` → the app. Starlette keeps a request body in memory while it
reads it, so without a limit one large (or endless) body could take all the server's memory.
A body declared larger than ``MAX_BODY_BYTES`` (``Content-Length``) is answered 413 at once,
unread; a body that turns out larger while it streams (chunked) is cut there: the app sees
the client gone, and its answer is replaced by the 413. The answer is the JSON error body of
docs/server-api.md with type ``PayloadTooLarge``; nothing is written to the database.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from actors.server.errors import InvalidInput

__all__ = ["MAX_BODY_BYTES", "BodyLimit", "PayloadTooLarge"]

#: Largest request body the server reads (the largest actor-protocol frame is the same).
MAX_BODY_BYTES = 64 * 1024 * 1024


class PayloadTooLarge(InvalidInput):
    """The request body exceeds the server's limit (413); nothing was read past it."""

    status_code = 413


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # uvicorn refuses such requests before they reach us
    return None


async def _refuse(send: Send, limit: int) -> None:
    error = PayloadTooLarge(f"the request body is larger than the server's limit of {limit} "
                            f"bytes", location="body")
    body = json.dumps(error.to_body()).encode()
    await send({"type": "http.response.start", "status": error.status_code,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(send, self.max_bytes)
            return
        seen = 0
        over = False
        started = False

        async def limited_receive() -> Message:
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    over = True  # stop reading here: to the app, the client is gone
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the app's answer to a cut body: ours replaces it
            started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:  # only a cut body's aftermath is answered here
            if not over or started:
                raise
        if over and not started:
            await _refuse(send, self.max_bytes)

    def __repr__(self) -> str:
        return f"BodyLimit(max_bytes={self.max_bytes})"
