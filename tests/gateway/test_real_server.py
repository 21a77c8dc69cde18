"""The gateway against the real state server process: every swarm route, errors, token."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from actors.errors import NotFound, RequestRejected
from actors.gateway import ActiveRunExists, Gateway, GatewayConfig, RetryPolicy, StatusUpdates
from actors.workflow import Workflow, bind
from messages.values import RunStatus, TaskStatus
from tests.gateway.server_process import running_server

pytestmark = [pytest.mark.process, pytest.mark.timeout(120)]


def _bind_chain(gateway: Gateway, tmp_path: Path) -> tuple[int, int, dict[str, int], int]:
    wf = Workflow("chain", max_concurrently_running=5)
    a = wf.add_task("a", "true")
    wf.add_task("b", "true", upstream=[a])
    bound = bind(wf.definition(tmp_path), gateway, "local")
    return bound.workflow_id, bound.dag_id, dict(bound.task_ids), bound.array_ids["default"]


class _LoseFirstRunAnswer(httpx.HTTPTransport):
    """Sends every request to the server, but loses the answer to the first POST
    /workflow_run (a read timeout after the server committed)."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "POST" and request.url.path.endswith("/workflow_run"):
            self.bodies.append(request.content)
            if len(self.bodies) == 1:
                response.close()
                raise httpx.ReadTimeout("answer lost", request=request)
        return response


def test_a_retried_run_creation_gets_the_run_its_lost_answer_created(tmp_path: Path) -> None:
    transport = _LoseFirstRunAnswer()
    with running_server(tmp_path) as url, Gateway(
            GatewayConfig(base_url=url, retry=RetryPolicy(max_attempts=3, initial_backoff=0.01)),
            transport=transport) as gateway:
        wf, *_ = _bind_chain(gateway, tmp_path)
        run = gateway.open_workflow_run(wf)
        assert len(transport.bodies) == 2 and transport.bodies[0] == transport.bodies[1]
        assert b"request_key" in transport.bodies[0]
        assert run.status is RunStatus.BOUND
        runs = gateway.workflow_status(wf).runs
        assert [int(r.workflow_run_id) for r in runs] == [run.workflow_run_id]
        # a new logical request (a new key) is refused while that run is active
        with pytest.raises(ActiveRunExists):
            gateway.open_workflow_run(wf)


def test_swarm_routes_against_the_real_server(tmp_path: Path) -> None:
    with running_server(tmp_path) as url, Gateway(url) as gateway:
        assert gateway.health() == "OK"
        assert len(gateway.time()) == len("YYYY-MM-DD HH:MM:SS")
        assert gateway.features().long_poll is True

        cluster = gateway.get_cluster("local")
        queue = gateway.get_queue(cluster.cluster_id, "all")
        assert "max_cores" in queue.params
        resources_id = gateway.bind_resources(queue.queue_id, {"memory": 1.0, "cores": 1,
                                                               "runtime": 60, "queue": "all"})
        assert isinstance(resources_id, int)
        with pytest.raises(NotFound):
            gateway.get_cluster("no-such-cluster")

        wf, _, tasks, array = _bind_chain(gateway, tmp_path)
        run = gateway.create_workflow_run(wf)
        assert run.status is RunStatus.BOUND
        with pytest.raises(ActiveRunExists) as info:
            gateway.create_workflow_run(wf)
        assert info.value.active_workflow_run_id == run.workflow_run_id

        wfr = run.workflow_run_id
        assert gateway.log_heartbeat(wfr, RunStatus.BOUND, 10.0) is RunStatus.BOUND
        # B -> R is not a legal transition: 200 with the unchanged status.
        assert gateway.update_status(wfr, RunStatus.RUNNING) is RunStatus.BOUND
        gateway.set_status_for_triaging(wfr)

        full = gateway.task_status_updates(wf)
        assert full.tasks_by_status == {TaskStatus.REGISTERING: tuple(sorted(tasks.values()))}

        assert gateway.get_max_concurrently_running(wf) == 5
        # an array without its own limit is unlimited (Jobmon's 2^31-1); the workflow's applies
        assert gateway.get_array_max_concurrently_running(array) == 2_147_483_647
        gateway.update_max_concurrently_running(wf, 0)
        assert gateway.get_max_concurrently_running(wf) == 0
        gateway.update_max_concurrently_running(wf, 5)

        # Long polls from another thread see the queueing. Updates are inclusive at 1 s
        # resolution, so a poll may first answer with the binding's own changes: poll again.
        polled: list[StatusUpdates] = []

        def poll() -> None:
            last = full.time
            for _ in range(10):
                update = gateway.task_status_updates(wf, last, wait=20.0)
                polled.append(update)
                if TaskStatus.QUEUED in update.tasks_by_status:
                    return
                last = update.time

        poller = threading.Thread(target=poll)
        poller.start()
        queued = gateway.queue_task_batch(array, [tasks["a"]], resources_id, wfr,
                                          cluster.cluster_id)
        assert queued.tasks_by_status == {TaskStatus.QUEUED: (tasks["a"],)}
        poller.join(timeout=60)
        assert not poller.is_alive()
        assert polled[-1].tasks_by_status.get(TaskStatus.QUEUED) == (tasks["a"],)

        gateway.set_resume(wf, reset_running_jobs=True)
        assert gateway.log_heartbeat(wfr, RunStatus.BOUND, 10.0) is RunStatus.COLD_RESUME
        assert gateway.terminate_task_instances(wfr).workflow_run_id == wfr

        with pytest.raises(NotFound):
            gateway.update_status(999_999, RunStatus.RUNNING)
        with pytest.raises(NotFound):
            gateway.fetch_workflow_metadata(999_999)
        summary = gateway.workflow_status(wf)
        assert summary.name == "chain" and summary.runs[0].workflow_run_id == wfr
        assert gateway.task_instances(wf, task_name="a")[0].task_name == "a"


def test_token_protected_server(tmp_path: Path) -> None:
    with running_server(tmp_path, "--token", "t0ken") as url:
        once = RetryPolicy.once()
        with Gateway(GatewayConfig(base_url=url, retry=once)) as anonymous:
            with pytest.raises(RequestRejected) as info:
                anonymous.time()
            assert info.value.status_code == 401
        with Gateway(GatewayConfig(base_url=url, token="t0ken", retry=once)) as gateway:
            assert gateway.health() == "OK"
