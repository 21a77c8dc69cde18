"""The command lines of the distributor and the worker: bad input is a clear error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.process, pytest.mark.timeout(60)]


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=50,
                          check=False,
                          stdin=subprocess.DEVNULL)


def test_distributor_rejects_a_bad_duration() -> None:
    done = _run("-m", "actors.distributor", "--server", "http://127.0.0.1:9",
                "--workflow-run-id", "1", "--backend", "sim", "--sim-duration", "weird:1")
    assert done.returncode == 2
    assert "--sim-duration 'weird:1': unknown distribution" in done.stderr


def test_distributor_rejects_bad_options() -> None:
    done = _run("-m", "actors.distributor", "--server", "http://127.0.0.1:9",
                "--workflow-run-id", "x")
    assert done.returncode == 2 and "--workflow-run-id" in done.stderr
    done = _run("-m", "actors.distributor", "--server", "http://127.0.0.1:9",
                "--workflow-run-id", "1", "--heartbeat-interval", "0")
    assert done.returncode == 2 and "--heartbeat-interval" in done.stderr


def test_distributor_gives_up_on_an_unreachable_server(tmp_path: Path) -> None:
    done = _run("-m", "actors.distributor", "--server", "http://127.0.0.1:9",
                "--workflow-run-id", "1", "--backend", "local", "--retry-budget", "0.5",
                "--state-dir", str(tmp_path))
    assert done.returncode == 1
    assert "server unavailable" in done.stderr and "READY" not in done.stdout


def test_worker_rejects_a_bad_memory_limit(tmp_path: Path) -> None:
    done = _run("-m", "actors.worker", "--server", "http://127.0.0.1:9",
                "--task-instance-id", "1", "--task-id", "1", "--workflow-run-id", "1",
                "--name", "t", "--command", "true", "--stdout", str(tmp_path / "o"),
                "--stderr", str(tmp_path / "e"), "--memory-limit", "lots")
    assert done.returncode == 2 and "--memory-limit" in done.stderr


def test_a_sim_distributor_imports_no_other_backend() -> None:
    code = ("import sys, argparse; from actors.distributor.__main__ import build_backend, "
            "build_parser; args = build_parser().parse_args(['--server', 'http://127.0.0.1:9', "
            "'--workflow-run-id', '1', '--backend', 'sim']); build_backend(args, None); "
            "print(*(m in sys.modules for m in ('actors.distributor.local', "
            "'actors.distributor.slurm')))")
    done = _run("-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]
