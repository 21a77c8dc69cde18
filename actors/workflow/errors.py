"""Workflow-specific error classes (inside the tree of ``actors.errors``).

::

    ConfigError (ValueError)
    └── WorkflowFileError            a definition is invalid: names file, task and field
        └── WorkflowArgsConflict     the server's workflow with these workflow_args has a
                                     different DAG than the definition being bound
"""

from __future__ import annotations

from actors.errors import WorkflowFileError

__all__ = ["WorkflowArgsConflict"]


class WorkflowArgsConflict(WorkflowFileError):
    """Binding found a workflow with the same ``workflow_args`` but another task set.

    Raised by ``actors.workflow.binding.bind`` after ``bind_done``: the explicit
    ``workflow_args`` of the definition were already used for a different DAG.
    """
