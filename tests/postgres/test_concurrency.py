"""Concurrent writes against one multi-process server on PostgreSQL (``--workers 4``).

Each test fires the same or competing requests from several threads at once, each thread
with its own HTTP connection (so requests land on different server processes), released
together by a barrier; then checks that nothing was handed out, queued, created or bound
twice.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from tests.postgres.cluster import PostgresCluster
from tests.postgres.procs import ServerProc

pytestmark = [pytest.mark.process, pytest.mark.timeout(180)]

T = TypeVar("T")
THREADS = 8


@pytest.fixture(scope="module")
def server(postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[str]:
    """``python -m actors.server --workers 4`` on a fresh database; yields its API URL."""
    name = postgres.fresh_database()
    proc = ServerProc(postgres.url_of(name), 4, tmp_path_factory.mktemp("server"))
    try:
        yield proc.wait_ready() + "/api/v3"
    finally:
        assert proc.stop() == 0
        postgres.drop_database(name)


def at_once(url: str, fn: Callable[[httpx.Client, int], T], n: int = THREADS) -> list[T]:
    """``fn(client, i)`` in ``n`` threads with their own connections, started together."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []
    clients = [httpx.Client(base_url=url, timeout=60) for _ in range(n)]

    def body(i: int) -> None:
        try:
            clients[i].get("/health")  # connect first, so the barrier releases requests
            barrier.wait()
            results[i] = fn(clients[i], i)
        except Exception as exc:  # noqa: BLE001  (re-raised in the calling thread)
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for c in clients:
            c.close()
    if errors:
        raise errors[0]
    return results


def ok(r: httpx.Response) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def bind(http: httpx.Client, args: str, n: int, chain: bool = False) -> dict[str, Any]:
    wf = ok(http.post("/workflow/bind", json={"name": args, "workflow_args": args,
                                              "max_concurrently_running": 100_000}))
    wf_id = wf["workflow_id"]
    arr = ok(http.post(f"/workflow/{wf_id}/bind_arrays", json={"arrays": [
        {"name": "a", "max_concurrently_running": 100_000}]}))["arrays"]["a"]
    tasks = [{"name": f"t{i}", "command": "true", "array": "a", "cluster_name": "sim",
              "queue_name": "all", "upstream": [f"t{i - 1}"] if chain and i else []}
             for i in range(n)]
    ids = ok(http.post(f"/workflow/{wf_id}/bind_tasks", json={"tasks": tasks}))["tasks"]
    ok(http.post(f"/workflow/{wf_id}/bind_done", json={}))
    return {"workflow_id": wf_id, "dag_id": wf["dag_id"], "array_id": arr, "tasks": ids}


def start(http: httpx.Client, ids: dict[str, Any]) -> tuple[int, int]:
    wfr = ok(http.post("/workflow_run", json={"workflow_id": ids["workflow_id"]}))[
        "workflow_run_id"]
    ok(http.post(f"/distributor/{wfr}/started", json={}))
    cluster = ok(http.get("/cluster/sim"))["cluster"]
    queue = ok(http.get(f"/cluster/{cluster[0]}/queue/all"))["queue"]
    tr = ok(http.post("/task/bind_resources", json={
        "queue_id": queue[0], "task_resources_type_id": "O", "requested_resources": {}}))
    return wfr, tr


def instances(http: httpx.Client, wf: int) -> list[dict[str, Any]]:
    return list(ok(http.get(f"/workflow/{wf}/task_instances"))["task_instances"])


def test_concurrent_claims_never_hand_out_the_same_instance(server: str) -> None:
    with httpx.Client(base_url=server, timeout=60) as http:
        ids = bind(http, "claims", 2000)
        wfr, tr = start(http, ids)
        task_ids = sorted(ids["tasks"].values())
        for part in range(0, len(task_ids), 500):
            ok(http.post(f"/array/{ids['array_id']}/queue_task_batch", json={
                "task_ids": task_ids[part:part + 500], "task_resources_id": tr,
                "workflow_run_id": wfr}))

    def claim_all(http: httpx.Client, _i: int) -> list[int]:
        got: list[int] = []
        while True:
            batch = ok(http.post(f"/distributor/{wfr}/claim", json={"max": 37}))
            if not batch["task_instances"]:
                return got
            got.extend(c["task_instance_id"] for c in batch["task_instances"])

    claimed = at_once(server, claim_all)
    counts = Counter(ti for part in claimed for ti in part)
    assert [ti for ti, n in counts.items() if n > 1] == []
    assert len(counts) == 2000
    assert sum(1 for part in claimed if part) > 1  # several claimers really took part
    with httpx.Client(base_url=server, timeout=60) as http:
        statuses = Counter(t["status"] for t in instances(http, ids["workflow_id"]))
    assert statuses == {"I": 2000}


def test_concurrent_identical_queue_batches_make_one_instance_per_task(server: str) -> None:
    with httpx.Client(base_url=server, timeout=60) as http:
        ids = bind(http, "queue-twice", 300)
        wfr, tr = start(http, ids)
    body = {"task_ids": sorted(ids["tasks"].values()), "task_resources_id": tr,
            "workflow_run_id": wfr}

    def queue(http: httpx.Client, _i: int) -> dict[str, list[int]]:
        answers = {}
        for _ in range(3):
            answers = ok(http.post(f"/array/{ids['array_id']}/queue_task_batch", json=body))
        return dict(answers["tasks_by_status"])

    answers = at_once(server, queue)
    assert all(a == {"Q": body["task_ids"]} for a in answers)
    with httpx.Client(base_url=server, timeout=60) as http:
        inst = instances(http, ids["workflow_id"])
    assert sorted(t["task_id"] for t in inst) == body["task_ids"]
    assert {t["attempt"] for t in inst} == {1}


def test_concurrent_run_creation_gives_one_run(server: str) -> None:
    with httpx.Client(base_url=server, timeout=60) as http:
        ids = bind(http, "one-run", 5)

    def create(http: httpx.Client, _i: int) -> tuple[int, Any]:
        r = http.post("/workflow_run", json={"workflow_id": ids["workflow_id"]})
        return r.status_code, r.json()

    answers = at_once(server, create)
    created = [body for code, body in answers if code == 200]
    assert len(created) == 1, answers
    refused = [body for code, body in answers if code == 409]
    assert len(refused) == THREADS - 1
    assert {b["error"]["active_workflow_run_id"] for b in refused} == {
        created[0]["workflow_run_id"]}


def test_concurrent_binding_of_one_and_of_many_workflows(server: str) -> None:
    same = at_once(server, lambda http, _i: bind(http, "bound-together", 200, chain=True))
    assert all(b == same[0] for b in same)
    many = at_once(server, lambda http, i: bind(http, f"bound-apart-{i}", 200, chain=True))
    with httpx.Client(base_url=server, timeout=60) as http:
        all_nodes: list[int] = []
        for b in [same[0], *many]:
            assert ok(http.post(f"/workflow/{b['workflow_id']}/bind_done", json={}))[
                "num_edges"] == 199
            tids = [b["tasks"][f"t{i}"] for i in range(200)]
            down = ok(http.post("/task/get_downstream_tasks", json={
                "task_ids": tids, "dag_id": b["dag_id"]}))["downstream_tasks"]
            node = [down[str(t)][0] for t in tids]
            all_nodes.extend(node)
            assert [down[str(t)][1] for t in tids] == [[n] for n in node[1:]] + [[]]
    assert len(all_nodes) == len(set(all_nodes))  # node ids never shared between workflows


def test_concurrent_results_and_repeats_leave_one_outcome(server: str) -> None:
    with httpx.Client(base_url=server, timeout=60) as http:
        ids = bind(http, "results", 200)
        wfr, tr = start(http, ids)
        ok(http.post(f"/array/{ids['array_id']}/queue_task_batch", json={
            "task_ids": sorted(ids["tasks"].values()), "task_resources_id": tr,
            "workflow_run_id": wfr}))
        claimed = ok(http.post(f"/distributor/{wfr}/claim", json={"max": 500}))[
            "task_instances"]
        tis = [c["task_instance_id"] for c in claimed]
        ok(http.post(f"/distributor/{wfr}/launched", json={
            "task_instances": [[t, str(t)] for t in tis], "next_report_increment": 600}))

    def report(http: httpx.Client, i: int) -> None:
        # half the threads say D, half say E: each instance ends with exactly one of them
        outcome = "D" if i % 2 else "E"
        ok(http.post(f"/distributor/{wfr}/results", json={"results": [
            r for t in tis for r in ({"task_instance_id": t, "status": "R"},
                                     {"task_instance_id": t, "status": outcome})]}))
        for t in tis[i::THREADS]:
            ok(http.post(f"/task_instance/{t}/log_done", json={}))

    at_once(server, report)
    with httpx.Client(base_url=server, timeout=60) as http:
        inst = {t["task_instance_id"]: t["status"] for t in instances(http, ids["workflow_id"])}
        by_status = ok(http.post(f"/workflow/{ids['workflow_id']}/task_status_updates",
                                 json={}))["tasks_by_status"]
    assert set(inst.values()) <= {"D", "E"}
    task_of = {c["task_instance_id"]: c["task_id"] for c in claimed}
    for ti, status in inst.items():  # the task followed its instance's one outcome
        expected = "D" if status == "D" else "G"
        assert task_of[ti] in by_status.get(expected, []), (ti, status)


def test_long_polls_on_many_connections_all_wake_on_one_change(server: str) -> None:
    with httpx.Client(base_url=server, timeout=60) as http:
        ids = bind(http, "long-poll", 4)
        wfr, tr = start(http, ids)
    url = f"/workflow/{ids['workflow_id']}/task_status_updates"
    # THREADS swarms, each on its own connection (so spread over the server processes),
    # sync once and then long-poll from the time they were given; one change made through
    # yet another connection must wake every one of them long before their wait ends
    waiting = threading.Barrier(THREADS + 1)

    def poll(http: httpx.Client, _i: int) -> dict[str, Any]:
        first = ok(http.post(url, json={}))
        waiting.wait()
        return dict(ok(http.post(url, json={"last_sync": first["time"], "wait": 50},
                                 timeout=120)))

    answers: list[dict[str, Any]] = []
    runner = threading.Thread(target=lambda: answers.extend(at_once(server, poll)))
    runner.start()
    waiting.wait()
    runner.join(timeout=3)
    assert runner.is_alive()  # the polls are waiting: nothing changed yet
    a = ids["tasks"]["t0"]
    with httpx.Client(base_url=server, timeout=60) as http:
        ok(http.post(f"/array/{ids['array_id']}/queue_task_batch", json={
            "task_ids": [a], "task_resources_id": tr, "workflow_run_id": wfr}))
    runner.join(timeout=40)  # well within the 50 s wait: only a wake-up ends them this soon
    assert not runner.is_alive()
    assert len(answers) == THREADS
    assert all(ans["tasks_by_status"].get("Q") == [a] for ans in answers), answers


def test_workers_with_a_token_announce_ready_and_check_it(postgres: PostgresCluster,
                                                          tmp_path_factory: pytest.TempPathFactory
                                                          ) -> None:
    name = postgres.fresh_database()
    proc = ServerProc(postgres.url_of(name), 2, tmp_path_factory.mktemp("token"),
                      "--host", "0.0.0.0", "--token", "tok-pg")
    try:
        port = proc.wait_ready().rsplit(":", 1)[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v3", timeout=30) as http:
            assert http.get("/health").status_code == 401
            assert http.get("/health", headers={"Authorization": "Bearer tok-pg"}).json() == {
                "status": "OK"}
    finally:
        assert proc.stop() == 0
        postgres.drop_database(name)
    assert "tok-pg" not in proc.stderr()
