"""Backend ``slurm``: task instances as Slurm job-array tasks (sbatch, squeue, scancel).

``python -m actors.distributor --backend slurm`` uses it; see ``backend`` for the flow,
``script`` for what is submitted, ``outcomes`` for how finished jobs are read, ``errors`` for
the error classes.
"""

from __future__ import annotations

from actors.distributor.slurm.backend import SlurmBackend, SlurmConfig
from actors.distributor.slurm.cli import SlurmCli
from actors.distributor.slurm.errors import SlurmCommandError, SlurmError, SlurmOutputError

__all__ = [
    "SlurmBackend",
    "SlurmCli",
    "SlurmCommandError",
    "SlurmConfig",
    "SlurmError",
    "SlurmOutputError",
]
