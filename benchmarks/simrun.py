"""One end-to-end run of a shape through the whole system with the ``sim`` backend.

Who uses it: ``benchmarks.batching``, ``benchmarks.scale`` and ``benchmarks.versus_jobmon``
(our side of "whole system against whole system").

``run_shape(shape, settings, state_dir)`` binds the shape as a new workflow and runs it with
``actors.app.run_workflow`` (our server, the sim distributor, the four actor processes), while
a ``ProcessWatcher`` samples every process of the run. The run's events come back to
``RunMarks`` in this process, which notes (wall clock, the server's time base) when the run went
R, when each task was first seen Q (``TasksChanged``: the orchestrator applied the server's
answer to ``queue_task_batch``, so just after the server's commit; or, when a sync overtook
that answer, the first status past Q it saw) and when ``RunFinished``
arrived (then the watcher takes its last sample, while the processes are still up). After the
run the server's database gives each task's D and launch time (``benchmarks.serverdb``). A
run that does not end D is a ``BenchmarkError`` naming the run and its error.

Where the server is: by default ``run_workflow`` starts the embedded one (database
``<state_dir>/server.sqlite``). ``OwnServer`` starts the same server program from here, so a
``DelayProxy`` can sit between it and the swarm (``server_url``) while the distributor talks
to the real port (``distributor_url``: our distributor takes the last ``--server`` given).
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import IO, Self

import attrs

from actors.app import RunOutcome, RunRequest, run_workflow
from benchmarks.errors import BenchmarkError
from benchmarks.procwatch import ProcessWatcher, RoleUsage
from benchmarks.serverdb import RunTimes, read_our_run
from benchmarks.shapes import Shape, to_definition
from messages.config import OrchestratorConfig, WorkflowRunConfig
from messages.orchestrator import RunFinished, RunStatusChanged, TasksChanged
from messages.values import RunStatus, TaskStatus

__all__ = ["DB_NAME", "QUEUED_OR_LATER", "OwnServer", "RunMarks", "SimRecord", "SimSettings",
           "run_shape"]

DB_NAME = "server.sqlite"
#: A task seen in one of these has been queued: the orchestrator can learn of a task's Q from
#: a sync that already shows it further on (the sync overtook the queue_task_batch answer).
QUEUED_OR_LATER = frozenset({TaskStatus.QUEUED, TaskStatus.INSTANTIATING, TaskStatus.LAUNCHED,
                             TaskStatus.RUNNING, TaskStatus.DONE, TaskStatus.ERROR_FATAL})
_READY = re.compile(rb"READY (http://\S+)")


@attrs.frozen
class SimSettings:
    """How to run: batch size, heartbeat, sim duration spec, timeout, sampling interval."""

    max_batch_size: int = 500
    heartbeat_interval: float = 1.0
    sim_duration: str = "const:0"
    timeout: float = 900.0
    sample_interval: float | None = 0.2  # None: no process sampling

    def config(self) -> OrchestratorConfig:
        return OrchestratorConfig(run=WorkflowRunConfig(heartbeat_interval=self.heartbeat_interval),
                                  timeout=self.timeout, max_batch_size=self.max_batch_size)


@attrs.frozen
class SimRecord:
    """What one run gave: the outcome, times (perf_counter and epoch), DB times, CPU by role.

    ``wall_s``: from calling ``run_workflow`` to ``RunFinished`` (server start-up, binding,
    actors, the run; not the teardown). ``run_s``: the orchestrator's elapsed time (actors
    started to run over). ``running_at``: epoch seconds when the run went R. ``times``: Q
    (events), D and launch (database) times by task name.
    """

    outcome: RunOutcome
    wall_s: float
    run_s: float
    running_at: float | None
    times: RunTimes
    usage: dict[str, RoleUsage]
    db_path: str


class RunMarks:
    """Event callback: notes when the run went R, when each task was first seen Q or later
    (``wall``: epoch seconds, the server's time base) and when it finished (``perf``); stops
    the watcher at the end."""

    def __init__(self, watcher: ProcessWatcher | None, *,
                 wall: Callable[[], float] = time.time,
                 perf: Callable[[], float] = time.perf_counter) -> None:
        self.watcher = watcher
        self.running_at: float | None = None
        self.queued: dict[int, float] = {}
        self.finished_perf: float | None = None
        self._wall = wall
        self._perf = perf

    def __call__(self, event: object) -> None:
        if isinstance(event, TasksChanged):
            now = self._wall()
            queued = self.queued
            for task_id, status in event.changes:
                if status in QUEUED_OR_LATER and task_id not in queued:
                    queued[task_id] = now
        elif isinstance(event, RunStatusChanged) and event.status is RunStatus.RUNNING \
                and self.running_at is None:
            self.running_at = self._wall()
        elif isinstance(event, RunFinished) and self.finished_perf is None:
            self.finished_perf = self._perf()
            if self.watcher is not None:
                self.watcher.finish()


def run_shape(shape: Shape, settings: SimSettings, state_dir: str, *,
              server_url: str | None = None, distributor_url: str | None = None,
              db_path: str | None = None) -> SimRecord:
    """Run ``shape`` once (see the module docstring); BenchmarkError unless it ends D."""
    os.makedirs(state_dir, exist_ok=True)
    definition = to_definition(shape, uuid.uuid4().hex[:12], state_dir)
    watcher = None
    if settings.sample_interval is not None:
        watcher = ProcessWatcher(settings.sample_interval)
    marks = RunMarks(watcher)
    args: tuple[str, ...] = ("--sim-duration", settings.sim_duration)
    if distributor_url is not None:
        args += ("--server", distributor_url)
    request = RunRequest(definition=definition, backend="sim", state_dir=state_dir,
                         config=settings.config(), distributor_args=args,
                         server_url=server_url, on_event=marks)
    if watcher is not None:
        watcher.start()
    start = time.perf_counter()
    try:
        outcome = run_workflow(request)
    finally:
        samples = watcher.finish() if watcher is not None else []
    end = marks.finished_perf if marks.finished_perf is not None else time.perf_counter()
    result = outcome.result
    if result.final_status is not RunStatus.DONE or result.done_count != shape.n:
        why = f"{result.error.type}: {result.error.message}" if result.error else "no error"
        raise BenchmarkError(f"{shape.kind} run of {shape.n} tasks (workflow run "
                             f"{result.workflow_run_id}) ended {result.final_status.value} with "
                             f"{result.done_count} done ({why}); logs in {outcome.log_dir}")
    db = db_path or os.path.join(outcome.state_dir, DB_NAME)
    done, launched = read_our_run(db, result.workflow_run_id)
    names = outcome.task_names
    queued = {names[t]: at for t, at in marks.queued.items() if t in names}
    if len(queued) != shape.n:
        raise BenchmarkError(f"{shape.kind} run: the swarm reported {len(queued)} of "
                             f"{shape.n} tasks queued")
    times = RunTimes(queued, done, launched)
    return SimRecord(outcome=outcome, wall_s=end - start, run_s=result.elapsed_time,
                     running_at=marks.running_at, times=times,
                     usage=ProcessWatcher.by_role(samples), db_path=db)


class OwnServer:
    """Our state server started from here (``python -m actors.server``); stop it by PID."""

    def __init__(self, state_dir: str, start_timeout: float = 60.0) -> None:
        self.state_dir = os.path.abspath(state_dir)
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self._drain: threading.Thread | None = None

    @property
    def db_path(self) -> str:
        return os.path.join(self.state_dir, DB_NAME)

    @property
    def pid(self) -> int:
        if self.process is None:
            raise BenchmarkError("the server is not started")
        return self.process.pid

    def start(self) -> Self:
        """Start the server and wait for its READY line (``start_timeout`` seconds)."""
        os.makedirs(self.state_dir, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "actors.server", "--state-dir", self.state_dir, "--port", "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert self.process.stdout is not None
        try:
            self.url = _wait_ready(self.process, self.process.stdout, self.start_timeout)
        except BaseException:
            self.stop()
            raise
        self._drain = threading.Thread(target=_drain, args=(self.process.stdout,), daemon=True,
                                       name="bench-server-drain")
        self._drain.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; waits for the exit."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_ready(proc: subprocess.Popen[bytes], out: IO[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    seen = b""
    with selectors.DefaultSelector() as sel:
        sel.register(out, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if sel.select(max(0.0, min(0.5, deadline - time.monotonic()))):
                chunk = os.read(out.fileno(), 4096)
                if not chunk:
                    break
                seen += chunk
                match = _READY.search(seen)
                if match:
                    return match.group(1).decode()
            elif proc.poll() is not None:
                break
    try:
        code = proc.wait(1.0)  # it closed its output: its exit code comes at once
    except subprocess.TimeoutExpired:
        code = None
    raise BenchmarkError(f"our state server did not print READY within {timeout:g} s "
                         f"(exit code {code}): {seen[-500:].decode(errors='replace')!r}")


def _drain(out: IO[bytes]) -> None:
    while os.read(out.fileno(), 65536):
        pass
