"""DAG shapes of the end-to-end suites, as data (pure: no I/O, no clock).

Who uses it: ``benchmarks.batching`` (wide fan-outs), ``benchmarks.scale`` (all four shapes)
and ``benchmarks.versus_jobmon`` (layered DAGs and chains, for both our swarm and Jobmon's).
A ``Shape`` is a neutral description of tasks (name, upstream names, array); it becomes an
actorswarm ``WorkflowDefinition`` (``to_definition``) or the JSON workflow the real Jobmon
client driver binds (``to_jobmon_wire``, the shape of ``tests/interop/scenarios.py``).

Shapes (``n`` tasks named ``t0 .. t{n-1}``)::

    fan_out(n)                  n independent tasks (everything ready at once)
    chains(n, length)           ceil(n / length) parallel chains; task i waits for i - width
    layered(n, width)           layers of ``width``; task j of a layer waits for tasks j and
                                j - 1 (mod width) of the layer above: a lattice of diamonds;
                                each layer is an array (layer mod ``LAYER_ARRAYS``)
    arrays(n, count, limit)     n independent tasks in ``count`` arrays, each limited to
                                ``limit`` tasks at a time

Every command is unique (``echo <tag> <i>``) and the workflow args carry the tag, so a server
that already holds an earlier run of the same shape binds a new workflow.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

from actors.workflow import Array, Task, Workflow, WorkflowDefinition
from benchmarks.errors import BenchmarkConfigError

__all__ = [
    "DEFAULT_RESOURCES",
    "LAYER_ARRAYS",
    "SHAPE_KINDS",
    "Shape",
    "ShapeTask",
    "arrays",
    "chains",
    "fan_out",
    "layered",
    "make_shape",
    "parse_counts",
    "to_definition",
    "to_jobmon_wire",
]

#: Resources of every benchmark task (the sim backend and Jobmon's dummy cluster ignore them).
DEFAULT_RESOURCES: Mapping[str, Any] = {"memory": "256M", "runtime": "1m", "cores": 1,
                                        "queue": "all"}
#: Layered DAGs cycle their layers through this many arrays (like task templates).
LAYER_ARRAYS = 10
SHAPE_KINDS = ("fan-out", "chains", "layered", "arrays")
_ONE_ARRAY = "bench"


@attrs.frozen
class ShapeTask:
    """One task: its name, the names it waits for, its array."""

    name: str
    upstream: tuple[str, ...] = ()
    array: str = _ONE_ARRAY


@attrs.frozen
class Shape:
    """A DAG to run: ``kind``, tasks in dependency order, array limits (None: unlimited)."""

    kind: str
    tasks: tuple[ShapeTask, ...]
    array_limits: Mapping[str, int | None]
    detail: Mapping[str, int] = attrs.field(factory=dict)

    @property
    def n(self) -> int:
        return len(self.tasks)

    @property
    def edges(self) -> int:
        return sum(len(t.upstream) for t in self.tasks)

    def describe(self) -> dict[str, Any]:
        """Parameters for a benchmark record: kind, tasks, edges and the shape's own sizes."""
        return {"shape": self.kind, "tasks": self.n, "edges": self.edges, **self.detail}


def _check(kind: str, **sizes: int) -> None:
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise BenchmarkConfigError(f"shape {kind}: {name} must be a whole number >= 1, "
                                       f"got {value!r}")


def fan_out(n: int) -> Shape:
    """``n`` independent tasks in one array."""
    _check("fan-out", n=n)
    return Shape("fan-out", tuple(ShapeTask(f"t{i}") for i in range(n)), {_ONE_ARRAY: None})


def chains(n: int, length: int) -> Shape:
    """``n`` tasks as parallel chains of (at most) ``length`` tasks."""
    _check("chains", n=n, length=length)
    width = -(-n // min(length, n))
    tasks = tuple(ShapeTask(f"t{i}", (f"t{i - width}",) if i >= width else ())
                  for i in range(n))
    return Shape("chains", tasks, {_ONE_ARRAY: None},
                 {"chains": width, "length": -(-n // width)})


def layered(n: int, width: int) -> Shape:
    """``n`` tasks in layers of ``width``, each waiting for two tasks of the layer above."""
    _check("layered", n=n, width=width)
    width = min(width, n)
    tasks = []
    for i in range(n):
        layer, j = divmod(i, width)
        ups: tuple[str, ...] = ()
        if layer:
            above = (layer - 1) * width
            ups = tuple(sorted({f"t{above + j}", f"t{above + (j - 1) % width}"}))
        tasks.append(ShapeTask(f"t{i}", ups, f"layer{layer % LAYER_ARRAYS}"))
    used = {t.array for t in tasks}
    return Shape("layered", tuple(tasks), {a: None for a in sorted(used)},
                 {"width": width, "layers": -(-n // width)})


def arrays(n: int, count: int, limit: int) -> Shape:
    """``n`` independent tasks in ``count`` arrays of about equal size, each limited."""
    _check("arrays", n=n, count=count, limit=limit)
    count = min(count, n)
    per = -(-n // count)
    tasks = tuple(ShapeTask(f"t{i}", (), f"array{i // per}") for i in range(n))
    used = sorted({t.array for t in tasks})
    return Shape("arrays", tasks, dict.fromkeys(used, limit),
                 {"arrays": len(used), "array_limit": limit})


def make_shape(kind: str, n: int, *, width: int = 1000, length: int = 100,
               array_count: int = 10, array_limit: int = 500) -> Shape:
    """The shape called ``kind`` (one of ``SHAPE_KINDS``) with ``n`` tasks."""
    if kind == "fan-out":
        return fan_out(n)
    if kind == "chains":
        return chains(n, length)
    if kind == "layered":
        return layered(n, width)
    if kind == "arrays":
        return arrays(n, array_count, array_limit)
    raise BenchmarkConfigError(f"unknown shape {kind!r} (known: {', '.join(SHAPE_KINDS)})")


def parse_counts(text: str, option: str) -> tuple[int, ...]:
    """``"1000,10k,1M"`` -> sorted distinct counts; BenchmarkConfigError naming ``option``."""
    counts = set()
    for part in text.split(","):
        word = part.strip().lower().replace("_", "")
        scale = {"k": 1_000, "m": 1_000_000}.get(word[-1:], 1)
        digits = word[:-1] if scale != 1 else word
        if not digits.isdigit() or int(digits) * scale < 1:
            raise BenchmarkConfigError(f"{option}: {part.strip()!r} is not a count of at "
                                       "least 1 (e.g. 500, 10k, 1M)")
        counts.add(int(digits) * scale)
    return tuple(sorted(counts))


def _command(tag: str, i: int) -> str:
    return f"echo {tag} {i}"


def to_definition(shape: Shape, tag: str, directory: str | os.PathLike[str]) -> WorkflowDefinition:
    """The shape as an actorswarm workflow (args ``bench-<kind>-<tag>``).

    The workflow's concurrency limit is the number of tasks, so only the arrays shape limits
    anything.
    """
    wf = Workflow(f"bench-{shape.kind}", max_concurrently_running=max(shape.n, 1),
                  default_max_attempts=3, default_resources=dict(DEFAULT_RESOURCES),
                  workflow_args=f"bench-{shape.kind}-{tag}")
    objects = {name: wf.add_array(Array(name, limit))
               for name, limit in shape.array_limits.items()}
    for i, t in enumerate(shape.tasks):
        wf.add_task(Task(t.name, _command(tag, i), upstream=t.upstream, array=objects[t.array]))
    return wf.definition(directory=directory)


def to_jobmon_wire(shape: Shape, tag: str, cluster: str = "dummy",
                   queue: str = "null.q") -> dict[str, Any]:
    """The shape as the real-client driver's JSON workflow (one task template per array)."""
    limits = {f"bench_{name}": limit for name, limit in shape.array_limits.items()
              if limit is not None}
    return {
        "name": f"bench_{shape.kind}", "workflow_args": f"bench-{shape.kind}-{tag}",
        "tool": "actorswarm_bench", "cluster": cluster, "queue": queue,
        "max_concurrently_running": max(shape.n, 1), "template_limits": limits,
        "fail_fast": False,
        "tasks": [{"name": t.name, "command": _command(tag, i), "template": f"bench_{t.array}",
                   "upstream": list(t.upstream), "max_attempts": 3}
                  for i, t in enumerate(shape.tasks)],
    }
