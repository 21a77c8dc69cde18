"""Pure text of a finished run: the summary and each failed task's last error lines.

``run``/``resume`` print ``summary_lines(outcome)`` and, when tasks failed,
``failure_lines(rows, outcome)`` where ``rows`` are the task instances the server lists for the
workflow (``Gateway.task_instances``). No I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from actors.gateway import TaskInstanceRow
from messages.values import RunStatus

__all__ = ["MAX_ERROR_LINES", "MAX_FAILED_SHOWN", "failure_lines", "run_status_word",
           "summary_lines", "task_label"]

#: Lines of each failed task's error message that are printed.
MAX_ERROR_LINES = 10
#: Failed tasks shown in detail; the rest are counted.
MAX_FAILED_SHOWN = 20

_WORDS = {RunStatus.DONE: "done", RunStatus.ERROR: "error", RunStatus.STOPPED: "stopped",
          RunStatus.TERMINATED: "terminated", RunStatus.ABORTED: "aborted",
          RunStatus.RUNNING: "running", RunStatus.COLD_RESUME: "cold resume",
          RunStatus.HOT_RESUME: "hot resume"}


def run_status_word(status: Any) -> str:
    """``"D (done)"`` for a ``RunStatus`` (or its letter)."""
    try:
        member = RunStatus(getattr(status, "value", status))
    except ValueError:
        return str(status)
    return f"{member.value} ({_WORDS.get(member, member.name.lower().replace('_', ' '))})"


def task_label(task_id: int, names: Mapping[int, str]) -> str:
    """``'join' (task 4)`` or ``task 4`` when the name is unknown."""
    name = names.get(task_id)
    return f"{name!r} (task {task_id})" if name is not None else f"task {task_id}"


def summary_lines(outcome: Any) -> list[str]:
    """What happened, in a few lines (``outcome`` is an ``actors.app.RunOutcome``)."""
    r = outcome.result
    lines = [(f"workflow {r.workflow_id}, run {r.workflow_run_id}: "
              f"{run_status_word(r.final_status)} after {r.elapsed_time:.1f} s")]
    lines.append(f"  tasks: {r.total_tasks} total, {r.done_count} done, {r.failed_count} failed"
                 f", {r.num_previously_complete} already done before this run")
    if outcome.interrupted:
        lines.append("  interrupted: the run was stopped on request")
    if r.error is not None:
        lines.append(f"  error: {r.error.type}: {r.error.message}")
    if outcome.log_dir:
        lines.append(f"  task logs: {outcome.log_dir}")
    return lines


def _newest(rows: Sequence[TaskInstanceRow]) -> TaskInstanceRow:
    with_error = [r for r in rows if r.error_message]
    pool = with_error or list(rows)
    return max(pool, key=lambda r: (r.attempt, r.task_instance_id))


def failure_lines(rows: Sequence[TaskInstanceRow], failed_ids: Sequence[int],
                  names: Mapping[int, str], *, max_lines: int = MAX_ERROR_LINES,
                  max_tasks: int = MAX_FAILED_SHOWN) -> list[str]:
    """For each failed task: its newest instance with an error, and that error's last lines."""
    by_task: dict[int, list[TaskInstanceRow]] = {}
    for row in rows:
        by_task.setdefault(int(row.task_id), []).append(row)
    lines: list[str] = []
    for task_id in list(failed_ids)[:max_tasks]:
        label = task_label(task_id, {**names, **{int(r.task_id): r.task_name
                                                 for r in by_task.get(task_id, [])}})
        instances = by_task.get(int(task_id))
        if not instances:
            lines.append(f"failed {label}: the server has no task instance for it")
            continue
        ti = _newest(instances)
        exit_code = "" if ti.exit_code is None else f", exit code {ti.exit_code}"
        lines.append(f"failed {label}: attempt {ti.attempt}, instance {ti.task_instance_id} "
                     f"ended {ti.status.value}{exit_code}")
        message = (ti.error_message or "").rstrip("\n")
        if message:
            tail = message.splitlines()[-max_lines:]
            lines.extend(f"  | {line}" for line in tail)
        else:
            lines.append("  (no error message recorded)")
        if ti.stderr_path:
            lines.append(f"  stderr: {ti.stderr_path}")
    hidden = len(failed_ids) - max_tasks
    if hidden > 0:
        lines.append(f"... and {hidden} more failed task(s); see the 'logs' subcommand")
    return lines
