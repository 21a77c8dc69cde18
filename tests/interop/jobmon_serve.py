"""Serve the real Jobmon server (PyPI 3.4.x) on loopback, for actorswarm's interop tier.

Who runs it: ``tests/interop/jobmon_ref.py`` starts this file with the reference virtual
environment's interpreter (never with the repo's own venv: Jobmon is installed only there)::

    <reference venv>/bin/python jobmon_serve.py PORT_FILE [PORT]

It binds ``127.0.0.1:PORT`` (``0`` or absent: a free port chosen by the kernel, so there is no
race between picking a port and binding it), writes the bound port number to ``PORT_FILE``
(atomically, via a rename) and then serves until SIGTERM/SIGINT. The database and server settings
come from the ``JOBMON__...`` environment variables the launcher sets.

Three adaptations of the stock 3.4.8.dev3 server, all made here and nowhere else:

1. The v3 router requires an OIDC session user (``routes.utils.get_user`` answers 403 without
   one). We replace that function with one returning a fixed local user before the app module
   is imported (the app binds the dependency at import time). ``set_resume`` and
   ``update_max_concurrently_running`` compare the workflow run's ``user`` (the client's OS
   user) with the part of this user's e-mail before ``@``, so the name defaults to the OS user
   and can be set with ``JOBMON_REF_USER``.
2. ``POST /array/{id}/transition_to_killed`` exists only on the v1/v2 routers of that server,
   but the 3.4.8 distributor calls it under ``/api/v3`` when it kills KILL_SELF batches. We
   mount the same handler under ``/api/v3`` as well.
3. ``jobmon.server.web.error_log_clustering`` calls ``nltk.download("punkt")`` at import time,
   an outbound request to the internet (and a delay) on every start. The data is never used
   by the routes we exercise, so ``nltk.download`` is replaced by a stub that downloads nothing.
"""

from __future__ import annotations

import getpass
import os
import socket
import sys
from pathlib import Path
from typing import Any

from starlette.requests import Request

__all__ = ["main"]

LOG_LEVEL_ENV = "JOBMON_REF_LOG_LEVEL"
USER_ENV = "JOBMON_REF_USER"
KILLED_ROUTE = "/api/v3/array/{array_id}/transition_to_killed"


def _local_user() -> dict[str, Any]:
    """The user every request is attributed to (shape of Jobmon's ``User`` TypedDict)."""
    name = os.environ.get(USER_ENV) or getpass.getuser()
    claims: dict[str, Any] = {key: "" for key in ("nonce", "at_hash", "sid", "aud", "iss",
                                                   "family_name")}
    claims.update(sub=name, email=f"{name}@localhost", preferred_username=name, name=name,
                  given_name=name, groups=[], updated_at=0, exp=0, iat=0)
    return claims


def _get_user(request: Request) -> Any:
    """Stand-in for ``routes.utils.get_user``: FastAPI injects ``request`` (hence the type)."""
    import jobmon.server.web.routes.utils as route_utils

    return route_utils.to_user_dict(_local_user())


def _patch_auth() -> None:
    """Replace the OIDC session lookup; must run before ``jobmon.server.web.api`` is imported."""
    import jobmon.server.web.routes.utils as route_utils

    route_utils.get_user = _get_user


def _no_downloads(*args: Any, **kwargs: Any) -> bool:
    return False


def _block_nltk_download() -> None:
    """Keep the server from fetching NLTK data from the internet when its routes import."""
    try:
        import nltk
    except ImportError:
        return
    nltk.download = _no_downloads


def _add_killed_alias(app: Any) -> None:
    """Expose the v2 ``transition_to_killed`` handler under ``/api/v3`` if it is missing."""
    try:
        from jobmon.server.web.routes.v2.fsm.array import transition_to_killed
    except ImportError:  # a server version without the v2 handler: nothing to alias
        return
    paths = {getattr(route, "path", "") for route in app.routes}
    if KILLED_ROUTE not in paths:
        app.add_api_route(KILLED_ROUTE, transition_to_killed, methods=["POST"])


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _write_port(port_file: Path, port: int) -> None:
    tmp = port_file.with_name(port_file.name + ".tmp")
    tmp.write_text(f"{port}\n", encoding="ascii")
    os.replace(tmp, port_file)


def main(argv: list[str]) -> int:
    """Patch, build the app, bind, announce the port, serve. Returns the process exit code."""
    if len(argv) not in (1, 2):
        print("usage: jobmon_serve.py PORT_FILE [PORT]", file=sys.stderr)
        return 2
    port_file = Path(argv[0])
    port = int(argv[1]) if len(argv) == 2 else 0
    _patch_auth()
    _block_nltk_download()

    import uvicorn
    from jobmon.server.web.api import get_app

    app = get_app(versions=["v3", "v2"])
    _add_killed_alias(app)
    sock = _bind(port)
    _write_port(port_file, sock.getsockname()[1])
    config = uvicorn.Config(app, log_level=os.environ.get(LOG_LEVEL_ENV, "warning"))
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
