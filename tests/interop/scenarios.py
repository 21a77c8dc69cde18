"""Workflow scenarios for the interop tier, as data the real-client driver can bind or run.

Pure values: no I/O, no Jobmon import. ``WorkflowSpec.to_wire()`` is the JSON the driver
(``jobmon_client_driver.py``) reads on stdin. Every scenario takes a ``tag`` that goes into the
workflow args and the commands, so two runs never collide on the same server (Jobmon identifies a
workflow by its args and task hash, and a task by its node args, here the command).

A malformed spec raises ``ScenarioError`` naming the workflow, the task and the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from actors.errors import WorkflowFileError

__all__ = [
    "ScenarioError",
    "TaskSpec",
    "WorkflowSpec",
    "chain",
    "fail_fast",
    "fan_out_fan_in",
    "long_middle",
    "retry_fail",
    "wide",
]

DEFAULT_TEMPLATE = "interop_tt"


class ScenarioError(WorkflowFileError):
    """A scenario is malformed (duplicate name or command, unknown or later upstream, ...)."""


@attrs.frozen
class TaskSpec:
    """One task: ``command`` runs under ``sh -c``; ``upstream`` names earlier tasks."""

    name: str
    command: str
    upstream: tuple[str, ...] = ()
    max_attempts: int = 3
    template: str = DEFAULT_TEMPLATE


@attrs.frozen
class WorkflowSpec:
    """A workflow to bind with the real client; validated on construction."""

    name: str
    workflow_args: str
    cluster: str
    tasks: tuple[TaskSpec, ...]
    queue: str = "null.q"
    max_concurrently_running: int | None = None
    template_limits: Mapping[str, int] = attrs.field(factory=dict)
    fail_fast: bool = False

    def __attrs_post_init__(self) -> None:
        seen: set[str] = set()
        commands: set[tuple[str, str]] = set()
        for task in self.tasks:
            if task.name in seen:
                raise ScenarioError("duplicate task name", path=self.name, task=task.name,
                                    field="name")
            if (task.template, task.command) in commands:
                raise ScenarioError("duplicate command in one template (Jobmon would bind one "
                                    "node)", path=self.name, task=task.name, field="command")
            for up in task.upstream:
                if up not in seen:
                    raise ScenarioError(f"upstream {up!r} is not an earlier task",
                                        path=self.name, task=task.name, field="upstream")
            if task.max_attempts < 1:
                raise ScenarioError("max_attempts must be >= 1", path=self.name, task=task.name,
                                    field="max_attempts")
            seen.add(task.name)
            commands.add((task.template, task.command))
        unknown = set(self.template_limits) - {task.template for task in self.tasks}
        if unknown:
            raise ScenarioError(f"limits for unknown templates {sorted(unknown)}",
                                path=self.name, field="template_limits")

    def to_wire(self) -> dict[str, Any]:
        """The JSON object ``jobmon_client_driver.py`` reads."""
        return {
            "name": self.name, "workflow_args": self.workflow_args, "cluster": self.cluster,
            "queue": self.queue, "max_concurrently_running": self.max_concurrently_running,
            "template_limits": dict(self.template_limits), "fail_fast": self.fail_fast,
            "tasks": [{"name": t.name, "command": t.command, "upstream": list(t.upstream),
                       "max_attempts": t.max_attempts, "template": t.template}
                      for t in self.tasks],
        }

    def task_names(self) -> Sequence[str]:
        return [task.name for task in self.tasks]


def _spec(kind: str, cluster: str, tag: str, tasks: Sequence[TaskSpec],
          **kwargs: Any) -> WorkflowSpec:
    return WorkflowSpec(name=f"interop_{kind}", workflow_args=f"interop-{kind}-{tag}",
                        cluster=cluster, tasks=tuple(tasks), **kwargs)


def chain(cluster: str, tag: str, length: int = 3) -> WorkflowSpec:
    """t1 -> t2 -> ... -> tN, each ``echo``; expect run D and every task D."""
    tasks = [TaskSpec(f"t{i}", f"echo chain-{i}-{tag}", (f"t{i - 1}",) if i > 1 else ())
             for i in range(1, length + 1)]
    return _spec("chain", cluster, tag, tasks)


def fan_out_fan_in(cluster: str, tag: str, width: int = 3) -> WorkflowSpec:
    """root -> w1..wN -> sink; expect D everywhere, the sink queued only after every wI is D."""
    middle = [TaskSpec(f"w{i}", f"echo fan-{i}-{tag}", ("root",)) for i in range(1, width + 1)]
    tasks = [TaskSpec("root", f"echo fan-root-{tag}"), *middle,
             TaskSpec("sink", f"echo fan-sink-{tag}", tuple(t.name for t in middle))]
    return _spec("fan", cluster, tag, tasks)


def retry_fail(cluster: str, tag: str, max_attempts: int = 2) -> WorkflowSpec:
    """t1 ok; t2 exits 3 every time; t3 after t2. Expect run E, t2 F after max_attempts, t3 G."""
    tasks = [TaskSpec("t1", f"echo retry-1-{tag}"),
             TaskSpec("t2", f"echo retry-2-{tag}; exit 3", ("t1",), max_attempts),
             TaskSpec("t3", f"echo retry-3-{tag}", ("t2",))]
    return _spec("retry", cluster, tag, tasks)


def fail_fast(cluster: str, tag: str) -> WorkflowSpec:
    """a fails at once (1 attempt) while b sleeps; fail-fast ends the run E without waiting."""
    tasks = [TaskSpec("a", f"echo ff-a-{tag}; exit 3", max_attempts=1),
             TaskSpec("b", f"sleep 2; echo ff-b-{tag}"),
             TaskSpec("c", f"echo ff-c-{tag}", ("a", "b"))]
    return _spec("failfast", cluster, tag, tasks, fail_fast=True)


def long_middle(cluster: str, tag: str, marker: str, seconds: int = 120) -> WorkflowSpec:
    """t1 -> t2 -> t3 where t2's first attempt creates ``marker`` then sleeps ``seconds``.

    A later attempt (after a resume) finds the marker and finishes at once: the shape of a cold
    resume test (old run T with t2 killed, resumed run D).
    """
    t2 = f"if [ -e {marker} ]; then echo resumed-{tag}; else touch {marker}; exec sleep {seconds}; fi"
    tasks = [TaskSpec("t1", f"echo long-1-{tag}"),
             TaskSpec("t2", t2, ("t1",), max_attempts=1),
             TaskSpec("t3", f"echo long-3-{tag}", ("t2",))]
    return _spec("long", cluster, tag, tasks)


def wide(cluster: str, tag: str, width: int = 6, seconds: float = 1,
         limit: int | None = None) -> WorkflowSpec:
    """``width`` independent tasks sleeping ``seconds``; ``limit`` caps the workflow's concurrency."""
    tasks = [TaskSpec(f"s{i}", f"sleep {seconds}; echo wide-{i}-{tag}")
             for i in range(1, width + 1)]
    return _spec("wide", cluster, tag, tasks, max_concurrently_running=limit)
