"""Every class of malformed workflow file gives a WorkflowFileError naming file, task, field."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import pytest

from actors.errors import ConfigError, WorkflowFileError
from actors.workflow import load_workflow

HEADER = """\
[workflow]
name = "wf"
"""

GOOD_TASK = """
[[tasks]]
name = "a"
command = "echo a"
"""


def _load(tmp_path: Path, text: str) -> WorkflowFileError:
    path = tmp_path / "wf.toml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(WorkflowFileError) as info:
        load_workflow(path)
    assert info.value.path == str(path)
    assert str(path) in str(info.value)
    return info.value


# (label, file text, expected task, expected field, a fragment of the message)
CASES = [
    ("unknown top key", HEADER + GOOD_TASK + "\n[setting]\nx = 1\n", None, "setting",
     "unknown key"),
    ("unknown workflow key", HEADER + "max_concurrent = 3\n" + GOOD_TASK, None,
     "workflow.max_concurrent", "did you mean 'max_concurrently_running'"),
    ("unknown task key", HEADER + GOOD_TASK + 'comand = "x"\n', "a", "comand",
     "did you mean 'command'"),
    ("unknown array key", HEADER + "[arrays.x]\nlimit = 3\n" + GOOD_TASK, None,
     "arrays.x.limit", "unknown key"),
    ("workflow name type", "[workflow]\nname = 3\n" + GOOD_TASK, None, "workflow.name",
     "expected a string, got an integer"),
    ("workflow missing", GOOD_TASK, None, "workflow", "missing"),
    ("workflow name missing", "[workflow]\nmax_concurrently_running = 3\n" + GOOD_TASK, None,
     "workflow.name", "needs a name"),
    ("limit negative", HEADER + "max_concurrently_running = -1\n" + GOOD_TASK, None,
     "workflow.max_concurrently_running", "at least 0"),
    ("limit bool", HEADER + "max_concurrently_running = true\n" + GOOD_TASK, None,
     "workflow.max_concurrently_running", "expected an integer, got a boolean"),
    ("default attempts zero", HEADER + "default_max_attempts = 0\n" + GOOD_TASK, None,
     "workflow.default_max_attempts", "at least 1"),
    ("default resources bad", HEADER + 'default_resources = { memory = "lots" }\n' + GOOD_TASK,
     None, "workflow.default_resources.memory", "invalid memory"),
    ("no tasks", HEADER, None, "tasks", "non-empty array"),
    ("tasks not array", 'tasks = "a"\n' + HEADER, None, "tasks", "non-empty array"),
    ("task name missing", HEADER + '[[tasks]]\ncommand = "x"\n', "#1", "name", "needs a name"),
    ("task name empty", HEADER + '[[tasks]]\nname = ""\ncommand = "x"\n', "#1", "name",
     "non-empty"),
    ("task name padded", HEADER + '[[tasks]]\nname = " a"\ncommand = "x"\n', "#1", "name",
     "leading or trailing"),
    ("command missing", HEADER + '[[tasks]]\nname = "a"\n', "a", "command", "needs a command"),
    ("command blank", HEADER + '[[tasks]]\nname = "a"\ncommand = "  "\n', "a", "command",
     "non-empty string"),
    ("command list", HEADER + '[[tasks]]\nname = "a"\ncommand = ["echo"]\n', "a", "command",
     "got an array"),
    ("duplicate names", HEADER + GOOD_TASK + GOOD_TASK, "a", "name", "already defined"),
    ("unknown upstream", HEADER + GOOD_TASK + 'upstream = ["b"]\n', "a", "upstream[0]",
     "unknown upstream task 'b'"),
    ("upstream string", HEADER + GOOD_TASK + 'upstream = "b"\n', "a", "upstream",
     "expected a list of names"),
    ("upstream twice", HEADER + GOOD_TASK + GOOD_TASK.replace('"a"', '"b"')
     + 'upstream = ["a", "a"]\n', "b", "upstream[1]", "listed twice"),
    ("max_attempts string", HEADER + GOOD_TASK + 'max_attempts = "3"\n', "a", "max_attempts",
     "expected an integer"),
    ("max_attempts zero", HEADER + GOOD_TASK + "max_attempts = 0\n", "a", "max_attempts",
     "at least 1"),
    ("resources not table", HEADER + GOOD_TASK + 'resources = "8G"\n', "a", "resources",
     "expected a table"),
    ("memory unit", HEADER + GOOD_TASK + 'resources = { memory = "8Q" }\n', "a",
     "resources.memory", "unknown memory unit"),
    ("memory negative", HEADER + GOOD_TASK + "resources = { memory = -1 }\n", "a",
     "resources.memory", "more than 0"),
    ("runtime garbage", HEADER + GOOD_TASK + 'resources = { runtime = "soon" }\n', "a",
     "resources.runtime", "invalid runtime"),
    ("runtime clock", HEADER + GOOD_TASK + 'resources = { runtime = "1:75:00" }\n', "a",
     "resources.runtime", "below 60"),
    ("cores fraction", HEADER + GOOD_TASK + "resources = { cores = 1.5 }\n", "a",
     "resources.cores", "whole number"),
    ("cores zero", HEADER + GOOD_TASK + "resources = { cores = 0 }\n", "a", "resources.cores",
     "at least 1"),
    ("queue empty", HEADER + GOOD_TASK + 'resources = { queue = "" }\n', "a", "resources.queue",
     "non-empty"),
    ("extra resource array", HEADER + GOOD_TASK + "resources = { gpus = [1] }\n", "a",
     "resources.gpus", "backend-specific"),
    ("scale unknown", HEADER + GOOD_TASK + "resource_scales = { disk = 0.5 }\n", "a",
     "resource_scales['disk']", "can be scaled"),
    ("scale negative", HEADER + GOOD_TASK + "resource_scales = { memory = -0.5 }\n", "a",
     "resource_scales['memory']", "at least 0"),
    ("fallback string", HEADER + GOOD_TASK + 'fallback_queues = "long"\n', "a",
     "fallback_queues", "list of names"),
    ("unknown array", HEADER + "[arrays.align]\n" + GOOD_TASK + 'array = "algn"\n', "a", "array",
     "unknown array 'algn' (declared: align, default)"),
    ("array number", HEADER + GOOD_TASK + "array = 3\n", "a", "array", "expected a string"),
    ("array limit string", HEADER + '[arrays.x]\nmax_concurrently_running = "4"\n' + GOOD_TASK,
     None, "arrays.x.max_concurrently_running", "expected an integer"),
    ("array not table", 'arrays = { x = 4 }\n' + HEADER + GOOD_TASK, None, "arrays.x",
     "expected a table"),
    ("workflow_args empty", HEADER + 'workflow_args = ""\n' + GOOD_TASK, None,
     "workflow.workflow_args", "non-empty string"),
]


@pytest.mark.parametrize("label,text,task,field,fragment", CASES, ids=[c[0] for c in CASES])
def test_malformed_file_is_located(tmp_path: Path, label: str, text: str, task: str | None,
                                   field: str, fragment: str) -> None:
    error = _load(tmp_path, text)
    assert error.task == task
    assert error.field == field
    assert fragment in error.reason
    if task is not None:
        assert f"task {task!r}" in str(error)
    assert f"field {field!r}" in str(error)


@pytest.mark.parametrize("upstreams,cycle", [
    ({"a": ["a"]}, "a -> a"),
    ({"a": ["c"], "b": ["a"], "c": ["b"]}, "a -> b -> c -> a"),
    ({"a": [], "b": ["a", "d"], "c": ["b"], "d": ["c"]}, "b -> c -> d -> b"),
])
def test_cycles_are_named(tmp_path: Path, upstreams: dict[str, list[str]], cycle: str) -> None:
    text = HEADER + "".join(
        f'\n[[tasks]]\nname = "{n}"\ncommand = "echo {n}"\nupstream = {ups!r}\n'.replace("'", '"')
        for n, ups in upstreams.items())
    error = _load(tmp_path, text)
    assert error.field == "upstream"
    shown = error.reason.split(": ", 1)[1]
    # The same cycle, possibly starting at another member.
    members = shown.split(" -> ")
    expected = cycle.split(" -> ")
    assert members[0] == members[-1] and sorted(members[:-1]) == sorted(expected[:-1])
    assert error.task in expected
    for up, down in itertools.pairwise(members):
        assert up in upstreams[down]  # each arrow goes from an upstream to its dependent


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    error = _load(tmp_path, HEADER + '\n[[tasks]]\nname = "a"\ncommand = "echo\n')
    assert "invalid TOML" in error.reason and "line 6" in error.reason
    assert error.task is None and error.field is None


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WorkflowFileError) as info:
        load_workflow(tmp_path / "absent.toml")
    assert "cannot read" in str(info.value)
    assert str(info.value.path).endswith("absent.toml")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "wf.toml"
    path.write_bytes(b'[workflow]\nname = "\xff"\n')
    with pytest.raises(WorkflowFileError, match="not UTF-8"):
        load_workflow(path)


def test_workflow_file_error_is_a_config_error() -> None:
    assert issubclass(WorkflowFileError, ConfigError) and issubclass(WorkflowFileError,
                                                                     ValueError)
