"""Jobmon routes without a workflow: time, health, features, clusters, queues, resources.

Callers: the swarm gateway (all of them), the distributor (cluster upsert lives in bind).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam
from sqlalchemy import text

from actors.server.clock import format_time
from actors.server.models import BindResourcesBody
from actors.server.ops import clusters
from actors.server.routes.deps import PathId, StateDep
from actors.server.state import SERVER_VERSION

__all__ = ["router"]

router = APIRouter()
Name = Annotated[str, PathParam(min_length=1, max_length=255, pattern=r"^[^\x00]+$")]


@router.get("/time")
def get_time(state: StateDep) -> dict[str, str]:
    """The server's UTC time ``YYYY-MM-DD HH:MM:SS``."""
    return {"time": format_time(state.clock.now())}


@router.get("/health")
def health(state: StateDep) -> dict[str, str]:
    """``{"status": "OK"}`` once the database answers."""
    with state.db.read() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "OK"}


@router.get("/features")
def features() -> dict[str, Any]:
    """What this server offers beyond Jobmon (a Jobmon server answers 404 here)."""
    return {"long_poll": True, "server": "actorswarm", "version": SERVER_VERSION}


@router.get("/cluster/{cluster_name}")
def get_cluster(cluster_name: Name, state: StateDep) -> dict[str, Any]:
    """``{"cluster": [id, name, type, params_json]}``; 404 for an unknown name."""
    with state.db.read() as conn:
        return {"cluster": clusters.cluster_wire(clusters.get_cluster(conn, cluster_name))}


@router.get("/cluster/{cluster_id}/queue/{queue_name}")
def get_queue(cluster_id: PathId, queue_name: Name, state: StateDep) -> dict[str, Any]:
    """``{"queue": [id, name, params_literal]}``; 404 for an unknown cluster or queue."""
    with state.db.read() as conn:
        return {"queue": clusters.queue_wire(clusters.get_queue(conn, cluster_id, queue_name))}


@router.post("/task/bind_resources")
def bind_resources(body: BindResourcesBody, state: StateDep) -> int:
    """Resources on a queue → their id (equal resources get the same id)."""
    return state.db.transact(clusters.resources_id, body.queue_id,
                             body.task_resources_type_id, body.requested_resources)
