"""Log records of the libraries (gateway retries, the composition root) on the CLI's stderr.

Only the process entry (``python -m actors.main``) installs this; in-process callers of
``actors.cli.main`` keep their own logging. Records are written as ``actorswarm: MESSAGE``
to whatever ``sys.stderr`` is at that moment, so a live progress display that redirects
stderr keeps them above its bar.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

__all__ = ["configure_logging", "level_for"]


class _CurrentStderrHandler(logging.StreamHandler):
    """A StreamHandler that always writes to the current ``sys.stderr``."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def level_for(verbosity: int) -> int:
    """-q: ERROR, default: WARNING, -v: INFO, -vv: DEBUG."""
    if verbosity < 0:
        return logging.ERROR
    return {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)


def configure_logging(verbosity: int) -> None:
    """Send log records at the chosen level to stderr (replacing earlier root handlers)."""
    handler = _CurrentStderrHandler()
    handler.setFormatter(logging.Formatter("actorswarm: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level_for(verbosity))
