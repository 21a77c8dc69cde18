"""Resource-oracle protocol: resources computed by a task's Python callable.

A workflow defined with the Python API may give a task a ``resource_fn``: a callable that
computes the task's resources once, when the task becomes ready. Callables cannot cross
processes (no pickle), so they stay in the root process, behind a small actor there, the
*resource oracle*; the orchestrator asks it.

Orchestrator -> oracle (ask): ``ComputeResources`` -> reply ``ComputedResources``, or a
``Rejection`` naming the task and what was wrong (the callable raised or did not return a
dict of valid resources); the orchestrator then ends the run E with that reason.
"""

from __future__ import annotations

import attrs

from messages.codec import message
from messages.scheduler import Resources

__all__ = ["ComputeResources", "ComputedResources"]


@message("resources.ComputeResources")
@attrs.frozen
class ComputeResources:
    """Orchestrator -> oracle (ask): the resources of task ``task_id``, which is now ready."""

    task_id: int


@message("resources.ComputedResources")
@attrs.frozen
class ComputedResources:
    """Oracle -> orchestrator (reply): the task's resources with its callable's result on top."""

    task_id: int
    resources: Resources
