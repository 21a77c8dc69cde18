"""A short-lived state server over an existing state directory, for reading after a run.

The embedded server of ``run WORKFLOW.toml`` stops with the run, but a run that ended with
failed tasks should still print their error lines, which live in the server's database. The
CLI then starts ``python -m actors.server --port 0 --state-dir DIR`` (the server's own entry
point, on loopback), waits for its ``READY http://host:port`` line, reads what it needs
through the gateway, and stops the process by PID (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

from actors.errors import StartError

__all__ = ["DATABASE_FILE", "READY_TIMEOUT", "has_database", "reader_server"]

#: The embedded server's default database file inside the state directory.
DATABASE_FILE = "server.sqlite"
#: Seconds to wait for the READY line.
READY_TIMEOUT = 30.0


def has_database(state_dir: str) -> bool:
    """Whether ``state_dir`` holds the embedded server's database."""
    return os.path.isfile(os.path.join(state_dir, DATABASE_FILE))


def _read_ready_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    buf = b""
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise StartError(f"the state server did not print READY within {timeout:.0f} s")
        readable, _, _ = select.select([proc.stdout], [], [], min(left, 0.5))
        if readable:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                raise StartError(f"the state server exited with status {proc.wait()} "
                                 f"before it was ready")
            buf += chunk
    line = buf.decode(errors="replace").splitlines()[0].strip()
    if not line.startswith("READY "):
        raise StartError(f"the state server printed {line!r} instead of READY http://...")
    return line.split()[1]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


@contextlib.contextmanager
def reader_server(state_dir: str, *, timeout: float = READY_TIMEOUT) -> Iterator[str]:
    """Yield the root URL of a server on ``state_dir``'s database; stop it afterwards."""
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "actors.server", "--host", "127.0.0.1", "--port", "0",
             "--state-dir", state_dir],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
        try:
            try:
                url = _read_ready_line(proc, timeout)
            except StartError as exc:
                _stop(proc)
                errors.seek(0)
                detail = errors.read().decode(errors="replace").strip().splitlines()[-1:]
                raise StartError(f"{exc}{': ' + detail[0] if detail else ''}") from None
            yield url
        finally:
            _stop(proc)
