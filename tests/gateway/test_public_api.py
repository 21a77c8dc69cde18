"""The gateway's public API (``__all__``) and its import layering."""

from __future__ import annotations

import subprocess
import sys

import pytest

import actors.gateway
import actors.workflow

GATEWAY_API = {
    "API_PREFIX", "ActiveRunExists", "ArraySpec", "BindSummary", "Buckets",
    "CLIENT_JOBMON_VERSION", "Cluster", "Features", "Gateway", "GatewayConfig",
    "MAX_LONG_POLL_WAIT", "OutcomeUnknown", "Queue", "QueueResult", "RetryPolicy", "RunRefused",
    "RunSummary", "StatusUpdates",
    "TaskEdges", "TaskInstanceRow", "TaskRow", "TaskSpec", "TerminateResult", "UpsertedCluster",
    "WorkflowBinding", "WorkflowMetadata", "WorkflowRunCreated", "WorkflowSummary",
}
WORKFLOW_API = {
    "BUILTIN_RESOURCES", "DEFAULT_ARRAY", "Array", "ArrayDefinition", "BoundWorkflow",
    "Resources", "Task", "TaskDefinition", "Workflow", "WorkflowArgsConflict",
    "WorkflowDefinition", "bind", "build_definition", "command_in_directory",
    "compute_resources", "definition_to_document", "derive_workflow_args", "dumps_workflow",
    "load_workflow", "loads_workflow", "task_specs",
}


@pytest.mark.parametrize("module,expected", [(actors.gateway, GATEWAY_API),
                                             (actors.workflow, WORKFLOW_API)])
def test_all_is_exactly_the_public_api(module: object, expected: set[str]) -> None:
    assert set(module.__all__) == expected  # type: ignore[attr-defined]
    for name in expected:
        assert getattr(module, name) is not None


@pytest.mark.process
@pytest.mark.timeout(60)
def test_workflow_definitions_do_not_import_httpx() -> None:
    code = ("import sys, actors.workflow as w; w.load_workflow; "
            "assert 'httpx' not in sys.modules, 'httpx imported'; w.bind; "
            "assert 'httpx' in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=50, check=False)
    assert result.returncode == 0, result.stderr
