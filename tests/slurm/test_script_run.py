"""The generated batch script and the command guard, run by the real shells (no Slurm needed).

The batch script is run by bash with ``SLURM_ARRAY_TASK_ID`` set and a stand-in interpreter that
prints the worker's argv; the guard is run by ``/bin/sh`` exactly as the worker runs it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actors.distributor.backend import LaunchRequest
from actors.distributor.slurm import script
from messages.values import TaskInstanceId

pytestmark = [pytest.mark.process, pytest.mark.timeout(60)]


def _settings(tmp_path: Path, python: str) -> script.WorkerSettings:
    return script.WorkerSettings(python=python, server="http://srv:1", workflow_run_id=5,
                                 log_dir=tmp_path / "logs", working_dir=tmp_path,
                                 workflow_id=3)


def _request(ti: int, command: str) -> LaunchRequest:
    return LaunchRequest(task_instance_id=TaskInstanceId(ti), task_id=10 + ti, array_id=4,
                         name=f"t{ti}", command=command, attempt=2, queue_name="debug",
                         memory_gib=0.5, cores=1, runtime_s=60)


def _fake_python(tmp_path: Path) -> str:
    path = tmp_path / "python-argv"
    path.write_text(f"#!/bin/sh\nexec {sys.executable} -c "
                    "'import json, sys; print(json.dumps(sys.argv[1:]))' \"$@\"\n")
    path.chmod(0o755)
    return str(path)


def _run_index(plan: script.Submission, index: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SLURM_ARRAY_TASK_ID=index)
    return subprocess.run(["bash", "-s"], input=plan.script, capture_output=True, text=True,
                          env=env, timeout=30, check=False)


def test_batch_script_execs_the_worker_of_its_index(tmp_path: Path) -> None:
    command = "echo \"it's $X\"; echo 'done' >&2"
    [plan] = script.plan_submissions([_request(1, "true"), _request(2, command)],
                                     _settings(tmp_path, _fake_python(tmp_path)), max_array=10)
    argv = json.loads(_run_index(plan, "1").stdout)
    assert argv[:4] == ["-m", "actors.worker", "--server", "http://srv:1"]

    def value(flag: str) -> str:
        return str(argv[argv.index(flag) + 1])

    assert value("--task-instance-id") == "2" and value("--task-id") == "12"
    assert value("--attempt") == "2" and value("--array-id") == "4"
    assert value("--stdout") == str(tmp_path / "logs" / "t2.2.out")
    # the worker runs the guarded command with /bin/sh -c: it is the task's own command
    done = subprocess.run(["/bin/sh", "-c", value("--command")], capture_output=True, text=True,
                          env=dict(os.environ, X="7"), timeout=30, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "it's 7\n", "done\n")
    missing = _run_index(plan, "9")
    assert missing.returncode == 2 and "no task instance for array index '9'" in missing.stderr


def _guard(command: str) -> subprocess.Popen[str]:
    return subprocess.Popen(["/bin/sh", "-c", script.guard_command(command)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            process_group=0)


def test_guard_passes_exit_codes_through() -> None:
    for command, code in (("exit 0", 0), ("exit 3", 3), ("kill -9 $$", -9), ("kill -15 $$", -15)):
        proc = _guard(command)
        assert proc.wait(timeout=20) == code, command
        proc.communicate()


def test_guard_does_not_end_when_the_job_is_stopped() -> None:
    """SIGTERM to the whole group (Slurm's time limit, scancel): the command dies, the guard
    stays until SIGKILL, so the worker reports nothing and Slurm's verdict stands."""
    proc = _guard("sleep 30")
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=2)
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    proc.communicate()
