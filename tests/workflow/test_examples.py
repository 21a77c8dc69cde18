"""The example workflow files load, and their commands really work when run in order.

The process test runs each example's bound commands (``cd`` prefix included) with
``/bin/sh -c`` in a copy of the examples directory, upstream first, retrying a failed task up
to its max_attempts: a sequential stand-in for the swarm that checks the files themselves.
"""

from __future__ import annotations

import runpy
import shutil
import subprocess
from pathlib import Path

import pytest

from actors.workflow import WorkflowDefinition, load_workflow
from actors.workflow.binding import task_specs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TOML_FILES = sorted(p.name for p in EXAMPLES.glob("*.toml"))


def test_there_are_examples() -> None:
    assert {"diamond.toml", "fan_out_fan_in.toml", "retry.toml"} <= set(TOML_FILES)


@pytest.mark.parametrize("name", TOML_FILES)
def test_example_loads(name: str) -> None:
    definition = load_workflow(EXAMPLES / name)
    assert definition.directory == str(EXAMPLES)
    assert definition.tasks


def test_python_example_equals_the_toml_diamond() -> None:
    build = runpy.run_path(str(EXAMPLES / "diamond.py"))["build"]
    assert build() == load_workflow(EXAMPLES / "diamond.toml")


def test_fan_out_example_shape() -> None:
    d = load_workflow(EXAMPLES / "fan_out_fan_in.toml")
    assert d.array_limit("work") == 3 and d.max_concurrently_running == 8
    assert len(d.task("collect").upstream) == 12
    assert d.downstream()["prepare"] == tuple(f"work-{i:02d}" for i in range(1, 13))


def _run(definition: WorkflowDefinition) -> tuple[dict[str, int], dict[str, str]]:
    """Run every task in order; returns attempts used and the last stdout by task."""
    attempts: dict[str, int] = {}
    stdout: dict[str, str] = {}
    for spec in task_specs(definition, "local"):
        for attempt in range(1, spec.max_attempts + 1):
            result = subprocess.run(["/bin/sh", "-c", spec.command], capture_output=True,
                                    text=True, timeout=30, check=False)
            attempts[spec.name] = attempt
            stdout[spec.name] = result.stdout
            if result.returncode == 0:
                break
        else:
            raise AssertionError(f"{spec.name} failed {spec.max_attempts} times: "
                                 f"{result.stderr}")
    return attempts, stdout


@pytest.mark.process
@pytest.mark.timeout(60)
def test_example_commands_work_in_their_directory(tmp_path: Path) -> None:
    copy = tmp_path / "examples"
    shutil.copytree(EXAMPLES, copy, ignore=shutil.ignore_patterns("out", "__pycache__"))

    attempts, out = _run(load_workflow(copy / "diamond.toml"))
    assert out["join"].strip() == "join: all 100 numbers accounted for"
    assert (copy / "out/diamond/even.txt").read_text().split()[:2] == ["2", "4"]

    attempts, out = _run(load_workflow(copy / "retry.toml"))
    assert attempts == {"flaky": 2, "report": 1}
    assert out["report"].strip() == "second attempt: fine"
    assert not (copy / "out/retry/flaky.tried").exists()  # ready to run again
    attempts, _ = _run(load_workflow(copy / "retry.toml"))
    assert attempts["flaky"] == 2

    attempts, out = _run(load_workflow(copy / "fan_out_fan_in.toml"))
    assert out["collect"].strip() == f"sum of squares: {sum(i * i for i in range(1, 13))}"
