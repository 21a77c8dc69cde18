"""The command line as a real subprocess: workflow files, ``run``/``resume``, their processes.

``Cli.start`` runs ``python -m actors.main ...`` in a session of its own (so a test can SIGKILL
the root process alone, the way a dead terminal or an OOM kill would), with its output in files
of the test. Only PIDs started here, or found among their descendants, are ever signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil
import tomli_w

__all__ = ["Cli", "toml_workflow"]


def toml_workflow(path: Path, name: str, tasks: Sequence[tuple[str, str, Sequence[str]]], *,
                  limit: int = 100, max_attempts: int = 3) -> Path:
    """Write a workflow file of ``(name, command, upstream)`` tasks; its path."""
    doc = {
        "workflow": {"name": name, "max_concurrently_running": limit,
                     "default_max_attempts": max_attempts,
                     "default_resources": {"memory": "128M", "runtime": "2m", "cores": 1,
                                           "queue": "all"}},
        "tasks": [{"name": task, "command": command, "upstream": list(upstream)}
                  for task, command, upstream in tasks],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(doc))
    return path


class Cli:
    """One ``python -m actors.main`` process; stdout/stderr go to ``<out>.out``/``<out>.err``."""

    def __init__(self, args: Sequence[str], out: Path, *, cwd: Path,
                 env: Mapping[str, str] | None = None) -> None:
        self.args = list(args)
        self.out = out
        self.cwd = cwd
        self.env = {**os.environ, **(env or {})}
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Cli:
        with open(f"{self.out}.out", "wb") as stdout, open(f"{self.out}.err", "wb") as stderr:
            self.popen = subprocess.Popen([sys.executable, "-m", "actors.main", *self.args],
                                          cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                          stdout=stdout, stderr=stderr, start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def wait(self, timeout: float) -> int:
        """The exit status; on timeout SIGTERM the run (it stops cleanly) and fail."""
        assert self.popen is not None
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
            raise AssertionError(f"{self.args[:1]} did not end within {timeout:g} s: "
                                 f"{self.stderr()[-2000:]}") from None

    def run(self, timeout: float) -> int:
        return self.start().wait(timeout)

    def stdout(self) -> str:
        return Path(f"{self.out}.out").read_text(errors="replace")

    def stderr(self) -> str:
        return Path(f"{self.out}.err").read_text(errors="replace")

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def kill_tree(self) -> None:
        """Cleanup after a failed test: SIGKILL the root and every descendant it still has."""
        if self.popen is None:
            return
        procs = self.descendants()
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)
        for proc in procs:
            try:
                proc.kill()
            except psutil.Error:
                continue
