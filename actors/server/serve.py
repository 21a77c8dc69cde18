"""Entry point: ``python -m actors.server --db URL --host H --port P [--token T]
[--state-dir DIR]``.

Binds the socket itself (port 0 picks a free port), serves the app with uvicorn, and prints
``READY http://host:port`` on stdout once uvicorn listens. Supervisors wait for that line.
Exit status 2 for bad settings (the message names the option), 0 after SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sys
import threading
from collections.abc import Iterator, Sequence

import uvicorn

from actors.server.app import create_app
from actors.server.errors import ServerConfigError
from actors.server.settings import ServerSettings

__all__ = ["build_parser", "main", "url_of"]


def build_parser() -> argparse.ArgumentParser:
    """The command line of the server process."""
    p = argparse.ArgumentParser(prog="python -m actors.server",
                                description="actorswarm state server (Jobmon v3 compatible)")
    p.add_argument("--db", default=None,
                   help="database URL (default: sqlite file server.sqlite in the state dir)")
    p.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    p.add_argument("--token", default=None,
                   help="bearer token clients must send (default: $ACTORSWARM_TOKEN); "
                        "required for a non-loopback host")
    p.add_argument("--state-dir", default=None, help="directory for the default database")
    p.add_argument("--log-level", default="warning",
                   choices=["critical", "error", "warning", "info", "debug"])
    return p


def url_of(host: str, port: int) -> str:
    """``http://host:port`` (IPv6 hosts in brackets)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


class _Server(uvicorn.Server):
    """uvicorn that announces readiness with the real port and exits 0 on SIGINT/SIGTERM
    (uvicorn would re-raise the signal after its graceful shutdown)."""

    ready_line = ""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        originals = {sig: signal.signal(sig, self.handle_exit)
                     for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print(self.ready_line, flush=True)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until SIGINT/SIGTERM."""
    args = build_parser().parse_args(argv)
    try:
        settings = ServerSettings.from_options(db=args.db, host=args.host, port=args.port,
                                               token=args.token, state_dir=args.state_dir)
        app = create_app(settings)
    except ServerConfigError as exc:
        print(f"actorswarm server: {exc}", file=sys.stderr)
        return 2
    try:
        sock = _bind(settings.host, settings.port)
    except OSError as exc:
        print(f"actorswarm server: --host/--port: cannot listen on {settings.host}:"
              f"{settings.port}: {exc.strerror}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level=args.log_level, access_log=False,
                            timeout_graceful_shutdown=5, lifespan="off")
    server = _Server(config)
    server.ready_line = f"READY {url_of(settings.host, port)}"
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        app.state.server.db.dispose()
    return 0
