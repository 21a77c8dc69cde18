"""The swarm's gateway to the state server: the only httpx user on the swarm side.

``Gateway(GatewayConfig(base_url="http://host:port", token=...))`` has one method per route
of docs/server-api.md sections 1-4 and 7, returns frozen values, and raises the ``GatewayError``
tree of ``actors.errors`` (plus ``ActiveRunExists``). Differences of a real Jobmon server are
adapted in ``actors.gateway.compat`` only.
"""

from __future__ import annotations

from actors.gateway.client import MAX_LONG_POLL_WAIT, Gateway
from actors.gateway.config import API_PREFIX, CLIENT_JOBMON_VERSION, GatewayConfig, RetryPolicy
from actors.gateway.errors import ActiveRunExists, OutcomeUnknown, RunRefused
from actors.gateway.types import (
    ArraySpec,
    BindSummary,
    Buckets,
    Cluster,
    Features,
    Queue,
    QueueResult,
    RunSummary,
    StatusUpdates,
    TaskEdges,
    TaskInstanceRow,
    TaskRow,
    TaskSpec,
    TerminateResult,
    UpsertedCluster,
    WorkflowBinding,
    WorkflowMetadata,
    WorkflowRunCreated,
    WorkflowSummary,
)

__all__ = [
    "API_PREFIX",
    "CLIENT_JOBMON_VERSION",
    "MAX_LONG_POLL_WAIT",
    "ActiveRunExists",
    "ArraySpec",
    "BindSummary",
    "Buckets",
    "Cluster",
    "Features",
    "Gateway",
    "GatewayConfig",
    "OutcomeUnknown",
    "Queue",
    "QueueResult",
    "RetryPolicy",
    "RunRefused",
    "RunSummary",
    "StatusUpdates",
    "TaskEdges",
    "TaskInstanceRow",
    "TaskRow",
    "TaskSpec",
    "TerminateResult",
    "UpsertedCluster",
    "WorkflowBinding",
    "WorkflowMetadata",
    "WorkflowRunCreated",
    "WorkflowSummary",
]
