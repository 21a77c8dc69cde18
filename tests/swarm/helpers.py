"""Helpers of the swarm's end-to-end tests: workflows, runs in threads, our own processes.

``Run`` drives ``actors.app.run_workflow`` in a thread and records every run event the
orchestrator publishes (``on_event``), with its arrival time on the monotonic clock.
``host_pids`` and ``distributor_pid`` find the processes of a run's tree among this test
process's descendants (tests/conftest.py makes the test process a child subreaper, so they all
stay descendants); tests kill only PIDs found this way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import psutil

from actors.app import RunOutcome, RunRequest, run_workflow
from actors.gateway import Gateway, GatewayConfig
from actors.workflow import Array, Task, Workflow, WorkflowDefinition
from messages.config import OrchestratorConfig, WorkflowRunConfig
from messages.orchestrator import Progress, RunFinished, RunStatusChanged, TasksChanged
from messages.values import RunStatus, TaskStatus

__all__ = [
    "ACTIVE",
    "Run",
    "config",
    "descendants",
    "distributor_pid",
    "gateway",
    "host_pids",
    "instance_counts",
    "request",
    "run_and_wait",
    "run_status_on_server",
    "run_sync",
    "rundir_of_orchestrator",
    "sim_args",
    "statuses_by_name",
    "stop_started_runs",
    "wait_for",
    "workflow",
    "workflow_id_named",
]

#: Task statuses a workflow's concurrency limit counts (DESIGN.md section 4, scheduler).
ACTIVE = frozenset({TaskStatus.QUEUED, TaskStatus.INSTANTIATING, TaskStatus.LAUNCHED,
                    TaskStatus.RUNNING})
SMALL = {"memory": "128M", "runtime": "2m", "cores": 1, "queue": "all"}


def wait_for(predicate: Callable[[], Any], timeout: float, what: str,
             interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def config(*, heartbeat: float = 0.5, timeout: float = 90.0, fail_fast: bool = False,
           **run: Any) -> OrchestratorConfig:
    """A fast run configuration: short heartbeats, a bounded run."""
    return OrchestratorConfig(
        run=WorkflowRunConfig(heartbeat_interval=heartbeat, fail_fast=fail_fast, **run),
        timeout=timeout)


def sim_args(duration: str = "0", **options: Any) -> tuple[str, ...]:
    """Distributor arguments of the sim backend (``--sim-duration`` and friends)."""
    argv = ["--sim-duration", duration]
    for key, value in options.items():
        argv += [f"--sim-{key.replace('_', '-')}", str(value)]
    return tuple(argv)


def workflow(name: str, directory: Path, tasks: Iterable[Task], *,
             max_concurrently_running: int | None = None,
             arrays: Mapping[str, int] | None = None) -> WorkflowDefinition:
    """A definition whose commands run in ``directory`` (which makes its identity unique)."""
    wf = Workflow(name, max_concurrently_running=max_concurrently_running,
                  default_resources=SMALL)
    for array, limit in (arrays or {}).items():
        wf.add_array(Array(array, limit))
    for task in tasks:
        wf.add_task(task)
    return wf.definition(directory=directory)


def gateway(url: str) -> Gateway:
    """A gateway of the test itself (operator actions, reading the server's truth)."""
    return Gateway(GatewayConfig(base_url=url))


@attrs.define
class Run:
    """One ``run_workflow`` call in a thread, with the events it published."""

    request: RunRequest
    events: list[tuple[float, Any]] = attrs.Factory(list)
    outcome: RunOutcome | None = None
    error: BaseException | None = None
    stop: threading.Event = attrs.Factory(threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = attrs.Factory(threading.Lock)

    def start(self) -> Run:
        _STARTED.append(self)
        request = attrs.evolve(self.request, on_event=self._record)
        self._thread = threading.Thread(target=self._main, args=(request,), daemon=True,
                                        name="test-run")
        self._thread.start()
        return self

    def _record(self, event: Any) -> None:
        with self._lock:
            self.events.append((time.monotonic(), event))

    def _main(self, request: RunRequest) -> None:
        try:
            self.outcome = run_workflow(request, stop=self.stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the test by wait()
            self.error = exc

    def wait(self, timeout: float) -> RunOutcome:
        """The outcome; fail if the run does not end within ``timeout`` seconds."""
        assert self._thread is not None, "start() the run first"
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.stop.set()  # end it (status S) so that nothing is left behind
            self._thread.join(60)
            raise AssertionError(f"the run did not end within {timeout:g} s")
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def of_type(self, kind: type) -> list[Any]:
        with self._lock:
            return [e for _, e in self.events if isinstance(e, kind)]

    def timed(self, kind: type) -> list[tuple[float, Any]]:
        with self._lock:
            return [(t, e) for t, e in self.events if isinstance(e, kind)]

    @property
    def run_id(self) -> int | None:
        """The workflow run id, once the orchestrator has published anything."""
        for event in self.of_type(Progress) + self.of_type(RunStatusChanged) + \
                self.of_type(TasksChanged):
            return int(event.workflow_run_id)
        return None

    def task_statuses(self) -> dict[int, TaskStatus]:
        """Each task's latest status as the orchestrator published it."""
        out: dict[int, TaskStatus] = {}
        for event in self.of_type(TasksChanged):
            out.update(event.changes)
        return out

    def finished(self) -> bool:
        return bool(self.of_type(RunFinished))


_STARTED: list[Run] = []


def stop_started_runs(timeout: float = 60.0) -> list[Run]:
    """Stop every run a test started and left going (after a failed assertion); the stopped."""
    left = [run for run in _STARTED if run.alive()]
    for run in left:
        run.stop.set()
    for run in left:
        if run._thread is not None:
            run._thread.join(timeout)
    _STARTED.clear()
    return left


def run_sync(request: RunRequest, timeout: float) -> tuple[RunOutcome, Run]:
    """Run to the end in a thread (bounded); the outcome and the recorded run."""
    run = Run(request).start()
    return run.wait(timeout), run


def statuses_by_name(outcome: RunOutcome) -> dict[str, TaskStatus]:
    """The result's final task statuses keyed by task name."""
    return {outcome.task_names[t]: s for t, s in outcome.result.task_final_statuses}


def descendants() -> list[psutil.Process]:
    """This process's live (not zombie) descendants."""
    out = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc)
        except psutil.Error:
            continue
    return out


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


def host_pids(actor: str) -> list[int]:
    """PIDs of our descendant actor hosts named ``actor`` (``actors.runtime.host NAME``)."""
    pids = []
    for proc in descendants():
        argv = _cmdline(proc)
        if "actors.runtime.host" in argv:
            i = argv.index("actors.runtime.host")
            if argv[i + 1:i + 2] == [actor]:
                pids.append(proc.pid)
    return pids


def distributor_pid(run_id: int) -> int | None:
    """PID of our descendant distributor of run ``run_id`` (the ``python -m
    actors.distributor`` process itself, not a guard around it)."""
    for proc in descendants():
        argv = _cmdline(proc)
        if argv[1:3] == ["-m", "actors.distributor"] and "--workflow-run-id" in argv:
            i = argv.index("--workflow-run-id")
            if argv[i + 1:i + 2] == [str(run_id)]:
                return proc.pid
    return None


def rundir_of_orchestrator() -> str:
    """The private run directory of the (single) running orchestrator process."""
    dirs = set()
    for proc in descendants():
        argv = _cmdline(proc)
        if "actors.runtime.host" in argv and "orchestrator" in argv and "--rundir" in argv:
            dirs.add(argv[argv.index("--rundir") + 1])
    assert len(dirs) == 1, f"expected one orchestrator process, found run dirs {dirs}"
    return dirs.pop()


def request(definition: WorkflowDefinition | None = None, *, state_dir: Path,
            server_url: str | None = None, backend: str = "sim",
            cfg: OrchestratorConfig | None = None, **kw: Any) -> RunRequest:
    """A RunRequest with the test defaults (sim backend, fast config)."""
    return RunRequest(definition=definition, state_dir=str(state_dir), server_url=server_url,
                      backend=backend, config=cfg or config(), **kw)


def run_and_wait(definition: WorkflowDefinition, state_dir: Path, timeout: float = 90.0,
                 **kw: Any) -> tuple[RunOutcome, Run]:
    """Run ``definition`` to its end with the test defaults."""
    return run_sync(request(definition, state_dir=state_dir, **kw), timeout)


def run_status_on_server(url: str, workflow_id: int, run_id: int) -> RunStatus:
    with gateway(url) as gw:
        for run in gw.workflow_status(workflow_id).runs:
            if int(run.workflow_run_id) == run_id:
                return run.status
    raise AssertionError(f"run {run_id} is not a run of workflow {workflow_id}")


def workflow_id_named(url: str, name: str) -> int | None:
    """The id of the workflow called ``name`` on the server (names are unique per test)."""
    with gateway(url) as gw:
        for summary in gw.workflows():
            if summary.name == name:
                return int(summary.workflow_id)
    return None


def instance_counts(url: str, workflow_id: int) -> dict[str, int]:
    """Task instances per task name, as the server has them."""
    counts: dict[str, int] = {}
    with gateway(url) as gw:
        for ti in gw.task_instances(workflow_id):
            counts[ti.task_name] = counts.get(ti.task_name, 0) + 1
    return counts
