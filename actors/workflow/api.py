"""The Python API for workflow definitions: ``Workflow``, ``Task``, ``Array``.

Who uses it: users and embedding hosts writing workflows in Python instead of TOML. The
objects here are mutable builders; ``Workflow.definition()`` validates them through the same
code as the TOML loader (``actors.workflow.validate``) and returns the immutable
``WorkflowDefinition``, so a workflow written either way gives an equal definition::

    wf = Workflow("example", max_concurrently_running=100,
                  default_resources={"memory": "1G", "runtime": "10m", "cores": 1})
    align = Array("align", max_concurrently_running=4)
    a = wf.add_task(Task("a", "echo a > a.txt", array=align, max_attempts=2))
    wf.add_task("b", "cat a.txt > b.txt", upstream=[a])
    definition = wf.definition(directory="/path/where/commands/run")

``resource_fn`` (Python only) is a zero-argument callable returning a dict of resources; it is
called once when the task becomes ready (``compute_resources``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from actors.errors import WorkflowFileError
from actors.workflow.model import ResourceFn, Resources, TaskDefinition, WorkflowDefinition
from actors.workflow.validate import build_definition, parse_resources

__all__ = ["Array", "Task", "Workflow", "compute_resources"]


class Array:
    """A named group of tasks with its own concurrency limit (None: the workflow's)."""

    def __init__(self, name: str, max_concurrently_running: int | None = None) -> None:
        self.name = name
        self.max_concurrently_running = max_concurrently_running

    def __repr__(self) -> str:
        return f"Array({self.name!r}, max_concurrently_running={self.max_concurrently_running})"


class Task:
    """One command of the workflow; ``upstream`` holds Task objects or task names."""

    def __init__(self, name: str, command: str, *, upstream: Iterable[Task | str] = (),
                 array: Array | str | None = None, max_attempts: int | None = None,
                 resources: Mapping[str, Any] | None = None,
                 resource_scales: Mapping[str, float] | None = None,
                 fallback_queues: Sequence[str] = (),
                 resource_fn: ResourceFn | None = None) -> None:
        self.name = name
        self.command = command
        self.upstream: list[Task | str] = list(upstream)
        self.array = array
        self.max_attempts = max_attempts
        self.resources = resources
        self.resource_scales = resource_scales
        self.fallback_queues = fallback_queues
        self.resource_fn = resource_fn

    def add_upstream(self, *tasks: Task | str) -> Task:
        """Make this task wait for ``tasks``; returns self."""
        self.upstream.extend(tasks)
        return self

    def __repr__(self) -> str:
        return f"Task({self.name!r}, {self.command!r})"

    def to_document(self) -> dict[str, Any]:
        """This task as a ``[[tasks]]`` table (names for upstreams and array)."""
        doc: dict[str, Any] = {"name": self.name, "command": self.command}
        if self.upstream:
            doc["upstream"] = [u.name if isinstance(u, Task) else u for u in self.upstream]
        if self.array is not None:
            doc["array"] = self.array.name if isinstance(self.array, Array) else self.array
        optional = {"max_attempts": self.max_attempts, "resources": self.resources,
                    "resource_scales": self.resource_scales}
        doc.update({k: v for k, v in optional.items() if v is not None})
        if self.fallback_queues:
            doc["fallback_queues"] = self.fallback_queues
        return doc


class Workflow:
    """A workflow under construction (see the module docstring)."""

    def __init__(self, name: str, *, max_concurrently_running: int | None = None,
                 default_max_attempts: int | None = None,
                 default_resources: Mapping[str, Any] | None = None,
                 workflow_args: str | None = None) -> None:
        self.name = name
        self.max_concurrently_running = max_concurrently_running
        self.default_max_attempts = default_max_attempts
        self.default_resources = default_resources
        self.workflow_args = workflow_args
        self.tasks: list[Task] = []
        self.arrays: dict[str, Array] = {}

    def add_array(self, array: Array) -> Array:
        """Declare ``array`` (also done implicitly for Array objects given to tasks)."""
        known = self.arrays.get(array.name)
        if known is not None and known is not array and (
                known.max_concurrently_running != array.max_concurrently_running):
            raise WorkflowFileError("two different arrays have this name", task=None,
                                    field=f"arrays.{array.name}")
        self.arrays[array.name] = array
        return array

    def add_task(self, task: Task | str, command: str | None = None, **options: Any) -> Task:
        """Add ``task`` (a Task, or a name with a command and Task options); returns it."""
        if not isinstance(task, Task):
            if command is None:
                raise WorkflowFileError("a task needs a command", task=str(task),
                                        field="command")
            task = Task(task, command, **options)
        elif command is not None or options:
            raise TypeError("add_task(Task) takes no further arguments")
        if isinstance(task.array, Array):
            self.add_array(task.array)
        self.tasks.append(task)
        return task

    def add_tasks(self, tasks: Iterable[Task]) -> None:
        """Add several tasks."""
        for task in tasks:
            self.add_task(task)

    def to_document(self) -> dict[str, Any]:
        """The workflow as the TOML document shape (``actors.workflow.validate``)."""
        settings = {"name": self.name, "max_concurrently_running": self.max_concurrently_running,
                    "default_max_attempts": self.default_max_attempts,
                    "default_resources": self.default_resources,
                    "workflow_args": self.workflow_args}
        doc: dict[str, Any] = {"workflow": {k: v for k, v in settings.items() if v is not None},
                               "tasks": [t.to_document() for t in self.tasks]}
        if self.arrays:
            doc["arrays"] = {
                name: ({} if a.max_concurrently_running is None
                       else {"max_concurrently_running": a.max_concurrently_running})
                for name, a in self.arrays.items()}
        return doc

    def definition(self, directory: str | os.PathLike[str] | None = None) -> WorkflowDefinition:
        """Validate and freeze; commands will run in ``directory`` (default: the current one)."""
        fns: dict[str, ResourceFn] = {}
        for task in self.tasks:
            if task.resource_fn is not None:
                if not callable(task.resource_fn):
                    raise WorkflowFileError("resource_fn must be callable", task=str(task.name),
                                            field="resource_fn")
                fns[task.name] = task.resource_fn
        return build_definition(self.to_document(), path=None,
                                directory=os.path.abspath(directory or os.getcwd()),
                                resource_fns=fns)


def compute_resources(definition: WorkflowDefinition, task: TaskDefinition) -> Resources:
    """The task's effective resources, with its ``resource_fn`` result (if any) on top.

    Called once when the task becomes ready. The callable must return a dict of resources
    (the same keys and units as a file's ``resources``); anything else, or an exception in the
    callable, raises ``WorkflowFileError`` naming the task and ``resource_fn``.
    """
    base = definition.resources_for(task)
    if task.resource_fn is None:
        return base
    try:
        computed = task.resource_fn()
    except Exception as exc:  # user code: report it as the task's definition error
        raise WorkflowFileError(f"the resource function raised {type(exc).__name__}: {exc}",
                                path=definition.source, task=task.name,
                                field="resource_fn") from exc
    if not isinstance(computed, dict):
        raise WorkflowFileError(f"the resource function must return a dict, got "
                                f"{type(computed).__name__}", path=definition.source,
                                task=task.name, field="resource_fn")
    return base.overlay(parse_resources(computed, path=definition.source, task=task.name,
                                        field="resource_fn"))
