"""Hypothesis: random valid definitions round-trip through TOML text and the Python API."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.workflow import (
    Array,
    Task,
    Workflow,
    WorkflowDefinition,
    build_definition,
    dumps_workflow,
    loads_workflow,
)

DIRECTORY = "/srv/project"

# Names: printable text without control characters, not padded with spaces.
names = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=12) \
    .map(str.strip).filter(bool)
memories = st.one_of(st.floats(min_value=0.01, max_value=4096, allow_nan=False),
                     st.sampled_from(["400M", "1G", "1.5G", "512MB", "2T", "8g"]))
runtimes = st.one_of(st.integers(min_value=1, max_value=10**6),
                     st.sampled_from(["30s", "10m", "1h", "1h30m", "01:02:03", "2d", "90"]))
resources = st.fixed_dictionaries({}, optional={
    "memory": memories, "runtime": runtimes, "cores": st.integers(1, 64),
    "queue": st.sampled_from(["all", "long", "gpu"]),
    "account": st.sampled_from(["proj-a", "proj-b"]),
})
scales = st.fixed_dictionaries({}, optional={
    "memory": st.floats(0, 4), "runtime": st.floats(0, 4), "cores": st.floats(0, 4)})


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid workflow document: a random DAG declared in a random order."""
    task_names = draw(st.lists(names, min_size=1, max_size=15, unique=True))
    array_names = draw(st.lists(names, max_size=3, unique=True))
    limits = st.fixed_dictionaries({}, optional={"max_concurrently_running": st.integers(0, 50)})
    arrays: dict[str, dict[str, int]] = {a: draw(limits) for a in array_names}
    tasks = []
    for i, name in enumerate(task_names):
        task: dict[str, Any] = {"name": name, "command": draw(st.text(min_size=1).filter(
            lambda s: s.strip() != "" and "\x00" not in s))}
        optional = draw(st.fixed_dictionaries({}, optional={
            "upstream": st.lists(st.sampled_from(task_names[:i]), unique=True) if i
            else st.just([]),
            "array": st.sampled_from(array_names + ["default"]),
            "max_attempts": st.integers(1, 10),
            "resources": resources,
            "resource_scales": scales,
            "fallback_queues": st.lists(st.sampled_from(["long", "huge"]), unique=True),
        }))
        task.update(optional)
        tasks.append(task)
    workflow: dict[str, Any] = {"name": draw(names)}
    workflow.update(draw(st.fixed_dictionaries({}, optional={
        "max_concurrently_running": st.integers(0, 10_000),
        "default_max_attempts": st.integers(1, 10),
        "default_resources": resources,
        "workflow_args": names,
    })))
    doc: dict[str, Any] = {"workflow": workflow, "tasks": draw(st.permutations(tasks))}
    with_arrays: bool = draw(st.booleans())
    if arrays or with_arrays:
        doc["arrays"] = arrays
    return doc


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_definitions_round_trip_through_toml_text(doc: dict[str, Any]) -> None:
    definition = build_definition(doc, path=None, directory=DIRECTORY)
    text = dumps_workflow(definition)
    again = loads_workflow(text, directory=DIRECTORY, path="generated.toml")
    assert again == definition
    assert dumps_workflow(again) == text


def _python_workflow(doc: dict[str, Any]) -> Workflow:
    settings_ = doc["workflow"]
    wf = Workflow(settings_["name"],
                  max_concurrently_running=settings_.get("max_concurrently_running"),
                  default_max_attempts=settings_.get("default_max_attempts"),
                  default_resources=settings_.get("default_resources"),
                  workflow_args=settings_.get("workflow_args"))
    arrays = {n: Array(n, a.get("max_concurrently_running"))
              for n, a in doc.get("arrays", {}).items()}
    for array in arrays.values():
        wf.add_array(array)
    for t in doc["tasks"]:
        wf.add_task(Task(t["name"], t["command"], upstream=t.get("upstream", ()),
                         array=arrays.get(t.get("array", ""), t.get("array")),
                         max_attempts=t.get("max_attempts"), resources=t.get("resources"),
                         resource_scales=t.get("resource_scales"),
                         fallback_queues=t.get("fallback_queues", ())))
    return wf


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_python_api_gives_the_same_definition(doc: dict[str, Any]) -> None:
    expected: WorkflowDefinition = build_definition(doc, path=None, directory=DIRECTORY)
    assert _python_workflow(doc).definition(DIRECTORY) == expected
