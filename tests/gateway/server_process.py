"""Start the real state server (``python -m actors.server --port 0``) for process tests."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

READY_TIMEOUT = 30.0


@contextmanager
def running_server(state_dir: Path, *extra: str) -> Iterator[str]:
    """Yield the server's root URL; stop the process (only this one) afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "actors.server", "--port", "0", "--state-dir", str(state_dir),
         *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()

    def read_lines() -> None:
        for line in proc.stdout or ():
            lines.put(line)

    reader = threading.Thread(target=read_lines, daemon=True)
    reader.start()
    try:
        try:
            line = lines.get(timeout=READY_TIMEOUT)
        except queue.Empty:
            raise AssertionError("the server did not print READY in time") from None
        assert line.startswith("READY "), f"unexpected first line {line!r}"
        yield line.split()[1]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        reader.join(timeout=5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
