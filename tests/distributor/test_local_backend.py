"""The local backend with real worker processes, against a fake server's worker routes."""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

import psutil
import pytest

from actors.distributor.backend import DistributorId, LaunchRequest, Outcome, Reporter
from actors.distributor.local import LocalBackend, LocalConfig
from actors.worker.cgroup import MemoryCgroups
from messages.values import TaskInstanceId, TaskInstanceStatus
from tests.distributor.fakeserver import FakeServer

pytestmark = [pytest.mark.process, pytest.mark.timeout(60)]

S = TaskInstanceStatus
HOG = (f"{shlex.quote(sys.executable)} -c "
       "'import time; x = bytearray(600 * 2**20); time.sleep(30)'")


def _backend(server: FakeServer, tmp_path: Path, **kw: object) -> LocalBackend:
    options: dict[str, object] = {"heartbeat_interval": 0.5, "kill_grace": 1.0,
                                  "retry_budget": 5.0}
    options.update(kw)
    return LocalBackend(LocalConfig(server=server.url, workflow_run_id=7,
                                    state_dir=tmp_path / "state", working_dir=tmp_path,
                                    workflow_id=3, **options))  # type: ignore[arg-type]


def _request(ti: int, command: str, **kw: object) -> LaunchRequest:
    return LaunchRequest(task_instance_id=TaskInstanceId(ti), task_id=100 + ti, array_id=5,
                         name=f"task-{ti}", command=command, attempt=1,
                         **kw)  # type: ignore[arg-type]


def _wait_final(backend: LocalBackend, n: int = 1, timeout: float = 40) -> list[Outcome]:
    outcomes: list[Outcome] = []
    deadline = time.monotonic() + timeout
    while sum(o.final for o in outcomes) < n:
        assert time.monotonic() < deadline, f"no outcome in {timeout} s: {outcomes}"
        outcomes += backend.poll()
        time.sleep(0.05)
    return outcomes


def _run_one(server: FakeServer, tmp_path: Path, request: LaunchRequest,
             **kw: object) -> tuple[list[Outcome], LocalBackend]:
    backend = _backend(server, tmp_path, **kw)
    try:
        expected = DistributorId(f"{os.getpid()}.{request.task_instance_id}")
        assert backend.launch([request]) == [expected]
        return _wait_final(backend), backend
    finally:
        backend.close()


def test_exit_zero_is_done_reported_by_the_worker(fake_server: FakeServer, tmp_path: Path) -> None:
    outcomes, backend = _run_one(fake_server, tmp_path, _request(1, "echo hello; echo warn >&2"))
    assert [(o.status, o.reporter) for o in outcomes] == [(S.DONE, Reporter.WORKER)]
    routes = [r for r, _ in fake_server.reports(1)]
    assert routes[0] == "log_running" and routes[-1] == "log_done"
    assert len(fake_server.final_reports(1)) == 1
    assert (backend.log_dir / "task-1.1.out").read_text() == "hello\n"
    assert (backend.log_dir / "task-1.1.err").read_text() == "warn\n"
    assert backend.log_dir == tmp_path / "state" / "logs" / "wf3"
    running = fake_server.reports(1)[0][1]
    assert running["stdout_path"].endswith("task-1.1.out")


def test_exit_three_is_error_with_stderr_tail(fake_server: FakeServer, tmp_path: Path) -> None:
    outcomes, _ = _run_one(fake_server, tmp_path,
                           _request(2, "echo 'something broke: detail' >&2; exit 3"))
    assert [(o.status, o.reporter) for o in outcomes] == [(S.ERROR, Reporter.WORKER)]
    [(route, body)] = fake_server.final_reports(2)
    assert route == "log_error_worker_node"
    assert body["error_state"] == "E" and body["exit_code"] == 3
    assert "exit code 3" in body["error_message"]
    assert "something broke: detail" in body["error_message"]


@pytest.mark.parametrize("enforcement", ["cgroup", "rss"])
def test_memory_hog_is_a_resource_error(fake_server: FakeServer, tmp_path: Path,
                                        enforcement: str) -> None:
    if enforcement == "cgroup":
        probe = MemoryCgroups.detect(name="actorswarm-probe")
        if probe is None:
            pytest.skip("no writable cgroup v1 memory controller on this machine")
        probe.close()
    outcomes, _ = _run_one(fake_server, tmp_path, _request(3, HOG, memory_gib=200 / 1024),
                           memory_enforcement=enforcement)
    assert [(o.status, o.reporter) for o in outcomes] == [(S.RESOURCE_ERROR, Reporter.WORKER)]
    [(_route, body)] = fake_server.final_reports(3)
    assert body["error_state"] == "Z"
    assert "memory limit exceeded" in body["error_message"]
    assert "200 MiB" in body["error_message"]


def test_runtime_over_its_limit_is_a_resource_error(fake_server: FakeServer,
                                                    tmp_path: Path) -> None:
    outcomes, _ = _run_one(fake_server, tmp_path, _request(4, "sleep 30", runtime_s=1.0))
    assert [o.status for o in outcomes] == [S.RESOURCE_ERROR]
    [(_route, body)] = fake_server.final_reports(4)
    assert body["error_state"] == "Z"
    assert "runtime limit exceeded" in body["error_message"]


def _group_command(tmp_path: Path) -> str:
    return (f"sleep 60 & echo $! > {tmp_path}/child.pid; "
            f"(sleep 60; true) & echo $! > {tmp_path}/sub.pid; "
            f"echo $$ > {tmp_path}/shell.pid; wait")


def _pids(tmp_path: Path) -> list[int]:
    deadline = time.monotonic() + 20
    names = ("child.pid", "sub.pid", "shell.pid")
    while not all((tmp_path / n).exists() and (tmp_path / n).read_text().strip()
                  for n in names):
        assert time.monotonic() < deadline, "command did not start"
        time.sleep(0.05)
    return [int((tmp_path / n).read_text()) for n in names]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_kill_from_the_distributor_kills_the_whole_group(fake_server: FakeServer,
                                                         tmp_path: Path) -> None:
    backend = _backend(fake_server, tmp_path)
    try:
        [did] = backend.launch([_request(5, _group_command(tmp_path))])
        assert did is not None
        pids = _pids(tmp_path)
        assert backend.alive([did]) == {did: True}
        backend.kill([did])
        outcomes = _wait_final(backend)
    finally:
        backend.close()
    assert [(o.status, o.reporter) for o in outcomes] == [(S.ERROR_FATAL, Reporter.DISTRIBUTOR)]
    assert all(_gone(pid) for pid in pids), [p for p in pids if not _gone(p)]
    assert fake_server.final_reports(5) == []


def test_kill_self_answer_makes_the_worker_kill_its_group(fake_server: FakeServer,
                                                          tmp_path: Path) -> None:
    backend = _backend(fake_server, tmp_path)
    try:
        backend.launch([_request(6, _group_command(tmp_path))])
        pids = _pids(tmp_path)
        fake_server.kill(6)  # the next log_report_by answers K
        outcomes = _wait_final(backend)
    finally:
        backend.close()
    assert [o.status for o in outcomes] == [S.ERROR_FATAL]
    assert all(_gone(pid) for pid in pids)


def test_command_sees_its_ids_but_not_the_token(fake_server: FakeServer,
                                                tmp_path: Path) -> None:
    command = "env | grep -E '^(ACTORSWARM|JOBMON)_' | sort > env.txt; pwd > cwd.txt"
    _run_one(fake_server, tmp_path, _request(8, command), token="s3cret")
    env = dict(line.split("=", 1) for line in (tmp_path / "env.txt").read_text().splitlines())
    for prefix in ("ACTORSWARM", "JOBMON"):
        assert env[f"{prefix}_TASK_INSTANCE_ID"] == "8"
        assert env[f"{prefix}_TASK_ID"] == "108"
        assert env[f"{prefix}_WORKFLOW_RUN_ID"] == "7"
        assert env[f"{prefix}_WORKFLOW_ID"] == "3"
        assert env[f"{prefix}_ARRAY_ID"] == "5"
        assert env[f"{prefix}_TASK_NAME"] == "task-8"
    assert "ACTORSWARM_TOKEN" not in env
    assert (tmp_path / "cwd.txt").read_text().strip() == str(tmp_path)


def test_unreachable_server_leaves_the_report_to_the_distributor(fake_server: FakeServer,
                                                                 tmp_path: Path) -> None:
    fake_server.fail_all = True
    outcomes, _ = _run_one(fake_server, tmp_path, _request(9, "exit 3"), retry_budget=1.0)
    assert [(o.status, o.reporter) for o in outcomes] == [
        (S.RUNNING, Reporter.DISTRIBUTOR), (S.ERROR, Reporter.DISTRIBUTOR)]
    assert outcomes[1].exit_code == 3


def test_a_worker_that_cannot_start_is_an_unknown_error(fake_server: FakeServer,
                                                        tmp_path: Path) -> None:
    outcomes, _ = _run_one(fake_server, tmp_path, _request(10, "true"), python="/bin/false")
    assert [(o.status, o.reporter) for o in outcomes] == [
        (S.UNKNOWN_ERROR, Reporter.DISTRIBUTOR)]
    assert "worker exited with code 1" in (outcomes[0].error_message or "")


def test_parallelism_is_bounded(fake_server: FakeServer, tmp_path: Path) -> None:
    backend = _backend(fake_server, tmp_path, max_parallel=1)
    try:
        assert backend.capacity() == 1
        backend.launch([_request(11, "sleep 0.5"), _request(12, "true")])
        assert backend.capacity() == 0
        outcomes = _wait_final(backend, 2)
    finally:
        backend.close()
    assert [o.task_instance_id for o in outcomes] == [11, 12]
    first_end = fake_server.final_reports(11)
    assert first_end and fake_server.reports(12)
    assert backend.capacity() == 1


def test_close_kills_running_workers(fake_server: FakeServer, tmp_path: Path) -> None:
    backend = _backend(fake_server, tmp_path)
    backend.launch([_request(13, _group_command(tmp_path))])
    pids = _pids(tmp_path)
    backend.close()
    assert all(_gone(pid) for pid in pids)
