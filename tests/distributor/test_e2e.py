"""End to end, without the swarm actors: the real server, distributor and worker processes.

Each test binds a small workflow through the bind routes, creates a run, starts the distributor
process, moves the run to R once the distributor has made it O (the swarm's job), and queues
ready tasks by hand with ``queue_task_batch``.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from actors.worker.cgroup import MEMORY_ROOT, own_memory_cgroup, sweep_stale
from tests.distributor.e2e import Api, DistributorProc, ServerProc, wait_for

pytestmark = [pytest.mark.process, pytest.mark.timeout(120)]

HOG = (f"{shlex.quote(sys.executable)} -c "
       "'import time; x = bytearray(600 * 2**20); time.sleep(30)'")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProc]:
    proc = ServerProc(tmp_path / "server")
    try:
        yield proc
    finally:
        assert proc.stop() is not None


@pytest.fixture
def api(server: ServerProc) -> Iterator[Api]:
    client = Api(server.url)
    yield client
    client.close()


def _start(api: Api, server: ServerProc, tmp_path: Path, name: str, tasks: list[dict],
           **kw: object) -> tuple[int, int, dict[str, int], DistributorProc]:
    cluster = str(kw.pop("cluster", "local"))
    wf, ids = api.bind(name, tasks, cluster=cluster)
    api.load_arrays(wf)
    wfr = api.create_run(wf)
    dist = DistributorProc(server.url, wfr, tmp_path / "dist", **kw)  # type: ignore[arg-type]
    assert api.set_run_status(wfr, "R") == "R"  # the distributor made it O
    return wf, wfr, ids, dist


def _own_cgroup_dir() -> Path:
    try:
        own = own_memory_cgroup(Path("/proc/self/cgroup").read_text())
    except OSError:
        own = None
    return MEMORY_ROOT / (own or "/nonexistent").lstrip("/")


def _own_cgroups_left() -> list[str]:
    base = _own_cgroup_dir()
    return sorted(p.name for p in base.glob("actorswarm-*")) if base.exists() else []


def test_dag_runs_to_done(server: ServerProc, api: Api, tmp_path: Path) -> None:
    tasks: list[dict[str, Any]] = [{"name": "a", "command": "echo a > a.txt"},
             {"name": "b", "command": "test -f a.txt && echo b", "upstream": ["a"]},
             {"name": "c", "command": "sleep 0.2; echo c >&2", "upstream": ["a"]},
             {"name": "d", "command": "echo $ACTORSWARM_TASK_NAME", "upstream": ["b", "c"]}]
    upstream = {t["name"]: t.get("upstream", []) for t in tasks}
    wf, wfr, ids, dist = _start(api, server, tmp_path, "dag", tasks,
                                extra=["--working-dir", str(tmp_path), "--workflow-id", "0"])
    name_of = {v: k for k, v in ids.items()}
    queued: set[str] = set()
    try:
        while True:
            statuses = {name_of[t]: s for t, s in api.statuses(wf).items()}
            assert "F" not in statuses.values(), statuses
            if all(s == "D" for s in statuses.values()):
                break
            ready = [n for n, s in statuses.items() if s == "G" and n not in queued
                     and all(statuses[u] == "D" for u in upstream[n])]
            if ready:
                assert set(api.queue(wfr, [ids[n] for n in ready])) == {"Q"}
                queued.update(ready)
            time.sleep(0.1)
        assert api.set_run_status(wfr, "D") == "D"
        assert dist.wait(30) == 0  # the distributor leaves by itself when the run is over
    finally:
        dist.stop()
    logs = tmp_path / "dist" / "logs" / "wf0"
    assert (logs / f"d.{api.instances(wf, 'd')[0]['task_instance_id']}.out").read_text() == "d\n"
    for name in "abcd":
        [ti] = api.instances(wf, name)
        assert ti["status"] == "D" and ti["stdout_path"].startswith(str(logs))
    assert _own_cgroups_left() == []


def test_memory_hog_ends_as_resource_error_and_task_in_a(server: ServerProc, api: Api,
                                                         tmp_path: Path) -> None:
    wf, wfr, ids, dist = _start(api, server, tmp_path, "hog",
                                [{"name": "hog", "command": HOG, "max_attempts": 3}])
    try:
        api.queue(wfr, [ids["hog"]], requested={"memory": 200 / 1024, "cores": 1})
        wait_for(lambda: api.statuses(wf).get(ids["hog"]) == "A", 60, "task hog in A")
        [ti] = api.instances(wf, "hog")
        assert ti["status"] == "Z"
        assert "memory limit exceeded" in ti["error_message"]
    finally:
        assert dist.stop() == 0


def test_exit_three_fails_after_two_attempts(server: ServerProc, api: Api,
                                             tmp_path: Path) -> None:
    wf, wfr, ids, dist = _start(api, server, tmp_path, "exit3", [
        {"name": "bad", "command": "echo 'no such input' >&2; exit 3", "max_attempts": 2}])
    tid = ids["bad"]
    try:
        api.queue(wfr, [tid])
        wait_for(lambda: api.statuses(wf).get(tid) == "G", 60, "task back in G after a failure")
        assert api.queue(wfr, [tid]) == {"Q": [tid]}
        wait_for(lambda: api.statuses(wf).get(tid) == "F", 60, "task F")
        instances = api.instances(wf, "bad")
        assert [i["status"] for i in instances] == ["E", "E"]
        assert all(i["exit_code"] == 3 and "no such input" in i["error_message"]
                   for i in instances)
    finally:
        assert dist.stop() == 0


def _count_statuses(api: Api, wf: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in api.statuses(wf).values():
        counts[status] = counts.get(status, 0) + 1
    return counts


@pytest.mark.timeout(180)
def test_sim_backend_runs_two_thousand_instances(server: ServerProc, api: Api,
                                                 tmp_path: Path) -> None:
    tasks = [{"name": f"t{i}", "command": f"true {i}"} for i in range(2000)]
    wf, wfr, ids, dist = _start(api, server, tmp_path, "sim2k", tasks, cluster="sim",
                                backend="sim")
    try:
        api.queue(wfr, sorted(ids.values()), cluster="sim")
        wait_for(lambda: _count_statuses(api, wf) == {"D": 2000}, 150, "2000 tasks D", 0.5)
        assert api.set_run_status(wfr, "D") == "D"
        assert dist.wait(30) == 0
    finally:
        dist.stop()
    for name in ("t0", "t999", "t1999"):
        assert [i["status"] for i in api.instances(wf, name)] == ["D"]


def _pid_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_cold_resume_kills_running_instances(server: ServerProc, api: Api,
                                             tmp_path: Path) -> None:
    cmd = f"sleep 60 & echo $! > {tmp_path}/child.pid; wait"
    wf, wfr, ids, dist = _start(api, server, tmp_path, "cold", [{"name": "s", "command": cmd}])
    try:
        api.queue(wfr, [ids["s"]])
        wait_for(lambda: api.statuses(wf).get(ids["s"]) == "R", 60, "task running")
        child = int(wait_for(lambda: (tmp_path / "child.pid").exists()
                             and (tmp_path / "child.pid").read_text().strip(), 30, "child pid"))
        api.client.post(f"/workflow/{wf}/set_resume", {"reset_running_jobs": True})
        api.client.put(f"/workflow_run/{wfr}/terminate_task_instances", {})
        wait_for(lambda: api.instances(wf, "s")[0]["status"] == "F", 30, "instance F")
        assert wait_for(lambda: _pid_gone(child), 10, "the command's child to die")
        assert api.set_run_status(wfr, "T") == "T"
        assert dist.wait(30) == 0
    finally:
        dist.stop()


def test_sigterm_and_lost_parent_stop_the_distributor(server: ServerProc, api: Api,
                                                      tmp_path: Path) -> None:
    cmd = f"echo $$ > {tmp_path}/$ACTORSWARM_TASK_NAME.pid; sleep 60"
    tasks = [{"name": "x", "command": cmd}, {"name": "y", "command": cmd}]
    _wf, wfr, ids, dist = _start(api, server, tmp_path, "stop", tasks)
    try:
        api.queue(wfr, [ids["x"]])
        pid = int(wait_for(lambda: (tmp_path / "x.pid").exists()
                           and (tmp_path / "x.pid").read_text().strip(), 30, "task x"))
        dist.popen.send_signal(signal.SIGTERM)
        assert dist.wait(30) == 0
        assert _pid_gone(pid)
    finally:
        dist.stop()
    # a second distributor for the same run: its parent "dies" (stdin closes)
    dist2 = DistributorProc(server.url, wfr, tmp_path / "dist2")
    try:
        api.queue(wfr, [ids["y"]])
        pid = int(wait_for(lambda: (tmp_path / "y.pid").exists()
                           and (tmp_path / "y.pid").read_text().strip(), 30, "task y"))
        assert dist2.popen.stdin is not None
        dist2.popen.stdin.close()
        assert dist2.wait(30) == 0
        assert _pid_gone(pid)
    finally:
        dist2.stop()
    assert os.getpid() not in [p.ppid() for p in psutil.process_iter() if p.pid == pid]


def test_a_killed_distributor_leaves_no_orphan(server: ServerProc, api: Api,
                                               tmp_path: Path) -> None:
    cmd = f"echo $PPID > {tmp_path}/worker.pid; echo $$ > {tmp_path}/cmd.pid; sleep 60"
    _wf, wfr, ids, dist = _start(api, server, tmp_path, "sigkill",
                                 [{"name": "k", "command": cmd}])
    try:
        api.queue(wfr, [ids["k"]])
        pids = [int(wait_for(lambda n=n: (tmp_path / n).exists()
                             and (tmp_path / n).read_text().strip(), 30, n))
                for n in ("worker.pid", "cmd.pid")]
        assert "actors.worker" in " ".join(psutil.Process(pids[0]).cmdline())
        dist.popen.kill()
        dist.wait(10)
        wait_for(lambda: all(_pid_gone(p) for p in pids), 15, "worker and command to exit")
    finally:
        dist.stop()
    # its memory cgroup (if any) is left; the next distributor's start sweeps it away
    left = _own_cgroups_left()
    assert all(name.endswith(f"-{dist.pid}") for name in left)
    if left:
        assert sweep_stale(_own_cgroup_dir()) == left
    assert _own_cgroups_left() == []
