"""The ``wait`` long poll of task_status_updates, over httpx against the ASGI app."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from actors.server.changes import ChangeHub
from tests.server.helpers import API, TestClient, bind_dag, resources, start_run


def _setup(client: TestClient) -> dict[str, Any]:
    ids = bind_dag(client, {"a": [], "b": []})
    wfr = start_run(client, ids)
    return {"ids": ids, "wfr": wfr, "tr": resources(client, ids)}


async def _sync(http: httpx.AsyncClient, wf: int, body: dict[str, Any]) -> dict[str, Any]:
    r = await http.post(f"/workflow/{wf}/task_status_updates", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.mark.timeout(60)
def test_long_poll_answers_early_on_change(app: FastAPI, client: TestClient) -> None:
    w = _setup(client)
    wf, a = w["ids"]["workflow_id"], w["ids"]["tasks"]["a"]

    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=API) as http:
            first = await _sync(http, wf, {})
            poll = asyncio.create_task(_sync(http, wf, {"last_sync": first["time"], "wait": 60}))
            await asyncio.sleep(0.2)
            assert not poll.done()  # nothing changed yet: it is waiting
            r = await http.post(f"/array/{w['ids']['array_id']}/queue_task_batch", json={
                "task_ids": [a], "task_resources_id": w["tr"], "workflow_run_id": w["wfr"]})
            assert r.status_code == 200
            # a 60 s wait that ends well within the test's bound can only be the wake-up
            return first, await asyncio.wait_for(poll, timeout=30)

    _first, answer = asyncio.run(main())
    assert answer["tasks_by_status"]["Q"] == [a]


@pytest.mark.timeout(60)
def test_long_poll_answers_at_end_of_wait_without_busy_looping(app: FastAPI,
                                                                client: TestClient) -> None:
    w = _setup(client)
    wf = w["ids"]["workflow_id"]

    async def main() -> tuple[dict[str, Any], dict[str, Any], float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=API) as http:
            first = await _sync(http, wf, {})
            start = time.monotonic()
            # the inclusive window still holds the G tasks, but this client has seen them
            second = await _sync(http, wf, {"last_sync": first["time"], "wait": 0.5})
            return first, second, time.monotonic() - start

    first, second, waited = asyncio.run(main())
    assert waited >= 0.45  # it waited for the whole wait instead of answering the repeats
    assert sorted(second["tasks_by_status"]["G"]) == sorted(w["ids"]["tasks"].values())
    assert second["time"] == first["time"]


@pytest.mark.timeout(60)
def test_long_poll_without_last_sync_answers_at_once(app: FastAPI, client: TestClient) -> None:
    w = _setup(client)
    wf = w["ids"]["workflow_id"]

    async def main() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=API) as http:
            return await asyncio.wait_for(_sync(http, wf, {"wait": 60}), timeout=30)

    assert set(asyncio.run(main())["tasks_by_status"]) == {"G"}


@pytest.mark.timeout(60)
def test_a_waiting_claim_answers_as_soon_as_work_is_queued(app: FastAPI,
                                                           client: TestClient) -> None:
    w = _setup(client)
    a = w["ids"]["tasks"]["a"]
    claim_url = f"/distributor/{w['wfr']}/claim"

    async def main() -> tuple[dict[str, Any], float, dict[str, Any]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=API) as http:
            start = time.monotonic()
            idle = (await http.post(claim_url, json={"max": 10, "wait": 0.3})).json()
            waited = time.monotonic() - start
            claim = asyncio.create_task(http.post(claim_url, json={"max": 10, "wait": 5}))
            await asyncio.sleep(0.2)
            assert not claim.done()  # nothing queued yet: it is waiting
            r = await http.post(f"/array/{w['ids']['array_id']}/queue_task_batch", json={
                "task_ids": [a], "task_resources_id": w["tr"], "workflow_run_id": w["wfr"]})
            assert r.status_code == 200
            # a 5 s wait that ends within 2 s can only be the wake-up
            return idle, waited, (await asyncio.wait_for(claim, timeout=2)).json()

    idle, waited, answer = asyncio.run(main())
    assert idle["task_instances"] == [] and waited >= 0.25  # nothing came: the whole wait
    assert [c["task_id"] for c in answer["task_instances"]] == [a]
    assert client.post(f"/distributor/{w['wfr']}/started", json={}).json()["claim_wait"] is True


@pytest.mark.timeout(30)
def test_hub_wakes_waiters_from_other_threads() -> None:
    hub = ChangeHub()

    async def main() -> bool:
        since = hub.version(7)
        waiter = asyncio.create_task(hub.wait_change(7, since, timeout=20))
        await asyncio.sleep(0.05)
        threading.Thread(target=hub.bump, args=([7, 8],)).start()
        return await asyncio.wait_for(waiter, timeout=10)

    assert asyncio.run(main()) is True
    assert hub.version(7) == 1 and hub.version(8) == 1 and hub.version(9) == 0


@pytest.mark.timeout(30)
def test_hub_wait_times_out_and_remembers_max() -> None:
    hub = ChangeHub()
    assert asyncio.run(hub.wait_change(1, 0, timeout=0.05)) is False
    hub.bump([1])
    assert asyncio.run(hub.wait_change(1, 0, timeout=5)) is True
    hub.remember(1, "t", 3)
    hub.remember(1, "t", 2)
    assert hub.covered(1, "t") == 3 and hub.covered(1, "u") is None
    for i in range(100):
        hub.remember(1, f"x{i}", i)
    assert hub.covered(1, "t") is None and hub.covered(1, "x99") == 99
