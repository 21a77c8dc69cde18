"""`python -m actors.main run --backend slurm`: the whole swarm with tasks running as Slurm jobs.

The cluster `slurm` is not seeded by the server: the CLI has the distributor declare it
(`--declare-only`) before binding, so a workflow file naming a partition binds and runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.slurm.cluster import Cluster

pytestmark = [pytest.mark.slurm, pytest.mark.process, pytest.mark.timeout(240)]


def test_cli_runs_a_dag_on_slurm(tmp_path: Path, cluster: Cluster) -> None:
    workflow = tmp_path / "wf.toml"
    workflow.write_text(f"""
[workflow]
name = "slurm-cli"
default_resources = {{ memory = "100M", runtime = "5m", cores = 1, queue = "{cluster.partition}" }}

[[tasks]]
name = "a"
command = "echo a > a.txt"

[[tasks]]
name = "b"
command = "test -s a.txt && echo b > b.txt"
upstream = ["a"]
""")
    result = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, "-m", "actors.main", "run", str(workflow), "--backend", "slurm",
         "--state-dir", str(tmp_path / "state"), "--heartbeat-interval", "1",
         "--progress", "plain", "--json", str(result)],
        capture_output=True, text=True, timeout=200, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(result.read_text())
    assert outcome["final_status"] == "D"
    assert outcome["task_final_statuses"] == {"a": "D", "b": "D"}
    assert (tmp_path / "b.txt").read_text().strip() == "b"
