"""The ``--json`` document of a run, and writing it (to a file atomically, or to stdout).

Pure part: ``result_document(outcome, by_name=...)`` turns an ``actors.app.RunOutcome`` into a
JSON-ready dict: every ``OrchestratorResult`` field (statuses as their letters), plus
``workflow_id``, ``workflow_run_id``, ``error`` (``{"type", "message"}`` or null), ``actors``
(name -> pid) and ``restarts`` (name -> count), and, beyond the contract, ``exit_code``,
``interrupted``, ``log_dir`` and, when tasks are keyed by name, ``task_ids`` (name -> id).
Task keys (in ``task_final_statuses``, ``done_task_ids``, ``failed_task_ids``) are task names
when ``by_name`` (the workflow came from a file) and the name of a task is known, else ids.

I/O part: ``write_json(document, target, stdout)``; ``-`` writes to ``stdout``, a path is
written through a temporary file in the same directory and renamed, so a reader never sees
half a document.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, TextIO

__all__ = ["result_document", "task_key", "write_json"]


def _letter(status: Any) -> Any:
    """An enum member's wire letter (``RunStatus.DONE`` -> ``"D"``); other values as they are."""
    return getattr(status, "value", status)


def task_key(task_id: int, names: Mapping[int, str], by_name: bool) -> str | int:
    """How a task appears in the document: its name when wanted and known, else its id."""
    if by_name:
        name = names.get(task_id)
        if name is not None:
            return name
    return int(task_id)


def result_document(outcome: Any, *, by_name: bool) -> dict[str, Any]:
    """The JSON-ready document of ``outcome`` (an ``actors.app.RunOutcome``)."""
    result = outcome.result
    names: Mapping[int, str] = outcome.task_names
    by_name = by_name and bool(names)

    def key(task_id: int) -> str | int:
        return task_key(task_id, names, by_name)

    statuses = {str(key(tid)): _letter(status) for tid, status in result.task_final_statuses}
    error = result.error
    doc: dict[str, Any] = {
        "final_status": _letter(result.final_status),
        "elapsed_time": float(result.elapsed_time),
        "total_tasks": int(result.total_tasks),
        "done_count": int(result.done_count),
        "failed_count": int(result.failed_count),
        "num_previously_complete": int(result.num_previously_complete),
        "task_final_statuses": statuses,
        "done_task_ids": [key(t) for t in result.done_task_ids],
        "failed_task_ids": [key(t) for t in result.failed_task_ids],
        "workflow_id": int(result.workflow_id),
        "workflow_run_id": int(result.workflow_run_id),
        "error": None if error is None else {"type": str(error.type),
                                             "message": str(error.message)},
        "actors": {str(k): int(v) for k, v in outcome.actors.items()},
        "restarts": {str(k): int(v) for k, v in outcome.restarts.items()},
        "exit_code": int(outcome.exit_code),
        "interrupted": bool(outcome.interrupted),
        "log_dir": str(outcome.log_dir),
    }
    if by_name:
        ids = {int(t) for t, _ in result.task_final_statuses}
        ids.update(int(t) for t in (*result.done_task_ids, *result.failed_task_ids))
        doc["task_ids"] = {names[t]: t for t in sorted(ids) if t in names}
    return doc


def write_json(document: Mapping[str, Any], target: str, stdout: TextIO) -> None:
    """Write ``document`` to ``target`` (``-``: ``stdout``); raises ``OSError`` on failure."""
    text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    if target == "-":
        stdout.write(text)
        stdout.flush()
        return
    tmp = f"{os.path.abspath(target)}.{os.getpid()}.tmp"
    # mode 0666 minus the umask, like any file the user creates; O_EXCL: never clobber
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
