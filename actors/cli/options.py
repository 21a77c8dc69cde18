"""Option types and option groups shared by several subcommands (pure argparse, no I/O).

Each ``type=`` converter raises ``argparse.ArgumentTypeError`` with a message that says what
was expected, so argparse prints ``argument --timeout: must be a number > 0, got 'x'`` and
exits 2.
"""

from __future__ import annotations

import argparse
import math
import re

__all__ = [
    "add_server_option",
    "add_token_option",
    "add_workflow_id_option",
    "non_negative_int",
    "port",
    "positive_float",
    "positive_int",
    "regex",
    "server_url",
]

_API_SUFFIX = "/api/v3"


def positive_float(text: str) -> float:
    """A finite number > 0 (seconds, intervals)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (ids, sizes)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0 (limits: 0 pauses a workflow)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def port(text: str) -> int:
    """A TCP port number, 0 to 65535 (0 picks a free port)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number 0-65535, got {text!r}")
    return value


def server_url(text: str) -> str:
    """The server root ``http(s)://host:port``; a trailing ``/`` or ``/api/v3`` is dropped."""
    url = text.strip().rstrip("/")
    url = url.removesuffix(_API_SUFFIX)
    if not re.fullmatch(r"https?://[^/\s]+(/[^\s]*)?", url):
        raise argparse.ArgumentTypeError(
            f"must be the server's root URL like http://127.0.0.1:8000, got {text!r}")
    return url


def regex(text: str) -> str:
    """A regular expression (checked by compiling it)."""
    try:
        re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"not a valid regular expression {text!r}: {exc}"
                                         ) from None
    return text


def add_server_option(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """``--server URL`` (the server root; the gateway adds /api/v3)."""
    parser.add_argument("--server", type=server_url, required=required, metavar="URL",
                        help="state server root URL, e.g. http://127.0.0.1:8000")


def add_token_option(parser: argparse.ArgumentParser) -> None:
    """``--token T`` (default ``$ACTORSWARM_TOKEN``)."""
    parser.add_argument("--token", default=None,
                        help="bearer token for the server (default: $ACTORSWARM_TOKEN)")


def add_workflow_id_option(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """``--workflow-id N``."""
    parser.add_argument("--workflow-id", type=positive_int, required=required, metavar="N",
                        help="the workflow's id on the server")
