"""Shared protocol values: status enums and id types.

The single-letter codes are what travels on the wire and over HTTP (Jobmon's letters); code
uses the enum members. ``TaskStatus.DONE == "D"`` and ``str(TaskStatus.DONE) == "D"``. The
server's status machines (``actors.server.fsm``) use these same classes.
"""

from __future__ import annotations

import enum
from typing import NewType

__all__ = [
    "ACTIVE_TASK_STATUSES",
    "FINAL_RUN_STATUSES",
    "ArrayId",
    "RunStatus",
    "TaskId",
    "TaskInstanceId",
    "TaskInstanceStatus",
    "TaskStatus",
    "WorkflowId",
    "WorkflowRunId",
]

TaskId = NewType("TaskId", int)
TaskInstanceId = NewType("TaskInstanceId", int)
ArrayId = NewType("ArrayId", int)
WorkflowId = NewType("WorkflowId", int)
WorkflowRunId = NewType("WorkflowRunId", int)


class TaskStatus(enum.StrEnum):
    """Status of a task (Jobmon letters)."""

    REGISTERING = "G"
    QUEUED = "Q"
    INSTANTIATING = "I"
    LAUNCHED = "O"
    RUNNING = "R"
    DONE = "D"
    ERROR_RECOVERABLE = "E"
    ADJUSTING_RESOURCES = "A"
    ERROR_FATAL = "F"


class RunStatus(enum.StrEnum):
    """Status of a workflow run (Jobmon letters)."""

    REGISTERED = "G"
    LINKING = "L"
    BOUND = "B"
    INSTANTIATED = "I"
    LAUNCHED = "O"
    RUNNING = "R"
    DONE = "D"
    ERROR = "E"
    STOPPED = "S"
    COLD_RESUME = "C"
    HOT_RESUME = "H"
    TERMINATED = "T"
    ABORTED = "A"


class TaskInstanceStatus(enum.StrEnum):
    """Status of a task instance (Jobmon letters)."""

    QUEUED = "Q"
    INSTANTIATED = "I"
    LAUNCHED = "O"
    RUNNING = "R"
    DONE = "D"
    ERROR = "E"
    ERROR_FATAL = "F"
    KILL_SELF = "K"
    TRIAGING = "T"
    UNKNOWN_ERROR = "U"
    NO_DISTRIBUTOR_ID = "W"
    NO_HEARTBEAT = "X"
    RESOURCE_ERROR = "Z"


#: Task statuses that occupy a concurrency slot.
ACTIVE_TASK_STATUSES = frozenset(
    {TaskStatus.QUEUED, TaskStatus.INSTANTIATING, TaskStatus.LAUNCHED, TaskStatus.RUNNING}
)

#: Run statuses after which nothing happens to the run any more.
FINAL_RUN_STATUSES = frozenset(
    {RunStatus.DONE, RunStatus.ERROR, RunStatus.STOPPED, RunStatus.TERMINATED, RunStatus.ABORTED}
)
