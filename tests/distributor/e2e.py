"""Helpers of the end-to-end tests: the real server and distributor processes, and a binder.

``ServerProc`` and ``DistributorProc`` start ``python -m actors.server`` / ``python -m
actors.distributor`` as child processes, wait for their ``READY`` line and stop them (SIGTERM,
then SIGKILL). ``Api`` binds a small DAG through the bind routes, creates a run, and queues
ready tasks by hand with ``queue_task_batch``, the way the swarm's scheduler would.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actors.distributor.http import ServerClient

__all__ = ["Api", "DistributorProc", "ServerProc", "wait_for"]


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class _Proc:
    """A child process that prints READY (as the first word of a stdout line)."""

    def __init__(self, argv: list[str], *, cwd: Path, log: Path, ready_timeout: float = 30) -> None:
        self.log = log
        self.argv = argv
        with open(log, "ab") as err:
            self.popen = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=err)
        self.ready_line = self._read_ready(ready_timeout)

    def _read_ready(self, timeout: float) -> str:
        assert self.popen.stdout is not None
        fd = self.popen.stdout.fileno()
        buf = b""
        deadline = time.monotonic() + timeout
        while b"READY" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.popen.poll() is not None:
                self.stop()
                raise AssertionError(f"{self.argv[:3]} not READY: {buf!r}; log:\n"
                                     f"{self.log.read_text()[-3000:]}")
            ready, _, _ = select.select([fd], [], [], min(left, 0.2))
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    continue
                buf += chunk
        return next(line for line in buf.decode().splitlines() if "READY" in line)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def stop(self, timeout: float = 30) -> int | None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream is not None:
                stream.close()
        return self.popen.returncode


class ServerProc(_Proc):
    """``python -m actors.server`` on a free loopback port with its database in ``state``."""

    def __init__(self, state: Path) -> None:
        state.mkdir(parents=True, exist_ok=True)
        super().__init__([sys.executable, "-m", "actors.server", "--port", "0",
                          "--state-dir", str(state)], cwd=state, log=state / "server.log")
        self.url = self.ready_line.split()[1]


class DistributorProc(_Proc):
    """``python -m actors.distributor`` for one run (stdin a pipe: its EOF means parent gone)."""

    def __init__(self, url: str, wfr: int, state: Path, *, backend: str = "local",
                 extra: Sequence[str] = ()) -> None:
        state.mkdir(parents=True, exist_ok=True)
        super().__init__([sys.executable, "-m", "actors.distributor", "--server", url,
                          "--workflow-run-id", str(wfr), "--backend", backend,
                          "--state-dir", str(state), "--heartbeat-interval", "1",
                          "--kill-grace", "1", *extra],
                         cwd=state, log=state / f"distributor-{wfr}.log")


class Api:
    """The routes a swarm would call, used by hand."""

    def __init__(self, url: str) -> None:
        self.client = ServerClient(url, retry_budget=10)
        self._arrays: dict[int, int] = {}

    def close(self) -> None:
        self.client.close()

    def bind(self, name: str, tasks: list[dict[str, Any]], *, cluster: str = "local",
             array: str = "main", max_running: int = 10_000) -> tuple[int, dict[str, int]]:
        """Bind a workflow whose tasks are ``{"name", "command", "upstream"?, ...}``."""
        wf = self.client.post("/workflow/bind", {"name": name, "workflow_args": name,
                                                 "max_concurrently_running": max_running})
        wf_id = wf["workflow_id"]
        self.client.post(f"/workflow/{wf_id}/bind_arrays", {"arrays": [
            {"name": array, "max_concurrently_running": max_running}]})
        ids: dict[str, int] = {}
        for start in range(0, len(tasks), 5000):
            chunk = [dict({"array": array, "cluster_name": cluster, "queue_name": "all",
                           "max_attempts": 1}, **t) for t in tasks[start:start + 5000]]
            ids.update(self.client.post(f"/workflow/{wf_id}/bind_tasks",
                                        {"tasks": chunk})["tasks"])
        self.client.post(f"/workflow/{wf_id}/bind_done", {})
        return wf_id, ids

    def create_run(self, wf_id: int) -> int:
        answer = self.client.post("/workflow_run", {"workflow_id": wf_id})
        assert answer["status"] == "B", answer
        return int(answer["workflow_run_id"])

    def set_run_status(self, wfr: int, status: str) -> str:
        return str(self.client.put(f"/workflow_run/{wfr}/update_status",
                                   {"status": status})["status"])

    def resources_id(self, cluster: str, requested: dict[str, Any]) -> tuple[int, int]:
        cluster_id = self.client.get(f"/cluster/{cluster}")["cluster"][0]
        queue_id = self.client.get(f"/cluster/{cluster_id}/queue/all")["queue"][0]
        rid = self.client.post("/task/bind_resources", {
            "queue_id": queue_id, "task_resources_type_id": "O",
            "requested_resources": requested})
        return cluster_id, int(rid)

    def queue(self, wfr: int, task_ids: Sequence[int], *, cluster: str = "local",
              requested: dict[str, Any] | None = None) -> dict[str, list[int]]:
        """Queue ``task_ids`` (one array) with ``requested`` resources."""
        cluster_id, rid = self.resources_id(cluster, requested or {})
        array_id = self.array_of(task_ids[0])
        out: dict[str, list[int]] = {}
        for start in range(0, len(task_ids), 500):
            answer = self.client.post(f"/array/{array_id}/queue_task_batch", {
                "task_ids": list(task_ids[start:start + 500]), "task_resources_id": rid,
                "workflow_run_id": wfr, "cluster_id": cluster_id})
            for status, ids in answer["tasks_by_status"].items():
                out.setdefault(status, []).extend(ids)
        return out

    def array_of(self, task_id: int) -> int:
        return self._arrays[task_id]

    def load_arrays(self, wf_id: int) -> None:
        tasks = self.client.get(f"/workflow/get_tasks/{wf_id}",
                                {"max_task_id": 0, "chunk_size": 100_000})["tasks"]
        self._arrays = {int(k): v[0] for k, v in tasks.items()}

    def statuses(self, wf_id: int) -> dict[int, str]:
        answer = self.client.post(f"/workflow/{wf_id}/task_status_updates", {})
        return {tid: status for status, ids in answer["tasks_by_status"].items()
                for tid in ids}

    def instances(self, wf_id: int, task_name: str) -> list[dict[str, Any]]:
        return list(self.client.get(f"/workflow/{wf_id}/task_instances",
                                    {"task_name": task_name})["task_instances"])
