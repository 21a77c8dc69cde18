"""The resource oracle: the root-process actor that runs tasks' Python resource callables.

Orchestrator -> oracle (ask): ``ComputeResources(task_id)`` -> ``ComputedResources`` with the
task's effective resources (defaults, the task's own, then its callable's dict on top), or a
``Rejection`` saying what the callable did wrong. The callables stay in the process that
defined them (no pickle); the oracle is only started when a workflow has some.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from actors.errors import WorkflowFileError
from actors.runtime import Actor, Incoming
from actors.workflow import TaskDefinition, WorkflowDefinition, compute_resources
from messages.resources import ComputedResources, ComputeResources
from messages.runtime import Rejection
from messages.scheduler import Resources

__all__ = ["OracleTable", "ResourceOracle"]


@attrs.frozen
class OracleTable:
    """The oracle's init (a local object): the definition, its cluster, tasks by server id."""

    definition: WorkflowDefinition
    cluster: str
    tasks: Mapping[int, TaskDefinition]

    @classmethod
    def from_binding(cls, definition: WorkflowDefinition, cluster: str,
                     task_ids: Mapping[str, int]) -> OracleTable | None:
        """The table of the tasks with a resource callable; None if there are none."""
        tasks = {int(task_ids[t.name]): t for t in definition.tasks
                 if t.resource_fn is not None and t.name in task_ids}
        return cls(definition, cluster, tasks) if tasks else None


class ResourceOracle(Actor):
    """Answers ComputeResources for the tasks in its ``OracleTable``."""

    def receive(self, message: Any, incoming: Incoming) -> Any:
        if not isinstance(message, ComputeResources):
            return Rejection(f"the resource oracle cannot handle {type(message).__name__}")
        table: OracleTable = self.init
        task = table.tasks.get(message.task_id)
        if task is None:
            return Rejection(f"task {message.task_id} has no resource function")
        try:
            r = compute_resources(table.definition, task)
        except WorkflowFileError as exc:
            return Rejection(str(exc))
        if r.queue is None:
            return Rejection(f"task {task.name!r}: its resources name no queue")
        return ComputedResources(message.task_id, Resources(
            cluster=table.cluster, queue=r.queue, cores=r.cores, memory=r.memory,
            runtime=r.runtime, extra=tuple(r.extra)))
