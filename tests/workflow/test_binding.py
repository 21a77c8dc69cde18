"""bind(): chunks in topological order, idempotent, commands in the directory, errors.

A small in-memory bind server behind ``httpx.MockTransport`` plays docs/server-api.md
section 3, including its rule that an upstream must be bound before (or earlier in the same
chunk as) its dependents.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from actors.errors import ProtocolMismatch, RequestRejected
from actors.gateway import Gateway, GatewayConfig, RetryPolicy
from actors.workflow import (
    Task,
    Workflow,
    WorkflowArgsConflict,
    bind,
    command_in_directory,
    load_workflow,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class BindServer:
    """In-memory state for the bind routes; ``handle`` is the MockTransport handler."""

    def __init__(self) -> None:
        self.workflows: dict[str, int] = {}
        self.arrays: dict[tuple[int, str], int] = {}
        self.tasks: dict[tuple[int, str], int] = {}
        self.edges: set[tuple[int, str, str]] = set()
        self.commands: dict[str, str] = {}
        self.chunks: list[list[str]] = []
        self.lie_about_counts = False
        self.drop_ids = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        path = request.url.path.removeprefix("/api/v3")
        parts = path.strip("/").split("/")
        if path == "/workflow/bind":
            new = body["workflow_args"] not in self.workflows
            wf = self.workflows.setdefault(body["workflow_args"], len(self.workflows) + 1)
            return httpx.Response(200, json={"workflow_id": wf, "dag_id": wf + 100,
                                             "newly_created": new})
        wf = int(parts[1])
        if parts[2] == "bind_arrays":
            for a in body["arrays"]:
                self.arrays.setdefault((wf, a["name"]), len(self.arrays) + 1)
            return httpx.Response(200, json={"arrays": {a["name"]: self.arrays[(wf, a["name"])]
                                                        for a in body["arrays"]}})
        if parts[2] == "bind_tasks":
            names = [t["name"] for t in body["tasks"]]
            self.chunks.append(names)
            for i, t in enumerate(body["tasks"]):
                if t["queue_name"] not in ("all", "long"):
                    return httpx.Response(422, json={
                        "detail": f"task {t['name']!r}: queue {t['queue_name']!r} does not exist",
                        "error": {"type": "InvalidInput", "message": "",
                                  "location": f"tasks[{i}].queue_name"}})
                for up in t["upstream"]:
                    if (wf, up) not in self.tasks:
                        return httpx.Response(422, json={"detail": f"upstream {up} not bound"})
                self.tasks.setdefault((wf, t["name"]), len(self.tasks) + 1)
                self.commands[t["name"]] = t["command"]
                self.edges.update((wf, up, t["name"]) for up in t["upstream"])
            answer = {n: self.tasks[(wf, n)] for n in names}
            if self.drop_ids:
                answer.pop(names[-1])
            return httpx.Response(200, json={"tasks": answer})
        if parts[2] == "bind_done":
            num_tasks = sum(1 for (w, _) in self.tasks if w == wf) + self.lie_about_counts
            num_edges = sum(1 for e in self.edges if e[0] == wf)
            return httpx.Response(200, json={"workflow_id": wf, "num_tasks": num_tasks,
                                             "num_edges": num_edges})
        return httpx.Response(404, json={"detail": "no such route"})


def _gateway(server: BindServer) -> Gateway:
    return Gateway(GatewayConfig(base_url="http://bind.test", retry=RetryPolicy.once()),
                   transport=httpx.MockTransport(server.handle))


def test_bind_example_in_small_chunks_upstream_first() -> None:
    definition = load_workflow(EXAMPLES / "fan_out_fan_in.toml")
    server = BindServer()
    bound = bind(definition, _gateway(server), "local", chunk_size=5)
    assert [len(c) for c in server.chunks] == [5, 5, 4]
    flat = [n for chunk in server.chunks for n in chunk]
    assert flat[0] == "prepare" and flat[-1] == "collect"
    assert set(bound.task_ids) == set(definition.task_names)
    assert set(bound.array_ids) == {"default", "work"}
    assert bound.newly_created and bound.dag_id == bound.workflow_id + 100
    assert bound.num_edges == 24
    assert bound.task_names()[bound.task_ids["collect"]] == "collect"


def test_binding_again_returns_the_same_ids() -> None:
    definition = load_workflow(EXAMPLES / "diamond.toml")
    server = BindServer()
    first = bind(definition, _gateway(server), "local", chunk_size=2)
    second = bind(definition, _gateway(server), "local")
    assert second.task_ids == first.task_ids and second.workflow_id == first.workflow_id
    assert not second.newly_created and len(server.tasks) == 4


def test_commands_are_bound_to_run_in_the_workflow_directory(tmp_path: Path) -> None:
    wf = Workflow("w")
    wf.add_task("a", "pwd > where.txt")
    definition = wf.definition(tmp_path / "dir with 'quotes'")
    server = BindServer()
    bind(definition, _gateway(server), "local")
    bound_command = server.commands["a"]
    assert bound_command == command_in_directory(definition.directory, "pwd > where.txt")
    server = BindServer()
    bind(definition, _gateway(server), "local", in_directory=False)
    assert server.commands["a"] == "pwd > where.txt"


@pytest.mark.process
@pytest.mark.timeout(30)
def test_directory_prefix_really_runs_there_through_sh(tmp_path: Path) -> None:
    target = tmp_path / "odd dir 'x' $HOME"
    target.mkdir()
    script = command_in_directory(str(target), "pwd > where.txt")
    subprocess.run(["/bin/sh", "-c", script], check=True, timeout=20)
    assert (target / "where.txt").read_text().strip() == str(target)
    missing = command_in_directory(str(tmp_path / "absent"), "touch made.txt")
    result = subprocess.run(["/bin/sh", "-c", missing], capture_output=True, timeout=20,
                            check=False)
    assert result.returncode == 1 and not (tmp_path / "made.txt").exists()


def test_server_rejection_propagates_typed() -> None:
    wf = Workflow("w", default_resources={"queue": "nonexistent"})
    wf.add_task("a", "true")
    with pytest.raises(RequestRejected) as info:
        bind(wf.definition("/tmp"), _gateway(BindServer()), "local")
    assert info.value.status_code == 422 and "nonexistent" in info.value.detail


def test_reused_workflow_args_for_another_dag_is_a_conflict() -> None:
    server = BindServer()
    server.lie_about_counts = True
    wf = Workflow("w", workflow_args="shared")
    wf.add_task("a", "true")
    with pytest.raises(WorkflowArgsConflict) as info:
        bind(wf.definition("/tmp"), _gateway(server), "local")
    assert info.value.field == "workflow.workflow_args" and "different DAG" in str(info.value)


def test_missing_ids_in_the_answer_are_a_protocol_mismatch() -> None:
    server = BindServer()
    server.drop_ids = True
    wf = Workflow("w")
    wf.add_task(Task("a", "true"))
    with pytest.raises(ProtocolMismatch, match="lacks ids"):
        bind(wf.definition("/tmp"), _gateway(server), "local")


def test_bound_resources_and_settings(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    server = BindServer()

    def spy(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("bind_tasks"):
            seen.extend(json.loads(request.content)["tasks"])
        return server.handle(request)

    definition = load_workflow(EXAMPLES / "retry.toml")
    gateway = Gateway(GatewayConfig(base_url="http://bind.test"),
                      transport=httpx.MockTransport(spy))
    bind(definition, gateway, "sim")
    flaky = next(t for t in seen if t["name"] == "flaky")
    assert flaky["max_attempts"] == 3 and flaky["cluster_name"] == "sim"
    assert flaky["queue_name"] == "all"  # built-in default queue
    assert flaky["requested_resources"] == {"memory": 0.125, "runtime": 30, "cores": 1,
                                            "queue": "all"}
    assert flaky["resource_scales"] == {"memory": 0.5, "runtime": 0.5}
