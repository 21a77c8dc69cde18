"""What every swarm actor is started with, and the stable names of the actor tree.

Root (``actors.app``) -> each of the four swarm actors, once, as its init message
(``ActorSpec.init``): which workflow run to drive, where the server is, and the configuration.
Actors address each other by the names below, so a restarted actor is reached unchanged.
"""

from __future__ import annotations

import attrs

from messages.codec import message
from messages.config import GatewaySettings, OrchestratorConfig
from messages.values import RunStatus

__all__ = ["HEARTBEAT", "ORCHESTRATOR", "SCHEDULER", "SYNCHRONIZER", "SwarmInit"]

ORCHESTRATOR = "orchestrator"
HEARTBEAT = "heartbeat"
SYNCHRONIZER = "synchronizer"
SCHEDULER = "scheduler"


@message("swarm.SwarmInit")
@attrs.frozen
class SwarmInit:
    """Init message of the four swarm actors.

    ``started_at`` is the run's start on the host's monotonic clock, so a restarted
    orchestrator keeps the original timeout. ``held_status`` is the run status when the tree
    started. ``distributor`` names the supervised distributor child (None: none is supervised
    here). ``subscribers`` name actors told about run events (embedding hosts).
``resource_oracle`` names the root actor asked for the resources of ``computed_tasks``
(``messages.resources``).
    """

    workflow_id: int
    workflow_run_id: int
    gateway: GatewaySettings
    config: OrchestratorConfig
    started_at: float
    held_status: RunStatus
    cluster_name: str
    distributor: str | None = None
    subscribers: tuple[str, ...] = ()
    workflow_name: str = ""
    #: the root actor that computes resources of tasks with a Python ``resource_fn``
    resource_oracle: str | None = None
    #: the tasks whose resources it computes (once each, when they become ready)
    computed_tasks: tuple[int, ...] = ()
