"""A deliberately plain HTTP swarm for recording traffic (not the product's swarm).

Who uses it: ``record_traffic.py``. It makes the same calls as the shared reference script
``raw_http_swarm.py`` (and Jobmon's 3.6 swarm), in the same order, through a ``Recorder`` so that
every request and answer is kept:

- ``load()``: GET /time, fetch_workflow_metadata, get_tasks (non-D tasks), get_downstream_tasks,
  GET /cluster/{name}, GET /cluster/{id}/queue/{name}; builds the DAG of the tasks not yet D.
- ``start()``: PUT update_status R (the distributor has moved the run to O by then).
- ``step()``: queue ready tasks by array (bind_resources once per distinct resources, then
  queue_task_batch), wait ``interval``, then heartbeat, triage, task_status_updates (incremental),
  workflow and array limits. ``run_until(predicate)`` repeats it.
"""

from __future__ import annotations

import ast
import json
import time
from collections.abc import Callable
from typing import Any

import attrs

from .traffic import Recorder, RecordingError

__all__ = ["ACTIVE", "MiniSwarm", "RecordingError", "parse_downstream"]

ACTIVE = frozenset("QIOR")


def parse_downstream(value: Any) -> list[int]:
    """``downstream_node_ids`` arrives as null, a list, or a JSON string of a list."""
    if value is None:
        return []
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, list):
        raise RecordingError(f"downstream_node_ids has unexpected type {type(value).__name__}")
    return [int(v) for v in value]


def _literal(text: Any) -> Any:
    """requested_resources / resource_scales are Python-literal or JSON strings."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return ast.literal_eval(text)


@attrs.define
class MiniSwarm:
    """The state of one workflow run as seen through HTTP; mutated only by its own methods."""

    rec: Recorder
    workflow_id: int
    workflow_run_id: int
    cluster: str
    queue: str = "null.q"
    interval: float = 1.0
    run_status: str = "R"
    tasks: dict[int, dict[str, Any]] = attrs.field(factory=dict)
    downstream: dict[int, list[int]] = attrs.field(factory=dict)
    upstream_left: dict[int, int] = attrs.field(factory=dict)
    ready: list[int] = attrs.field(factory=list)
    dag_id: int = 0
    max_concurrently_running: int = 0
    last_sync: str = ""
    cluster_id: int = 0
    queue_id: int = 0
    resources: dict[str, int] = attrs.field(factory=dict)

    @property
    def prefix(self) -> str:
        return f"/workflow_run/{self.workflow_run_id}"

    def statuses(self) -> dict[int, str]:
        return {tid: str(task["status"]) for tid, task in self.tasks.items()}

    def load(self) -> None:
        rec, wf = self.rec, self.workflow_id
        self.last_sync = rec.ok("time", "/time")["time"]
        meta = rec.ok("fetch_workflow_metadata", f"/workflow/{wf}/fetch_workflow_metadata")
        _, self.dag_id, self.max_concurrently_running = meta["workflow"]
        rows = rec.ok("get_tasks", f"/workflow/get_tasks/{wf}",
                      query={"max_task_id": 0, "chunk_size": 500})["tasks"]
        for key, row in rows.items():
            self.tasks[int(key)] = {"array_id": row[0], "status": row[1],
                                    "requested": _literal(row[5])}
        edges = rec.ok("get_downstream_tasks", "/task/get_downstream_tasks",
                       {"task_ids": sorted(self.tasks), "dag_id": self.dag_id})
        node_to_task = {}
        down_nodes = {}
        for key, (node_id, nodes) in edges["downstream_tasks"].items():
            node_to_task[node_id] = int(key)
            down_nodes[int(key)] = parse_downstream(nodes)
        self.upstream_left = dict.fromkeys(self.tasks, 0)
        for tid in self.tasks:
            self.downstream[tid] = [node_to_task[n] for n in down_nodes.get(tid, [])
                                    if n in node_to_task]
            for child in self.downstream[tid]:
                self.upstream_left[child] += 1
        self.ready = [tid for tid, task in sorted(self.tasks.items())
                      if task["status"] in ("G", "A") and self.upstream_left[tid] == 0]
        self.cluster_id = rec.ok("cluster", f"/cluster/{self.cluster}")["cluster"][0]
        self.queue_id = rec.ok("queue", f"/cluster/{self.cluster_id}/queue/{self.queue}")["queue"][0]

    def start(self) -> None:
        status = self.rec.ok("update_status", f"{self.prefix}/update_status", {"status": "R"})
        if status["status"] != "R":
            raise RecordingError(f"run {self.workflow_run_id} did not go to R: {status}")
        self.run_status = "R"

    def schedule(self) -> None:
        """Queue ready tasks within the workflow limit, one batch per (array, resources)."""
        active = sum(1 for task in self.tasks.values() if task["status"] in ACTIVE)
        take = self.ready[:max(0, self.max_concurrently_running - active)]
        self.ready = self.ready[len(take):]
        batches: dict[tuple[int, str], list[int]] = {}
        for tid in take:
            key = json.dumps(self.tasks[tid]["requested"], sort_keys=True)
            batches.setdefault((self.tasks[tid]["array_id"], key), []).append(tid)
        for (array_id, key), ids in batches.items():
            if key not in self.resources:
                self.resources[key] = self.rec.ok("bind_resources", "/task/bind_resources", {
                    "queue_id": self.queue_id, "task_resources_type_id": "O",
                    "requested_resources": json.loads(key)})
            answer = self.rec.ok("queue_task_batch", f"/array/{array_id}/queue_task_batch", {
                "task_ids": ids, "task_resources_id": self.resources[key],
                "workflow_run_id": self.workflow_run_id, "cluster_id": self.cluster_id})
            self.apply(answer["tasks_by_status"])

    def sync(self) -> str:
        """Heartbeat, triage, status delta, limits; returns the server's run status."""
        rec = self.rec
        beat = rec.ok("log_heartbeat", f"{self.prefix}/log_heartbeat",
                      {"status": self.run_status, "next_report_increment": 3.1})
        self.run_status = beat["status"]
        rec.ok("set_status_for_triaging", f"{self.prefix}/set_status_for_triaging", {})
        update = rec.ok("task_status_updates", f"/workflow/{self.workflow_id}/task_status_updates",
                        {"last_sync": self.last_sync})
        self.last_sync = update["time"]
        self.apply(update["tasks_by_status"])
        limit = rec.ok("get_max_concurrently_running",
                       f"/workflow/{self.workflow_id}/get_max_concurrently_running")
        self.max_concurrently_running = limit["max_concurrently_running"]
        for array_id in sorted({task["array_id"] for task in self.tasks.values()}):
            rec.ok("get_array_max_concurrently_running",
                   f"/array/{array_id}/get_array_max_concurrently_running")
        return self.run_status

    def apply(self, tasks_by_status: dict[str, list[int]]) -> None:
        for status, ids in tasks_by_status.items():
            for tid in map(int, ids):
                task = self.tasks.get(tid)
                if task is None or task["status"] == status:
                    continue
                task["status"] = status
                if status == "D":
                    for child in self.downstream[tid]:
                        self.upstream_left[child] -= 1
                        if self.upstream_left[child] == 0 and self.tasks[child]["status"] == "G":
                            self.ready.append(child)
                elif status in ("G", "A") and self.upstream_left[tid] == 0 \
                        and tid not in self.ready:
                    self.ready.append(tid)

    def step(self, schedule: bool = True) -> str:
        if schedule and self.run_status == "R":
            self.schedule()
        time.sleep(self.interval)
        return self.sync()

    def run_until(self, done: Callable[[MiniSwarm], bool], timeout: float, what: str,
                  schedule: bool = True) -> None:
        deadline = time.monotonic() + timeout
        while not done(self):
            if time.monotonic() > deadline:
                raise RecordingError(f"timed out after {timeout} s waiting for {what}; "
                                     f"tasks {self.statuses()}, run {self.run_status}")
            self.step(schedule)
