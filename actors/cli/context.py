"""What a subcommand may touch: its output streams, the environment and a monotonic clock.

``actors.cli.main`` builds one ``CliContext`` from the real process (or a test passes its own)
and hands it to the subcommand it dispatches to. Subcommands never read ``sys.stdout`` or
``os.environ`` directly, so tests can run them in-process with captured streams.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

import attrs

from actors.worker.env import TOKEN_VARIABLE

__all__ = ["TOKEN_VARIABLE", "CliContext"]


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except ValueError:  # a closed stream
        return False


@attrs.frozen
class CliContext:
    """Streams, environment and clock of one command-line invocation."""

    stdout: TextIO
    stderr: TextIO
    environ: Mapping[str, str]
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def from_process(cls) -> CliContext:
        """The real process: ``sys.stdout``, ``sys.stderr``, ``os.environ``, monotonic time."""
        return cls(stdout=sys.stdout, stderr=sys.stderr, environ=os.environ)

    def token(self, given: str | None) -> str | None:
        """``--token`` if given, else ``$ACTORSWARM_TOKEN`` (None when neither is set)."""
        if given:
            return given
        return self.environ.get(TOKEN_VARIABLE) or None

    @property
    def stderr_is_terminal(self) -> bool:
        """Whether stderr (where progress goes) is a terminal."""
        return _is_tty(self.stderr)

    @property
    def stdout_is_terminal(self) -> bool:
        """Whether stdout (where tables go) is a terminal."""
        return _is_tty(self.stdout)

    def err(self, line: str) -> None:
        """Write one line to stderr and flush it."""
        self.stderr.write(line + "\n")
        self.stderr.flush()
