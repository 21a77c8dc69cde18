"""The diamond of diamond.toml written with the Python API (both give equal definitions).

Run it:  python examples/diamond.py          (prints the definition as TOML)
"""

from __future__ import annotations

from pathlib import Path

from actors.workflow import Task, Workflow, WorkflowDefinition, dumps_workflow

HERE = Path(__file__).resolve().parent


def build() -> WorkflowDefinition:
    """The diamond workflow; its commands run in this file's directory."""
    wf = Workflow("diamond", max_concurrently_running=10, default_max_attempts=3,
                  default_resources={"memory": "256M", "runtime": "1m", "cores": 1,
                                     "queue": "all"})
    split = wf.add_task(Task(
        "split", "mkdir -p out/diamond && seq 1 100 > out/diamond/numbers.txt"))
    left = wf.add_task(Task(
        "left", "awk '$1 % 2 == 0' out/diamond/numbers.txt > out/diamond/even.txt",
        upstream=[split]))
    right = wf.add_task(Task(
        "right", "awk '$1 % 2 == 1' out/diamond/numbers.txt > out/diamond/odd.txt",
        upstream=["split"]))
    wf.add_task(Task(
        "join", "cat out/diamond/even.txt out/diamond/odd.txt | sort -n | "
        "cmp -s - out/diamond/numbers.txt && echo 'join: all 100 numbers accounted for'",
        upstream=[left, right]))
    return wf.definition(directory=HERE)


if __name__ == "__main__":
    print(dumps_workflow(build()))
