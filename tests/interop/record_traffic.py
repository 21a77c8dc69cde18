"""Record the real Jobmon server's answers to the swarm's calls, as fixtures (one file per route).

Run from the repository root with the repo's venv (it starts and stops everything itself)::

    python -m tests.interop.record_traffic [--out tests/fixtures/jobmon]
                                           [--clusters sequential multiprocess]

It starts a real server (``jobmon_ref``), binds workflows with the real client
(``jobmon_client_driver.py bind``), starts the real distributor, and performs every swarm call
itself with plain HTTP (``MiniSwarm``, the calls of ``raw_http_swarm.py``), recording full
requests and answers. Per cluster: a chain run from run creation to D (with an illegal
transition, a second POST /workflow_run, a full sync, queueing a task that is already D), a cold
resume (set_resume, heartbeat answering C, terminate_task_instances, drain, T, task reset, a
resumed run to D) and a hot resume. Once: unknown ids, malformed requests, fan-out/fan-in edges,
set_resume by another user, and triage timing (acting as distributor and worker by hand).
``observations.json`` keeps database snapshots (tasks, instances, runs) taken at those moments.
"""

from __future__ import annotations

import argparse
import getpass
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .jobmon_procs import ReferenceDistributor, distributor_argv, run_client_driver
from .jobmon_ref import JobmonServer, ReferenceEnv, ensure_venv
from .mini_swarm import MiniSwarm, RecordingError
from .scenarios import WorkflowSpec, chain, fan_out_fan_in, long_middle, wide
from .traffic import Recorder, Sanitizer, write_fixtures

__all__ = ["main", "record"]

UNKNOWN = 999_999
USER = getpass.getuser()
Observations = dict[str, Any]


class Session:
    """Everything one recording needs: server, venv, recorder, observations."""

    def __init__(self, env: ReferenceEnv, server: JobmonServer, rec: Recorder) -> None:
        self.env, self.server, self.rec = env, server, rec
        self.client_env = server.client_env()
        self.observations: Observations = {}

    def case(self, name: str, cluster: str | None = None) -> None:
        self.rec.case, self.rec.cluster = name, cluster

    def bind(self, spec: WorkflowSpec) -> dict[str, Any]:
        result = run_client_driver(self.env, self.client_env, "bind", spec.to_wire(), timeout=180)
        if not result.get("ok"):
            raise RecordingError(f"binding {spec.name} failed: {result}")
        return result

    def create_run(self, workflow_id: int, user: str = USER) -> int:
        """POST /workflow_run then PUT update_status B: how Jobmon's client creates a run."""
        _, body = self.rec.call("create_workflow_run", "/workflow_run", {
            "workflow_id": workflow_id, "user": user, "jobmon_version": "3.4.3.dev3",
            "next_report_increment": 3.1})
        wfr = body.get("workflow_run_id") if isinstance(body, dict) else None
        if not isinstance(wfr, int):
            raise RecordingError(f"POST /workflow_run for workflow {workflow_id}: {body!r}")
        self.rec.ok("update_status", f"/workflow_run/{wfr}/update_status", {"status": "B"})
        return wfr

    def distributor(self, cluster: str, wfr: int) -> ReferenceDistributor:
        return ReferenceDistributor.start(distributor_argv(self.env, cluster, wfr),
                                          self.client_env, timeout=90)

    def snapshot(self, label: str, workflow_id: int) -> None:
        q = self.server.query
        self.observations[label] = {
            "runs": q("SELECT id, status FROM workflow_run WHERE workflow_id = ? ORDER BY id",
                      (workflow_id,)),
            "tasks": q("SELECT id, status, num_attempts FROM task WHERE workflow_id = ? "
                       "ORDER BY id", (workflow_id,)),
            "task_instances": q(
                "SELECT ti.id, ti.task_id, ti.workflow_run_id, ti.status FROM task_instance ti "
                "JOIN task t ON t.id = ti.task_id WHERE t.workflow_id = ? ORDER BY ti.id",
                (workflow_id,)),
        }


def _all(status: str) -> Callable[[MiniSwarm], bool]:
    return lambda swarm: all(s == status for s in swarm.statuses().values())


def record_chain(s: Session, cluster: str, tag: str) -> None:
    rec = s.rec
    bound = s.bind(chain(cluster, tag))
    wf = bound["workflow_id"]
    s.case("create a run: POST /workflow_run answers L", cluster)
    _, body = rec.call("create_workflow_run", "/workflow_run", {
        "workflow_id": wf, "user": USER, "jobmon_version": "3.4.3.dev3",
        "next_report_increment": 3.1})
    wfr = body["workflow_run_id"]
    s.case("a second POST /workflow_run while the first run is L", cluster)
    rec.call("create_workflow_run", "/workflow_run", {
        "workflow_id": wf, "user": USER, "jobmon_version": "3.4.3.dev3",
        "next_report_increment": 3.1})
    s.case("L -> B, as the client does after binding", cluster)
    rec.ok("update_status", f"/workflow_run/{wfr}/update_status", {"status": "B"})
    s.case("illegal transition B -> R: 200 with the unchanged status", cluster)
    rec.ok("update_status", f"/workflow_run/{wfr}/update_status", {"status": "R"})
    s.case("heartbeat while B (status B): B -> B is refused, heartbeat not extended", cluster)
    rec.ok("log_heartbeat", f"/workflow_run/{wfr}/log_heartbeat",
           {"status": "B", "next_report_increment": 3.1})
    with s.distributor(cluster, wfr):
        s.snapshot(f"{cluster}/chain: distributor ALIVE", wf)
        swarm = MiniSwarm(rec, wf, wfr, cluster)
        s.case("builder phase, run in O", cluster)
        swarm.load()
        s.case("get_tasks paged with chunk_size 2", cluster)
        first = rec.ok("get_tasks", f"/workflow/get_tasks/{wf}",
                       query={"max_task_id": 0, "chunk_size": 2})["tasks"]
        last = max(map(int, first))
        rec.ok("get_tasks", f"/workflow/get_tasks/{wf}", query={"max_task_id": last,
                                                               "chunk_size": 2})
        rec.ok("get_tasks", f"/workflow/get_tasks/{wf}", query={"max_task_id": last + 5,
                                                               "chunk_size": 2})
        s.case("O -> R", cluster)
        swarm.start()
        s.case("orchestrator loop (incremental sync)", cluster)
        swarm.run_until(_all("D"), 120, "every chain task D")
        s.case("full sync: no last_sync", cluster)
        rec.ok("task_status_updates", f"/workflow/{wf}/task_status_updates", {})
        s.case("queue_task_batch of a task already D: returned unchanged", cluster)
        t1 = bound["tasks"]["t1"]
        rec.ok("queue_task_batch", f"/array/{swarm.tasks[t1]['array_id']}/queue_task_batch", {
            "task_ids": [t1], "task_resources_id": next(iter(swarm.resources.values())),
            "workflow_run_id": wfr, "cluster_id": swarm.cluster_id})
        s.case("R -> D", cluster)
        rec.ok("update_status", f"/workflow_run/{wfr}/update_status", {"status": "D"})
        s.case("illegal transition D -> R", cluster)
        rec.ok("update_status", f"/workflow_run/{wfr}/update_status", {"status": "R"})
        s.case("heartbeat after D (status R)", cluster)
        rec.ok("log_heartbeat", f"/workflow_run/{wfr}/log_heartbeat",
               {"status": "R", "next_report_increment": 3.1})
    s.snapshot(f"{cluster}/chain: done", wf)
    s.case("operator changes the workflow limit", cluster)
    rec.ok("update_max_concurrently_running", f"/workflow/{wf}/update_max_concurrently_running",
           {"max_tasks": 7})
    rec.ok("get_max_concurrently_running", f"/workflow/{wf}/get_max_concurrently_running")


def record_cold_resume(s: Session, cluster: str, tag: str, tmp: Path) -> None:
    rec = s.rec
    marker = tmp / f"cold-{cluster}-{tag}"
    bound = s.bind(long_middle(cluster, tag, str(marker), seconds=120))
    wf, t2 = bound["workflow_id"], bound["tasks"]["t2"]
    s.case("cold resume: first run", cluster)
    wfr = s.create_run(wf)
    with s.distributor(cluster, wfr):
        swarm = MiniSwarm(rec, wf, wfr, cluster)
        swarm.load()
        swarm.start()
        swarm.run_until(lambda sw: sw.statuses()[t2] == "R", 120, "t2 running")
        s.snapshot(f"{cluster}/cold: t2 running", wf)
        s.case("cold resume: set_resume(reset_running_jobs=true) while R", cluster)
        rec.ok("set_resume", f"/workflow/{wf}/set_resume", {"reset_running_jobs": True})
        rec.ok("is_resumable", f"/workflow/{wf}/is_resumable")
        s.case("cold resume: the next heartbeat answers C", cluster)
        swarm.sync()
        s.snapshot(f"{cluster}/cold: after set_resume", wf)
        s.case("cold resume: terminate_task_instances while C", cluster)
        rec.ok("terminate_task_instances", f"/workflow_run/{wfr}/terminate_task_instances", {})
        s.snapshot(f"{cluster}/cold: right after terminate", wf)
        s.case("cold resume: draining (no scheduling) until nothing is I/O/R", cluster)
        swarm.run_until(lambda sw: not set(sw.statuses().values()) & set("IOR"), 90,
                        "the killed task to leave I/O/R", schedule=False)
        s.snapshot(f"{cluster}/cold: drained", wf)
        s.case("cold resume: C -> T", cluster)
        rec.ok("update_status", f"/workflow_run/{wfr}/update_status", {"status": "T"})
        rec.ok("is_resumable", f"/workflow/{wf}/is_resumable")
    s.case("cold resume: reset tasks for the new run (what the client's bind does)", cluster)
    rec.ok("set_resume_state", f"/task/{wf}/set_resume_state", {"reset_if_running": True})
    s.snapshot(f"{cluster}/cold: tasks reset", wf)
    s.case("cold resume: the resumed run", cluster)
    new_wfr = s.create_run(wf)
    with s.distributor(cluster, new_wfr):
        swarm = MiniSwarm(rec, wf, new_wfr, cluster)
        swarm.load()
        swarm.start()
        swarm.run_until(_all("D"), 120, "every resumed task D")
        rec.ok("update_status", f"/workflow_run/{new_wfr}/update_status", {"status": "D"})
    s.snapshot(f"{cluster}/cold: resumed run done", wf)


def record_hot_resume(s: Session, cluster: str, tag: str) -> None:
    rec = s.rec
    bound = s.bind(wide(cluster, f"hot-{tag}", width=1, seconds=6))
    wf, task = bound["workflow_id"], bound["tasks"]["s1"]
    s.case("hot resume: first run", cluster)
    wfr = s.create_run(wf)
    with s.distributor(cluster, wfr):
        swarm = MiniSwarm(rec, wf, wfr, cluster)
        swarm.load()
        swarm.start()
        swarm.run_until(lambda sw: sw.statuses()[task] == "R", 120, "s1 running")
        s.case("hot resume: set_resume(reset_running_jobs=false) while R", cluster)
        rec.ok("set_resume", f"/workflow/{wf}/set_resume", {"reset_running_jobs": False})
        s.case("hot resume: the next heartbeat answers H", cluster)
        swarm.sync()
        s.case("hot resume: terminate_task_instances while H (R instances keep running)", cluster)
        rec.ok("terminate_task_instances", f"/workflow_run/{wfr}/terminate_task_instances", {})
        s.snapshot(f"{cluster}/hot: right after terminate", wf)
        swarm.run_until(lambda sw: sw.statuses()[task] in ("D", "F"), 90, "s1 to finish",
                        schedule=False)
        s.snapshot(f"{cluster}/hot: drained", wf)
        s.case("hot resume: H -> T", cluster)
        rec.ok("update_status", f"/workflow_run/{wfr}/update_status", {"status": "T"})


def record_unknown_and_malformed(s: Session) -> None:
    rec, u = s.rec, UNKNOWN
    s.case("unknown ids")
    rec.call("fetch_workflow_metadata", f"/workflow/{u}/fetch_workflow_metadata")
    rec.call("get_tasks", f"/workflow/get_tasks/{u}", query={"max_task_id": 0, "chunk_size": 500})
    rec.call("get_downstream_tasks", "/task/get_downstream_tasks", {"task_ids": [u], "dag_id": u})
    rec.call("cluster", "/cluster/no-such-cluster")
    rec.call("queue", f"/cluster/{u}/queue/no-such-queue")
    rec.call("log_heartbeat", f"/workflow_run/{u}/log_heartbeat",
             {"status": "R", "next_report_increment": 3.1})
    rec.call("update_status", f"/workflow_run/{u}/update_status", {"status": "R"})
    rec.call("set_status_for_triaging", f"/workflow_run/{u}/set_status_for_triaging", {})
    rec.call("task_status_updates", f"/workflow/{u}/task_status_updates", {"last_sync": "2000-01-01 00:00:00"})
    rec.call("get_max_concurrently_running", f"/workflow/{u}/get_max_concurrently_running")
    rec.call("get_array_max_concurrently_running", f"/array/{u}/get_array_max_concurrently_running")
    rec.call("queue_task_batch", f"/array/{u}/queue_task_batch", {
        "task_ids": [u], "task_resources_id": 1, "workflow_run_id": u, "cluster_id": 1})
    rec.call("terminate_task_instances", f"/workflow_run/{u}/terminate_task_instances", {})
    rec.call("set_resume", f"/workflow/{u}/set_resume", {"reset_running_jobs": True})
    rec.call("is_resumable", f"/workflow/{u}/is_resumable")
    rec.call("update_max_concurrently_running", f"/workflow/{u}/update_max_concurrently_running",
             {"max_tasks": 3})
    rec.call("create_workflow_run", "/workflow_run", {
        "workflow_id": u, "user": USER, "jobmon_version": "3.4.3.dev3",
        "next_report_increment": 3.1})
    s.case("malformed requests")
    rec.call("fetch_workflow_metadata", "/workflow/not-a-number/fetch_workflow_metadata")
    rec.call("update_status", f"/workflow_run/{u}/update_status", {"state": "R"})
    rec.call("log_heartbeat", f"/workflow_run/{u}/log_heartbeat", {"status": "R"})
    rec.call("unknown_route", "/no_such_route")
    rec.call("health", "/health")


def record_edges_and_auth(s: Session, tag: str) -> None:
    rec = s.rec
    bound = s.bind(fan_out_fan_in("sequential", tag, width=3))
    wf, ids = bound["workflow_id"], sorted(bound["tasks"].values())
    s.case("fan-out/fan-in edges: null, JSON-string lists")
    rec.ok("get_downstream_tasks", "/task/get_downstream_tasks",
           {"task_ids": ids, "dag_id": bound["dag_id"]})
    s.case("edges asked with a wrong dag_id")
    rec.ok("get_downstream_tasks", "/task/get_downstream_tasks",
           {"task_ids": ids, "dag_id": bound["dag_id"] + UNKNOWN})
    s.case("set_resume when the latest run belongs to another user")
    rec.call("create_workflow_run", "/workflow_run", {
        "workflow_id": wf, "user": "someone-else", "jobmon_version": "3.4.3.dev3",
        "next_report_increment": 3.1})
    rec.call("set_resume", f"/workflow/{wf}/set_resume", {"reset_running_jobs": True})
    rec.call("update_max_concurrently_running", f"/workflow/{wf}/update_max_concurrently_running",
             {"max_tasks": 2})


def record_triage(s: Session, tag: str) -> None:
    """Act as distributor and worker by hand with 1 s report-by increments, then triage."""
    rec = s.rec
    bound = s.bind(chain("sequential", f"triage-{tag}", length=2))
    wf = bound["workflow_id"]
    s.case("triage timing: run B, tasks queued by hand")
    wfr = s.create_run(wf)
    swarm = MiniSwarm(rec, wf, wfr, "sequential")
    swarm.load()
    swarm.ready = sorted(swarm.tasks)  # queue both (no distributor will run them)
    swarm.schedule()
    rec.ok("sync_status", f"/workflow_run/{wfr}/sync_status", {"task_instance_ids": [],
                                                               "status": "Q"})
    ti_ids = [row[0] for row in s.server.query(
        "SELECT id FROM task_instance WHERE workflow_run_id = ? ORDER BY id", (wfr,))]
    rec.ok("instantiate_task_instances", "/task_instance/instantiate_task_instances",
           {"task_instance_ids": ti_ids})
    for ti in ti_ids:
        rec.ok("log_distributor_id", f"/task_instance/{ti}/log_distributor_id",
               {"distributor_id": f"fake-{ti}", "next_report_increment": 1})
    rec.ok("log_running", f"/task_instance/{ti_ids[1]}/log_running",
           {"nodename": "recorder", "process_group_id": 1, "next_report_increment": 1})
    s.snapshot("triage: one instance O, one R, report-by now + 1 s", wf)
    rec.ok("set_status_for_triaging", f"/workflow_run/{wfr}/set_status_for_triaging", {})
    s.snapshot("triage: triaged at once (not yet due)", wf)
    time.sleep(2.5)
    s.case("triage timing: 2.5 s later, both past report-by")
    rec.ok("set_status_for_triaging", f"/workflow_run/{wfr}/set_status_for_triaging", {})
    s.snapshot("triage: triaged 2.5 s later", wf)
    rec.ok("task_status_updates", f"/workflow/{wf}/task_status_updates", {})


def record(out_dir: Path, clusters: list[str], tmp: Path) -> list[Path]:
    """Start a server, record every case, write the fixtures; stops everything it started."""
    env = ensure_venv()
    server = JobmonServer.start(env, tmp / "record.sqlite", timeout=90)
    sanitizer = Sanitizer(((str(tmp), "{tmp}"), (str(Path.home()), "{home}")))
    rec = Recorder(server.base_url, sanitizer)
    try:
        s = Session(env, server, rec)
        tag = uuid.uuid4().hex[:8]
        for cluster in clusters:
            record_chain(s, cluster, f"{cluster}-{tag}")
            record_cold_resume(s, cluster, f"{cluster}-{tag}", tmp)
            record_hot_resume(s, cluster, f"{cluster}-{tag}")
        record_unknown_and_malformed(s)
        record_edges_and_auth(s, tag)
        record_triage(s, tag)
        s.observations["status codes after which the next request saw a connection reset"] = \
            rec.resets_after_error
    finally:
        rec.close()
        server.stop()
    written = write_fixtures(rec.exchanges, out_dir)
    observations = out_dir / "observations.json"
    observations.write_text(json.dumps(sanitizer.clean(s.observations), indent=1) + "\n",
                            encoding="utf-8")
    return [*written, observations]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parents[1] / "fixtures" / "jobmon")
    parser.add_argument("--clusters", nargs="+", default=["sequential", "multiprocess"])
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jobmon-record-") as tmp:
        files = record(args.out, args.clusters, Path(tmp))
    print(f"wrote {len(files)} files to {args.out} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
