"""The child specs of one run's tree: embedded server, distributor, the four swarm actors.

Who uses it: ``actors.app`` (the composition root). Pure construction of specs, no processes
are started here. Start order (the supervisor stops in reverse): server, distributor,
scheduler, synchronizer, heartbeat, orchestrator; the orchestrator last, because starting it
starts the run.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Sequence

from actors.errors import ConfigError
from actors.runtime import ActorSpec, CommandSpec, Restart
from messages.swarm import HEARTBEAT, ORCHESTRATOR, SCHEDULER, SYNCHRONIZER, SwarmInit

__all__ = [
    "DISTRIBUTOR",
    "SERVER",
    "actor_specs",
    "distributor_spec",
    "external_distributor_spec",
    "server_spec",
    "server_url_from",
]

SERVER = "server"
DISTRIBUTOR = "distributor"
_READY_URL = re.compile(r"READY (http://\S+)")


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
                              token: str | None) -> CommandSpec:
    """A user-given distributor command with ``{workflow_run_id}``/``{server_url}`` filled in."""
    try:
        command = template.format(workflow_run_id=run_id, server_url=server_url)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"--distributor-command: cannot substitute {exc} in {template!r} "
                          "(use {workflow_run_id} and {server_url})") from None
    argv = tuple(shlex.split(command))
    if not argv:
        raise ConfigError("--distributor-command is empty")
    if stream not in ("stdout", "stderr"):
        raise ConfigError(f"distributor readiness stream must be stdout or stderr, not {stream!r}")
    env = {"ACTORSWARM_TOKEN": token} if token else None
    return CommandSpec(DISTRIBUTOR, argv, env=env, restart=Restart.TEMPORARY,
                       ready_pattern=ready, ready_stream=stream, start_timeout=timeout)


def actor_specs(init: SwarmInit, hang_timeout: float | None = 15.0) -> list[ActorSpec]:
    """The four swarm actors, permanent (a killed one is restarted and the run goes on)."""
    classes = {
        SCHEDULER: "actors.scheduler.actor:SchedulerActor",
        SYNCHRONIZER: "actors.synchronizer.actor:SynchronizerActor",
        HEARTBEAT: "actors.heartbeat.actor:HeartbeatActor",
        ORCHESTRATOR: "actors.orchestrator.actor:OrchestratorActor",
    }
    if os.environ.get("ACTORSWARM_HANG_TIMEOUT"):
        hang_timeout = float(os.environ["ACTORSWARM_HANG_TIMEOUT"])
    return [ActorSpec(name, cls, init, Restart.PERMANENT, hang_timeout=hang_timeout)
            for name, cls in classes.items()]
