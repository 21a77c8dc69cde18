"""Bind or run a workflow with the REAL Jobmon client (runs inside the reference venv).

Who runs it: ``jobmon_procs.run_client_driver`` starts it with the reference venv's interpreter
and the client environment of a running server (``JOBMON__HTTP__SERVICE_URL``, ...). It never
imports actorswarm (which is not installed there). The workflow comes as JSON on stdin, in the
shape ``scenarios.WorkflowSpec.to_wire()`` produces::

    {"name", "workflow_args", "tool", "cluster", "queue", "max_concurrently_running": int|null,
     "template_limits": {"<template>": int}, "fail_fast": bool,
     "tasks": [{"name", "command", "template", "upstream": ["<name>", ...], "max_attempts"}]}

Modes (one ``RESULT {json}`` line on stdout; exit 0 iff ``ok``)::

    bind [--create-run]   Workflow.bind() + task binding, as Workflow.run() does before its run;
                          with --create-run also POST /workflow_run and PUT update_status B.
                          RESULT: workflow_id, dag_id, newly_created, tasks {name: id},
                          initial_status {name: status}, arrays {template: array_id},
                          workflow_run_id (or null).
    run [--resume] [--hot] [--timeout S] [--resume-timeout S]
                          Workflow.run(): Jobmon's own swarm and distributor drive the run.
                          RESULT: workflow_id, workflow_run_id, status, tasks {name: {task_id,
                          final_status}}, elapsed_s, error (type: message, or null).
    swarm                 Jobmon's swarm alone (client/swarm/workflow_run.py) drives a run that
                          is already bound, reading the workflow back by id (its resume path),
                          with any distributor: the reverse direction, against our server.
                          Input instead of a workflow: {"workflow_id", "workflow_run_id",
                          "distributor_argv": [...], "ready": "<line prefix on its stdout>",
                          "timeout": s, "fail_fast": bool}. RESULT: status, tasks {task_id:
                          status}, num_previously_complete, elapsed_s, distributor_exit, error.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
import time
from typing import Any

__all__ = ["main"]

DEFAULT_TOOL = "actorswarm_interop"


class DistributorNotReady(Exception):
    """The distributor given to ``swarm`` exited or printed no ready line in time."""


def build_workflow(spec: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Create the client-side Workflow and Tasks (no HTTP beyond tool/template binding)."""
    from jobmon.client.api import Tool

    tool = Tool(name=spec.get("tool") or DEFAULT_TOOL)
    tool.set_default_compute_resources_from_dict(
        cluster_name=spec["cluster"], compute_resources={"queue": spec.get("queue", "null.q")})
    templates: dict[str, Any] = {}
    tasks: dict[str, Any] = {}
    for item in spec["tasks"]:
        name = item.get("template", "interop_tt")
        if name not in templates:
            templates[name] = tool.get_task_template(
                template_name=name, command_template="{cmd}", node_args=["cmd"],
                task_args=[], op_args=[])
        tasks[item["name"]] = templates[name].create_task(
            name=item["name"], cmd=item["command"], max_attempts=item.get("max_attempts", 3),
            upstream_tasks=[tasks[up] for up in item.get("upstream", [])])
    kwargs: dict[str, Any] = {"workflow_args": spec["workflow_args"], "name": spec["name"]}
    if spec.get("max_concurrently_running") is not None:
        kwargs["max_concurrently_running"] = int(spec["max_concurrently_running"])
    workflow = tool.create_workflow(**kwargs)
    workflow.add_tasks(list(tasks.values()))
    for template, limit in (spec.get("template_limits") or {}).items():
        workflow.set_task_template_max_concurrency_limit(template, int(limit))
    return workflow, tasks


def bind(spec: dict[str, Any], create_run: bool) -> dict[str, Any]:
    """Bind like ``Workflow.run`` does, optionally create a run in B; no swarm, no distributor."""
    from jobmon.client.workflow_run import WorkflowRunFactory

    workflow, tasks = build_workflow(spec)
    workflow.bind()
    workflow._bind_tasks()
    result: dict[str, Any] = {
        "ok": True, "workflow_id": workflow.workflow_id, "dag_id": workflow.dag_id,
        "newly_created": bool(workflow._newly_created),
        "tasks": {name: task.task_id for name, task in tasks.items()},
        "initial_status": {name: task.initial_status for name, task in tasks.items()},
        "arrays": {name: array.array_id for name, array in workflow.arrays.items()},
        "workflow_run_id": None,
    }
    if create_run:
        run = WorkflowRunFactory(workflow.workflow_id).create_workflow_run()
        run._update_status("B")
        result["workflow_run_id"] = run.workflow_run_id
    return result


def run(spec: dict[str, Any], resume: bool, hot: bool, timeout: int,
        resume_timeout: int) -> dict[str, Any]:
    """``Workflow.run`` with Jobmon's own swarm; failures are reported in the result."""
    workflow, tasks = build_workflow(spec)
    started = time.monotonic()
    status, error = None, None
    try:
        status = workflow.run(fail_fast=bool(spec.get("fail_fast")), resume=resume,
                              reset_running_jobs=not hot, seconds_until_timeout=timeout,
                              resume_timeout=resume_timeout, configure_logging=False)
    except Exception as exc:  # noqa: BLE001 - process boundary: the caller gets type + text
        error = f"{type(exc).__name__}: {exc}"
    task_results = {}
    for name, task in tasks.items():
        try:
            task_id = task.task_id
        except AttributeError:  # never bound
            task_id = None
        task_results[name] = {"task_id": task_id, "final_status": getattr(task, "final_status", None)}
    try:
        workflow_id = workflow.workflow_id
    except AttributeError:
        workflow_id = None
    return {"ok": error is None, "workflow_id": workflow_id,
            "workflow_run_id": getattr(workflow, "last_workflow_run_id", None),
            "status": status, "tasks": task_results,
            "elapsed_s": round(time.monotonic() - started, 2), "error": error}


def _start_distributor(argv: list[str], ready: str, timeout: float) -> subprocess.Popen[str]:
    """Start ``argv`` and wait for a stdout line starting with ``ready``; keep draining it."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    seen = threading.Event()

    def drain() -> None:
        for line in proc.stdout or ():
            if line.startswith(ready):
                seen.set()

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not seen.wait(0.05):
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            raise DistributorNotReady(f"distributor {argv[:3]} printed no {ready!r} line "
                                      f"(exit {proc.returncode})")
    return proc


def _stop(proc: subprocess.Popen[str], grace: float = 0.0) -> int | None:
    """The process's exit code: it gets ``grace`` seconds to exit by itself, then SIGTERM
    (then SIGKILL after 30 s)."""
    if grace > 0:
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.returncode


def swarm(spec: dict[str, Any]) -> dict[str, Any]:
    """Jobmon's swarm on a bound run, its workflow read back by id (``from_workflow_id``)."""
    from jobmon.client.swarm.workflow_run import WorkflowRun as SwarmWorkflowRun

    run = SwarmWorkflowRun(workflow_run_id=int(spec["workflow_run_id"]), status="B",
                           fail_fast=bool(spec.get("fail_fast")))
    started = time.monotonic()
    error, proc = None, None
    try:
        run.from_workflow_id(int(spec["workflow_id"]))
        proc = _start_distributor(list(spec["distributor_argv"]), spec.get("ready", "READY"),
                                  float(spec.get("ready_timeout", 60)))
        run.run(distributor_alive_callable=lambda: proc is not None and proc.poll() is None,
                seconds_until_timeout=int(spec.get("timeout", 300)))
    except Exception as exc:  # noqa: BLE001 - process boundary: the caller gets type + text
        error = f"{type(exc).__name__}: {exc}"
    # a distributor that stops by itself at the run's end (ours) gets the time to notice it
    exit_code = _stop(proc, grace=10.0) if proc is not None else None
    return {"ok": error is None, "status": run.status,
            "tasks": {str(tid): task.status for tid, task in run.tasks.items()},
            "num_previously_complete": getattr(run, "num_previously_complete", None),
            "elapsed_s": round(time.monotonic() - started, 2),
            "distributor_exit": exit_code, "error": error}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="bind or run a workflow with the real client")
    sub = parser.add_subparsers(dest="mode", required=True)
    bind_p = sub.add_parser("bind")
    bind_p.add_argument("--create-run", action="store_true")
    run_p = sub.add_parser("run")
    run_p.add_argument("--resume", action="store_true")
    run_p.add_argument("--hot", action="store_true", help="resume without resetting running jobs")
    run_p.add_argument("--timeout", type=int, default=300)
    run_p.add_argument("--resume-timeout", type=int, default=60)
    sub.add_parser("swarm")
    args = parser.parse_args(argv)
    spec = json.loads(sys.stdin.read())
    if args.mode == "bind":
        result = bind(spec, args.create_run)
    elif args.mode == "swarm":
        result = swarm(spec)
    else:
        result = run(spec, args.resume, args.hot, args.timeout, args.resume_timeout)
    print("RESULT " + json.dumps(result, sort_keys=True), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
