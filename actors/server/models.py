"""Request bodies of every route (pydantic). A body that does not fit is a 422 naming the
field; unknown extra keys are ignored so Jobmon clients that send more still work."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "MAX_CLAIM_WAIT",
    "MAX_INT",
    "ArraysBody",
    "BindResourcesBody",
    "ClaimBody",
    "ClusterBody",
    "CreateRunBody",
    "DistributorHeartbeatBody",
    "DownstreamBody",
    "Empty",
    "Id",
    "Increment",
    "LaunchedBody",
    "LogErrorBody",
    "LogReportByBody",
    "LogRunningBody",
    "MaxTasksBody",
    "QueueBatchBody",
    "ResultsBody",
    "ResumeBody",
    "RunHeartbeatBody",
    "RunStatusBody",
    "StatusSyncBody",
    "TasksBody",
    "WorkflowBody",
]

MAX_INT = 2**31 - 1  # ids and counts are 32-bit integer columns (SQLite and PostgreSQL)
MAX_CLAIM_WAIT = 5.0  # seconds a claim may wait for work (a distributor's idle pause)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\x00) characters")
    return value


def _replace_nul(value: str) -> str:
    return value.replace("\x00", "\ufffd")


Id = Annotated[int, Field(ge=1, le=MAX_INT)]
Count = Annotated[int, Field(ge=0, le=MAX_INT)]
Int32 = Annotated[int, Field(ge=-MAX_INT - 1, le=MAX_INT)]
Name = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_no_nul)]
Text255 = Annotated[str, Field(max_length=255), AfterValidator(_no_nul)]
# free text from a program's output (stderr tails): NUL, which PostgreSQL cannot store in a
# text column, becomes U+FFFD instead of refusing the report
Output = Annotated[str, Field(max_length=1_000_000), AfterValidator(_replace_nul)]
RequestKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Increment = Annotated[float, Field(ge=0, le=10**7, allow_inf_nan=False)]
RunLetter = Literal["G", "L", "B", "I", "O", "R", "D", "E", "S", "C", "H", "T", "A"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Empty(_Body):
    """A body with nothing required (``{}``)."""


class RunStatusBody(_Body):
    status: RunLetter


class RunHeartbeatBody(_Body):
    status: RunLetter
    next_report_increment: Increment


class StatusSyncBody(_Body):
    last_sync: Annotated[str, Field(max_length=64)] | None = None
    wait: Annotated[float, Field(ge=0, le=60, allow_inf_nan=False)] | None = None


class QueueBatchBody(_Body):
    task_ids: Annotated[list[Id], Field(max_length=100_000)]
    task_resources_id: Id
    workflow_run_id: Id
    cluster_id: Id | None = None


class ResumeBody(_Body):
    reset_running_jobs: bool


class MaxTasksBody(_Body):
    max_tasks: Count


class DownstreamBody(_Body):
    task_ids: Annotated[list[Id], Field(max_length=1_000_000)]
    dag_id: Id


class BindResourcesBody(_Body):
    queue_id: Id
    task_resources_type_id: Annotated[str, Field(min_length=1, max_length=16),
                                      AfterValidator(_no_nul)] = "O"
    requested_resources: dict[str, Any]


class QueueSpec(_Body):
    name: Name
    params: dict[str, Any] = Field(default_factory=dict)


class ClusterBody(_Body):
    name: Name
    type: Name
    params: dict[str, Any] = Field(default_factory=dict)
    queues: list[QueueSpec] = Field(default_factory=list)


class WorkflowBody(_Body):
    name: Name
    workflow_args: Annotated[str, Field(min_length=1, max_length=100_000),
                             AfterValidator(_no_nul)]
    max_concurrently_running: Count
    user: Text255 | None = None


class ArraySpec(_Body):
    name: Name
    max_concurrently_running: Count


class ArraysBody(_Body):
    arrays: Annotated[list[ArraySpec], Field(max_length=100_000)]


class TaskSpecBody(_Body):
    name: Name
    command: Annotated[str, Field(min_length=1, max_length=1_000_000),
                       AfterValidator(_no_nul)]
    array: Name
    max_attempts: Annotated[int, Field(ge=1, le=1000)] = 3
    requested_resources: dict[str, Any] = Field(default_factory=dict)
    resource_scales: dict[str, Any] = Field(
        default_factory=lambda: {"memory": 0.5, "runtime": 0.5})
    fallback_queues: list[Name] = Field(default_factory=list)
    cluster_name: Name
    queue_name: Name
    upstream: list[Name] = Field(default_factory=list)


class TasksBody(_Body):
    tasks: Annotated[list[TaskSpecBody], Field(max_length=100_000)]


class CreateRunBody(_Body):
    workflow_id: Id
    user: Text255 | None = None
    jobmon_version: Annotated[str, Field(max_length=64), AfterValidator(_no_nul)] | None = None
    resume: bool = False
    reset_running_jobs: bool = True
    next_report_increment: Increment | None = None
    #: picked by the client once per logical request: a repeat gets the run already created
    request_key: RequestKey | None = None


class ClaimBody(_Body):
    max: Annotated[int, Field(ge=0, le=100_000)]
    #: the caller is the run's only distributor and reported everything it claimed before:
    #: hand out again the run's instances still in I (their claim's answer was lost)
    include_unlaunched: bool = False
    #: when nothing is claimable, wait up to this many seconds for work to be queued
    wait: Annotated[float, Field(ge=0, le=MAX_CLAIM_WAIT, allow_inf_nan=False)] | None = None


class LaunchedBody(_Body):
    task_instances: Annotated[list[tuple[Id, Text255 | None]],
                              Field(max_length=100_000)]
    next_report_increment: Increment


class DistributorHeartbeatBody(_Body):
    task_instance_ids: Annotated[list[Id], Field(max_length=1_000_000)]
    next_report_increment: Increment


class ResultSpec(_Body):
    task_instance_id: Id
    status: Literal["R", "D", "E", "Z", "U", "F"]
    error_message: Output | None = None
    exit_code: Int32 | None = None


class ResultsBody(_Body):
    results: Annotated[list[ResultSpec], Field(max_length=100_000)]


class LogRunningBody(_Body):
    nodename: Text255 | None = None
    process_group_id: Count | None = None
    next_report_increment: Increment
    stdout_path: Annotated[str, Field(max_length=4096), AfterValidator(_no_nul)] | None = None
    stderr_path: Annotated[str, Field(max_length=4096), AfterValidator(_no_nul)] | None = None
    distributor_id: Text255 | None = None


class LogReportByBody(_Body):
    next_report_increment: Increment


class LogErrorBody(_Body):
    error_state: Literal["E", "Z", "U"]
    error_message: Output | None = None
    error_description: Output | None = None  # Jobmon's key
    exit_code: Int32 | None = None
