"""One task command, run through the shell as the leader of its own process group.

The worker (``actors.worker.runner``) starts the command with ``Command.start``, polls it, reads
its resident memory, and stops it. When a memory cgroup is given, a tiny shell prologue moves the
shell into the cgroup before the command is executed, so every byte the command allocates is
charged to it. stdout and stderr go to files; ``tail`` reads the end of stderr for error reports.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

from actors.worker.cgroup import cgroup_procs
from actors.worker.procs import signal_group, stop_groups, tree_rss

__all__ = ["Command", "tail"]

# $1: the cgroup directory, $2: the command. 125 (with a message) when the cgroup can't be joined.
_JOIN_CGROUP = ('echo $$ > "$1/cgroup.procs" || '
                '{ echo "actorswarm: cannot join memory cgroup $1" >&2; exit 125; }; '
                'shift; exec /bin/sh -c "$1"')


def tail(path: Path, max_bytes: int = 4000) -> str:
    """The last ``max_bytes`` of a text file (decoded leniently); '' if it can't be read."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    if size > max_bytes:
        text = text.split("\n", 1)[-1] if "\n" in text else text
    return text.strip()


class Command:
    """A started command; ``pgid`` equals its PID (it leads its own process group)."""

    def __init__(self, popen: subprocess.Popen[bytes], cgroup: Path | None) -> None:
        self._popen = popen
        self.cgroup = cgroup

    @classmethod
    def start(cls, command: str, *, env: Mapping[str, str], cwd: Path | None,
              stdout_path: Path, stderr_path: Path, cgroup: Path | None = None) -> Command:
        """Start ``command`` via ``/bin/sh -c`` in a new process group (in ``cgroup``, if any)."""
        if cgroup is None:
            argv = ["/bin/sh", "-c", command]
        else:
            argv = ["/bin/sh", "-c", _JOIN_CGROUP, "actorswarm-join-cgroup", str(cgroup),
                    command]
        stdout_path.parent.mkdir(parents=True, exist_ok=True)
        stderr_path.parent.mkdir(parents=True, exist_ok=True)
        with open(stdout_path, "ab") as out, open(stderr_path, "ab") as err:
            popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                     cwd=cwd, env=dict(env), process_group=0, close_fds=True)
        return cls(popen, cgroup)

    @property
    def pid(self) -> int:
        """The command shell's PID."""
        return self._popen.pid

    @property
    def pgid(self) -> int:
        """The command's process group id (its PID)."""
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        """Exit status once it ended (negative: killed by that signal), else None."""
        return self._popen.returncode

    def poll(self) -> int | None:
        """Reap the shell if it ended; return its exit status or None."""
        return self._popen.poll()

    def wait(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` seconds for the shell to end; its exit status or None."""
        try:
            return self._popen.wait(timeout=max(timeout, 0.0))
        except subprocess.TimeoutExpired:
            return None

    def rss(self) -> int:
        """Resident memory of the command and its descendants, in bytes."""
        return tree_rss(self.pid)

    def _strays(self) -> list[int]:
        return cgroup_procs(self.cgroup) if self.cgroup is not None else []

    def kill_now(self) -> None:
        """SIGKILL the whole group (and the cgroup's members) without grace; reap the shell."""
        signal_group(self.pgid, signal.SIGKILL)
        for pid in self._strays():
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        stop_groups([self.pgid], grace=1.0, reap=self.poll, extra_pids=self._strays)
        self.wait(5.0)

    def stop(self, grace: float) -> None:
        """SIGTERM the group, SIGKILL after ``grace`` seconds; reap the shell."""
        stop_groups([self.pgid], grace=grace, reap=self.poll, extra_pids=self._strays)
        self.wait(5.0)
