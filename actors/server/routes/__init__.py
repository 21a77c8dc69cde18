"""HTTP routes of the state server, split by caller; ``api_router`` holds them all."""

from __future__ import annotations

from fastapi import APIRouter

from actors.server.routes import bind, distributor, meta, read, swarm, sync, worker

__all__ = ["api_router"]

api_router = APIRouter()
for _module in (meta, swarm, sync, bind, distributor, worker, read):
    api_router.include_router(_module.router)
