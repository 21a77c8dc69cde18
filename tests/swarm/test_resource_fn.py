"""A task's Python resource callable, run by the root's resource oracle (no pickle).

The callable lives in the test process; in process mode the orchestrator (another OS
process) asks the root's oracle actor for the result when the task becomes ready.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from actors.workflow import Task
from messages.values import RunStatus
from tests.swarm.helpers import run_and_wait, workflow

pytestmark = [pytest.mark.process, pytest.mark.timeout(120)]


def _requested(state_dir: Path) -> dict[str, dict[str, object]]:
    """Each task's requested resources as its (single) instance was queued with."""
    db = sqlite3.connect(f"file:{state_dir / 'server.sqlite'}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT t.name, r.requested_resources FROM task_instance i "
            "JOIN task t ON t.id = i.task_id JOIN task_resources r ON r.id = i.task_resources_id"
        ).fetchall()
    finally:
        db.close()
    return {name: json.loads(text) for name, text in rows}


@pytest.mark.parametrize("mode", ["process", "thread"])
def test_resources_come_from_the_callable_once_the_task_is_ready(tmp_path: Path,
                                                                  mode: str) -> None:
    calls: list[str] = []

    def big() -> dict[str, object]:
        calls.append("b")
        return {"memory": "2G", "runtime": "90s"}

    definition = workflow(f"resource-fn-{mode}", tmp_path, [
        Task("a", "true"),
        Task("b", "true", upstream=["a"], resource_fn=big),
    ])
    outcome, _ = run_and_wait(definition, tmp_path / "state", mode=mode)
    assert outcome.result.final_status is RunStatus.DONE, outcome.result.error
    assert calls == ["b"]  # once, when b became ready
    requested = _requested(tmp_path / "state")
    assert requested["b"]["memory"] == 2.0 and requested["b"]["runtime"] == 90
    assert requested["a"]["memory"] != 2.0


def test_a_callable_that_does_not_return_a_dict_ends_the_run_with_its_reason(
        tmp_path: Path) -> None:
    definition = workflow("resource-fn-bad", tmp_path, [
        Task("a", "true", resource_fn=lambda: ["not", "a", "dict"]),  # type: ignore[arg-type,return-value]
    ])
    outcome, _ = run_and_wait(definition, tmp_path / "state")
    result = outcome.result
    assert result.final_status is RunStatus.ERROR
    assert result.error is not None and result.error.type == "ResourcesFailed"
    assert "must return a dict" in result.error.message and "'a'" in result.error.message
    assert outcome.exit_code == 1
