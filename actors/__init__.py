"""actorswarm: a Jobmon-compatible workflow-run engine built as a multi-process actor system.

The public API (imported on first use, so actor processes stay light)::

    from actors import RunRequest, run_workflow, start_workflow, Workflow, Task, Array
    outcome = run_workflow(RunRequest(workflow_file="wf.toml"))
    outcome.result.final_status      # RunStatus.DONE

See ``actors.api`` for embedding (events to a callback or a pykka actor) and the README.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Array",
    "OrchestratorConfig",
    "OrchestratorResult",
    "RunOutcome",
    "RunRequest",
    "SwarmHandle",
    "Task",
    "Workflow",
    "WorkflowRunConfig",
    "run_workflow",
    "start_workflow",
]

_WHERE = {
    "RunOutcome": "actors.api",
    "RunRequest": "actors.api",
    "SwarmHandle": "actors.api",
    "run_workflow": "actors.api",
    "start_workflow": "actors.api",
    "Workflow": "actors.workflow",
    "Task": "actors.workflow",
    "Array": "actors.workflow",
    "WorkflowRunConfig": "messages.config",
    "OrchestratorConfig": "messages.config",
    "OrchestratorResult": "messages.orchestrator",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'actors' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
