"""The backend interface of the distributor, and the values that cross it.

The distributor (``actors.distributor.service``) owns one backend and calls it from its loop:

- ``queues()`` once at start, to declare the cluster's queues to the server (POST ``/cluster``);
- ``capacity()`` before claiming, to learn how many instances it may take now;
- ``launch(batch)`` with the claimed instances; it answers one distributor id per instance
  (``None`` when that instance could not be submitted: the server then marks it W);
- ``poll()`` every tick: what the backend observed since the previous poll (``Outcome`` values);
- ``kill(ids)`` for instances the server put in KILL_SELF; each killed instance later shows up in
  ``poll()`` as an F outcome;
- ``alive(ids)`` for instances the server is triaging;
- ``close()`` at exit: stop everything still running and release resources.

The interface speaks distributor ids (strings the backend chose, e.g. a PID or a Slurm job id),
so a batch scheduler such as Slurm (sbatch job arrays, squeue/scontrol, scancel) fits it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import NewType, Protocol

import attrs

from messages.values import TaskInstanceId, TaskInstanceStatus

__all__ = [
    "Backend",
    "DistributorId",
    "LaunchRequest",
    "Outcome",
    "QueueLimits",
    "Reporter",
]

DistributorId = NewType("DistributorId", str)


@attrs.frozen
class QueueLimits:
    """Limits of one queue (Jobmon's queue ``params``): memory in GiB, runtime in seconds."""

    min_cores: int = 1
    max_cores: int = 1
    min_memory: float = 0.0
    max_memory: float = 1.0
    min_runtime: int = 1
    max_runtime: int = 86400

    def to_params(self) -> dict[str, float | int]:
        """The queue's ``params`` object as the server stores it."""
        return attrs.asdict(self)


@attrs.frozen
class LaunchRequest:
    """One claimed task instance to start (from the server's claim answer)."""

    task_instance_id: TaskInstanceId
    task_id: int
    array_id: int | None
    name: str
    command: str
    attempt: int
    queue_name: str | None = None
    memory_gib: float | None = None
    cores: int = 1
    runtime_s: float | None = None


class Reporter(enum.Enum):
    """Who sends an outcome to the server."""

    DISTRIBUTOR = "distributor"  # the distributor reports it through POST .../results
    WORKER = "worker"  # the worker already reported it through its own routes


@attrs.frozen
class Outcome:
    """Something a backend observed about one instance.

    ``status`` is the task-instance status to report (R, D, E, Z, U or F). When ``reporter`` is
    ``WORKER`` the server already knows; the distributor only forgets the instance.
    ``final`` is False only for R (the instance started and goes on).
    """

    task_instance_id: TaskInstanceId
    distributor_id: DistributorId
    status: TaskInstanceStatus
    error_message: str | None = None
    exit_code: int | None = None
    reporter: Reporter = Reporter.DISTRIBUTOR

    @property
    def final(self) -> bool:
        """True when the backend is done with the instance."""
        return self.status is not TaskInstanceStatus.RUNNING


class Backend(Protocol):
    """What the distributor needs from a place that runs task instances."""

    #: The cluster this backend declares to the server (``local``, ``sim``, ``slurm``...).
    cluster_name: str
    #: The cluster's type as the server stores it.
    cluster_type: str

    def queues(self) -> Mapping[str, QueueLimits]:
        """Queue name → limits."""
        ...

    def capacity(self) -> int:
        """How many more instances ``launch`` accepts now (0: none)."""
        ...

    def launch(self, batch: Sequence[LaunchRequest]) -> list[DistributorId | None]:
        """Submit ``batch``; one distributor id (or None: not submitted) per request, in order."""
        ...

    def poll(self) -> list[Outcome]:
        """Outcomes observed since the last poll (starts and ends), oldest first."""
        ...

    def kill(self, ids: Sequence[DistributorId]) -> None:
        """Kill these instances (whole process groups); each then ends as an F outcome."""
        ...

    def alive(self, ids: Sequence[DistributorId]) -> dict[DistributorId, bool]:
        """Whether each instance is still pending or running on the backend."""
        ...

    def close(self) -> None:
        """Kill whatever still runs and release the backend's resources."""
        ...
