"""Entry point: ``python -m actors.server --db URL --host H --port P [--token T]
[--state-dir DIR] [--workers N]``.

Binds the socket itself (port 0 picks a free port), serves the app with uvicorn, and prints
``READY http://host:port`` on stdout once the server answers. Supervisors wait for that line.
Exit status 2 for bad settings (the message names the option), 0 after SIGINT/SIGTERM.

``--workers N`` (PostgreSQL only): this process migrates and seeds the database, then
``actors.server.workers.WorkerPool`` runs N worker interpreters (``python -m
actors.server.worker``) on the shared socket (each builds its app with ``worker_app`` from
settings passed as JSON in the environment; no pickle, no multiprocessing), restarts a
worker that dies, and stops them all on SIGINT/SIGTERM. READY is printed once a worker
answers ``/health`` through the socket.

Shutdown: SIGINT/SIGTERM first close the app's long-poll hub (``ChangeHub.close``), so every
``task_status_updates`` long poll answers at once instead of holding the shutdown until its
``wait`` ends (even when its client is long gone); uvicorn then gets at most
``GRACEFUL_SHUTDOWN`` seconds for requests still in flight before it cancels them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import FrameType

import uvicorn
from fastapi import FastAPI

from actors.server.app import API_PREFIX, create_app
from actors.server.errors import ServerConfigError
from actors.server.settings import MAX_WORKERS, ServerSettings
from actors.server.workers import WorkerPool, stop_on_signals, worker_argv

__all__ = ["GRACEFUL_SHUTDOWN", "LOG_LEVELS", "WORKER_SETTINGS_ENV", "ExitingServer",
           "build_parser", "main", "url_of", "worker_app"]

WORKER_SETTINGS_ENV = "ACTORSWARM_SERVER_WORKER_SETTINGS"
#: Seconds uvicorn waits for requests in flight at shutdown before it cancels them.
GRACEFUL_SHUTDOWN = 3
_READY_TIMEOUT = 120.0
_EXIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def build_parser() -> argparse.ArgumentParser:
    """The command line of the server process."""
    p = argparse.ArgumentParser(prog="python -m actors.server",
                                description="actorswarm state server (Jobmon v3 compatible)")
    p.add_argument("--db", default=None,
                   help="database URL: sqlite:///FILE or postgresql://USER@HOST/DB "
                        "(default: sqlite file server.sqlite in the state dir)")
    p.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    p.add_argument("--token", default=None,
                   help="bearer token clients must send (default: $ACTORSWARM_TOKEN); "
                        "required for a non-loopback host")
    p.add_argument("--state-dir", default=None, help="directory for the default database")
    p.add_argument("--workers", type=int, default=1,
                   help=f"server processes sharing the socket (1-{MAX_WORKERS}; more than "
                        "one needs PostgreSQL)")
    p.add_argument("--db-pool-size", type=int, default=5,
                   help="database connections each server process keeps open (PostgreSQL)")
    p.add_argument("--db-max-overflow", type=int, default=10,
                   help="extra connections each server process may open under load")
    p.add_argument("--log-level", default="warning",
                   choices=LOG_LEVELS)
    return p


def url_of(host: str, port: int) -> str:
    """``http://host:port`` (IPv6 hosts in brackets)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


def worker_app() -> FastAPI:
    """The app of one server worker process (``python -m actors.server.worker``)."""
    return create_app(ServerSettings.from_json(os.environ[WORKER_SETTINGS_ENV]))


class ExitingServer(uvicorn.Server):
    """uvicorn that announces readiness with the real port (``ready_line``, if set), calls
    ``on_exit`` first on SIGINT/SIGTERM and exits 0 (uvicorn would re-raise the signal
    after its graceful shutdown)."""

    ready_line: str | None = None
    #: called (from the signal handler) when SIGINT/SIGTERM arrive, before the shutdown
    on_exit: Callable[[], None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.on_exit is not None:
            self.on_exit()
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in _EXIT_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.ready_line is not None:
            print(self.ready_line, flush=True)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on accepted sockets whose protocol
    # says TCP; with protocol 0 Nagle's algorithm held response bodies back ~40 ms
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _announce_when_healthy(sock: socket.socket, settings: ServerSettings, ready_line: str,
                           stop: threading.Event, announced: threading.Event) -> None:
    """Print ``ready_line`` once some worker answers ``/health`` through ``sock``."""
    import httpx  # here: only ``--workers N`` needs a client (~50 ms of every start)

    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if sock.family == socket.AF_INET else "::1"
    headers = {"Authorization": f"Bearer {settings.token}"} if settings.token else {}
    deadline = time.monotonic() + _READY_TIMEOUT
    with httpx.Client(base_url=url_of(host, port) + API_PREFIX, timeout=5,
                      headers=headers) as http:
        while not stop.is_set() and time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if http.get("/health").status_code == 200:
                    print(ready_line, flush=True)
                    announced.set()
                    return
            stop.wait(0.1)


def _serve_workers(settings: ServerSettings, sock: socket.socket, ready_line: str,
                   log_level: str) -> int:
    fd = sock.fileno()
    pool = WorkerPool(settings.workers, lambda _index: worker_argv(fd, log_level),
                      env={**os.environ, WORKER_SETTINGS_ENV: settings.to_json()},
                      pass_fds=(fd,), grace=GRACEFUL_SHUTDOWN + 2)
    stop = threading.Event()
    stop_on_signals(stop)
    announced = threading.Event()
    watcher = threading.Thread(target=_announce_when_healthy, daemon=True,
                               args=(sock, settings, ready_line, stop, announced))
    watcher.start()
    code = pool.run(stop)
    stop.set()
    watcher.join(timeout=10)
    if not announced.is_set():
        print("actorswarm server: no server worker process became ready", file=sys.stderr)
        return 1
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until SIGINT/SIGTERM."""
    args = build_parser().parse_args(argv)
    try:
        settings = ServerSettings.from_options(
            db=args.db, host=args.host, port=args.port, token=args.token,
            state_dir=args.state_dir, workers=args.workers, db_pool_size=args.db_pool_size,
            db_max_overflow=args.db_max_overflow)
        app = create_app(settings)  # with --workers N: migrate and seed once, here
    except ServerConfigError as exc:
        print(f"actorswarm server: {exc}", file=sys.stderr)
        return 2
    try:
        sock = _bind(settings.host, settings.port)
    except OSError as exc:
        app.state.server.db.dispose()
        print(f"actorswarm server: --host/--port: cannot listen on {settings.host}:"
              f"{settings.port}: {exc.strerror}", file=sys.stderr)
        return 2
    ready_line = f"READY {url_of(settings.host, sock.getsockname()[1])}"
    if settings.workers > 1:
        app.state.server.db.dispose()
        try:
            return _serve_workers(settings, sock, ready_line, args.log_level)
        finally:
            sock.close()
    config = uvicorn.Config(app, log_level=args.log_level, access_log=False,
                            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN, lifespan="off")
    server = ExitingServer(config)
    server.ready_line = ready_line
    server.on_exit = app.state.server.hub.close_soon
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        app.state.server.db.dispose()
    return 0
