"""Values SwarmState takes and gives (pure): bound tasks in, ready tasks and outcomes out.

Who uses it: ``actors.orchestrator.state`` (and, re-exported from there, the orchestrator actor
and the tests).
"""

from __future__ import annotations

import attrs

from actors.resources import ResourcePolicy, ResourceSet
from messages.values import ArrayId, TaskId, TaskStatus

__all__ = ["BoundTask", "Collect", "ReadyTask", "UpdateOutcome"]


@attrs.frozen
class BoundTask:
    """A task as the server bound it: what ``SwarmState.build`` needs about it."""

    task_id: TaskId
    array_id: ArrayId
    status: TaskStatus
    max_attempts: int
    resources: ResourceSet
    policy: ResourcePolicy = attrs.field(factory=ResourcePolicy)


@attrs.frozen
class ReadyTask:
    """A task taken for scheduling: orchestrator -> scheduler (with its current resources)."""

    task_id: TaskId
    array_id: ArrayId
    resources: ResourceSet


@attrs.frozen
class UpdateOutcome:
    """What a state change produced, for the orchestrator to act on.

    ``ready``: tasks that became ready (schedule now); ``done`` / ``failed``: tasks newly D / F;
    ``adjusted``: tasks that went to A and got scaled resources; ``changed``: real status
    changes; ``unknown``: ids not in this run (ignored).
    """

    ready: tuple[TaskId, ...] = ()
    done: tuple[TaskId, ...] = ()
    failed: tuple[TaskId, ...] = ()
    adjusted: tuple[TaskId, ...] = ()
    changed: int = 0
    unknown: int = 0


@attrs.define
class Collect:
    """Internal to SwarmState: the mutable lists behind one UpdateOutcome."""

    ready: list[TaskId] = attrs.Factory(list)
    done: list[TaskId] = attrs.Factory(list)
    failed: list[TaskId] = attrs.Factory(list)
    adjusted: list[TaskId] = attrs.Factory(list)
    changed: int = 0
    unknown: int = 0

    def freeze(self) -> UpdateOutcome:
        return UpdateOutcome(tuple(self.ready), tuple(self.done), tuple(self.failed),
                             tuple(self.adjusted), self.changed, self.unknown)
