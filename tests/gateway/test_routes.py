"""Each gateway route: the request it sends (method, path, query, body) and what it returns."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
import httpx
import pytest

from actors.gateway import (
    ArraySpec,
    BindSummary,
    Buckets,
    Cluster,
    Features,
    Gateway,
    Queue,
    QueueResult,
    RunSummary,
    StatusUpdates,
    TaskEdges,
    TaskInstanceRow,
    TaskRow,
    TaskSpec,
    TerminateResult,
    UpsertedCluster,
    WorkflowBinding,
    WorkflowMetadata,
    WorkflowRunCreated,
    WorkflowSummary,
)
from messages.values import (
    ArrayId,
    RunStatus,
    TaskId,
    TaskInstanceId,
    TaskInstanceStatus,
    TaskStatus,
    WorkflowId,
    WorkflowRunId,
)
from tests.gateway.helpers import make_gateway, ok


@attrs.frozen
class Case:
    name: str
    call: Callable[[Gateway], Any]
    method: str
    path: str
    answer: Any
    expected: Any
    body: Any = None
    params: dict[str, str] = attrs.Factory(dict)


SUMMARY = {"workflow_id": 3, "name": "wf", "max_concurrently_running": 10,
           "task_counts": {"D": 2, "R": 1}, "buckets": {"pending": 0, "running": 1, "done": 2,
                                                        "fatal": 0},
           "runs": [{"workflow_run_id": 4, "status": "R", "heartbeat_date": "2024-01-01 00:00:00",
                     "created_date": "2024-01-01 00:00:00"}]}
SUMMARY_VALUE = WorkflowSummary(
    workflow_id=WorkflowId(3), name="wf", max_concurrently_running=10,
    task_counts={TaskStatus.DONE: 2, TaskStatus.RUNNING: 1},
    buckets=Buckets(pending=0, running=1, done=2, fatal=0),
    runs=(RunSummary(WorkflowRunId(4), RunStatus.RUNNING, "2024-01-01 00:00:00", "2024-01-01 00:00:00"),))
SPEC = TaskSpec(name="a", command="echo a", array="default", max_attempts=3,
                requested_resources={"memory": 1.0, "queue": "all"},
                resource_scales={"memory": 0.5}, fallback_queues=("long",),
                cluster_name="local", queue_name="all", upstream=("z",))

CASES = [
    Case("time", lambda g: g.time(), "GET", "/time", {"time": "2024-05-01 10:00:00"},
         "2024-05-01 10:00:00"),
    Case("health", lambda g: g.health(), "GET", "/health", {"status": "OK"}, "OK"),
    Case("features", lambda g: g.features(), "GET", "/features",
         {"long_poll": True, "server": "actorswarm", "version": "0.1.0"},
         Features(long_poll=True, server="actorswarm", version="0.1.0")),
    Case("metadata", lambda g: g.fetch_workflow_metadata(7), "GET",
         "/workflow/7/fetch_workflow_metadata", {"workflow": [7, 9, 100]},
         WorkflowMetadata(WorkflowId(7), 9, 100)),
    Case("get_tasks", lambda g: g.get_tasks(7, max_task_id=10, chunk_size=2), "GET",
         "/workflow/get_tasks/7",
         {"tasks": {"12": [1, "G", 3, "{'memory': 0.5}", "['long']",
                           "{'memory': 2.0, 'queue': 'all'}", "local", "all", 50],
                    "11": [1, "A", 2, {"runtime": 0.25}, [], {"cores": 2}, "local", "all", 50]}},
         (TaskRow(TaskId(11), ArrayId(1), TaskStatus.ADJUSTING_RESOURCES, 2, {"runtime": 0.25}, (),
                  {"cores": 2}, "local", "all", 50),
          TaskRow(TaskId(12), ArrayId(1), TaskStatus.REGISTERING, 3, {"memory": 0.5}, ("long",),
                  {"memory": 2.0, "queue": "all"}, "local", "all", 50)),
         params={"max_task_id": "10", "chunk_size": "2"}),
    Case("downstream", lambda g: g.get_downstream_tasks([1, 2, 3], dag_id=5), "POST",
         "/task/get_downstream_tasks",
         {"downstream_tasks": {"1": [10, [11, 12]], "2": [11, "[12]"], "3": [12, None]}},
         {1: TaskEdges(TaskId(1), 10, (11, 12)), 2: TaskEdges(TaskId(2), 11, (12,)),
          3: TaskEdges(TaskId(3), 12, ())},
         body={"task_ids": [1, 2, 3], "dag_id": 5}),
    Case("cluster", lambda g: g.get_cluster("sim"), "GET", "/cluster/sim",
         {"cluster": [2, "sim", "sim", {"speed": 1}]}, Cluster(2, "sim", "sim", {"speed": 1})),
    Case("queue", lambda g: g.get_queue(2, "long"), "GET", "/cluster/2/queue/long",
         {"queue": [5, "long", {"max_runtime": 86400}]}, Queue(5, "long", {"max_runtime": 86400})),
    Case("bind_resources", lambda g: g.bind_resources(5, {"memory": 1.0}), "POST",
         "/task/bind_resources", 17, 17,
         body={"queue_id": 5, "task_resources_type_id": "O",
               "requested_resources": {"memory": 1.0}}),
    Case("heartbeat", lambda g: g.log_heartbeat(4, RunStatus.RUNNING, 93.0), "POST",
         "/workflow_run/4/log_heartbeat", {"status": "C"}, RunStatus.COLD_RESUME,
         body={"status": "R", "next_report_increment": 93.0}),
    Case("update_status", lambda g: g.update_status(4, "R"), "PUT",
         "/workflow_run/4/update_status", {"status": "O"}, RunStatus.LAUNCHED,
         body={"status": "R"}),
    Case("triage", lambda g: g.set_status_for_triaging(4), "POST",
         "/workflow_run/4/set_status_for_triaging", {}, None, body={}),
    Case("full_sync", lambda g: g.task_status_updates(7), "POST",
         "/workflow/7/task_status_updates",
         {"tasks_by_status": {"D": [1, 2], "Q": [3]}, "time": "2024-05-01 10:00:01"},
         StatusUpdates({TaskStatus.DONE: (1, 2), TaskStatus.QUEUED: (3,)},
                       "2024-05-01 10:00:01"), body={}),
    Case("delta_sync", lambda g: g.task_status_updates(7, "2024-05-01 10:00:00"), "POST",
         "/workflow/7/task_status_updates", {"tasks_by_status": {}, "time": "t"},
         StatusUpdates({}, "t"), body={"last_sync": "2024-05-01 10:00:00"}),
    Case("cursor_sync", lambda g: g.task_status_updates(7, "2024-05-01 10:00:00.250000"), "POST",
         "/workflow/7/task_status_updates",
         {"tasks_by_status": {}, "time": "t", "cursor": "2024-05-01 10:00:01.500000"},
         StatusUpdates({}, "t", "2024-05-01 10:00:01.500000"),
         body={"last_sync": "2024-05-01 10:00:00.250000"}),
    Case("wf_limit", lambda g: g.get_max_concurrently_running(7), "GET",
         "/workflow/7/get_max_concurrently_running", {"max_concurrently_running": 4}, 4),
    Case("array_limit", lambda g: g.get_array_max_concurrently_running(8), "GET",
         "/array/8/get_array_max_concurrently_running", {"max_concurrently_running": 0}, 0),
    Case("queue_batch", lambda g: g.queue_task_batch(8, [1, 2, 3], 17, 4, 2), "POST",
         "/array/8/queue_task_batch", {"tasks_by_status": {"Q": [1, 2], "D": [3]}},
         QueueResult({TaskStatus.QUEUED: (1, 2), TaskStatus.DONE: (3,)}),
         body={"task_ids": [1, 2, 3], "task_resources_id": 17, "workflow_run_id": 4,
               "cluster_id": 2}),
    Case("terminate", lambda g: g.terminate_task_instances(4), "PUT",
         "/workflow_run/4/terminate_task_instances", {"workflow_run_id": 4, "killed": 2},
         TerminateResult(WorkflowRunId(4)), body={}),
    Case("set_resume", lambda g: g.set_resume(7, reset_running_jobs=True), "POST",
         "/workflow/7/set_resume", {}, None, body={"reset_running_jobs": True}),
    Case("is_resumable", lambda g: g.is_resumable(7), "GET", "/workflow/7/is_resumable",
         {"workflow_is_resumable": False}, False),
    Case("set_resume_state", lambda g: g.set_resume_state(7, reset_if_running=False), "POST",
         "/task/7/set_resume_state", {}, None, body={"reset_if_running": False}),
    Case("update_limit", lambda g: g.update_max_concurrently_running(7, 0), "PUT",
         "/workflow/7/update_max_concurrently_running", {"message": "ok"}, None,
         body={"max_tasks": 0}),
    Case("upsert_cluster", lambda g: g.upsert_cluster("slurm", "slurm", {"a": 1},
                                                      {"short": {"max_runtime": 3600}}),
         "POST", "/cluster",
         {"cluster": [3, "slurm", "slurm", {"a": 1}],
          "queues": {"short": [9, "short", {"max_runtime": 3600}]}},
         UpsertedCluster(Cluster(3, "slurm", "slurm", {"a": 1}),
                         {"short": Queue(9, "short", {"max_runtime": 3600})}),
         body={"name": "slurm", "type": "slurm", "params": {"a": 1},
               "queues": [{"name": "short", "params": {"max_runtime": 3600}}]}),
    Case("bind_workflow", lambda g: g.bind_workflow("wf", "args-1", 10, "ana"), "POST",
         "/workflow/bind", {"workflow_id": 7, "dag_id": 9, "newly_created": True},
         WorkflowBinding(WorkflowId(7), 9, True),
         body={"name": "wf", "workflow_args": "args-1", "max_concurrently_running": 10,
               "user": "ana"}),
    Case("bind_arrays", lambda g: g.bind_arrays(7, [ArraySpec("default", 10)]), "POST",
         "/workflow/7/bind_arrays", {"arrays": {"default": 8}}, {"default": 8},
         body={"arrays": [{"name": "default", "max_concurrently_running": 10}]}),
    Case("bind_tasks", lambda g: g.bind_tasks(7, [SPEC]), "POST", "/workflow/7/bind_tasks",
         {"tasks": {"a": 21}}, {"a": 21},
         body={"tasks": [{"name": "a", "command": "echo a", "array": "default",
                          "max_attempts": 3, "requested_resources": {"memory": 1.0,
                                                                     "queue": "all"},
                          "resource_scales": {"memory": 0.5}, "fallback_queues": ["long"],
                          "cluster_name": "local", "queue_name": "all", "upstream": ["z"]}]}),
    Case("bind_done", lambda g: g.bind_done(7), "POST", "/workflow/7/bind_done",
         {"workflow_id": 7, "num_tasks": 4, "num_edges": 3}, BindSummary(WorkflowId(7), 4, 3), body={}),
    Case("task_names", lambda g: g.task_names(7), "GET", "/workflow/7/task_names",
         {"tasks": {"21": "a", "22": "b"}}, {21: "a", 22: "b"}),
    Case("create_run", lambda g: g.create_workflow_run(7, resume=True, user="ana"), "POST",
         "/workflow_run", {"workflow_run_id": 4, "status": "B"},
         WorkflowRunCreated(WorkflowRunId(4), RunStatus.BOUND),
         body={"workflow_id": 7, "resume": True, "user": "ana", "jobmon_version": "3.6.0",
               "next_report_increment": 93.0}),
    Case("workflows", lambda g: g.workflows(), "GET", "/workflows", {"workflows": [SUMMARY]},
         (SUMMARY_VALUE,)),
    Case("workflow_status", lambda g: g.workflow_status(3), "GET", "/workflow/3/status",
         SUMMARY, SUMMARY_VALUE),
    Case("task_instances", lambda g: g.task_instances(3, task_name="a b"), "GET",
         "/workflow/3/task_instances",
         {"task_instances": [{"task_instance_id": 1, "task_id": 21, "task_name": "a b",
                              "attempt": 1, "status": "E", "distributor_id": 4242,
                              "stdout_path": "/o", "stderr_path": "/e",
                              "error_message": "boom", "exit_code": 3,
                              "submitted_date": "d1", "status_date": "d2"}]},
         (TaskInstanceRow(TaskInstanceId(1), TaskId(21), "a b", 1, TaskInstanceStatus.ERROR, "4242", "/o", "/e", "boom",
                          3, "d1", "d2"),), params={"task_name": "a b"}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_route_request_and_parsed_answer(case: Case) -> None:
    gateway, recorder, _ = make_gateway(ok(case.answer))
    assert case.call(gateway) == case.expected
    assert len(recorder.requests) == 1
    request = recorder.last
    assert request.method == case.method
    assert request.url.path == "/api/v3" + case.path
    assert request.url.host == "state.test" and request.url.port == 8080
    params = dict(request.url.params)
    assert params.pop("client_jobmon_version") == "3.6.0"
    assert params == case.params
    if case.method == "GET":
        assert request.content == b""
    else:
        assert json.loads(request.content) == case.body


class _Spy:
    """Stands in for a Gateway and records which methods a case calls."""

    def __init__(self) -> None:
        self.called: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        self.called.add(name)
        return lambda *a, **k: None


def test_every_route_method_is_covered() -> None:
    """Each public route method of Gateway appears in CASES (helpers have their own tests)."""
    public = {n for n in dir(Gateway) if not n.startswith("_")}
    helpers = {"close", "with_retry", "retry_policy", "iter_tasks", "config",
               # several requests, chosen by the server's dialect: tests/gateway/test_run_routes.py
               "dialect", "workflow_resumable", "run_status", "open_workflow_run"}
    spy = _Spy()
    for case in CASES:
        case.call(spy)  # type: ignore[arg-type]
    assert public - helpers - spy.called == set()


def test_token_is_sent_as_bearer_header() -> None:
    gateway, recorder, _ = make_gateway(ok({"status": "OK"}), token="s3cret")
    gateway.health()
    assert recorder.last.headers["Authorization"] == "Bearer s3cret"


def test_no_authorization_header_without_token() -> None:
    gateway, recorder, _ = make_gateway(ok({"status": "OK"}))
    gateway.health()
    assert "Authorization" not in recorder.last.headers


def test_base_url_trailing_slash_is_ignored() -> None:
    from actors.gateway import GatewayConfig
    assert GatewayConfig(base_url="http://h:1/").base_url == "http://h:1"


def test_names_in_paths_are_escaped() -> None:
    gateway, recorder, _ = make_gateway(ok({"queue": [1, "a/b c", {}]}))
    gateway.get_queue(2, "a/b c")
    assert recorder.last.url.raw_path.startswith(b"/api/v3/cluster/2/queue/a%2Fb%20c")


def test_iter_tasks_pages_until_a_short_page() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        last = int(request.url.params["max_task_id"])
        size = int(request.url.params["chunk_size"])
        ids = [i for i in range(1, 6) if i > last][:size]
        return httpx.Response(200, json={"tasks": {
            str(i): [1, "G", 3, "{}", "[]", "{}", "local", "all", 10] for i in ids}})

    gateway, recorder, _ = make_gateway(answer)
    assert [row.task_id for row in gateway.iter_tasks(7, chunk_size=2)] == [1, 2, 3, 4, 5]
    assert [r.url.params["max_task_id"] for r in recorder.requests] == ["0", "2", "4"]
