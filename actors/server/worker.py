"""``python -m actors.server.worker --fd F [--log-level L]``: one server worker process.

Started by ``actors.server.workers.WorkerPool`` (``--workers N``), never by hand: it serves
the app built from the settings in ``$ACTORSWARM_SERVER_WORKER_SETTINGS`` (JSON) on the
listening socket it inherited as file descriptor ``F``. SIGINT/SIGTERM wake its long polls
and stop it (uvicorn's graceful shutdown, bounded); so does EOF on stdin (the pool is gone).
Exit status 0 after a stop, 2 for bad settings.
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Sequence

import uvicorn

from actors.server.errors import ServerConfigError
from actors.server.serve import GRACEFUL_SHUTDOWN, LOG_LEVELS, ExitingServer, worker_app
from actors.server.workers import watch_parent

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actors.server.worker")
    parser.add_argument("--fd", type=int, required=True, help="the inherited listening socket")
    parser.add_argument("--log-level", default="warning", choices=LOG_LEVELS)
    args = parser.parse_args(argv)
    try:
        app = worker_app()
    except ServerConfigError as exc:
        print(f"actorswarm server worker: {exc}", file=sys.stderr)
        return 2
    sock = socket.socket(fileno=args.fd)
    config = uvicorn.Config(app, log_level=args.log_level, access_log=False,
                            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN, lifespan="off")
    server = ExitingServer(config)
    server.on_exit = app.state.server.hub.close_soon

    def parent_gone() -> None:
        app.state.server.hub.close_soon()
        server.should_exit = True

    watch_parent(parent_gone)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        app.state.server.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
