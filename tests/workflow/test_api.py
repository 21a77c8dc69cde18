"""The Python API: equal to TOML, upstream by object or name, resource_fn, identity hash."""

from __future__ import annotations

import textwrap
from pathlib import Path

import attrs
import pytest

from actors.errors import WorkflowFileError
from actors.workflow import (
    Array,
    Resources,
    Task,
    Workflow,
    compute_resources,
    load_workflow,
    loads_workflow,
)
from actors.workflow.model import UNLIMITED_CONCURRENCY

ISSUE_EXAMPLE = """\
[workflow]
name = "example"
max_concurrently_running = 100
default_max_attempts = 3
default_resources = { memory = "1G", runtime = "10m", cores = 1, queue = "all" }

[arrays.align]
max_concurrently_running = 4

[[tasks]]
name = "a"
command = "echo a > a.txt"
array = "align"
upstream = []
max_attempts = 2
resources = { memory = "200M", runtime = "30s" }
resource_scales = { memory = 0.5, runtime = 0.5 }
fallback_queues = ["long"]

[[tasks]]
name = "b"
command = "cat a.txt > b.txt"
upstream = ["a"]
"""


def _python_example() -> Workflow:
    wf = Workflow("example", max_concurrently_running=100, default_max_attempts=3,
                  default_resources={"memory": "1G", "runtime": "10m", "cores": 1,
                                     "queue": "all"})
    align = Array("align", max_concurrently_running=4)
    a = wf.add_task(Task("a", "echo a > a.txt", array=align, max_attempts=2,
                         resources={"memory": "200M", "runtime": "30s"},
                         resource_scales={"memory": 0.5, "runtime": 0.5},
                         fallback_queues=["long"]))
    wf.add_task("b", "cat a.txt > b.txt", upstream=[a])
    return wf


def test_python_api_and_toml_give_equal_definitions(tmp_path: Path) -> None:
    path = tmp_path / "example.toml"
    path.write_text(ISSUE_EXAMPLE)
    from_file = load_workflow(path)
    from_python = _python_example().definition(directory=tmp_path)
    assert from_file == from_python
    assert from_file.workflow_args == from_python.workflow_args
    assert from_file.directory == str(tmp_path)
    assert from_file.source == str(path) and from_python.source is None


def test_definition_values_are_parsed_and_resolved(tmp_path: Path) -> None:
    d = loads_workflow(ISSUE_EXAMPLE, directory=tmp_path)
    a, b = d.task("a"), d.task("b")
    assert a.resources == Resources(memory=200 / 1024, runtime=30)
    assert d.resources_for(a) == Resources(memory=200 / 1024, runtime=30, cores=1, queue="all")
    assert d.resources_for(b) == Resources(memory=1.0, runtime=600, cores=1, queue="all")
    assert d.max_attempts_for(a) == 2 and d.max_attempts_for(b) == 3
    assert d.array_limit("align") == 4
    assert d.array_limit("default") == UNLIMITED_CONCURRENCY  # the workflow's 100 still applies
    assert d.scales_for(b) == {"memory": 0.5, "runtime": 0.5}
    assert b.array == "default" and a.fallback_queues == ("long",)
    assert d.downstream() == {"a": ("b",), "b": ()}


def test_definitions_are_immutable(tmp_path: Path) -> None:
    d = loads_workflow(ISSUE_EXAMPLE, directory=tmp_path)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        d.name = "other"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        d.tasks[0].command = "rm -rf /"  # type: ignore[misc]
    assert isinstance(d.tasks, tuple) and isinstance(d.tasks[0].upstream, tuple)
    hash(d)


def test_upstream_by_name_or_object_is_the_same(tmp_path: Path) -> None:
    def build(by_name: bool) -> Workflow:
        wf = Workflow("w")
        a = wf.add_task("a", "true")
        wf.add_task(Task("b", "true", upstream=["a"] if by_name else [a]))
        return wf

    assert build(True).definition(tmp_path) == build(False).definition(tmp_path)


def test_python_api_errors_name_task_and_field(tmp_path: Path) -> None:
    wf = Workflow("w")
    wf.add_task("a", "true", upstream=["ghost"])
    with pytest.raises(WorkflowFileError) as info:
        wf.definition(tmp_path)
    assert (info.value.path, info.value.task, info.value.field) == (None, "a", "upstream[0]")

    wf = Workflow("w")
    wf.add_task("a", "true", max_attempts=0)
    with pytest.raises(WorkflowFileError) as info:
        wf.definition(tmp_path)
    assert (info.value.task, info.value.field) == ("a", "max_attempts")

    wf = Workflow("w")
    wf.add_task("a", "true", resource_fn=42)
    with pytest.raises(WorkflowFileError) as info:
        wf.definition(tmp_path)
    assert (info.value.task, info.value.field) == ("a", "resource_fn")

    with pytest.raises(WorkflowFileError, match="command"):
        Workflow("w").add_task("a")


def test_two_different_arrays_with_one_name_are_rejected() -> None:
    wf = Workflow("w")
    wf.add_task("a", "true", array=Array("x", 2))
    with pytest.raises(WorkflowFileError, match="two different arrays"):
        wf.add_task("b", "true", array=Array("x", 3))


def test_resource_fn_is_called_and_validated(tmp_path: Path) -> None:
    calls: list[str] = []

    def good() -> dict[str, object]:
        calls.append("good")
        return {"memory": "2G", "queue": "long"}

    wf = Workflow("w", default_resources={"runtime": "5m"})
    wf.add_task("a", "true", resource_fn=good)
    wf.add_task("b", "true", resource_fn=lambda: ["not", "a", "dict"])
    wf.add_task("c", "true", resource_fn=lambda: {"memory": "a lot"})
    wf.add_task("d", "true", resource_fn=lambda: 1 / 0)
    wf.add_task("e", "true")
    d = wf.definition(tmp_path)
    assert calls == []  # not called at definition time
    assert compute_resources(d, d.task("a")) == Resources(memory=2.0, runtime=300, cores=1,
                                                          queue="long")
    assert calls == ["good"]
    assert compute_resources(d, d.task("e")) == d.resources_for(d.task("e"))
    for name, fragment in [("b", "must return a dict, got list"), ("c", "invalid memory"),
                           ("d", "raised ZeroDivisionError")]:
        with pytest.raises(WorkflowFileError) as info:
            compute_resources(d, d.task(name))
        assert info.value.task == name and info.value.field is not None
        assert info.value.field.startswith("resource_fn") and fragment in info.value.reason


def test_resource_fn_does_not_change_equality(tmp_path: Path) -> None:
    with_fn = Workflow("w")
    with_fn.add_task("a", "true", resource_fn=dict)
    without = Workflow("w")
    without.add_task("a", "true")
    assert with_fn.definition(tmp_path) == without.definition(tmp_path)


def _args(tmp_path: Path, text: str) -> str:
    return loads_workflow(textwrap.dedent(text), directory=tmp_path).workflow_args


def test_workflow_args_identify_the_dag_not_its_limits(tmp_path: Path) -> None:
    base = _args(tmp_path, ISSUE_EXAMPLE)
    assert base == _args(tmp_path, ISSUE_EXAMPLE)  # stable
    assert base.startswith("actorswarm-")
    tuned = ISSUE_EXAMPLE.replace("max_concurrently_running = 100",
                                  "max_concurrently_running = 7").replace('"200M"', '"300M"')
    assert _args(tmp_path, tuned) == base
    assert _args(tmp_path, ISSUE_EXAMPLE.replace("echo a", "echo A")) != base
    assert _args(tmp_path, ISSUE_EXAMPLE.replace('upstream = ["a"]', "upstream = []")) != base
    assert _args(tmp_path / "elsewhere", ISSUE_EXAMPLE) != base
    explicit = ISSUE_EXAMPLE.replace('name = "example"\n', 'name = "example"\n'
                                     'workflow_args = "mine-1"\n', 1)
    assert _args(tmp_path, explicit) == "mine-1"
