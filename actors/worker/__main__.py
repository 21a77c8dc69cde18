"""``python -m actors.worker``: run one task instance (started by a distributor backend).

The token comes from the ``ACTORSWARM_TOKEN`` environment variable, never from the command line
(argv is visible to every user in ``ps``). Exit codes: ``actors.worker.exitcodes``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from actors.distributor.resources import parse_memory_gib, parse_runtime_s
from actors.errors import ActorswarmError
from actors.worker import exitcodes
from actors.worker.env import TOKEN_VARIABLE, InstanceIdentity
from actors.worker.limits import Limits
from actors.worker.runner import Worker, WorkerConfig

__all__ = ["build_parser", "config_from_args", "main"]

_GIB = 1024 ** 3


def _memory_bytes(text: str) -> int:
    if text.isdigit():
        return int(text)
    return int(parse_memory_gib(text, field="--memory-limit") * _GIB)


def build_parser() -> argparse.ArgumentParser:
    """The worker's command line."""
    p = argparse.ArgumentParser(prog="python -m actors.worker",
                                description="Run one actorswarm task instance.")
    p.add_argument("--server", required=True, help="state server URL")
    p.add_argument("--task-instance-id", type=int, required=True)
    p.add_argument("--task-id", type=int, required=True)
    p.add_argument("--workflow-run-id", type=int, required=True)
    p.add_argument("--workflow-id", type=int)
    p.add_argument("--array-id", type=int)
    p.add_argument("--name", required=True, help="task name")
    p.add_argument("--attempt", type=int, default=1)
    p.add_argument("--command", required=True, help="shell command to run")
    p.add_argument("--stdout", type=Path, required=True, help="file for the command's stdout")
    p.add_argument("--stderr", type=Path, required=True, help="file for the command's stderr")
    p.add_argument("--cwd", type=Path, help="working directory of the command")
    p.add_argument("--heartbeat-interval", type=float, default=30.0)
    p.add_argument("--report-by-buffer", type=float, default=3.1)
    p.add_argument("--memory-limit", type=_memory_bytes,
                   help="bytes, or a size like 200M (resident memory watch unless --cgroup)")
    p.add_argument("--runtime-limit", type=lambda s: parse_runtime_s(s, "--runtime-limit"),
                   help="seconds, or 90s/1h/HH:MM:SS")
    p.add_argument("--cgroup", type=Path, help="memory cgroup directory to run the command in")
    p.add_argument("--kill-grace", type=float, default=10.0,
                   help="seconds between SIGTERM and SIGKILL")
    p.add_argument("--parent-pid", type=int, help="stop when this parent process is gone")
    p.add_argument("--outcome-file", type=Path,
                   help="where to write the outcome when the server can't be reached")
    p.add_argument("--retry-budget", type=float, default=180.0,
                   help="seconds to keep retrying a report")
    return p


def config_from_args(args: argparse.Namespace, environ: dict[str, str]) -> WorkerConfig:
    """A WorkerConfig from parsed arguments and the environment (for the token)."""
    return WorkerConfig(
        server=args.server,
        identity=InstanceIdentity(task_instance_id=args.task_instance_id, task_id=args.task_id,
                                  workflow_run_id=args.workflow_run_id, name=args.name,
                                  attempt=args.attempt, array_id=args.array_id,
                                  workflow_id=args.workflow_id),
        command=args.command, stdout_path=args.stdout, stderr_path=args.stderr, cwd=args.cwd,
        token=environ.get(TOKEN_VARIABLE) or None,
        heartbeat_interval=args.heartbeat_interval, report_by_buffer=args.report_by_buffer,
        limits=Limits(memory_bytes=args.memory_limit, runtime_s=args.runtime_limit),
        cgroup=args.cgroup, kill_grace=args.kill_grace, parent_pid=args.parent_pid,
        outcome_file=args.outcome_file, retry_budget=args.retry_budget)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, install signal handlers, run the worker; return the exit code."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s worker %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        args = build_parser().parse_args(argv)
    except ActorswarmError as exc:
        print(f"actors.worker: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    worker = Worker(config_from_args(args, dict(os.environ)))

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        worker.stop_requested.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    try:
        return worker.run()
    except ActorswarmError as exc:
        logging.getLogger("actors.worker").error("worker failed: %s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
