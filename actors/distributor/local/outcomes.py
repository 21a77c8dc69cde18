"""What a finished worker process means for its instance (pure; no I/O).

The local backend reads a worker's exit code (``actors.worker.exitcodes``) and, when present, the
outcome file the worker wrote, and asks ``worker_outcomes`` which outcomes to hand the
distributor. Exactly one side reports each instance's end: the worker when it exited with
``REPORTED``, the distributor otherwise.
"""

from __future__ import annotations

import json
import signal
from typing import Any

from actors.distributor.backend import DistributorId, Outcome, Reporter
from actors.worker import exitcodes
from messages.values import TaskInstanceId, TaskInstanceStatus

__all__ = ["parse_outcome_file", "worker_outcomes"]

_S = TaskInstanceStatus
_REPORTABLE = frozenset({_S.DONE, _S.ERROR, _S.RESOURCE_ERROR, _S.UNKNOWN_ERROR})


def parse_outcome_file(text: str) -> tuple[TaskInstanceStatus, str | None, int | None] | None:
    """``(status, error_message, exit_code)`` from a worker's outcome file, None if unusable."""
    try:
        data: Any = json.loads(text)
        status = _S(data["status"])
    except (ValueError, KeyError, TypeError):
        return None
    message = data.get("error_message")
    code = data.get("exit_code")
    if status not in _REPORTABLE:
        return None
    return (status, message if isinstance(message, str) else None,
            code if isinstance(code, int) and not isinstance(code, bool) else None)


def _describe(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def worker_outcomes(ti: TaskInstanceId, did: DistributorId, returncode: int, *,
                    kill_requested: bool, outcome_text: str | None,
                    worker_log_tail: str) -> list[Outcome]:
    """The outcomes for one worker that exited with ``returncode`` (Popen's convention)."""
    recorded = parse_outcome_file(outcome_text) if outcome_text is not None else None
    if returncode == exitcodes.REPORTED:
        status = recorded[0] if recorded is not None else _S.DONE
        return [Outcome(ti, did, status, reporter=Reporter.WORKER)]
    if kill_requested or returncode == exitcodes.KILLED_SELF:
        return [Outcome(ti, did, _S.ERROR_FATAL, "killed on KILL_SELF", None)]
    if returncode == exitcodes.UNREPORTED and recorded is not None:
        status, message, code = recorded
        final = Outcome(ti, did, status, message, code)
        if status in (_S.DONE, _S.ERROR):  # legal only from R; the worker may not have said R
            return [Outcome(ti, did, _S.RUNNING), final]
        return [final]
    tail = f"\n--- worker log tail ---\n{worker_log_tail}" if worker_log_tail else ""
    reason = "was terminated before the instance ended" \
        if returncode == exitcodes.TERMINATED else _describe(returncode)
    return [Outcome(ti, did, _S.UNKNOWN_ERROR, f"worker {reason}{tail}",
                    returncode if returncode >= 0 else 128 - returncode)]
