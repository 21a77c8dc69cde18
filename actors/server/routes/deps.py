"""Shared route plumbing: the app state dependency, typed path ids, time formatting."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from actors.server.models import MAX_INT
from actors.server.state import ServerState

__all__ = ["PathId", "StateDep", "get_state"]


def get_state(request: Request) -> ServerState:
    """The ``ServerState`` of the app serving this request."""
    state: ServerState = request.app.state.server
    return state


StateDep = Annotated[ServerState, Depends(get_state)]
PathId = Annotated[int, Path(ge=1, le=MAX_INT)]
