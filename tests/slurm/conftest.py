"""Fixtures of the Slurm tier: one real single-node cluster per session (``.ci/slurm.sh``).

Tests that use ``cluster`` skip with the reason when the cluster cannot start here (not root,
no package registry, a foreign Slurm in the way). The cluster is stopped at the end of the
session when this session started it; one that was already running is left as it was.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.distributor.e2e import ServerProc
from tests.slurm.cluster import Cluster, SlurmApi, start_cluster, stop_cluster


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """The running cluster (started by this session or before it)."""
    started = start_cluster()
    if isinstance(started, str):
        pytest.skip(f"no Slurm cluster: {started}")
    print(f"\nslurm cluster: {started.start_seconds:.1f} s to start, memory enforcement "
          f"{started.enforcement}, partition {started.partition}", file=sys.stderr)
    try:
        yield started
    finally:
        if started.started_here:
            stop_cluster()


@pytest.fixture
def server(tmp_path: Path, cluster: Cluster) -> Iterator[ServerProc]:
    """A real state server for one test."""
    proc = ServerProc(tmp_path / "server")
    try:
        yield proc
    finally:
        assert proc.stop() is not None


@pytest.fixture
def api(server: ServerProc, cluster: Cluster) -> Iterator[SlurmApi]:
    """The routes a swarm would call, for the cluster ``slurm`` (declared on the server)."""
    client = SlurmApi(server.url, cluster.partition)
    client.declare_cluster()
    yield client
    client.close()
