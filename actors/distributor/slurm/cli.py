"""Slurm's client commands, run as subprocesses (the Slurm backend's only I/O with Slurm).

``SlurmBackend`` calls one method per command, in batches: one ``sbatch`` per job array, one
``squeue`` per poll for all of the run's jobs, one ``scancel`` for all instances to kill,
``sacct`` (when accounting storage answers) only for jobs squeue no longer knows. Failures
become ``SlurmCommandError`` (the command, its exit code and its stderr); unreadable output
``SlurmOutputError``. Every command has a timeout.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Mapping, Sequence

from actors.distributor.backend import DistributorId, QueueLimits
from actors.distributor.slurm import parse
from actors.distributor.slurm.errors import SlurmCommandError, SlurmOutputError
from actors.distributor.slurm.parse import JobRecord

__all__ = ["SlurmCli"]

log = logging.getLogger(__name__)


class SlurmCli:
    """Runs ``sbatch``, ``squeue``, ``scancel``, ``scontrol``, ``sinfo`` and ``sacct``.

    ``prefix`` is prepended to every command (for example ``("ssh", "login1")``, or a test's
    fake); ``timeout`` bounds each call in seconds.
    """

    def __init__(self, *, timeout: float = 60.0, prefix: Sequence[str] = ()) -> None:
        self.timeout = timeout
        self.prefix = tuple(prefix)
        self.calls: dict[str, int] = {}

    def run(self, argv: Sequence[str], *, stdin: str | None = None,
            env: Mapping[str, str] | None = None) -> str:
        """Run ``argv``; its stdout, or SlurmCommandError naming it."""
        full = [*self.prefix, *argv]
        self.calls[argv[0]] = self.calls.get(argv[0], 0) + 1
        try:
            done = subprocess.run(full, input=stdin, capture_output=True, text=True,
                                  timeout=self.timeout, env=None if env is None else dict(env),
                                  check=False)
        except FileNotFoundError as exc:
            raise SlurmCommandError(full, "command not found (is Slurm's client installed?)"
                                    ) from exc
        except subprocess.TimeoutExpired as exc:
            raise SlurmCommandError(full, f"no answer within {self.timeout:g} s") from exc
        except OSError as exc:
            raise SlurmCommandError(full, f"could not run: {exc}") from exc
        if done.returncode != 0:
            raise SlurmCommandError(full, f"exit code {done.returncode}",
                                    returncode=done.returncode, stderr=done.stderr)
        return done.stdout

    def sbatch(self, options: Sequence[str], script: str, env: Mapping[str, str]) -> str:
        """Submit ``script`` (read on stdin) with ``options`` (incl. --parsable); the job id."""
        out = self.run(["sbatch", *options], stdin=script, env=env).strip()
        job_id = out.split(";", 1)[0]
        if not job_id.isdigit():
            raise SlurmOutputError("sbatch --parsable", "expected a job id", out)
        return job_id

    def squeue(self, job_name: str) -> dict[DistributorId, JobRecord]:
        """Every array task of this user named ``job_name``, finished ones included."""
        text = self.run(["squeue", "--noheader", "--array", "--states=all", "--me",
                         f"--name={job_name}", f"--Format={parse.SQUEUE_FORMAT}"])
        return parse.parse_squeue(text)

    def scancel(self, ids: Sequence[DistributorId]) -> None:
        """Cancel the array tasks ``ids`` in one call (finished ones are ignored by Slurm)."""
        if ids:
            self.run(["scancel", *ids])

    def config(self) -> dict[str, str]:
        """``scontrol show config`` as a dict."""
        return parse.parse_config(self.run(["scontrol", "show", "config"]))

    def partitions(self) -> dict[str, QueueLimits]:
        """Each partition's limits (``scontrol show partition`` + its nodes from ``sinfo``)."""
        settings = self.run(["scontrol", "--oneliner", "show", "partition"])
        nodes = self.run(["sinfo", "--noheader", "--Node", "--format=%N|%R|%c|%m"])
        return parse.parse_partitions(settings, nodes)

    def sacct(self, ids: Sequence[DistributorId]) -> dict[DistributorId, JobRecord]:
        """Final records of ``ids`` from accounting (SlurmCommandError when it is disabled)."""
        if not ids:
            return {}
        text = self.run(["sacct", "--allocations", "--noheader", "--parsable2",
                         "--format=JobID,State,ExitCode,Reason", f"--jobs={','.join(ids)}"])
        return parse.parse_sacct(text)
