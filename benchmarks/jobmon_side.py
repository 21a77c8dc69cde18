"""The Jobmon side of ``versus-jobmon``: the reference venv, its server, its swarm, ours on it.

Who uses it: ``benchmarks.versus_jobmon``. It drives the repo's Jobmon reference tooling
(``tests/interop/jobmon_ref.py``, ``jobmon_procs.py``, ``jobmon_client_driver.py``; run from the
repository root so that ``tests`` imports) and never builds the reference venv itself:

- ``find_reference()``: the verified venv, or the reason it cannot be used (a skip message);
- ``run_jobmon(env, server, wire, ...)``: Jobmon's own client runs the workflow
  (``Workflow.run()``: bind, run, its distributor, its swarm) under ``jobmon_probe.py``, which
  reports the swarm's CPU and wall time; the D times come from the server's database;
- ``run_ours_on_jobmon(env, server, shape, ...)``: the real client binds the same workflow,
  then our swarm drives it (``run_workflow`` with the real Jobmon distributor of the same
  cluster as ``distributor_command``, ready on "ALIVE" on its stderr).

Both sample every process with a ``ProcessWatcher`` (the Jobmon server is a child of this
process, so its CPU during each run is counted too). Errors are ``BenchmarkError``s naming the
run; a Jobmon-side failure carries the tail of the client's stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs

from actors.app import RunOutcome, RunRequest, run_workflow
from benchmarks.errors import BenchmarkError
from benchmarks.procwatch import ProcessWatcher, RoleUsage
from benchmarks.serverdb import read_jobmon_done
from benchmarks.shapes import Shape, to_jobmon_wire
from benchmarks.simrun import RunMarks
from messages.config import OrchestratorConfig, WorkflowRunConfig
from messages.values import RunStatus

__all__ = ["PROBE_SCRIPT", "JobmonRecord", "OursRecord", "find_reference", "interop",
           "run_jobmon", "run_ours_on_jobmon"]

PROBE_SCRIPT = Path(__file__).resolve().parent / "jobmon_probe.py"
HEARTBEAT = 1.0  # seconds, as the reference client settings (ClientSettings) use


def interop() -> tuple[ModuleType, ModuleType]:
    """The modules ``tests.interop.jobmon_ref`` and ``tests.interop.jobmon_procs``."""
    import importlib

    try:
        return (importlib.import_module("tests.interop.jobmon_ref"),
                importlib.import_module("tests.interop.jobmon_procs"))
    except ImportError as exc:
        raise BenchmarkError(f"the Jobmon reference tooling (tests/interop) does not import: "
                             f"{exc}; run python -m benchmarks from the repository root"
                             ) from exc


def find_reference() -> tuple[Any | None, str]:
    """(the verified ``ReferenceEnv``, "") or (None, why it cannot be used)."""
    ref, _ = interop()
    venv = Path(ref.default_venv_dir()).resolve()
    marker = venv / ref.MARKER_NAME
    build = "build it with: python tests/interop/jobmon_ref.py install"
    if not (venv / "bin" / "python").exists() or not marker.exists():
        return None, f"the Jobmon reference venv is missing at {venv} ({build})"
    pinned = ref.CONSTRAINTS_FILE.is_file() and not os.environ.get(ref.NO_PIN_ENV)
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = None
    if recorded != ref.expected_marker(pinned):
        return None, f"the Jobmon reference venv at {venv} is not verified for these pins ({build})"
    return ref.ReferenceEnv(venv), ""


@attrs.frozen
class JobmonRecord:
    """Jobmon's own run: driver wall time, the swarm's CPU/wall (probe), D times, usage."""

    workflow_id: int
    elapsed_s: float
    swarm_wall_s: float
    swarm_cpu_s: float
    client_cpu_s: float
    done: dict[str, float]
    usage: dict[str, RoleUsage]


@attrs.frozen
class OursRecord:
    """Our swarm on the Jobmon server: the outcome, wall/run time, D times, usage."""

    outcome: RunOutcome
    wall_s: float
    run_s: float
    done: dict[str, float]
    usage: dict[str, RoleUsage]


def _probe_line(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith("PROBE "):
            value = json.loads(line[len("PROBE "):])
            return value if isinstance(value, dict) else None
    return None


def run_jobmon(env: Any, server: Any, shape: Shape, *, cluster: str = "dummy",
               timeout: float = 1800.0) -> JobmonRecord:
    """Jobmon's client runs ``shape`` (a new workflow) on ``server``; see the module doc."""
    _, procs = interop()
    wire = to_jobmon_wire(shape, uuid.uuid4().hex[:12], cluster=cluster)
    argv = [str(env.python), str(PROBE_SCRIPT), str(procs.DRIVER_SCRIPT), "run",
            "--timeout", str(int(timeout))]
    watcher = ProcessWatcher().start()
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=dict(server.client_env()),
                               start_new_session=True)
    try:
        out, err = process.communicate(json.dumps(wire).encode(), timeout=timeout + 60)
    except subprocess.TimeoutExpired as exc:
        process.kill()
        process.communicate()
        raise BenchmarkError(f"Jobmon's client did not finish {shape.kind} ({shape.n} tasks) "
                             f"within {timeout + 60:g} s") from exc
    finally:
        samples = watcher.finish()
        procs.kill_process_group(process.pid)
    stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
    result, probe = procs.parse_result(stdout), _probe_line(stdout)
    if result is None or probe is None or not result.get("ok") or result.get("status") != "D":
        raise BenchmarkError(f"Jobmon's client run of {shape.kind} ({shape.n} tasks) failed: "
                             f"{(result or {}).get('error')!r}, status "
                             f"{(result or {}).get('status')!r}; stderr: {stderr[-1500:]!r}")
    workflow_id = int(result["workflow_id"])
    done = read_jobmon_done(str(server.db_path), workflow_id)
    if len(done) != shape.n:
        raise BenchmarkError(f"Jobmon run of workflow {workflow_id}: {len(done)} of {shape.n} "
                             "tasks are D in its database")
    return JobmonRecord(workflow_id, float(result["elapsed_s"]), float(probe["swarm_wall_s"]),
                        float(probe["swarm_cpu_s"]), float(probe["process_cpu_s"]), done,
                        ProcessWatcher.by_role(samples))


def run_ours_on_jobmon(env: Any, server: Any, shape: Shape, state_dir: str, *,
                       cluster: str = "dummy", timeout: float = 1800.0) -> OursRecord:
    """The real client binds ``shape``; our swarm runs it with the real distributor."""
    _, procs = interop()
    wire = to_jobmon_wire(shape, uuid.uuid4().hex[:12], cluster=cluster)
    bound = procs.run_client_driver(env, server.client_env(), "bind", wire, timeout=600)
    if not bound.get("ok"):
        raise BenchmarkError(f"Jobmon's client could not bind {shape.kind} ({shape.n} tasks): "
                             f"{bound.get('error')!r}; {bound.get('stderr_tail', '')[-1000:]!r}")
    workflow_id = int(bound["workflow_id"])
    config = OrchestratorConfig.from_run_config(WorkflowRunConfig(heartbeat_interval=HEARTBEAT),
                                                timeout=timeout)
    watcher = ProcessWatcher()
    marks = RunMarks(watcher)
    request = RunRequest(
        workflow_id=workflow_id, server_url=server.base_url.removesuffix("/api/v3"),
        state_dir=state_dir, config=config, cluster_name=cluster, on_event=marks,
        distributor_command=procs.distributor_command(env, cluster, server.client_env()),
        distributor_ready="ALIVE", distributor_ready_stream="stderr")
    watcher.start()
    start = time.perf_counter()
    try:
        outcome = run_workflow(request)
    finally:
        samples = watcher.finish()
    end = marks.finished_perf if marks.finished_perf is not None else time.perf_counter()
    result = outcome.result
    if result.final_status is not RunStatus.DONE or result.done_count != shape.n:
        why = f"{result.error.type}: {result.error.message}" if result.error else "no error"
        raise BenchmarkError(f"our swarm on the Jobmon server: {shape.kind} ({shape.n} tasks, "
                             f"workflow {workflow_id}) ended {result.final_status.value} with "
                             f"{result.done_count} done ({why}); logs in {outcome.log_dir}")
    done = read_jobmon_done(str(server.db_path), workflow_id)
    return OursRecord(outcome, end - start, result.elapsed_time, done,
                      ProcessWatcher.by_role(samples))
