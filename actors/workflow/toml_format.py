"""The TOML workflow file format: load (tomllib) and dump (tomli-w).

Who uses it: the CLI (``run WORKFLOW.toml``), the embedding API, tests and example
generators. Loading reads the file, parses it, and hands the document to
``actors.workflow.validate.build_definition``; commands run in the file's directory. Dumping
writes a definition back as TOML text that loads to an equal definition (resource values are
written normalized: memory in GiB, runtime in seconds). ``resource_fn`` cannot be written.

Format (issue 4)::

    [workflow]
    name = "example"
    max_concurrently_running = 100        # optional
    default_max_attempts = 3              # optional
    default_resources = { memory = "1G", runtime = "10m", cores = 1, queue = "all" }

    [arrays.align]                        # optional per-array settings
    max_concurrently_running = 4

    [[tasks]]
    name = "a"
    command = "echo a > a.txt"
    array = "align"                       # optional; default array "default"
    upstream = []                         # task names
    max_attempts = 2
    resources = { memory = "200M", runtime = "30s" }
    resource_scales = { memory = 0.5, runtime = 0.5 }
    fallback_queues = ["long"]
"""

from __future__ import annotations

import os
import tomllib
from typing import Any

import tomli_w

from actors.errors import WorkflowFileError
from actors.workflow.model import DEFAULT_ARRAY, WorkflowDefinition
from actors.workflow.validate import build_definition, derive_workflow_args

__all__ = ["definition_to_document", "dumps_workflow", "load_workflow", "loads_workflow"]


def loads_workflow(text: str, *, directory: str | os.PathLike[str],
                   path: str | None = None) -> WorkflowDefinition:
    """Parse TOML ``text``; ``path`` names it in errors, ``directory`` is where commands run."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line N, column M)".
        raise WorkflowFileError(f"invalid TOML: {exc}", path=path) from exc
    return build_definition(doc, path=path, directory=os.path.abspath(directory))


def load_workflow(path: str | os.PathLike[str]) -> WorkflowDefinition:
    """Read and validate the workflow file at ``path``; commands run in its directory."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise WorkflowFileError(f"cannot read the workflow file: {exc.strerror or exc}",
                                path=name) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WorkflowFileError(f"the file is not UTF-8 text (byte {exc.start})",
                                path=name) from exc
    return loads_workflow(text, path=name, directory=os.path.dirname(os.path.abspath(name)))


def definition_to_document(definition: WorkflowDefinition) -> dict[str, Any]:
    """The TOML document of ``definition`` (only values that differ from the defaults)."""
    settings: dict[str, Any] = {
        "name": definition.name,
        "max_concurrently_running": definition.max_concurrently_running,
        "default_max_attempts": definition.default_max_attempts,
    }
    if not definition.default_resources.is_empty:
        settings["default_resources"] = definition.default_resources.to_dict()
    if definition.workflow_args != derive_workflow_args(definition.name, definition.directory,
                                                        definition.tasks):
        settings["workflow_args"] = definition.workflow_args
    doc: dict[str, Any] = {"workflow": settings}
    implicit_default = any(t.array == DEFAULT_ARRAY for t in definition.tasks)
    arrays = {a.name: ({} if a.max_concurrently_running is None
                       else {"max_concurrently_running": a.max_concurrently_running})
              for a in definition.arrays
              if not (a.name == DEFAULT_ARRAY and a.max_concurrently_running is None
                      and implicit_default)}
    if arrays:
        doc["arrays"] = arrays
    tasks = []
    for task in definition.tasks:
        table: dict[str, Any] = {"name": task.name, "command": task.command}
        if task.upstream:
            table["upstream"] = list(task.upstream)
        if task.array != DEFAULT_ARRAY:
            table["array"] = task.array
        if task.max_attempts is not None:
            table["max_attempts"] = task.max_attempts
        if not task.resources.is_empty:
            table["resources"] = task.resources.to_dict()
        if task.resource_scales is not None:
            table["resource_scales"] = dict(task.resource_scales)
        if task.fallback_queues:
            table["fallback_queues"] = list(task.fallback_queues)
        tasks.append(table)
    doc["tasks"] = tasks
    return doc


def dumps_workflow(definition: WorkflowDefinition) -> str:
    """``definition`` as TOML text (loads back, in the same directory, to an equal one)."""
    return tomli_w.dumps(definition_to_document(definition))
