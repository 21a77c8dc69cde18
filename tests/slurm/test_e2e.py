"""The Slurm backend end to end: real server, real distributor, real single-node Slurm.

Each test binds a workflow on the cluster ``slurm`` (queue = the partition), creates a run,
starts ``python -m actors.distributor --backend slurm``, moves the run to R once the distributor
made it O (the swarm's job), queues ready tasks by hand (``queue_task_batch``) and checks the
result both on the server and on the Slurm side (squeue, the job-completion log).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.distributor.slurm.parse import SQUEUE_FORMAT, JobRecord, parse_squeue
from actors.resources import ResourceSet, parse_scales, scale
from tests.distributor.e2e import DistributorProc, ServerProc, wait_for
from tests.slurm.cluster import Cluster, SlurmApi, jobcomp_records

pytestmark = [pytest.mark.slurm, pytest.mark.process, pytest.mark.timeout(180)]

HOG = (f"{shlex.quote(sys.executable)} -c "
       "'import time; x = b\"x\" * (600 * 2**20); time.sleep(2)'")


def _start(api: SlurmApi, server: ServerProc, tmp_path: Path, name: str,
           tasks: list[dict[str, Any]], *, max_running: int = 10_000,
           extra: tuple[str, ...] = ()) -> tuple[int, int, dict[str, int], DistributorProc]:
    wf, ids = api.bind_slurm(name, tasks, max_running=max_running)
    api.load_arrays(wf)
    wfr = api.create_run(wf)
    dist = DistributorProc(server.url, wfr, tmp_path / "dist", backend="slurm", extra=[
        "--working-dir", str(tmp_path), "--workflow-id", str(wf),
        "--slurm-poll-interval", "0.5", *extra])
    assert api.set_run_status(wfr, "R") == "R"  # the distributor made it O
    return wf, wfr, ids, dist


def _squeue(job: str) -> dict[str, JobRecord]:
    """Slurm's view of one job array's tasks (all states)."""
    done = subprocess.run(["squeue", "--noheader", "--array", "--states=all", f"--jobs={job}",
                           f"--Format={SQUEUE_FORMAT}"], capture_output=True, text=True,
                          timeout=30, check=True)
    return {str(k): v for k, v in parse_squeue(done.stdout).items()}


def _final_state_now(cluster: Cluster, did: str) -> str:
    """The job's final state from squeue, else from the job-completion log ('' if none)."""
    record = _squeue(did.split("_")[0]).get(did)
    if record is not None and record.final:
        return record.state
    record = jobcomp_records(cluster.jobcomp).get(did)
    return record.state if record is not None else ""


def _final_state(cluster: Cluster, did: str, timeout: float = 30.0) -> str:
    """The job's final state, waiting for it: the worker can report to the server before
    slurmctld has ended the job and written its completion record."""
    state: str = wait_for(lambda: _final_state_now(cluster, did), timeout,
                          f"Slurm's final state of job {did}")
    return state


@pytest.fixture
def finish() -> Iterator[list[DistributorProc]]:
    """Distributors to stop after the test (stop is harmless when they already exited)."""
    procs: list[DistributorProc] = []
    yield procs
    for proc in procs:
        proc.stop()


def test_dag_runs_to_done(cluster: Cluster, server: ServerProc, api: SlurmApi,
                          tmp_path: Path, finish: list[DistributorProc]) -> None:
    tasks: list[dict[str, Any]] = [
        {"name": "a", "command": "echo a > a.txt"},
        {"name": "b", "command": "test -f a.txt && echo b", "upstream": ["a"]},
        {"name": "c", "command": "echo c; echo $SLURM_JOB_ID > c.job", "upstream": ["a"]},
        {"name": "d", "command": "echo $ACTORSWARM_TASK_NAME", "upstream": ["b", "c"]}]
    upstream = {t["name"]: t.get("upstream", []) for t in tasks}
    begin = time.monotonic()
    wf, wfr, ids, dist = _start(api, server, tmp_path, "dag", tasks)
    finish.append(dist)
    name_of = {v: k for k, v in ids.items()}
    queued: set[str] = set()
    while True:
        statuses = {name_of[t]: s for t, s in api.statuses(wf).items()}
        assert "F" not in statuses.values(), statuses
        if all(s == "D" for s in statuses.values()):
            break
        assert time.monotonic() - begin < 120, f"DAG not done: {statuses}"
        ready = [n for n, s in statuses.items() if s == "G" and n not in queued
                 and all(statuses[u] == "D" for u in upstream[n])]
        if ready:
            assert set(api.queue_slurm(wfr, [ids[n] for n in ready],
                                       {"memory": 0.25, "cores": 1, "runtime": 120})) == {"Q"}
            queued.update(ready)
        time.sleep(0.2)
    assert api.set_run_status(wfr, "D") == "D"
    assert dist.wait(30) == 0
    logs = tmp_path / "dist" / "logs" / f"wf{wf}"
    for name in "abcd":
        [ti] = api.instances(wf, name)
        assert ti["status"] == "D" and ti["stdout_path"].startswith(str(logs))
        assert _final_state(cluster, ti["distributor_id"]) == "COMPLETED"
    [d] = api.instances(wf, "d")
    assert Path(d["stdout_path"]).read_text() == "d\n"
    # b and c were queued together: one job array of two
    jobs = {name: api.distributor_ids(wf, name)[0].split("_")[0] for name in "abcd"}
    assert jobs["b"] == jobs["c"] != jobs["a"]
    assert (tmp_path / "c.job").read_text().strip().isdigit()


def test_array_concurrency_limit_holds_on_the_slurm_side(
        cluster: Cluster, server: ServerProc, api: SlurmApi, tmp_path: Path,
        finish: list[DistributorProc]) -> None:
    tasks = [{"name": f"t{i}", "command": "sleep 3"} for i in range(6)]
    wf, wfr, ids, dist = _start(api, server, tmp_path, "limited", tasks, max_running=2)
    finish.append(dist)
    assert api.client.get(f"/array/{api.array_of(ids['t0'])}/get_array_max_concurrently_running"
                          )["max_concurrently_running"] == 2
    api.queue_slurm(wfr, sorted(ids.values()), {"memory": 0.1, "cores": 1})
    did = wait_for(lambda: api.distributor_ids(wf, "t0")[0] if api.instances(wf, "t0")
                   and api.instances(wf, "t0")[0]["distributor_id"] else None, 60,
                   "t0 submitted")
    job = did.split("_")[0]
    assert {api.distributor_ids(wf, f"t{i}")[0].split("_")[0] for i in range(6)} == {job}
    most = 0
    deadline = time.monotonic() + 120
    while True:
        records = _squeue(job)
        running = sum(1 for r in records.values() if r.state == "RUNNING")
        most = max(most, running)
        if len(records) == 6 and all(r.final for r in records.values()):
            break
        assert time.monotonic() < deadline, records
        time.sleep(0.2)
    assert most == 2, f"at most {most} ran at once; the limit is 2"
    assert {r.state for r in records.values()} == {"COMPLETED"}
    wait_for(lambda: set(api.statuses(wf).values()) == {"D"}, 60, "all tasks D")
    assert api.set_run_status(wfr, "D") == "D"
    assert dist.wait(30) == 0


def test_memory_kill_is_a_resource_error_then_resized_task_succeeds(
        cluster: Cluster, server: ServerProc, api: SlurmApi, tmp_path: Path,
        finish: list[DistributorProc]) -> None:
    wf, wfr, ids, dist = _start(api, server, tmp_path, "hog", [
        {"name": "hog", "command": HOG, "max_attempts": 3,
         "resource_scales": {"memory": 0.5, "runtime": 0.5}}])
    finish.append(dist)
    tid = ids["hog"]
    first = ResourceSet(cluster="slurm", queue=api.partition, cores=1, memory=0.25, runtime=120)
    api.queue_slurm(wfr, [tid], first.to_requested())
    wait_for(lambda: api.statuses(wf).get(tid) == "A", 90, "task hog in A (resource error)")
    [killed] = api.instances(wf, "hog")
    assert killed["status"] == "Z", killed
    assert "memory limit exceeded" in killed["error_message"]
    expected = "OUT_OF_MEMORY" if cluster.enforcement == "cgroup" else "FAILED"
    assert _final_state(cluster, killed["distributor_id"]) == expected
    # the swarm's part: scale the resources (ceil(0.25 GiB x 1.5) = 1 GiB) and queue it again
    second = scale(first, parse_scales({"memory": 0.5, "runtime": 0.5}))
    assert second.memory == 1.0
    assert api.queue_slurm(wfr, [tid], second.to_requested()) == {"Q": [tid]}
    wait_for(lambda: api.statuses(wf).get(tid) == "D", 90, "task hog D after resizing")
    assert [i["status"] for i in api.instances(wf, "hog")] == ["Z", "D"]
    done = api.instances(wf, "hog")[1]
    assert _final_state(cluster, done["distributor_id"]) == "COMPLETED"
    assert api.set_run_status(wfr, "D") == "D"
    assert dist.wait(30) == 0


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_over_runtime_is_a_resource_error(cluster: Cluster, server: ServerProc, api: SlurmApi,
                                          tmp_path: Path, finish: list[DistributorProc]) -> None:
    wf, wfr, ids, dist = _start(api, server, tmp_path, "slowpoke", [
        {"name": "slow", "command": "sleep 600", "max_attempts": 2}])
    finish.append(dist)
    tid = ids["slow"]
    api.queue_slurm(wfr, [tid], {"memory": 0.1, "cores": 1, "runtime": 60})  # --time=1
    wait_for(lambda: api.statuses(wf).get(tid) == "R", 60, "task running")
    wait_for(lambda: api.statuses(wf).get(tid) == "A", 200, "task in A after Slurm's time limit",
             interval=1.0)
    [ti] = api.instances(wf, "slow")
    assert ti["status"] == "Z" and "runtime limit exceeded" in ti["error_message"], ti
    assert _final_state(cluster, ti["distributor_id"]) == "TIMEOUT"
    assert api.set_run_status(wfr, "E") == "E"  # the swarm would re-queue it; we stop here
    assert dist.wait(30) == 0


def test_cold_resume_cancels_running_jobs(cluster: Cluster, server: ServerProc, api: SlurmApi,
                                          tmp_path: Path, finish: list[DistributorProc]) -> None:
    cmd = f"echo $$ > {tmp_path}/$ACTORSWARM_TASK_NAME.pid; exec sleep 300"
    wf, wfr, ids, dist = _start(api, server, tmp_path, "cold", [
        {"name": "s1", "command": cmd}, {"name": "s2", "command": cmd}])
    finish.append(dist)
    api.queue_slurm(wfr, [ids["s1"], ids["s2"]], {"memory": 0.1, "cores": 1})
    wait_for(lambda: set(api.statuses(wf).values()) == {"R"}, 60, "both tasks running")
    dids = [api.distributor_ids(wf, n)[0] for n in ("s1", "s2")]
    assert all(_squeue(d.split("_")[0])[d].state == "RUNNING" for d in dids)
    pids = [int((tmp_path / f"{n}.pid").read_text()) for n in ("s1", "s2")]
    api.client.post(f"/workflow/{wf}/set_resume", {"reset_running_jobs": True})
    api.client.put(f"/workflow_run/{wfr}/terminate_task_instances", {})
    wait_for(lambda: [i["status"] for n in ("s1", "s2") for i in api.instances(wf, n)]
             == ["F", "F"], 60, "both instances F")
    for did in dids:
        assert _final_state(cluster, did) == "CANCELLED"
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids), 15,
             "the commands to be gone")
    assert api.set_run_status(wfr, "T") == "T"
    assert dist.wait(30) == 0


def test_a_stopped_distributor_cancels_its_jobs(cluster: Cluster, server: ServerProc,
                                                api: SlurmApi, tmp_path: Path,
                                                finish: list[DistributorProc]) -> None:
    """A detached distributor (on a login node) outlives its parent; SIGTERM stops it, and it
    cancels its jobs on the way out."""
    wf, wfr, ids, dist = _start(api, server, tmp_path, "stopped", [
        {"name": "long", "command": "sleep 300"}], extra=("--detached",))
    finish.append(dist)
    assert dist.popen.stdin is not None
    dist.popen.stdin.close()  # what the parent's exit looks like to a distributor
    api.queue_slurm(wfr, [ids["long"]], {"memory": 0.1, "cores": 1})
    wait_for(lambda: api.statuses(wf).get(ids["long"]) == "R", 60, "task running")
    [did] = api.distributor_ids(wf, "long")
    assert dist.popen.poll() is None and _squeue(did.split("_")[0])[did].state == "RUNNING"
    dist.popen.terminate()
    assert dist.wait(30) == 0
    assert wait_for(lambda: _final_state_now(cluster, did) == "CANCELLED", 30, "job cancelled")


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_hundred_instances_go_through_one_job_array(cluster: Cluster, server: ServerProc,
                                                      api: SlurmApi, tmp_path: Path,
                                                      finish: list[DistributorProc]) -> None:
    tasks = [{"name": f"n{i}", "command": f"echo {i}"} for i in range(100)]
    wf, wfr, ids, dist = _start(api, server, tmp_path, "hundred", tasks)
    finish.append(dist)
    begin = time.monotonic()
    api.queue_slurm(wfr, sorted(ids.values()), {"memory": 0.1, "cores": 1})
    wait_for(lambda: set(api.statuses(wf).values()) == {"D"}, 300, "100 tasks D", 1.0)
    elapsed = time.monotonic() - begin
    print(f"\n100 instances through Slurm in {elapsed:.1f} s", file=sys.stderr)
    jobs = {api.distributor_ids(wf, f"n{i}")[0].split("_")[0] for i in range(100)}
    assert len(jobs) == 1  # one sbatch for the whole batch
    assert api.set_run_status(wfr, "D") == "D"
    assert dist.wait(30) == 0
