"""``serve``: run the state server in the foreground (delegates to ``actors.server``).

The options are handed to the server's own entry point (``actors.server.serve.main``), which
prints ``READY http://host:port`` once it listens and exits 0 on SIGINT/SIGTERM, 2 on bad
settings.
"""

from __future__ import annotations

import argparse
from typing import Any

from actors.cli.context import CliContext
from actors.cli.options import port

__all__ = ["execute", "register", "server_argv"]


def register(subparsers: Any) -> None:
    """Add the ``serve`` subcommand."""
    p = subparsers.add_parser("serve", help="run the state server in the foreground",
                              description="Run the Jobmon-compatible state server until "
                                          "SIGINT/SIGTERM; prints READY http://HOST:PORT.")
    p.add_argument("--state-dir", default=None, metavar="DIR",
                   help="directory of the default SQLite database (default ./.actorswarm)")
    p.add_argument("--db", default=None, metavar="URL", help="database URL")
    p.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=None, help="TCP port (default 0: a free one)")
    p.add_argument("--token", default=None,
                   help="token clients must send (default $ACTORSWARM_TOKEN); required for a "
                        "non-loopback host")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="server processes sharing the socket (more than one needs PostgreSQL)")
    p.add_argument("--db-pool-size", type=int, default=None, metavar="N",
                   help="database connections each server process keeps open (PostgreSQL)")
    p.add_argument("--db-max-overflow", type=int, default=None, metavar="N",
                   help="extra connections each server process may open under load")
    p.add_argument("--log-level", default=None,
                   choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(handler=execute)


def server_argv(args: argparse.Namespace) -> list[str]:
    """The server's command line for the given options (unset ones keep its defaults)."""
    argv: list[str] = []
    for option in ("state_dir", "db", "host", "port", "token", "workers", "db_pool_size",
                   "db_max_overflow", "log_level"):
        value = getattr(args, option)
        if value is not None:
            argv += [f"--{option.replace('_', '-')}", str(value)]
    return argv


def execute(args: argparse.Namespace, ctx: CliContext) -> int:
    """Serve until stopped; the server's exit status."""
    from actors.server.serve import main as serve_main
    return serve_main(server_argv(args))
