"""The validated, immutable workflow definition (what a TOML file or the Python API produces).

Who uses it: the binder (``actors.workflow.binding``), the CLI (``run WORKFLOW.toml``), the
embedding API. Values here are only built by ``actors.workflow.validate.build_definition``,
which guarantees the invariants: unique task names, known upstreams and arrays, no cycle,
parsed resources (memory in GiB, runtime in seconds).

Effective values are resolved from three layers, the first set one wins: the task's own value,
the workflow's default, the built-in default (:data:`BUILTIN_RESOURCES`, max attempts 3, an
array limit equal to the workflow's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from actors.resources import DEFAULT_SCALES

__all__ = [
    "BUILTIN_MAX_ATTEMPTS",
    "BUILTIN_MAX_CONCURRENTLY_RUNNING",
    "BUILTIN_RESOURCES",
    "DEFAULT_ARRAY",
    "ArrayDefinition",
    "ResourceFn",
    "Resources",
    "Scalar",
    "TaskDefinition",
    "WorkflowDefinition",
]

#: The array of tasks that name none.
DEFAULT_ARRAY = "default"
#: Jobmon's default number of attempts of a task.
BUILTIN_MAX_ATTEMPTS = 3
#: Jobmon's "no limit" (its database column's maximum): the limit of an array without one.
UNLIMITED_CONCURRENCY = 2_147_483_647
#: The default workflow concurrency limit.
BUILTIN_MAX_CONCURRENTLY_RUNNING = 10_000

Scalar = str | int | float | bool
#: Python API only: computes a task's resources once when it becomes ready; returns a dict.
ResourceFn = Callable[[], Mapping[str, Any]]


@attrs.frozen
class Resources:
    """Requested resources, each None when not set at this layer.

    ``memory`` in GiB, ``runtime`` in whole seconds, ``cores`` a positive integer, ``queue`` a
    queue name; ``extra`` holds backend-specific scalar keys as sorted ``(key, value)`` pairs.
    """

    memory: float | None = None
    runtime: int | None = None
    cores: int | None = None
    queue: str | None = None
    extra: tuple[tuple[str, Scalar], ...] = ()

    def overlay(self, top: Resources) -> Resources:
        """These resources with every value ``top`` sets taking precedence."""
        extra = dict(self.extra)
        extra.update(top.extra)
        return Resources(
            memory=self.memory if top.memory is None else top.memory,
            runtime=self.runtime if top.runtime is None else top.runtime,
            cores=self.cores if top.cores is None else top.cores,
            queue=self.queue if top.queue is None else top.queue,
            extra=tuple(sorted(extra.items())),
        )

    def to_dict(self) -> dict[str, Scalar]:
        """The set values as a ``requested_resources`` object (extra keys included)."""
        out: dict[str, Scalar] = dict(self.extra)
        for key in ("memory", "runtime", "cores", "queue"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @property
    def is_empty(self) -> bool:
        """True when no value is set."""
        return self == Resources()


#: Used for every resource neither the task nor the workflow sets.
BUILTIN_RESOURCES = Resources(memory=1.0, runtime=3600, cores=1, queue="all")


@attrs.frozen
class ArrayDefinition:
    """A named group of tasks with its own concurrency limit (None: the workflow's)."""

    name: str
    max_concurrently_running: int | None = None


@attrs.frozen
class TaskDefinition:
    """One command of the DAG.

    ``upstream`` names tasks that must be DONE first. ``max_attempts`` and ``resource_scales``
    are None when the task leaves them to the workflow / the default. ``resource_scales`` are
    sorted ``(resource, factor)`` pairs. ``resource_fn`` (Python API only) is not part of the
    definition's equality or identity.
    """

    name: str
    command: str
    upstream: tuple[str, ...] = ()
    array: str = DEFAULT_ARRAY
    max_attempts: int | None = None
    resources: Resources = Resources()
    resource_scales: tuple[tuple[str, float], ...] | None = None
    fallback_queues: tuple[str, ...] = ()
    resource_fn: ResourceFn | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class WorkflowDefinition:
    """A whole workflow: settings, arrays (sorted by name) and tasks (in declaration order).

    ``directory`` is where commands run (the workflow file's directory). ``workflow_args`` is
    the workflow's identity on the server: the same definition gives the same args, so running
    it again finds (and resumes) the same workflow. ``source`` (the file, if any) is not part
    of equality.
    """

    name: str
    directory: str
    workflow_args: str
    tasks: tuple[TaskDefinition, ...]
    arrays: tuple[ArrayDefinition, ...]
    max_concurrently_running: int = BUILTIN_MAX_CONCURRENTLY_RUNNING
    default_max_attempts: int = BUILTIN_MAX_ATTEMPTS
    default_resources: Resources = Resources()
    source: str | None = attrs.field(default=None, eq=False)
    _by_name: Mapping[str, TaskDefinition] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {t.name: t for t in self.tasks})

    def task(self, name: str) -> TaskDefinition:
        """The task called ``name`` (KeyError if there is none)."""
        return self._by_name[name]

    @property
    def task_names(self) -> tuple[str, ...]:
        """Task names in declaration order."""
        return tuple(t.name for t in self.tasks)

    def array_limit(self, name: str) -> int:
        """The concurrency limit of array ``name``: its own, else unlimited (Jobmon's 2^31-1).

        The workflow's limit applies on top of it, so raising the workflow's limit on the
        server later raises the concurrency of arrays without a limit of their own.
        """
        for array in self.arrays:
            if array.name == name and array.max_concurrently_running is not None:
                return array.max_concurrently_running
        return UNLIMITED_CONCURRENCY

    def resources_for(self, task: TaskDefinition) -> Resources:
        """The effective resources of ``task``: built-in < workflow default < task."""
        return BUILTIN_RESOURCES.overlay(self.default_resources).overlay(task.resources)

    def max_attempts_for(self, task: TaskDefinition) -> int:
        """The effective maximum number of attempts of ``task``."""
        return self.default_max_attempts if task.max_attempts is None else task.max_attempts

    def scales_for(self, task: TaskDefinition) -> dict[str, float]:
        """The effective resource scales of ``task`` (default: memory 0.5, runtime 0.5)."""
        if task.resource_scales is None:
            return dict(DEFAULT_SCALES)
        return dict(task.resource_scales)

    def downstream(self) -> dict[str, tuple[str, ...]]:
        """Direct downstream task names of every task (declaration order)."""
        result: dict[str, list[str]] = {t.name: [] for t in self.tasks}
        for t in self.tasks:
            for up in t.upstream:
                result[up].append(t.name)
        return {name: tuple(names) for name, names in result.items()}
