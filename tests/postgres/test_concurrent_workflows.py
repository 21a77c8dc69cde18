"""Several workflows at once from several OS processes against one multi-process server.

Four driver processes (``driver.py``) each bind a workflow of 300 tasks and drive it to D
through ``queue_task_batch`` and the distributor routes, sending every write twice at once
from two connections, against ``python -m actors.server --workers 4`` on PostgreSQL. Then
the database must show nothing lost and nothing duplicated: every task D with exactly one D
instance, exactly one instance per attempt, attempts as injected and ≤ max_attempts, and
no instance handed out by two claims.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy.pool import NullPool

from tests.postgres.procs import ServerProc

pytestmark = pytest.mark.process

DRIVERS = 4
TASKS = 300
WORKERS = 4


def _drive(url: str, tmp_path: Path) -> tuple[list[dict[str, Any]], float]:
    t0 = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-m", "tests.postgres.driver", "--server", url,
                               "--name", f"wf{i}", "--tasks", str(TASKS), "--seed", str(i)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
             for i in range(DRIVERS)]
    outputs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=400)
            assert p.returncode == 0, err.decode(errors="replace")[-3000:]
            outputs.append(json.loads(out.decode().strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
    return outputs, time.monotonic() - t0


def _instances(db_url: str) -> dict[int, list[Any]]:
    engine = sqlalchemy.create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sqlalchemy.text(
                "SELECT t.id, t.status, t.num_attempts, t.max_attempts, ti.id, ti.attempt, "
                "ti.status, ti.workflow_run_id FROM task t LEFT JOIN task_instance ti "
                "ON ti.task_id = t.id ORDER BY t.id, ti.id")).all()
    finally:
        engine.dispose()
    by_task: dict[int, list[Any]] = {}
    for r in rows:
        by_task.setdefault(r[0], []).append(r)
    return by_task


@pytest.mark.timeout(600)
def test_four_processes_four_workflows_nothing_lost_or_duplicated(
        pg_database: str, tmp_path: Path) -> None:
    server = ServerProc(pg_database, WORKERS, tmp_path)
    try:
        url = server.wait_ready()
        outputs, wall = _drive(url, tmp_path)
        assert server.popen.poll() is None, "the server died under load"
    finally:
        assert server.stop() == 0
    by_task = _instances(pg_database)
    assert len(by_task) == DRIVERS * TASKS
    claimed = Counter(ti for o in outputs for part in o["claimed"].values() for ti in part)
    twice = [ti for ti, n in claimed.items() if n > 1]
    assert not twice, f"instances handed out by two claims: {twice[:20]}"
    problems: list[str] = []
    for o in outputs:
        assert o["run_status"] == "D", o["name"]
        for name, tid in o["tasks"].items():
            rows = by_task[tid]
            status, attempts, max_attempts = rows[0][1], rows[0][2], rows[0][3]
            inst = [(r[5], r[6], r[7]) for r in rows if r[4] is not None]
            expected = o["expected_attempts"][name]
            if status != "D" or attempts != expected or attempts > max_attempts:
                problems.append(f"{name}: task {status} after {attempts} attempts "
                                f"(expected D after {expected})")
            if sorted(a for a, _, _ in inst) != list(range(1, attempts + 1)):
                problems.append(f"{name}: instance attempts {sorted(a for a, _, _ in inst)}")
            if [s for _, s, _ in inst].count("D") != 1:
                problems.append(f"{name}: instance statuses {[s for _, s, _ in inst]}")
            if {r for _, _, r in inst} != {o["workflow_run_id"]}:
                problems.append(f"{name}: instances of other runs")
    assert not problems, problems[:20]
    all_instances = sum(len([r for r in rows if r[4] is not None]) for rows in by_task.values())
    assert sum(claimed.values()) == all_instances  # every instance was claimed exactly once
    requests = sum(o["requests"] for o in outputs)
    print(f"\n[postgres] {DRIVERS} processes x {TASKS} tasks, server --workers {WORKERS}: "
          f"{DRIVERS * TASKS} tasks D ({all_instances} instances) in {wall:.1f} s wall = "
          f"{DRIVERS * TASKS / wall:.0f} tasks/s, {requests} requests = "
          f"{requests / wall:.0f} req/s; bind {max(o['bind_seconds'] for o in outputs):.1f} s")
