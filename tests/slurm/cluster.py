"""Helpers of the Slurm tier: the cluster started by ``.ci/slurm.sh`` and Slurm-side checks.

``start_cluster`` runs ``.ci/slurm.sh start`` (it installs and starts munge, slurmctld and
slurmd) with this process's child-subreaper flag off, so the daemons it leaves running are
re-parented to init, not to the test process, and are not counted as leftovers of a test.
``SlurmApi`` is the distributor tier's ``Api`` for the ``slurm`` cluster (queue = partition).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from actors.distributor.slurm import SlurmCli
from actors.distributor.slurm.parse import JobRecord, parse_record_line
from tests.distributor.e2e import Api

__all__ = ["Cluster", "SlurmApi", "jobcomp_records", "start_cluster", "stop_cluster"]

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "slurm.sh"
_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
#: Within the first test's own timeout (the session fixture runs inside it).
_START_TIMEOUT = 150


@attrs.frozen
class Cluster:
    """A running cluster: what the script reported and whether this session started it."""

    enforcement: str
    jobcomp: Path
    started_here: bool
    start_seconds: float
    partition: str


@contextlib.contextmanager
def _not_a_subreaper() -> Iterator[None]:
    libc = ctypes.CDLL(None, use_errno=True)
    flag = ctypes.c_int(0)
    libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
    try:
        yield
    finally:
        libc.prctl(_PR_SET_CHILD_SUBREAPER, flag.value, 0, 0, 0)


def start_cluster() -> Cluster | str:
    """Start (or reuse) the cluster; a Cluster, or the reason it cannot run here."""
    if os.geteuid() != 0:
        return "the Slurm tier needs root (it installs packages and starts daemons)"
    begin = time.monotonic()
    with _not_a_subreaper():
        try:
            done = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True,
                                  timeout=_START_TIMEOUT, stdin=subprocess.DEVNULL,
                                  check=False)
        except subprocess.TimeoutExpired:
            return f".ci/slurm.sh start did not finish within {_START_TIMEOUT} s"
    seconds = time.monotonic() - begin
    if done.returncode != 0:
        if "] started " in done.stderr:  # stop the daemons this failed start left running
            stop_cluster()
        return (f".ci/slurm.sh start failed (exit {done.returncode}): "
                f"{done.stderr.strip()[-600:]}")
    status = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    partitions = SlurmCli().partitions()
    return Cluster(enforcement=status.get("memory enforcement", "?"),
                   jobcomp=Path(status.get("job-completion log", "")),
                   started_here="started slurmctld" in done.stderr,
                   start_seconds=seconds, partition=min(partitions))


def stop_cluster() -> str:
    """``.ci/slurm.sh stop``; its messages."""
    done = subprocess.run([str(SCRIPT), "stop"], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, check=False)
    return done.stderr


def jobcomp_records(path: Path) -> dict[str, JobRecord]:
    """Every array task's final record in the job-completion log."""
    out: dict[str, JobRecord] = {}
    for line in path.read_text().splitlines():
        record = parse_record_line(line) if line.strip() else None
        if record is not None:
            out[record.did] = record
    return out


class SlurmApi(Api):
    """``Api`` whose tasks and resources use the cluster ``slurm`` and one partition."""

    def __init__(self, url: str, partition: str) -> None:
        super().__init__(url)
        self.partition = partition

    def declare_cluster(self) -> None:
        """POST /cluster with the partitions, as the distributor does at start; binding tasks
        needs the queue before any distributor runs."""
        queues = SlurmCli().partitions()
        self.client.post("/cluster", {
            "name": "slurm", "type": "slurm", "params": {},
            "queues": [{"name": n, "params": q.to_params()} for n, q in queues.items()]})

    def bind_slurm(self, name: str, tasks: list[dict[str, Any]], *,
                   max_running: int = 10_000) -> tuple[int, dict[str, int]]:
        """Bind ``tasks`` on cluster ``slurm``, queue ``partition``."""
        tasks = [dict({"queue_name": self.partition}, **t) for t in tasks]
        return self.bind(name, tasks, cluster="slurm", max_running=max_running)

    def resources_id(self, cluster: str, requested: dict[str, Any]) -> tuple[int, int]:
        cluster_id = self.client.get(f"/cluster/{cluster}")["cluster"][0]
        queue_id = self.client.get(f"/cluster/{cluster_id}/queue/{self.partition}")["queue"][0]
        rid = self.client.post("/task/bind_resources", {
            "queue_id": queue_id, "task_resources_type_id": "O",
            "requested_resources": dict(requested, queue=self.partition)})
        return cluster_id, int(rid)

    def queue_slurm(self, wfr: int, task_ids: list[int],
                    requested: dict[str, Any] | None = None) -> dict[str, list[int]]:
        """Queue ``task_ids`` (one array) on the partition with ``requested`` resources."""
        return self.queue(wfr, task_ids, cluster="slurm", requested=requested or {})

    def distributor_ids(self, wf: int, name: str) -> list[str]:
        """Slurm ids (``JOB_INDEX``) of the task's instances, oldest first."""
        return [str(i["distributor_id"]) for i in self.instances(wf, name)]
