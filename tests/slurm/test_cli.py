"""``python -m actors.distributor --backend slurm``: bad settings and a missing Slurm are clear."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.process, pytest.mark.timeout(60)]


def _run(tmp_path: Path, *extra: str, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "actors.distributor", "--server",
                           "http://127.0.0.1:9", "--workflow-run-id", "1", "--backend", "slurm",
                           "--state-dir", str(tmp_path), *extra],
                          capture_output=True, text=True, timeout=50, check=False,
                          stdin=subprocess.DEVNULL, env=env)


def test_bad_slurm_options_exit_2(tmp_path: Path) -> None:
    done = _run(tmp_path, "--slurm-memory-overhead", "-1")
    assert done.returncode == 2 and "--slurm-memory-overhead" in done.stderr
    done = _run(tmp_path, "--slurm-poll-interval", "0")
    assert done.returncode == 2 and "--slurm-poll-interval" in done.stderr


def test_a_machine_without_slurm_is_named(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    done = _run(tmp_path, env=dict(os.environ, PATH=str(empty)))
    assert done.returncode == 1
    assert "scontrol show config: command not found" in done.stderr
    assert "READY" not in done.stdout
