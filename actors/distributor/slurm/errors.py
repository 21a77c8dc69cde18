"""Errors of the Slurm backend (extends ``actors.distributor.errors``).

::

    BackendError (actors.distributor.errors)
    └── SlurmError                         the Slurm backend
        ├── SlurmCommandError              a Slurm command failed, was missing or timed out:
        │                                  names the command, its exit code and its stderr
        └── SlurmOutputError               a Slurm command answered something unreadable:
                                           names the command and the offending text
"""

from __future__ import annotations

from collections.abc import Sequence

from actors.distributor.errors import BackendError

__all__ = ["SlurmCommandError", "SlurmError", "SlurmOutputError"]


class SlurmError(BackendError):
    """Base class of the Slurm backend's errors."""


class SlurmCommandError(SlurmError):
    """``argv`` failed: ``returncode`` (None: not started or timed out) and ``stderr``."""

    def __init__(self, argv: Sequence[str], problem: str, *, returncode: int | None = None,
                 stderr: str = "") -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr
        detail = f": {stderr.strip()[-500:]}" if stderr.strip() else ""
        super().__init__(f"slurm backend: {' '.join(self.argv[:3])}: {problem}{detail}")


class SlurmOutputError(SlurmError):
    """A Slurm command's output could not be read; ``command`` and ``text`` locate it."""

    def __init__(self, command: str, problem: str, text: str) -> None:
        self.command = command
        self.text = text
        super().__init__(f"slurm backend: {command}: {problem}: {text[:200]!r}")
