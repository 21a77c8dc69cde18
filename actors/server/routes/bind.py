"""Our binding routes: clusters (upsert), workflow, arrays, tasks (chunked), done, runs.

Binder (``actors.main``) / distributor (declares its queues) → these routes → ``ops.bind``,
``ops.clusters``, ``ops.runs.create_run``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from actors.server.models import (
    ArraysBody,
    ClusterBody,
    CreateRunBody,
    Empty,
    TasksBody,
    WorkflowBody,
)
from actors.server.ops import bind, clusters, reads, runs
from actors.server.routes.deps import PathId, StateDep

__all__ = ["router"]

router = APIRouter()


@router.post("/cluster")
def upsert_cluster(body: ClusterBody, state: StateDep) -> dict[str, Any]:
    """Create or update a cluster and its queues by name."""
    crow, qrows = state.db.transact(clusters.upsert_cluster, body.name, body.type, body.params,
                                    [(q.name, q.params) for q in body.queues])
    return {"cluster": clusters.cluster_wire(crow),
            "queues": {name: clusters.queue_wire(row) for name, row in qrows.items()}}


@router.post("/workflow/bind")
def bind_workflow(body: WorkflowBody, state: StateDep) -> dict[str, Any]:
    """The workflow identified by ``workflow_args`` (created or found)."""
    return state.db.transact(bind.bind_workflow, body.name, body.workflow_args,
                             body.max_concurrently_running, body.user)


@router.post("/workflow/{workflow_id}/bind_arrays")
def bind_arrays(workflow_id: PathId, body: ArraysBody, state: StateDep) -> dict[str, Any]:
    """Arrays by name (created or updated) → ids."""
    ids = state.db.transact(bind.bind_arrays, workflow_id,
                            [(a.name, a.max_concurrently_running) for a in body.arrays])
    return {"arrays": ids}


@router.post("/workflow/{workflow_id}/bind_tasks")
def bind_tasks(workflow_id: PathId, body: TasksBody, state: StateDep) -> dict[str, Any]:
    """A chunk of tasks in topological order → ``{"tasks": {name: id}}``."""
    specs = [bind.TaskSpec(name=t.name, command=t.command, array=t.array,
                           max_attempts=t.max_attempts,
                           requested_resources=t.requested_resources,
                           resource_scales=t.resource_scales,
                           fallback_queues=t.fallback_queues, cluster_name=t.cluster_name,
                           queue_name=t.queue_name, upstream=t.upstream) for t in body.tasks]
    return {"tasks": state.db.transact(bind.bind_tasks, workflow_id, specs)}


@router.post("/workflow/{workflow_id}/bind_done")
def bind_done(workflow_id: PathId, state: StateDep,
              body: Empty | None = None) -> dict[str, Any]:
    """Binding finished: runs may start."""
    return state.db.transact(bind.bind_done, workflow_id)


@router.get("/workflow/{workflow_id}/task_names")
def task_names(workflow_id: PathId, state: StateDep) -> dict[str, Any]:
    """``{"tasks": {task_id: name}}``."""
    with state.db.read() as conn:
        return {"tasks": reads.task_names(conn, workflow_id)}


@router.post("/workflow_run")
def create_workflow_run(body: CreateRunBody, state: StateDep) -> dict[str, Any]:
    """A new run in B; 409 (with the active run's id) when another run is active; a repeated
    ``request_key`` gets the run that key created."""
    increment = body.next_report_increment
    return state.db.transact(runs.create_run, body.workflow_id, body.user,
                             body.jobmon_version, body.reset_running_jobs,
                             runs.DEFAULT_RUN_REPORT_INCREMENT if increment is None
                             else increment, body.request_key)
