"""The ``--json`` document and the exit statuses, from outcomes built by hand."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.cli import exit_code_for_error
from actors.cli.errors import UsageError
from actors.cli.result_json import result_document, write_json
from actors.errors import (
    ActorDeadError,
    ConfigError,
    DistributorDied,
    NotFound,
    RunTimeout,
    ServerUnavailable,
    WorkflowFileError,
)
from messages.orchestrator import ErrorInfo
from messages.values import RunStatus
from tests.cli.helpers import outcome, result

CONTRACT_KEYS = {"final_status", "elapsed_time", "total_tasks", "done_count", "failed_count",
                 "num_previously_complete", "task_final_statuses", "done_task_ids",
                 "failed_task_ids", "workflow_id", "workflow_run_id", "error", "actors",
                 "restarts"}


def test_a_done_run_keyed_by_task_name() -> None:
    doc = result_document(outcome(result(done=(1, 2))), by_name=True)
    assert CONTRACT_KEYS <= set(doc)
    assert doc["final_status"] == "D" and doc["error"] is None
    assert doc["task_final_statuses"] == {"a": "D", "b": "D"}
    assert doc["done_task_ids"] == ["a", "b"] and doc["failed_task_ids"] == []
    assert (doc["workflow_id"], doc["workflow_run_id"], doc["total_tasks"]) == (7, 9, 2)
    assert doc["actors"] == {"orchestrator": 101, "heartbeat": 102}
    assert doc["restarts"] == {"orchestrator": 0, "heartbeat": 1}
    assert doc["task_ids"] == {"a": 1, "b": 2}
    assert (doc["exit_code"], doc["interrupted"]) == (0, False)
    assert json.loads(json.dumps(doc)) == doc


def test_a_failed_run_keyed_by_id_with_its_error() -> None:
    res = result(RunStatus.ERROR, done=(1,), failed=(2,),
                 error=ErrorInfo("TasksFailed", "1 task failed"))
    doc = result_document(outcome(res), by_name=False)
    assert doc["final_status"] == "E"
    assert doc["task_final_statuses"] == {"1": "D", "2": "F"}
    assert doc["done_task_ids"] == [1] and doc["failed_task_ids"] == [2]
    assert doc["error"] == {"type": "TasksFailed", "message": "1 task failed"}
    assert "task_ids" not in doc and doc["exit_code"] == 1


def test_unknown_names_fall_back_to_ids() -> None:
    doc = result_document(outcome(result(done=(1, 3)), names={1: "a"}), by_name=True)
    assert doc["done_task_ids"] == ["a", 3]
    assert doc["task_final_statuses"] == {"a": "D", "3": "D"}


@pytest.mark.parametrize(("final", "error", "interrupted", "code"), [
    (RunStatus.DONE, None, False, 0),
    (RunStatus.ERROR, ErrorInfo("TasksFailed", "x"), False, 1),
    (RunStatus.TERMINATED, None, False, 1),
    (RunStatus.ERROR, ErrorInfo("RunTimeout", "the run exceeded 5 s"), False, 3),
    (RunStatus.ERROR, ErrorInfo("DistributorDied", "exit 9"), False, 4),
    (RunStatus.STOPPED, ErrorInfo("RunStopped", "interrupted"), True, 130),
])
def test_exit_code_of_an_outcome(final: RunStatus, error: ErrorInfo | None,
                                 interrupted: bool, code: int) -> None:
    out = outcome(result(final, error=error), interrupted=interrupted)
    assert out.exit_code == code
    assert result_document(out, by_name=True)["exit_code"] == code


@pytest.mark.parametrize(("exc", "code"), [
    (UsageError("--x needs --y"), 2),
    (ConfigError("bad"), 2),
    (WorkflowFileError("bad", path="f.toml", task="a", field="command"), 2),
    (RunTimeout("late"), 3),
    (DistributorDied("gone"), 4),
    (KeyboardInterrupt(), 130),
    (ServerUnavailable("down"), 1),
    (NotFound("no such workflow", status_code=404), 1),
    (ActorDeadError("dead"), 1),
])
def test_exit_code_for_an_error(exc: BaseException, code: int) -> None:
    assert exit_code_for_error(exc) == code


def test_write_json_to_stdout() -> None:
    out = io.StringIO()
    write_json({"a": 1}, "-", out)
    assert json.loads(out.getvalue()) == {"a": 1}


def test_write_json_replaces_a_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    target.write_text("old")
    write_json({"final_status": "D"}, str(target), io.StringIO())
    assert json.loads(target.read_text()) == {"final_status": "D"}
    assert os.listdir(tmp_path) == ["result.json"]


def test_write_json_into_a_missing_directory_raises_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        write_json({"a": 1}, str(tmp_path / "missing" / "r.json"), io.StringIO())
    assert os.listdir(tmp_path) == []


@given(st.dictionaries(st.integers(1, 10_000), st.text(min_size=1, max_size=8), max_size=20),
       st.lists(st.integers(1, 10_000), unique=True, max_size=20))
def test_every_task_appears_once_by_name_or_id(names: dict[int, str], done: list[int]) -> None:
    doc = result_document(outcome(result(done=tuple(done)), names=names), by_name=True)
    keys = doc["done_task_ids"]
    assert len(keys) == len(done)
    for task_id, key in zip(done, keys):
        assert key == (names[task_id] if names and task_id in names else task_id)
