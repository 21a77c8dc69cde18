"""The composition root: builds one run's actor tree, drives the run, tears the tree down.

Who calls it: the CLI (``actors.cli``) and embedding hosts (``actors.api``). ``run_workflow``
1. loads and validates the workflow (bad input raises before anything starts);
2. starts a root ``Node`` (private run directory), the event relay and a ``Supervisor``, and
   has it spawn the four actors' interpreters (they import, then wait for their init message);
3. starts the embedded server (no ``server_url``), binds the workflow, creates the run (after a
   cold/hot resume request, once the old run has drained to T);
4. starts the distributor (ours, or an external command), then the four swarm actors (each
   handshake in order: init message, READY);
5. waits for ``RunFinished`` (or for ``stop``: then it tells ``StopRun`` and waits for the end);
6. stops every child in reverse order and returns a ``RunOutcome``.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import pykka

from actors.app_steps import (
    SEEDED_CLUSTERS,
    bind_definition,
    create_run,
    current_run_status,
    declare_backend_queues,
    given_result,
    load_definition,
    resume_run,
    status_reader,
    task_names_of,
)
from actors.errors import ConfigError
from actors.events import EventRelay, RelayLink
from actors.resource_oracle import OracleTable, ResourceOracle
from actors.gateway import Gateway, GatewayConfig
from actors.runtime import Node, Supervisor
from actors.tree import (
    ACTOR_CLASSES,
    DISTRIBUTOR,
    SERVER,
    actor_specs,
    distributor_spec,
    external_distributor_spec,
    server_spec,
    server_url_from,
)
from actors.workflow import WorkflowDefinition
from messages.config import GatewaySettings, OrchestratorConfig
from messages.orchestrator import OrchestratorResult, StopRun
from messages.swarm import ORCHESTRATOR, SwarmInit

__all__ = ["RunOutcome", "RunRequest", "exit_code_of", "run_workflow"]

log = logging.getLogger(__name__)
_relay_ids = itertools.count(1)
STOP_GRACE = 60.0


@attrs.frozen
class RunRequest:
    """What to run and how (see the CLI contract in README / issue 4)."""

    workflow_file: str | None = None
    definition: WorkflowDefinition | None = None
    workflow_id: int | None = None
    workflow_run_id: int | None = None
    resume: str | None = None
    server_url: str | None = None
    token: str | None = None
    state_dir: str = ".actorswarm"
    backend: str = "local"
    distributor_command: str | None = None
    distributor_ready: str | None = None
    distributor_ready_stream: str = "stdout"
    distributor_ready_timeout: float = 60.0
    distributor_args: tuple[str, ...] = ()
    max_concurrently_running: int | None = None
    config: OrchestratorConfig = attrs.Factory(OrchestratorConfig)
    mode: str = "process"
    on_event: Callable[[object], None] | pykka.ActorRef[Any] | None = None
    cluster_name: str | None = None


def exit_code_of(result: OrchestratorResult, interrupted: bool) -> int:
    """0 run D; 1 otherwise; 3 timeout; 4 distributor died; 130 interrupted."""
    if interrupted:
        return 130
    if result.error is None and result.final_status.value == "D":
        return 0
    kind = result.error.type if result.error is not None else ""
    return {"RunTimeout": 3, "DistributorDied": 4}.get(kind, 1)


@attrs.frozen
class RunOutcome:
    """The result of ``run_workflow`` and what the CLI reports with it."""

    result: OrchestratorResult
    task_names: Mapping[int, str]
    actors: Mapping[str, int]
    restarts: Mapping[str, int]
    server_url: str
    state_dir: str
    log_dir: str
    interrupted: bool

    @property
    def exit_code(self) -> int:
        return exit_code_of(self.result, self.interrupted)


def run_workflow(request: RunRequest, *, stop: threading.Event | None = None) -> RunOutcome:
    """Run one workflow to its end (see the module docstring)."""
    if request.mode not in ("process", "thread"):
        raise ConfigError(f"mode must be 'process' or 'thread', not {request.mode!r}")
    definition = load_definition(request)
    state_dir = os.path.abspath(request.state_dir)
    # private to the user when we create them: the database and every task's output live here
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    os.makedirs(os.path.join(state_dir, "logs"), mode=0o700, exist_ok=True)
    log_dir = os.path.join(state_dir, "logs", time.strftime("run-%Y%m%d-%H%M%S-") +
                           str(os.getpid()))
    os.makedirs(log_dir, mode=0o700, exist_ok=True)
    rundir = tempfile.mkdtemp(prefix="actorswarm-")
    node = Node(rundir, name="root")
    link = RelayLink(request.on_event)
    relay = f"events-{os.getpid()}-{next(_relay_ids)}"
    node.spawn(relay, EventRelay, link)
    sup = Supervisor(node, [], mode=request.mode, log_dir=log_dir)
    sup.start()
    try:
        return _run(request, definition, sup, node, link, relay, state_dir, log_dir, stop)
    finally:
        sup.stop()
        node.close()
        shutil.rmtree(rundir, ignore_errors=True)


def _run(request: RunRequest, definition: WorkflowDefinition | None, sup: Supervisor,
         node: Node, link: RelayLink, relay: str, state_dir: str, log_dir: str,
         stop: threading.Event | None) -> RunOutcome:
    server_url = request.server_url
    sup.prespawn(ACTOR_CLASSES)  # their imports overlap the server's start and the binding
    if server_url is None:
        sup.add_child(server_spec(state_dir))
        server_url = server_url_from(sup.ready_line(SERVER))
    gateway = Gateway(GatewayConfig(base_url=server_url, token=request.token))
    try:
        cluster = request.cluster_name or request.backend
        if (definition is not None and not request.distributor_command
                and request.backend not in SEEDED_CLUSTERS):
            declare_backend_queues(server_url, request.backend, request.token,
                                   request.distributor_args)
        names: Mapping[int, str] = {}
        if definition is not None:
            bound = bind_definition(definition, gateway, cluster)
            workflow_id = int(bound.workflow_id)
            names = {int(t): n for t, n in bound.task_names().items()}
        elif request.workflow_id is not None:
            workflow_id = request.workflow_id
        else:
            raise ConfigError("nothing to run: give a workflow file, a definition or a "
                              "workflow id")
        if request.max_concurrently_running is not None:
            gateway.update_max_concurrently_running(workflow_id,
                                                    request.max_concurrently_running)
        if request.resume is not None:
            resumed = resume_run(gateway, workflow_id, cold=request.resume == "cold",
                                 timeout=max(60.0, request.config.timeout),
                                 stopped=stop.is_set if stop is not None else lambda: False)
            if resumed is None:  # stopped while the old run drained: no new run was opened
                return RunOutcome(
                    result=given_result(workflow_id, 0, "RunStopped",
                                        "interrupted while waiting for the active run to end"),
                    task_names=names, actors={}, restarts=sup.restarts(),
                    server_url=server_url, state_dir=state_dir, log_dir=log_dir,
                    interrupted=True)
            run_id = resumed
        elif request.workflow_run_id is not None:
            run_id = request.workflow_run_id
        else:
            run_id = create_run(gateway, workflow_id)
        if not names:
            names = task_names_of(gateway, workflow_id)
        cfg = request.config
        if request.distributor_command:
            sup.add_child(external_distributor_spec(
                request.distributor_command, server_url, run_id, ready=request.distributor_ready,
                stream=request.distributor_ready_stream,
                timeout=request.distributor_ready_timeout, token=request.token,
                read_status=status_reader(gateway, workflow_id, run_id)))
        else:
            sup.add_child(distributor_spec(
                server_url, workflow_id, run_id, request.backend, state_dir,
                cfg.run.heartbeat_interval, cfg.run.heartbeat_report_by_buffer, request.token,
                request.distributor_args))
        init = SwarmInit(
            workflow_id=workflow_id, workflow_run_id=run_id,
            gateway=GatewaySettings(base_url=server_url, token=request.token),
            config=cfg, started_at=node.clock(),
            held_status=current_run_status(gateway, workflow_id, run_id),
            cluster_name=cluster, distributor=DISTRIBUTOR, subscribers=(relay,),
            workflow_name=definition.name if definition is not None else "",
            **_resource_oracle(node, definition, cluster, names, relay))
        sup.subscribe(node.ref(ORCHESTRATOR))
        for spec in actor_specs(init):
            sup.add_child(spec)
        result, interrupted = _wait(sup, node, link, cfg, stop, workflow_id, run_id)
        return RunOutcome(result=result, task_names=names, actors=_actor_pids(sup, node),
                          restarts=sup.restarts(), server_url=server_url, state_dir=state_dir,
                          log_dir=log_dir, interrupted=interrupted)
    finally:
        gateway.close()


def _wait(sup: Supervisor, node: Node, link: RelayLink, cfg: OrchestratorConfig,
          stop: threading.Event | None, workflow_id: int,
          run_id: int) -> tuple[OrchestratorResult, bool]:
    """Wait for RunFinished; on ``stop`` tell StopRun and wait for the (stopped) end."""
    deadline = time.monotonic() + cfg.timeout + STOP_GRACE
    interrupted = False
    while True:
        result = link.wait_finished(0.1)
        if result is not None:
            return result, interrupted
        if sup.wait_gave_up(0):
            return given_result(workflow_id, run_id, "RestartIntensityExceeded",
                                "too many actor restarts: the supervisor gave up"), interrupted
        if stop is not None and stop.is_set() and not interrupted:
            interrupted = True
            node.ref(ORCHESTRATOR).tell(StopRun("interrupted by the user"))
            deadline = min(deadline, time.monotonic() + STOP_GRACE)
        if time.monotonic() > deadline:
            return given_result(workflow_id, run_id, "RunTimeout",
                                "the swarm did not report the end of the run in time"), \
                interrupted


def _resource_oracle(node: Node, definition: WorkflowDefinition | None, cluster: str,
                     names: Mapping[int, str], relay: str) -> dict[str, Any]:
    """Start the root's resource oracle if tasks have Python resource callables; the
    SwarmInit fields that point the orchestrator at it."""
    if definition is None:
        return {}
    table = OracleTable.from_binding(definition, cluster, {n: t for t, n in names.items()})
    if table is None:
        return {}
    name = relay.replace("events-", "resources-", 1)
    node.spawn(name, ResourceOracle, table)
    return {"resource_oracle": name, "computed_tasks": tuple(sorted(table.tasks))}


def _actor_pids(sup: Supervisor, node: Node) -> dict[str, int]:
    pids = dict(sup.pids())
    for name in sup.order:
        if name not in pids and node.is_local(name):
            pids[name] = os.getpid()
    return pids

