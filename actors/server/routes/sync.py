"""``task_status_updates``: Jobmon's status sync plus our optional long poll.

Swarm synchronizer → POST ``/workflow/{wf}/task_status_updates`` ``{"last_sync"?, "wait"?}``.
Without ``wait`` it answers at once. With ``wait`` and a ``last_sync`` it answers as soon as a
task (or run) of the workflow changed after the answer that gave that ``last_sync``, or when
the wait ends. The returned time is the server time minus ``sync_margin``, floored to the
second: the next incremental sync from it misses nothing (repeats are possible). On
PostgreSQL, where several processes write at once, it is also moved back by the age of the
oldest write transaction still open (``Database.write_lag``), which may still commit dates
from before the answer.

On SQLite the answer also carries ``cursor`` (``"YYYY-MM-DD HH:MM:SS.ffffff"``), the exact
``Database.sync_horizon`` of the read: sent back as ``last_sync`` it gives only the changes
after this answer (no margin, no whole second of repeats), which keeps each sync of a busy
workflow small. Jobmon clients ignore the extra key and keep using ``time``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import anyio.to_thread
from fastapi import APIRouter

from actors.server.clock import format_time, parse_time
from actors.server.errors import InvalidInput
from actors.server.models import StatusSyncBody
from actors.server.ops import reads
from actors.server.routes.deps import PathId, StateDep
from actors.server.state import ServerState

__all__ = ["router"]

router = APIRouter()


def _key(value: dt.datetime) -> str:
    """How the hub remembers an answered time (whole seconds or a cursor's microseconds)."""
    return value.isoformat(" ", timespec="microseconds")


def _query(state: ServerState, workflow_id: int, since: dt.datetime | None
           ) -> tuple[int, dict[str, Any], dict[str, list[int]], tuple[str, ...]]:
    """(change version, answer times, tasks by status, the hub keys of the next last_sync)."""
    version = state.hub.version(workflow_id)
    with state.db.read() as conn:
        now = state.clock.now()
        horizon = state.db.sync_horizon()  # before the first statement: see Database
        # a write still open elsewhere commits dates from its start: cover no time after it
        lag = state.db.write_lag(conn)
        tasks = reads.task_status_updates(conn, workflow_id, since)
    sync_time = format_time(now - dt.timedelta(seconds=state.settings.sync_margin + lag))
    times: dict[str, Any] = {"time": sync_time}
    keys: tuple[str, ...] = (_key(parse_time(sync_time)),)
    if horizon is not None:
        times["cursor"] = _key(horizon)
        keys += (times["cursor"],)
    return version, times, tasks, keys


@router.post("/workflow/{workflow_id}/task_status_updates")
async def task_status_updates(workflow_id: PathId, state: StateDep,
                              body: StatusSyncBody | None = None) -> dict[str, Any]:
    """``{"tasks_by_status": {status: [ids]}, "time": "..."}`` (inclusive, 1 s resolution)."""
    body = body if body is not None else StatusSyncBody()
    since = None
    if body.last_sync is not None:
        try:
            since = parse_time(body.last_sync)
        except ValueError as exc:
            raise InvalidInput(f"last_sync: {exc}", location="last_sync") from exc
    version, times, tasks, keys = await anyio.to_thread.run_sync(_query, state, workflow_id,
                                                                since)
    if body.wait and since is not None:
        covered = state.hub.covered(workflow_id, _key(since))
        stale = covered is not None and version <= covered
        must_wait = stale or (covered is None and not tasks)
        if must_wait and await state.hub.wait_change(workflow_id, version, body.wait):
            version, times, tasks, keys = await anyio.to_thread.run_sync(
                _query, state, workflow_id, since)
    for key in keys:
        state.hub.remember(workflow_id, key, version)
    return {"tasks_by_status": tasks, **times}
