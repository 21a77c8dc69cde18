"""The environment a task's command sees (pure; no I/O).

The worker runs each command with its parent's environment plus the instance's identity, under
``ACTORSWARM_*`` names and the ``JOBMON_*`` names Jobmon users may already read. The server token
(``ACTORSWARM_TOKEN``) is never passed on to the command.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = ["TOKEN_VARIABLE", "InstanceIdentity", "command_environment"]

#: Environment variable that carries the server token to the worker (not to the command).
TOKEN_VARIABLE = "ACTORSWARM_TOKEN"


@attrs.frozen
class InstanceIdentity:
    """Who the command is: ids and names of its task instance."""

    task_instance_id: int
    task_id: int
    workflow_run_id: int
    name: str
    attempt: int = 1
    array_id: int | None = None
    workflow_id: int | None = None


def command_environment(base: Mapping[str, str], who: InstanceIdentity,
                        extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` without the token, plus the instance's ids (and ``extra``)."""
    env = {k: v for k, v in base.items() if k != TOKEN_VARIABLE}
    ids = {
        "TASK_INSTANCE_ID": str(who.task_instance_id),
        "TASK_ID": str(who.task_id),
        "WORKFLOW_RUN_ID": str(who.workflow_run_id),
        "TASK_NAME": who.name,
        "ATTEMPT": str(who.attempt),
    }
    if who.array_id is not None:
        ids["ARRAY_ID"] = str(who.array_id)
    if who.workflow_id is not None:
        ids["WORKFLOW_ID"] = str(who.workflow_id)
    for key, value in ids.items():
        env[f"ACTORSWARM_{key}"] = value
        env[f"JOBMON_{key}"] = value
    env.update(extra or {})
    return env
