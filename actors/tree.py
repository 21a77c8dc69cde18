"""The child specs of one run's tree: embedded server, distributor, the four swarm actors.

Who uses it: ``actors.app`` (the composition root). Pure construction of specs, no processes
are started here. Start order (the supervisor stops in reverse): server, distributor,
scheduler, synchronizer, heartbeat, orchestrator; the orchestrator last, because starting it
starts the run (it asks for R, which the server grants only once the distributor has moved
the run to O).

An external distributor (``--distributor-command``) is ready in one of three ways
(``Readiness``): a line on its stdout or stderr (Jobmon's writes ``ALIVE`` to stderr), the run
reaching a status on the server (by default O or R: the distributor launched it), or simply
staying up for a given time. When readiness never comes the supervisor stops the command and
``add_child`` raises a ``StartError`` (``DistributorNotReady`` for the status way) saying what
was awaited and what was seen.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import sys
import time
from collections.abc import Callable, Sequence

import attrs

from actors.errors import ConfigError, StartError
from actors.runtime import ActorSpec, CommandSpec, Restart
from messages.swarm import HEARTBEAT, ORCHESTRATOR, SCHEDULER, SYNCHRONIZER, SwarmInit
from messages.values import FINAL_RUN_STATUSES, RunStatus

__all__ = [
    "ACTOR_CLASSES",
    "DEFAULT_READY_STATUSES",
    "DISTRIBUTOR",
    "READY_SOURCES",
    "SERVER",
    "STATUS_POLL_INTERVAL",
    "DelayProbe",
    "DistributorNotReady",
    "Readiness",
    "RunStatusProbe",
    "actor_specs",
    "distributor_spec",
    "external_distributor_spec",
    "server_spec",
    "server_url_from",
]

SERVER = "server"
DISTRIBUTOR = "distributor"
_READY_URL = re.compile(r"READY (http://\S+)")

#: Where an external distributor's readiness shows (``RunRequest.distributor_ready_stream``).
READY_SOURCES = ("stdout", "stderr", "status", "delay")
#: The run statuses that mean "launched" for the status way (the distributor moved it to O).
DEFAULT_READY_STATUSES = "OR"
#: Seconds between two reads of the run's status while waiting for it.
STATUS_POLL_INTERVAL = 0.5
#: The supervisor's own start timeout exceeds the readiness timeout by this much, so that the
#: probe's error (naming the status it saw) comes first.
_PROBE_MARGIN = 10.0
#: Statuses a run cannot leave by a distributor's doing: waiting for readiness is pointless.
_HOPELESS = FINAL_RUN_STATUSES | {RunStatus.COLD_RESUME, RunStatus.HOT_RESUME}


class DistributorNotReady(StartError):
    """An external distributor did not bring the run to the awaited status in time, or the run
    reached a status it can never leave; the message names the run, the awaited and the seen
    status."""


@attrs.frozen
class Readiness:
    """When an external distributor counts as ready: ``kind`` is line, status or delay.

    ``line``: a line matching ``pattern`` on ``stream`` (a line without its newline counts once
    the program pauses). ``status``: the server has the run in one of ``statuses``. ``delay``:
    the command is still up after ``timeout`` seconds. Otherwise the wait ends after
    ``timeout`` seconds with an error.
    """

    kind: str
    timeout: float
    pattern: str | None = None
    stream: str = "stdout"
    statuses: frozenset[RunStatus] = frozenset()

    @classmethod
    def from_options(cls, ready: str | None, stream: str, timeout: float) -> Readiness:
        """From ``--distributor-ready``, ``--distributor-ready-stream``, ``...-timeout``.

        ``stream`` stdout/stderr with a regex: the line way; without one: the status way with
        the default statuses. ``status``: ``ready`` lists run status letters (default
        ``OR``). ``delay``: no ``ready``. A ConfigError names the option that is wrong.
        """
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not (
                math.isfinite(timeout) and timeout > 0):
            raise ConfigError(f"--distributor-ready-timeout must be a number of seconds above "
                              f"0, not {timeout!r}")
        if stream not in READY_SOURCES:
            raise ConfigError(f"--distributor-ready-stream must be one of "
                              f"{', '.join(READY_SOURCES)}, not {stream!r}")
        if stream == "delay":
            if ready:
                raise ConfigError("--distributor-ready-stream delay waits --distributor-ready-"
                                  f"timeout seconds; it takes no --distributor-ready ({ready!r})")
            return cls("delay", float(timeout))
        if stream in ("stdout", "stderr") and ready:
            try:
                re.compile(ready)
            except re.error as exc:
                raise ConfigError(f"--distributor-ready: {ready!r} is not a regular "
                                  f"expression: {exc}") from None
            return cls("line", float(timeout), pattern=ready, stream=stream)
        letters = ready if stream == "status" and ready else DEFAULT_READY_STATUSES
        return cls("status", float(timeout), statuses=_statuses(letters))


def _statuses(letters: str) -> frozenset[RunStatus]:
    statuses = set()
    for letter in letters.replace(",", "").replace(" ", ""):
        try:
            statuses.add(RunStatus(letter))
        except ValueError:
            known = "".join(s.value for s in RunStatus)
            raise ConfigError(f"--distributor-ready: {letter!r} in {letters!r} is not a "
                              f"workflow-run status letter (one of {known})") from None
    if not statuses:
        raise ConfigError("--distributor-ready: no run status letter given")
    return frozenset(statuses)


class RunStatusProbe:
    """The supervisor's ready probe for the status way; raises DistributorNotReady.

    Reads the run's status through ``read_status`` (None: the server did not answer, ask again)
    at most every ``interval`` seconds; the ``timeout`` starts at the first call.
    """

    def __init__(self, run_id: int, statuses: frozenset[RunStatus], timeout: float,
                 read_status: Callable[[], RunStatus | None], *,
                 clock: Callable[[], float] = time.monotonic,
                 interval: float = STATUS_POLL_INTERVAL) -> None:
        self.run_id = run_id
        self.statuses = statuses
        self.timeout = timeout
        self.last: RunStatus | None = None
        self._read = read_status
        self._clock = clock
        self._interval = interval
        self._deadline: float | None = None
        self._next = -math.inf

    def _awaited(self) -> str:
        return " or ".join(sorted(s.value for s in self.statuses))

    def __call__(self) -> bool:
        now = self._clock()
        if self._deadline is None:
            self._deadline = now + self.timeout
        if now < self._next:
            return False
        self._next = now + self._interval
        status = self._read()
        if status is not None:
            self.last = status
        if status in self.statuses:
            return True
        if status in _HOPELESS:
            raise DistributorNotReady(
                f"workflow run {self.run_id} is {status.value} ({status.name.lower()}), so its "
                f"distributor cannot bring it to {self._awaited()}")
        if now >= self._deadline:
            seen = self.last.value if self.last is not None else "unknown: the server did not answer"
            raise DistributorNotReady(
                f"the distributor did not bring workflow run {self.run_id} to "
                f"{self._awaited()} within {self.timeout:g} s (the run is {seen})")
        return False


class DelayProbe:
    """The ready probe for the delay way: True once ``delay`` seconds passed since its first call."""

    def __init__(self, delay: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.delay = delay
        self._clock = clock
        self._started: float | None = None

    def __call__(self) -> bool:
        now = self._clock()
        if self._started is None:
            self._started = now
        return now - self._started >= self.delay


def server_spec(state_dir: str, db_url: str | None = None) -> CommandSpec:
    """The embedded state server: SQLite under ``state_dir``, loopback, a free port."""
    argv = [sys.executable, "-m", "actors.server", "--state-dir", state_dir, "--port", "0"]
    if db_url:
        argv += ["--db", db_url]
    return CommandSpec(SERVER, tuple(argv), restart=Restart.TEMPORARY,
                       ready_pattern=_READY_URL.pattern, start_timeout=60.0)


def server_url_from(ready_line: str | None) -> str:
    """The server root URL from its ``READY http://host:port`` line."""
    match = _READY_URL.search(ready_line or "")
    if match is None:
        raise ConfigError(f"the embedded server's readiness line has no URL: {ready_line!r}")
    return match.group(1)


def distributor_spec(server_url: str, workflow_id: int, run_id: int, backend: str,
                     state_dir: str, heartbeat_interval: float, report_by_buffer: float,
                     token: str | None, extra: Sequence[str] = ()) -> CommandSpec:
    """Our own distributor for ``run_id`` (it prints READY once the run is launched)."""
    argv = [sys.executable, "-m", "actors.distributor", "--server", server_url,
            "--workflow-run-id", str(run_id), "--workflow-id", str(workflow_id),
            "--backend", backend, "--state-dir", state_dir,
            "--heartbeat-interval", f"{heartbeat_interval:g}",
            "--report-by-buffer", f"{report_by_buffer:g}", *extra]
    env = {"ACTORSWARM_TOKEN": token} if token else None
    return CommandSpec(DISTRIBUTOR, tuple(argv), env=env, restart=Restart.TEMPORARY,
                       ready_pattern=r"^READY", ready_stream="stdout", start_timeout=60.0)


def external_distributor_spec(template: str, server_url: str, run_id: int, *,
                              ready: str | None, stream: str, timeout: float,
                              token: str | None,
                              read_status: Callable[[], RunStatus | None] | None = None,
                              ) -> CommandSpec:
    """A user-given distributor command with ``{workflow_run_id}``/``{server_url}`` filled in.

    ``ready``/``stream``/``timeout`` choose its ``Readiness``; the status way reads the run's
    status with ``read_status`` (None: the server did not answer this time).
    """
    readiness = Readiness.from_options(ready, stream, timeout)
    try:
        command = template.format(workflow_run_id=run_id, server_url=server_url)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"--distributor-command: cannot substitute {exc} in {template!r} "
                          "(use {workflow_run_id} and {server_url})") from None
    argv = tuple(shlex.split(command))
    if not argv:
        raise ConfigError("--distributor-command is empty")
    env = {"ACTORSWARM_TOKEN": token} if token else None
    if readiness.kind == "line":
        return CommandSpec(DISTRIBUTOR, argv, env=env, restart=Restart.TEMPORARY,
                           ready_pattern=readiness.pattern, ready_stream=readiness.stream,
                           start_timeout=readiness.timeout)
    probe: Callable[[], bool]
    if readiness.kind == "delay":
        probe = DelayProbe(readiness.timeout)
    else:
        if read_status is None:
            raise ConfigError("the status way of distributor readiness needs a way to read the "
                              "run's status from the server")
        probe = RunStatusProbe(run_id, readiness.statuses, readiness.timeout, read_status)
    return CommandSpec(DISTRIBUTOR, argv, env=env, restart=Restart.TEMPORARY,
                       ready_probe=probe, start_timeout=readiness.timeout + _PROBE_MARGIN)


#: The four swarm actors' classes, in start order (``actor_specs``; ``Supervisor.prespawn``).
ACTOR_CLASSES: tuple[tuple[str, str], ...] = (
    (SCHEDULER, "actors.scheduler.actor:SchedulerActor"),
    (SYNCHRONIZER, "actors.synchronizer.actor:SynchronizerActor"),
    (HEARTBEAT, "actors.heartbeat.actor:HeartbeatActor"),
    (ORCHESTRATOR, "actors.orchestrator.actor:OrchestratorActor"),
)


def actor_specs(init: SwarmInit, hang_timeout: float | None = 15.0) -> list[ActorSpec]:
    """The four swarm actors, permanent (a killed one is restarted and the run goes on)."""
    if os.environ.get("ACTORSWARM_HANG_TIMEOUT"):
        hang_timeout = float(os.environ["ACTORSWARM_HANG_TIMEOUT"])
    return [ActorSpec(name, cls, init, Restart.PERMANENT, hang_timeout=hang_timeout)
            for name, cls in ACTOR_CLASSES]
