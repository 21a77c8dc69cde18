"""Bind a ``WorkflowDefinition`` on the state server through the gateway.

Who calls it: the CLI and the embedding API before creating a workflow run. What it sends
(docs/server-api.md section 3): POST /workflow/bind, POST /workflow/{wf}/bind_arrays, POST
/workflow/{wf}/bind_tasks in chunks in topological order (upstreams in an earlier chunk or
earlier in the same one), POST /workflow/{wf}/bind_done. ``check_queues`` (called first by the
composition root) reads the cluster and every queue the tasks name (their queue and fallback
queues): a queue the server does not have is a ``WorkflowFileError`` naming the file, the
first task that names it and the field, before anything is bound (the run could never place
those tasks, and an unknown fallback queue broke the synchronizer's load). Binding is idempotent: the
workflow is identified by its ``workflow_args`` and tasks by name, so binding the same
definition again returns the same ids (that is how a re-run resumes).

Commands run in the definition's directory: each bound command is prefixed with a ``cd`` to
it (``command_in_directory``), so any worker that runs commands through ``/bin/sh -c`` (ours
or Jobmon's) honours it without a directory field on the wire.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence

import attrs

from actors.errors import ConfigError, NotFound, ProtocolMismatch, WorkflowFileError
from actors.gateway import ArraySpec, Gateway, TaskSpec
from actors.gateway.types import frozen_map
from actors.workflow.errors import WorkflowArgsConflict
from actors.workflow.graph import topological_order
from actors.workflow.model import TaskDefinition, WorkflowDefinition
from messages.values import ArrayId, TaskId, WorkflowId

__all__ = ["DEFAULT_CHUNK_SIZE", "BoundWorkflow", "bind", "check_queues", "command_in_directory",
           "queues_named", "task_specs"]

#: Tasks per bind_tasks request.
DEFAULT_CHUNK_SIZE = 500


@attrs.frozen(hash=False)
class BoundWorkflow:
    """The server's ids of a bound workflow: the workflow, its DAG, tasks and arrays by name."""

    workflow_id: WorkflowId
    dag_id: int
    task_ids: Mapping[str, TaskId] = attrs.field(converter=frozen_map)
    array_ids: Mapping[str, ArrayId] = attrs.field(converter=frozen_map)
    newly_created: bool
    num_edges: int

    def task_names(self) -> dict[TaskId, str]:
        """Task name by task id."""
        return {tid: name for name, tid in self.task_ids.items()}


def command_in_directory(directory: str, command: str) -> str:
    """``command`` preceded by a ``cd`` into ``directory`` (exit 1 if it is not there)."""
    return f"cd -- {shlex.quote(directory)} || exit 1\n{command}"


def _spec(definition: WorkflowDefinition, task: TaskDefinition, cluster_name: str,
          in_directory: bool) -> TaskSpec:
    resources = definition.resources_for(task)
    queue = resources.queue or "all"
    return TaskSpec(
        name=task.name,
        command=(command_in_directory(definition.directory, task.command) if in_directory
                 else task.command),
        array=task.array,
        max_attempts=definition.max_attempts_for(task),
        requested_resources=resources.to_dict(),
        resource_scales=definition.scales_for(task),
        fallback_queues=task.fallback_queues,
        cluster_name=cluster_name,
        queue_name=queue,
        upstream=task.upstream,
    )


def task_specs(definition: WorkflowDefinition, cluster_name: str, *,
               in_directory: bool = True) -> list[TaskSpec]:
    """The bind_tasks values of every task, upstreams first (declaration order otherwise)."""
    order = topological_order(definition.task_names,
                              {t.name: t.upstream for t in definition.tasks})
    return [_spec(definition, definition.task(name), cluster_name, in_directory)
            for name in order]


def _require(route: str, answered: Mapping[str, int], names: Sequence[str]) -> None:
    missing = [n for n in names if n not in answered]
    if missing:
        raise ProtocolMismatch(f"{route}: the answer lacks ids for {missing[:5]!r}"
                               f"{' and more' if len(missing) > 5 else ''}")


def queues_named(definition: WorkflowDefinition) -> dict[str, tuple[str, str]]:
    """Every queue the tasks name, with the first task and field naming it."""
    named: dict[str, tuple[str, str]] = {}
    for task in definition.tasks:
        field = ("resources.queue" if task.resources.queue is not None
                 else "workflow.default_resources.queue")
        named.setdefault(definition.resources_for(task).queue or "all", (task.name, field))
        for i, queue in enumerate(task.fallback_queues):
            named.setdefault(queue, (task.name, f"fallback_queues[{i}]"))
    return named


def check_queues(definition: WorkflowDefinition, gateway: Gateway, cluster_name: str) -> None:
    """A ConfigError for an unknown cluster; a WorkflowFileError for an unknown queue."""
    try:
        cluster_id = gateway.get_cluster(cluster_name).cluster_id
    except NotFound as exc:
        raise ConfigError(f"the server has no cluster {cluster_name!r} to run the tasks "
                          "on") from exc
    for queue, (task, field) in sorted(queues_named(definition).items()):
        try:
            gateway.get_queue(cluster_id, queue)
        except NotFound as exc:
            raise WorkflowFileError(f"queue {queue!r} does not exist on cluster "
                                    f"{cluster_name!r}", path=definition.source, task=task,
                                    field=field) from exc


def bind(definition: WorkflowDefinition, gateway: Gateway, cluster_name: str, *,
         chunk_size: int = DEFAULT_CHUNK_SIZE, user: str | None = None,
         in_directory: bool = True) -> BoundWorkflow:
    """Bind ``definition`` (its tasks on ``cluster_name``) and return the server's ids.

    Raises the gateway's errors (e.g. ``RequestRejected`` naming an unknown queue) and
    ``WorkflowArgsConflict`` when the server's workflow with these ``workflow_args`` has a
    different DAG.
    """
    if chunk_size < 1:
        raise ConfigError(f"bind: chunk_size must be at least 1, got {chunk_size}")
    binding = gateway.bind_workflow(definition.name, definition.workflow_args,
                                    definition.max_concurrently_running, user)
    wf = binding.workflow_id
    arrays = [ArraySpec(a.name, definition.array_limit(a.name)) for a in definition.arrays]
    array_ids = gateway.bind_arrays(wf, arrays)
    _require(f"POST /workflow/{wf}/bind_arrays", array_ids, [a.name for a in arrays])
    specs = task_specs(definition, cluster_name, in_directory=in_directory)
    task_ids: dict[str, int] = {}
    for start in range(0, len(specs), chunk_size):
        chunk = specs[start:start + chunk_size]
        answered = gateway.bind_tasks(wf, chunk)
        _require(f"POST /workflow/{wf}/bind_tasks", answered, [s.name for s in chunk])
        task_ids.update((s.name, answered[s.name]) for s in chunk)
    summary = gateway.bind_done(wf)
    num_edges = sum(len(t.upstream) for t in definition.tasks)
    if (summary.num_tasks, summary.num_edges) != (len(definition.tasks), num_edges):
        raise WorkflowArgsConflict(
            f"workflow {wf} on the server, bound with workflow_args "
            f"{definition.workflow_args!r}, has {summary.num_tasks} tasks and "
            f"{summary.num_edges} edges; this definition has {len(definition.tasks)} and "
            f"{num_edges}: the workflow_args already identify a different DAG",
            path=definition.source, field="workflow.workflow_args")
    return BoundWorkflow(
        workflow_id=wf, dag_id=binding.dag_id,
        task_ids={n: TaskId(i) for n, i in task_ids.items()},
        array_ids={n: ArrayId(i) for n, i in array_ids.items()},
        newly_created=binding.newly_created, num_edges=num_edges)
