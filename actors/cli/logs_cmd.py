"""``logs --server URL --workflow-id N [--task NAME] [--tail L]``: what each task instance left.

Asks the server for the workflow's task instances (GET /workflow/{wf}/task_instances, filtered
by task name) and prints, per instance: its task, attempt, status, exit code, the error message
the server keeps, and the contents of its stdout and stderr files. Those files live on the
machine that ran the instance; when one is not on this machine the output says so.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from actors.cli.client import open_gateway
from actors.cli.context import CliContext
from actors.cli.options import (
    add_server_option,
    add_token_option,
    add_workflow_id_option,
    positive_int,
)
from actors.gateway import TaskInstanceRow

__all__ = ["FileReader", "execute", "instance_lines", "read_local_file", "register"]

#: Reads a file: its text, or None when the file is not on this machine.
FileReader = Callable[[str], "str | None"]

MISSING = ("not found on this machine (task output files stay on the machine that ran "
           "the task)")


def register(subparsers: Any) -> None:
    """Add the ``logs`` subcommand."""
    p = subparsers.add_parser("logs", help="errors and output files of task instances",
                              description="Show each task instance's status, attempt, error "
                                          "message and stdout/stderr files.")
    add_server_option(p, required=True)
    add_token_option(p)
    add_workflow_id_option(p, required=True)
    p.add_argument("--task", metavar="NAME", help="only this task's instances")
    p.add_argument("--tail", type=positive_int, metavar="L",
                   help="only the last L lines of each file")
    p.set_defaults(handler=execute)


def read_local_file(path: str) -> str | None:
    """The file's text (undecodable bytes replaced), or None when it cannot be read here."""
    try:
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError, PermissionError, IsADirectoryError):
        return None


def _tail(text: str, lines: int | None) -> list[str]:
    all_lines = text.splitlines()
    return all_lines[-lines:] if lines is not None else all_lines


def instance_lines(row: TaskInstanceRow, read: FileReader, tail: int | None = None
                   ) -> list[str]:
    """The printed block of one task instance."""
    exit_code = "" if row.exit_code is None else f", exit code {row.exit_code}"
    out = [(f"== task {row.task_name!r} (task {row.task_id}), attempt {row.attempt}, "
            f"instance {row.task_instance_id}: status {row.status.value}{exit_code}")]
    if row.error_message:
        out.append("-- error message:")
        out.extend(f"   {line}" for line in _tail(row.error_message, tail))
    for kind, path in (("stdout", row.stdout_path), ("stderr", row.stderr_path)):
        if not path:
            out.append(f"-- {kind}: no file recorded")
            continue
        text = read(path)
        if text is None:
            out.append(f"-- {kind}: {path}: {MISSING}")
        elif not text:
            out.append(f"-- {kind}: {path} (empty)")
        else:
            out.append(f"-- {kind}: {path}")
            out.extend(f"   {line}" for line in _tail(text, tail))
    return out


def _ordered(rows: Sequence[TaskInstanceRow]) -> list[TaskInstanceRow]:
    return sorted(rows, key=lambda r: (r.task_name, r.attempt, int(r.task_instance_id)))


def execute(args: argparse.Namespace, ctx: CliContext, read: FileReader = read_local_file
            ) -> int:
    """Print the instances; 0, or 1 when the task is unknown or the server fails us."""
    with open_gateway(args.server, ctx.token(args.token)) as gateway:
        rows = gateway.task_instances(args.workflow_id, args.task)
        if not rows and args.task is not None and \
                args.task not in gateway.task_names(args.workflow_id).values():
            ctx.err(f"actorswarm logs: workflow {args.workflow_id} has no task named "
                    f"{args.task!r}")
            return 1
    if not rows:
        what = f"task {args.task!r}" if args.task else f"workflow {args.workflow_id}"
        ctx.stdout.write(f"{what} has no task instances yet\n")
        return 0
    for row in _ordered(rows):
        ctx.stdout.write("\n".join(instance_lines(row, read, args.tail)) + "\n")
    ctx.stdout.flush()
    return 0
