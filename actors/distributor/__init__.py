"""The distributor: turns a run's queued task instances into work on a backend.

``python -m actors.distributor`` runs it (see ``__main__``); ``service.Distributor`` is the loop;
backends implement ``backend.Backend`` (``local.LocalBackend``, ``sim.SimBackend``,
``slurm.SlurmBackend``). This package's ``__init__`` stays light: the worker imports
``actors.distributor.http``.
"""

from __future__ import annotations

from actors.distributor.backend import (
    Backend,
    DistributorId,
    LaunchRequest,
    Outcome,
    QueueLimits,
    Reporter,
)
from actors.distributor.errors import (
    BackendError,
    DistributorError,
    LaunchError,
    ResourceSpecError,
)

__all__ = [
    "Backend",
    "BackendError",
    "DistributorError",
    "DistributorId",
    "LaunchError",
    "LaunchRequest",
    "Outcome",
    "QueueLimits",
    "Reporter",
    "ResourceSpecError",
]
