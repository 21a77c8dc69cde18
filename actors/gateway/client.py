"""``Gateway``: the swarm's only HTTP client, one method per route of docs/server-api.md.

Who calls it: the heartbeat, synchronizer, scheduler and orchestrator actors (each from its own
threads; the synchronizer runs several legs at once, so one gateway is shared across threads),
the binder and the CLI. What it sends: section 1 (the Jobmon v3 swarm routes, below) and, via
``AdminRoutes``, sections 2, 3, 4 and 7. Every method returns a typed value
(``actors.gateway.types``) or raises a ``GatewayError``::

    GatewayError
    ├── ServerUnavailable     retry budget spent on 5xx/423/connection errors/timeouts
    ├── RequestRejected       other 4xx, never retried (status_code, detail)
    │   ├── NotFound          404 / unknown id (also Jobmon's 500 and empty lookups)
    │   └── ActiveRunExists   409 from create_workflow_run
    └── ProtocolMismatch      the answer has the wrong shape

``with_retry(policy)`` gives a view with another retry budget sharing the same connection pool
(a heartbeat uses a short one and tries again at its next tick).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Self
from urllib.parse import quote

import httpx

from actors.errors import ConfigError
from actors.gateway import _shapes as s
from actors.gateway import compat
from actors.gateway import parse as p
from actors.gateway._http import HttpCore
from actors.gateway._run_routes import RunRoutes
from actors.gateway.config import GatewayConfig, RetryPolicy
from actors.gateway.types import (
    Cluster,
    Queue,
    QueueResult,
    StatusUpdates,
    TaskEdges,
    TaskRow,
    TerminateResult,
    WorkflowMetadata,
)
from messages.values import RunStatus, TaskId

__all__ = ["MAX_LONG_POLL_WAIT", "Gateway"]

#: The longest ``wait`` a long poll may ask for (docs/server-api.md section 1).
MAX_LONG_POLL_WAIT = 60.0


def _any_object(route: str, body: Any) -> None:
    """Parser for routes whose answer carries nothing the caller needs (any JSON object)."""
    s.obj(route, body)


def _letter(status: RunStatus | str) -> str:
    """The wire letter of a run status given as a member or a letter."""
    if isinstance(status, RunStatus):
        return status.value
    try:
        return RunStatus(status).value
    except ValueError:
        letters = ", ".join(s.value for s in RunStatus)
        raise ConfigError(f"not a workflow-run status letter: {status!r} (one of {letters})"
                          ) from None


class Gateway(RunRoutes):
    """Synchronous, thread-safe client of the state server (see the module docstring)."""

    def __init__(self, config: GatewayConfig | str, *,
                 transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 _core: HttpCore | None = None, _retry: RetryPolicy | None = None) -> None:
        cfg = GatewayConfig(base_url=config) if isinstance(config, str) else config
        core = _core or HttpCore(cfg, transport=transport, sleep=sleep, clock=clock)
        super().__init__(core, _retry or cfg.retry)
        self.config = cfg

    def with_retry(self, retry: RetryPolicy) -> Gateway:
        """A view of this gateway with another retry budget, sharing the connection pool."""
        return Gateway(self.config, _core=self._core, _retry=retry)

    def close(self) -> None:
        """Close the connection pool (for every view sharing it)."""
        self._core.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- server ---------------------------------------------------------------------------------
    def time(self) -> str:
        """GET /time: the server's clock, ``YYYY-MM-DD HH:MM:SS`` UTC."""
        return self._call("GET", "/time", p.parse_time)

    def health(self) -> str:
        """GET /health: ``"OK"`` when the server and its database answer."""
        return self._call("GET", "/health", p.parse_health)

    # -- workflow, tasks, edges (resume) ----------------------------------------------------------
    def fetch_workflow_metadata(self, workflow_id: int) -> WorkflowMetadata:
        """GET /workflow/{wf}/fetch_workflow_metadata; NotFound for an unknown workflow."""
        route = f"/workflow/{workflow_id}/fetch_workflow_metadata"
        meta = self._call("GET", route, p.parse_workflow_metadata)
        if meta is None:
            raise compat.unknown_id(f"GET {route}", f"workflow {workflow_id}")
        return meta

    def get_tasks(self, workflow_id: int, max_task_id: int = 0,
                  chunk_size: int = 1000) -> tuple[TaskRow, ...]:
        """GET /workflow/get_tasks/{wf}: up to ``chunk_size`` non-DONE tasks with id > max."""
        return self._call("GET", f"/workflow/get_tasks/{workflow_id}", p.parse_tasks,
                          params={"max_task_id": max_task_id, "chunk_size": chunk_size})

    def iter_tasks(self, workflow_id: int, chunk_size: int = 1000) -> Iterator[TaskRow]:
        """Every non-DONE task of the workflow, page by page (get_tasks until a short page)."""
        last = 0
        while True:
            rows = self.get_tasks(workflow_id, last, chunk_size)
            yield from rows
            if len(rows) < chunk_size or not rows:
                return
            last = rows[-1].task_id

    def get_downstream_tasks(self, task_ids: Iterable[int],
                             dag_id: int) -> Mapping[TaskId, TaskEdges]:
        """POST /task/get_downstream_tasks: node id and downstream node ids per task."""
        body = {"task_ids": [int(t) for t in task_ids], "dag_id": dag_id}
        return self._call("POST", "/task/get_downstream_tasks", p.parse_downstream_tasks,
                          body=body)

    # -- clusters, queues, resources --------------------------------------------------------------
    def get_cluster(self, name: str) -> Cluster:
        """GET /cluster/{name}; NotFound for an unknown cluster."""
        route = f"/cluster/{quote(name, safe='')}"
        cluster = self._call("GET", route, p.parse_cluster)
        if cluster is None:
            raise compat.unknown_id(f"GET {route}", f"cluster {name!r}")
        return cluster

    def get_queue(self, cluster_id: int, name: str) -> Queue:
        """GET /cluster/{id}/queue/{name}; NotFound for an unknown queue."""
        route = f"/cluster/{cluster_id}/queue/{quote(name, safe='')}"
        queue = self._call("GET", route, p.parse_queue)
        if queue is None:
            raise compat.unknown_id(f"GET {route}", f"queue {name!r} of cluster {cluster_id}")
        return queue

    def bind_resources(self, queue_id: int, requested_resources: Mapping[str, Any],
                       task_resources_type_id: str = "O") -> int:
        """POST /task/bind_resources -> the task_resources id to queue tasks with."""
        body = {"queue_id": queue_id, "task_resources_type_id": task_resources_type_id,
                "requested_resources": dict(requested_resources)}
        return self._call("POST", "/task/bind_resources", p.parse_bind_resources, body=body)

    # -- workflow run ---------------------------------------------------------------------------
    def log_heartbeat(self, workflow_run_id: int, status: RunStatus | str,
                      next_report_increment: float) -> RunStatus:
        """POST /workflow_run/{wfr}/log_heartbeat -> the run status the server holds."""
        body = {"status": _letter(status), "next_report_increment": next_report_increment}
        return self._call("POST", f"/workflow_run/{workflow_run_id}/log_heartbeat",
                          p.parse_run_status, body=body)

    def update_status(self, workflow_run_id: int, status: RunStatus | str) -> RunStatus:
        """PUT /workflow_run/{wfr}/update_status -> status after the attempt (unchanged if
        the transition was illegal)."""
        return self._call("PUT", f"/workflow_run/{workflow_run_id}/update_status",
                          p.parse_run_status, body={"status": _letter(status)})

    def set_status_for_triaging(self, workflow_run_id: int) -> None:
        """POST /workflow_run/{wfr}/set_status_for_triaging: overdue instances -> T / X."""
        self._call("POST", f"/workflow_run/{workflow_run_id}/set_status_for_triaging",
                   _any_object, body={})

    def terminate_task_instances(self, workflow_run_id: int) -> TerminateResult:
        """PUT /workflow_run/{wfr}/terminate_task_instances: drain a resumed run."""
        route = f"/workflow_run/{workflow_run_id}/terminate_task_instances"
        return self._call("PUT", route,
                          lambda r, b: compat.parse_terminate(r, workflow_run_id, b), body={})

    # -- status sync and limits -------------------------------------------------------------------
    def task_status_updates(self, workflow_id: int, last_sync: str | None = None,
                            wait: float | None = None) -> StatusUpdates:
        """POST /workflow/{wf}/task_status_updates.

        ``last_sync=None`` is a full sync. ``wait`` (seconds, 0 < wait <= 60) asks our server to
        long-poll; the read timeout is then ``wait + long_poll_margin``. Only send ``wait`` to a
        server whose ``features().long_poll`` is true.
        """
        body: dict[str, Any] = {}
        if last_sync is not None:
            body["last_sync"] = last_sync
        read_timeout = None
        if wait is not None:
            if isinstance(wait, bool) or not (0 < wait <= MAX_LONG_POLL_WAIT):
                raise ConfigError(f"task_status_updates: wait must be in (0, "
                                  f"{MAX_LONG_POLL_WAIT:g}] seconds, got {wait!r}")
            body["wait"] = wait
            read_timeout = max(self.config.read_timeout, wait + self.config.long_poll_margin)
        return self._call("POST", f"/workflow/{workflow_id}/task_status_updates",
                          p.parse_status_updates, body=body, read_timeout=read_timeout)

    def get_max_concurrently_running(self, workflow_id: int) -> int:
        """GET /workflow/{wf}/get_max_concurrently_running."""
        return self._call("GET", f"/workflow/{workflow_id}/get_max_concurrently_running",
                          p.parse_max_concurrently_running)

    def get_array_max_concurrently_running(self, array_id: int) -> int:
        """GET /array/{array}/get_array_max_concurrently_running."""
        return self._call("GET", f"/array/{array_id}/get_array_max_concurrently_running",
                          p.parse_max_concurrently_running)

    def update_max_concurrently_running(self, workflow_id: int, max_tasks: int) -> None:
        """PUT /workflow/{wf}/update_max_concurrently_running (0 pauses the workflow)."""
        self._call("PUT", f"/workflow/{workflow_id}/update_max_concurrently_running",
                   _any_object, body={"max_tasks": max_tasks})

    def queue_task_batch(self, array_id: int, task_ids: Iterable[int], task_resources_id: int,
                         workflow_run_id: int, cluster_id: int) -> QueueResult:
        """POST /array/{array}/queue_task_batch: G/A tasks -> Q; every id by status after.

        Never sent twice: a Jobmon server makes one more task instance per repeat. A failure
        after the request may have reached the server raises ``OutcomeUnknown``; the caller
        learns what happened from a full status sync before queueing those tasks again.
        """
        body = {"task_ids": [int(t) for t in task_ids], "task_resources_id": task_resources_id,
                "workflow_run_id": workflow_run_id, "cluster_id": cluster_id}
        return self._call("POST", f"/array/{array_id}/queue_task_batch", p.parse_queue_result,
                          body=body, idempotent=False)

    def set_resume(self, workflow_id: int, reset_running_jobs: bool) -> None:
        """POST /workflow/{wf}/set_resume: the active run -> C (True, cold) or H (False, hot)."""
        self._call("POST", f"/workflow/{workflow_id}/set_resume", _any_object,
                   body={"reset_running_jobs": reset_running_jobs})
