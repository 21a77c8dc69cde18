"""Gateway methods for our own routes: clusters, binding, workflow runs, read routes.

docs/server-api.md sections 2, 3, 4 and 7. A mixin of :class:`actors.gateway.Gateway`: the
binder (``actors.workflow.binding``), the CLI (``status``, ``logs``, ``concurrency``) and the
swarm's start-up call these. Each method sends one request through ``self._call`` and parses
the answer with ``actors.gateway.parse_admin``.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping, Sequence
from typing import Any

from actors.gateway import compat
from actors.gateway import parse_admin as pa
from actors.gateway._base import GatewayBase
from actors.gateway.config import CLIENT_JOBMON_VERSION
from actors.gateway.parse import parse_run_status
from actors.gateway.types import (
    ArraySpec,
    BindSummary,
    TaskInstanceRow,
    TaskSpec,
    UpsertedCluster,
    WorkflowBinding,
    WorkflowRunCreated,
    WorkflowSummary,
)
from messages.values import RunStatus, TaskId

__all__ = ["DEFAULT_RUN_REPORT_INCREMENT", "AdminRoutes"]

#: next_report_increment sent with POST /workflow_run (Jobmon: 30 s heartbeat x 3.1 buffer).
DEFAULT_RUN_REPORT_INCREMENT = 93.0


def _login_name() -> str:
    """The user name recorded with a run ("unknown" when the system cannot tell)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def task_spec_json(task: TaskSpec) -> dict[str, Any]:
    """The JSON object of one task in POST /workflow/{wf}/bind_tasks."""
    return {
        "name": task.name,
        "command": task.command,
        "array": task.array,
        "max_attempts": task.max_attempts,
        "requested_resources": dict(task.requested_resources),
        "resource_scales": dict(task.resource_scales),
        "fallback_queues": list(task.fallback_queues),
        "cluster_name": task.cluster_name,
        "queue_name": task.queue_name,
        "upstream": list(task.upstream),
    }


class AdminRoutes(GatewayBase):
    """Routes of sections 2, 3, 4 and 7 (see the module docstring)."""

    # -- section 2: clusters -------------------------------------------------------------------
    def upsert_cluster(self, name: str, cluster_type: str, params: Mapping[str, Any],
                       queues: Mapping[str, Mapping[str, Any]]) -> UpsertedCluster:
        """POST /cluster: create or update a cluster and its queues (params by queue name)."""
        body = {"name": name, "type": cluster_type, "params": dict(params),
                "queues": [{"name": q, "params": dict(p)} for q, p in queues.items()]}
        return self._call("POST", "/cluster", pa.parse_upserted_cluster, body=body)

    # -- section 3: binding a workflow ---------------------------------------------------------
    def bind_workflow(self, name: str, workflow_args: str, max_concurrently_running: int,
                      user: str | None = None) -> WorkflowBinding:
        """POST /workflow/bind: the workflow with these args (created if new)."""
        body: dict[str, Any] = {"name": name, "workflow_args": workflow_args,
                                "max_concurrently_running": max_concurrently_running}
        if user is not None:
            body["user"] = user
        return self._call("POST", "/workflow/bind", pa.parse_workflow_binding, body=body)

    def bind_arrays(self, workflow_id: int, arrays: Sequence[ArraySpec]) -> dict[str, int]:
        """POST /workflow/{wf}/bind_arrays -> array id by name."""
        body = {"arrays": [{"name": a.name, "max_concurrently_running":
                            a.max_concurrently_running} for a in arrays]}
        return self._call("POST", f"/workflow/{workflow_id}/bind_arrays",
                          pa.parse_arrays_bound, body=body)

    def bind_tasks(self, workflow_id: int, tasks: Sequence[TaskSpec]) -> dict[str, int]:
        """POST /workflow/{wf}/bind_tasks (one chunk, topologically ordered) -> id by name."""
        body = {"tasks": [task_spec_json(t) for t in tasks]}
        return self._call("POST", f"/workflow/{workflow_id}/bind_tasks",
                          pa.parse_tasks_bound, body=body)

    def bind_done(self, workflow_id: int) -> BindSummary:
        """POST /workflow/{wf}/bind_done: binding is complete."""
        return self._call("POST", f"/workflow/{workflow_id}/bind_done",
                          pa.parse_bind_summary, body={})

    def task_names(self, workflow_id: int) -> Mapping[TaskId, str]:
        """GET /workflow/{wf}/task_names -> task name by task id."""
        return self._call("GET", f"/workflow/{workflow_id}/task_names",
                          pa.parse_task_names)

    # -- section 4: workflow runs --------------------------------------------------------------
    def create_workflow_run(self, workflow_id: int, *, resume: bool = False,
                            user: str | None = None, jobmon_version: str | None = None,
                            next_report_increment: float = DEFAULT_RUN_REPORT_INCREMENT,
                            reset_running_jobs: bool = True,
                            request_key: str | None = None) -> WorkflowRunCreated:
        """POST /workflow_run: a new run in B; ``ActiveRunExists`` if one is still active.

        ``user`` defaults to the login name; a Jobmon server also needs ``jobmon_version`` and
        ``next_report_increment`` and leaves the run in L, so it is then moved to B here.
        ``reset_running_jobs=False`` (a hot resume) keeps tasks in R running. ``request_key``
        (our server only) makes the POST safe to retry: every attempt of this call sends the
        same key, and a repeat is answered with the run the first attempt created.
        """
        body: dict[str, Any] = {"workflow_id": workflow_id, "resume": resume,
                                "user": user or _login_name(),
                                "jobmon_version": jobmon_version or CLIENT_JOBMON_VERSION,
                                "next_report_increment": next_report_increment}
        if not reset_running_jobs:
            body["reset_running_jobs"] = False
        if request_key is not None:
            body["request_key"] = request_key
        created = self._call("POST", "/workflow_run", compat.parse_run_created, body=body)
        if compat.run_needs_bound(created):
            status = self._call("PUT", f"/workflow_run/{created.workflow_run_id}/update_status",
                                parse_run_status, body={"status": RunStatus.BOUND.value})
            created = WorkflowRunCreated(created.workflow_run_id, status)
        return created

    # -- section 7: read routes ----------------------------------------------------------------
    def workflows(self) -> tuple[WorkflowSummary, ...]:
        """GET /workflows: a summary of every workflow."""
        return self._call("GET", "/workflows", pa.parse_workflow_summaries)

    def workflow_status(self, workflow_id: int) -> WorkflowSummary:
        """GET /workflow/{wf}/status: one workflow's summary."""
        return self._call("GET", f"/workflow/{workflow_id}/status",
                          pa.parse_workflow_summary)

    def task_instances(self, workflow_id: int,
                       task_name: str | None = None) -> tuple[TaskInstanceRow, ...]:
        """GET /workflow/{wf}/task_instances[?task_name=N]: instances with their log paths."""
        params = {"task_name": task_name} if task_name is not None else None
        return self._call("GET", f"/workflow/{workflow_id}/task_instances",
                          pa.parse_task_instances, params=params)
