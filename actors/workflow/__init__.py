"""Workflow definitions: the Python API, the TOML file format, and binding on the server.

``load_workflow("wf.toml")`` and ``Workflow(...).definition()`` both give an immutable,
validated ``WorkflowDefinition``; ``bind(definition, gateway, cluster_name)`` registers it on
the state server and returns the ids (``BoundWorkflow``); the binding names are imported on
first use, so the definitions alone never import httpx. Invalid definitions raise
``actors.errors.WorkflowFileError`` naming the file, the task and the field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.workflow.api import Array, Task, Workflow, compute_resources
from actors.workflow.errors import WorkflowArgsConflict
from actors.workflow.model import (
    BUILTIN_RESOURCES,
    DEFAULT_ARRAY,
    ArrayDefinition,
    Resources,
    TaskDefinition,
    WorkflowDefinition,
)
from actors.workflow.toml_format import (
    definition_to_document,
    dumps_workflow,
    load_workflow,
    loads_workflow,
)
from actors.workflow.validate import build_definition, derive_workflow_args

if TYPE_CHECKING:
    from actors.workflow.binding import BoundWorkflow, bind, command_in_directory, task_specs

#: Names served lazily from ``actors.workflow.binding`` so that importing the definitions
#: (e.g. from pure logic) does not import the gateway and httpx.
_BINDING_NAMES = ("BoundWorkflow", "bind", "command_in_directory", "task_specs")


def __getattr__(name: str) -> Any:
    if name in _BINDING_NAMES:
        from actors.workflow import binding
        return getattr(binding, name)
    raise AttributeError(f"module 'actors.workflow' has no attribute {name!r}")

__all__ = [
    "BUILTIN_RESOURCES",
    "DEFAULT_ARRAY",
    "Array",
    "ArrayDefinition",
    "BoundWorkflow",
    "Resources",
    "Task",
    "TaskDefinition",
    "Workflow",
    "WorkflowArgsConflict",
    "WorkflowDefinition",
    "bind",
    "build_definition",
    "command_in_directory",
    "compute_resources",
    "definition_to_document",
    "derive_workflow_args",
    "dumps_workflow",
    "load_workflow",
    "loads_workflow",
    "task_specs",
]
