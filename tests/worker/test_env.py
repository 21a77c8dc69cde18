"""The command's environment (pure)."""

from __future__ import annotations

import actors.worker
from actors.worker.env import TOKEN_VARIABLE, InstanceIdentity, command_environment


def test_ids_under_both_prefixes_and_no_token() -> None:
    who = InstanceIdentity(task_instance_id=9, task_id=4, workflow_run_id=2, name="a/b",
                           attempt=3, array_id=1, workflow_id=5)
    env = command_environment({"PATH": "/bin", TOKEN_VARIABLE: "secret"}, who, {"X": "1"})
    assert env["PATH"] == "/bin" and env["X"] == "1"
    assert TOKEN_VARIABLE not in env
    for prefix in ("ACTORSWARM_", "JOBMON_"):
        assert env[prefix + "TASK_INSTANCE_ID"] == "9"
        assert env[prefix + "TASK_ID"] == "4"
        assert env[prefix + "WORKFLOW_RUN_ID"] == "2"
        assert env[prefix + "WORKFLOW_ID"] == "5"
        assert env[prefix + "ARRAY_ID"] == "1"
        assert env[prefix + "ATTEMPT"] == "3"
        assert env[prefix + "TASK_NAME"] == "a/b"


def test_optional_ids_are_left_out() -> None:
    env = command_environment({}, InstanceIdentity(1, 2, 3, "t"))
    assert "ACTORSWARM_ARRAY_ID" not in env and "ACTORSWARM_WORKFLOW_ID" not in env


def test_public_api() -> None:
    assert set(actors.worker.__all__) == {
        "Breach", "InstanceIdentity", "LimitKind", "LimitWatch", "Limits", "Verdict", "Worker",
        "WorkerConfig", "classify", "command_environment", "exitcodes"}
    for name in actors.worker.__all__:
        assert hasattr(actors.worker, name)
