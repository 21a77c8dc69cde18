"""Errors of the distributor and its backends (extends ``actors.errors``).

::

    ActorswarmError (actors.errors)
    └── DistributorError                   the distributor process or one of its backends
        ├── BackendError                   a backend could not do what was asked
        │   └── LaunchError                starting a task instance failed (names the instance)
        └── ResourceSpecError (ValueError) a task's requested resources are malformed
"""

from __future__ import annotations

from actors.errors import ActorswarmError

__all__ = ["BackendError", "DistributorError", "LaunchError", "ResourceSpecError"]


class DistributorError(ActorswarmError):
    """Base class of errors raised by the distributor and its backends."""


class BackendError(DistributorError):
    """A backend operation failed; the message names the backend and the operation."""


class LaunchError(BackendError):
    """A task instance could not be started; ``task_instance_id`` names it."""

    def __init__(self, message: str, *, task_instance_id: int) -> None:
        self.task_instance_id = task_instance_id
        super().__init__(f"task instance {task_instance_id}: {message}")


class ResourceSpecError(DistributorError, ValueError):
    """A requested-resources value is malformed; ``field`` names the key."""

    def __init__(self, message: str, *, field: str) -> None:
        self.field = field
        super().__init__(f"requested_resources[{field!r}]: {message}")
