"""``python -m actors.main``: the parser, the dispatch, and exit statuses for errors.

``main(argv)`` parses the command line (argparse exits 2 on bad usage), calls the subcommand's
handler with a ``CliContext`` and returns its exit status. Errors that reach this level are
printed as one line on stderr and mapped by ``exit_code_for_error``:

- ``UsageError``, ``ConfigError`` (incl. ``WorkflowFileError``): 2
- ``RunTimeout``: 3; ``DistributorDied``: 4; ``KeyboardInterrupt``: 130
- any other ``ActorswarmError`` (server unreachable or refusing, runtime failures): 1

A finished run's own status comes from ``RunOutcome.exit_code`` (0 D, 1 otherwise, 3 timeout,
4 distributor died, 130 interrupted).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from actors.cli import concurrency_cmd, logs_cmd, run_cmd, serve_cmd, status_cmd
from actors.cli.context import CliContext
from actors.cli.errors import UsageError
from actors.cli.logging_setup import configure_logging
from actors.errors import (
    ActorswarmError,
    ConfigError,
    DistributorDied,
    GatewayError,
    RunTimeout,
)
from actors.gateway import ActiveRunExists

__all__ = ["EXIT_INTERRUPTED", "EXIT_USAGE", "PROG", "build_parser", "exit_code_for_error",
           "main"]

PROG = "python -m actors.main"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: run, resume, status, logs, concurrency, serve."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="actorswarm: run Jobmon-compatible workflows of command-line "
                               "tasks with a multi-process actor swarm.")
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument("-v", "--verbose", action="count", default=0,
                       help="more log lines (-vv: debug)")
    noise.add_argument("-q", "--quiet", action="store_true", help="only errors in the log")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (run_cmd, status_cmd, logs_cmd, concurrency_cmd, serve_cmd):
        module.register(sub)
    return parser


def exit_code_for_error(exc: BaseException) -> int:
    """The exit status for an error that ended the command (see the module docstring)."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, ConfigError):
        return EXIT_USAGE
    if isinstance(exc, RunTimeout):
        return 3
    if isinstance(exc, DistributorDied):
        return 4
    return 1


def _one_line(text: str) -> str:
    return " ".join(text.split())


def error_line(exc: BaseException, command: str) -> str:
    """The one line printed for an error that ended ``command``."""
    if isinstance(exc, UsageError):
        return f"{PROG} {command}: error: {_one_line(str(exc))}"
    if isinstance(exc, ConfigError):
        return f"actorswarm {command}: error: {_one_line(str(exc))}"
    if isinstance(exc, ActiveRunExists):
        return (f"actorswarm {command}: the workflow has an active run "
                f"{exc.active_workflow_run_id} (status {exc.status}); use 'resume' to take it "
                f"over")
    if isinstance(exc, KeyboardInterrupt):
        return f"actorswarm {command}: interrupted"
    where = "server error: " if isinstance(exc, GatewayError) else ""
    return f"actorswarm {command}: {where}{type(exc).__name__}: {_one_line(str(exc))}"


def main(argv: Sequence[str] | None = None, ctx: CliContext | None = None, *,
         setup_logging: bool = False) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the subcommand, return the exit status.

    ``setup_logging`` (the process entry only) sends log records to stderr at the level of
    ``-q``/``-v``.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or bad usage (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if setup_logging:
        configure_logging(-1 if args.quiet else args.verbose)
    ctx = ctx or CliContext.from_process()
    try:
        return int(args.handler(args, ctx))
    except (ActorswarmError, KeyboardInterrupt) as exc:
        ctx.err(error_line(exc, args.command))
        return exit_code_for_error(exc)
