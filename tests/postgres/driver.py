"""One OS process driving one workflow to D through the server's HTTP routes, with repeats.

``python -m tests.postgres.driver --server URL --name NAME --tasks N --seed S`` binds a
layered DAG of N tasks, creates a run and then, in three threads, plays a swarm (full status
sync, queue_task_batch of the ready G/A tasks) and two distributors (claim, launched,
results). Every write is sent twice at once from two HTTP clients (two connections, so
possibly two server processes): binding chunks, queue batches, launched and results. The
first attempt of some tasks fails (E or Z, chosen by a hash of name and attempt), so those
tasks run twice. Prints one JSON line: ids, the instances each distributor claimed, the
expected attempts per task, request counts and the elapsed time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

__all__ = ["first_outcome", "main"]

LAYER = 30
CHUNK = 100


def first_outcome(name: str) -> str:
    """The first attempt's result of task ``name``: mostly D, some E (retry) and Z (resize)."""
    h = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % 100
    return "E" if h < 12 else "Z" if h < 18 else "D"


class Driver:
    """The swarm and the two distributors of one workflow run."""

    def __init__(self, server: str, name: str, n: int, seed: int, deadline: float) -> None:
        self.name = name
        self.n = n
        self.rng = random.Random(seed)
        self.deadline = deadline
        self.clients = [httpx.Client(base_url=server + "/api/v3", timeout=60) for _ in range(4)]
        self.pool = ThreadPoolExecutor(max_workers=8)
        self.requests = 0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.claimed: dict[int, list[int]] = {0: [], 1: []}
        self.upstream: dict[str, list[str]] = {}

    def call(self, client: int, method: str, path: str, body: Any = None) -> Any:
        with self.lock:
            self.requests += 1
        r = self.clients[client].request(method, path, json=body)
        if r.status_code != 200:
            raise AssertionError(f"{method} {path} -> {r.status_code} {r.text[:300]}")
        return r.json()

    def twice(self, a: int, b: int, method: str, path: str, body: Any) -> Any:
        """The same request from clients ``a`` and ``b`` at once; both must agree on 200."""
        first = self.pool.submit(self.call, a, method, path, body)
        second = self.pool.submit(self.call, b, method, path, body)
        return first.result(), second.result()

    def bind(self) -> dict[str, Any]:
        wf = self.call(0, "POST", "/workflow/bind", {
            "name": self.name, "workflow_args": f"pg-tier {self.name}",
            "max_concurrently_running": 10_000})
        wf_id = wf["workflow_id"]
        arrays = self.call(0, "POST", f"/workflow/{wf_id}/bind_arrays", {"arrays": [
            {"name": "main", "max_concurrently_running": 10_000}]})["arrays"]
        tasks = []
        for i in range(self.n):
            layer = i // LAYER
            picks = [] if layer == 0 else [
                self.rng.randrange((layer - 1) * LAYER, layer * LAYER)
                for _ in range(self.rng.randint(0, 2))]
            ups = sorted({f"{self.name}-t{j}" for j in picks})
            tname = f"{self.name}-t{i}"
            self.upstream[tname] = ups
            tasks.append({"name": tname, "command": f"echo {i}", "array": "main",
                          "max_attempts": 3, "cluster_name": "sim", "queue_name": "all",
                          "requested_resources": {"memory": 1.0, "cores": 1, "runtime": 60},
                          "upstream": ups})
        ids: dict[str, int] = {}
        for start in range(0, len(tasks), CHUNK):
            one, two = self.twice(0, 1, "POST", f"/workflow/{wf_id}/bind_tasks",
                                  {"tasks": tasks[start:start + CHUNK]})
            if one != two:
                raise AssertionError(f"repeated bind answered differently: {one} {two}")
            ids.update(one["tasks"])
        done = self.call(0, "POST", f"/workflow/{wf_id}/bind_done", {})
        return {"workflow_id": wf_id, "array_id": arrays["main"], "tasks": ids, "done": done}

    def swarm(self, ids: dict[str, Any], wfr: int, tr: int) -> None:
        names = {v: k for k, v in ids["tasks"].items()}
        raised = False
        while time.monotonic() < self.deadline:
            by_status = self.call(0, "POST", f"/workflow/{ids['workflow_id']}/"
                                  "task_status_updates", {})["tasks_by_status"]
            status = {names[t]: s for s, tids in by_status.items() for t in tids}
            if not raised and self.call(0, "PUT", f"/workflow_run/{wfr}/update_status",
                                        {"status": "R"})["status"] == "R":
                raised = True
            if all(s == "D" for s in status.values()):
                self.done.set()
                return
            ready = [ids["tasks"][t] for t, s in status.items() if s in ("G", "A")
                     and all(status[u] == "D" for u in self.upstream[t])]
            for start in range(0, len(ready), 25):
                self.twice(0, 1, "POST", f"/array/{ids['array_id']}/queue_task_batch", {
                    "task_ids": ready[start:start + 25], "task_resources_id": tr,
                    "workflow_run_id": wfr})
            if not ready:
                time.sleep(0.02)
        raise AssertionError(f"{self.name}: not all tasks reached D before the deadline")

    def distributor(self, me: int, wfr: int) -> None:
        other = 3 - me  # clients 2 and 3 are the distributors'; each repeats the other's
        while not self.done.is_set() and time.monotonic() < self.deadline:
            got = self.call(me, "POST", f"/distributor/{wfr}/claim", {"max": 20})
            claimed = got["task_instances"]
            if not claimed:
                time.sleep(0.01)
                continue
            self.claimed[me - 2].extend(c["task_instance_id"] for c in claimed)
            self.twice(me, other, "POST", f"/distributor/{wfr}/launched", {
                "task_instances": [[c["task_instance_id"], f"sim-{c['task_instance_id']}"]
                                   for c in claimed], "next_report_increment": 600})
            results = []
            for c in claimed:
                outcome = first_outcome(c["name"]) if c["attempt"] == 1 else "D"
                results.append({"task_instance_id": c["task_instance_id"], "status": "R"})
                results.append({"task_instance_id": c["task_instance_id"], "status": outcome,
                                "error_message": None if outcome == "D" else "injected",
                                "exit_code": 0 if outcome == "D" else 1})
            one, two = self.twice(me, other, "POST", f"/distributor/{wfr}/results",
                                  {"results": results})
            if one != two:
                raise AssertionError(f"repeated results answered differently: {one} {two}")

    def run(self) -> dict[str, Any]:
        t0 = time.monotonic()
        ids = self.bind()
        bound = time.monotonic()
        wfr = self.call(0, "POST", "/workflow_run", {"workflow_id": ids["workflow_id"]})[
            "workflow_run_id"]
        self.twice(0, 1, "POST", f"/distributor/{wfr}/started", {})
        cluster = self.call(0, "GET", "/cluster/sim")["cluster"]
        queue = self.call(0, "GET", f"/cluster/{cluster[0]}/queue/all")["queue"]
        tr = self.call(0, "POST", "/task/bind_resources", {
            "queue_id": queue[0], "task_resources_type_id": "O",
            "requested_resources": {"memory": 1.0, "cores": 1, "runtime": 60}})
        errors: list[BaseException] = []

        def guarded(fn: Callable[..., None], *args: Any) -> Callable[[], None]:
            def body() -> None:
                try:
                    fn(*args)
                except Exception as exc:  # noqa: BLE001  (re-raised by run(), never swallowed)
                    errors.append(exc)
                    self.done.set()
            return body

        threads = [threading.Thread(target=guarded(self.swarm, ids, wfr, tr)),
                   threading.Thread(target=guarded(self.distributor, 2, wfr)),
                   threading.Thread(target=guarded(self.distributor, 3, wfr))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        final = self.call(0, "PUT", f"/workflow_run/{wfr}/update_status", {"status": "D"})
        elapsed = time.monotonic() - t0
        return {"name": self.name, "workflow_id": ids["workflow_id"], "workflow_run_id": wfr,
                "run_status": final["status"], "tasks": ids["tasks"],
                "expected_attempts": {t: 1 if first_outcome(t) == "D" else 2
                                      for t in ids["tasks"]},
                "claimed": self.claimed, "requests": self.requests,
                "bind_seconds": bound - t0, "elapsed": elapsed}

    def close(self) -> None:
        self.pool.shutdown()
        for c in self.clients:
            c.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.postgres.driver")
    p.add_argument("--server", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--tasks", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=240)
    args = p.parse_args(argv)
    driver = Driver(args.server, args.name, args.tasks, args.seed,
                    time.monotonic() + args.timeout)
    try:
        print(json.dumps(driver.run()), flush=True)
    finally:
        driver.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
