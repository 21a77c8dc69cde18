"""The task-instance worker: ``python -m actors.worker`` wraps one command (see ``runner``)."""

from __future__ import annotations

from actors.worker import exitcodes
from actors.worker.env import InstanceIdentity, command_environment
from actors.worker.limits import Breach, LimitKind, Limits, LimitWatch, Verdict, classify
from actors.worker.runner import Worker, WorkerConfig

__all__ = [
    "Breach",
    "InstanceIdentity",
    "LimitKind",
    "LimitWatch",
    "Limits",
    "Verdict",
    "Worker",
    "WorkerConfig",
    "classify",
    "command_environment",
    "exitcodes",
]
