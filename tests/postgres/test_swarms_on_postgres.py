"""The whole system on PostgreSQL: two real swarms (``python -m actors.main run --server URL
--backend sim``, each with its own distributor) drive two workflows at once through one
``--workers 3`` server; both end D, and the database holds one D instance per task."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.pool import NullPool

from tests.postgres.procs import ServerProc

TASKS = 300
LAYER = 30


def _workflow_file(path: Path, name: str) -> None:
    header = (f'[workflow]\nname = "{name}"\nmax_concurrently_running = 1000\n'
              'default_resources = { memory = "1G", runtime = "60", cores = 1, queue = "all" }\n')
    lines = [header]
    for i in range(TASKS):
        ups = sorted({f"t{i - LAYER}", f"t{i - LAYER - i % LAYER}"}) if i >= LAYER else []
        upstream = "upstream = [" + ", ".join(f'"{u}"' for u in ups) + "]\n" if ups else ""
        lines.append(f'[[tasks]]\nname = "t{i}"\ncommand = "true"\n{upstream}')
    path.write_text("\n".join(lines))


@pytest.mark.timeout(300)
def test_two_swarms_drive_two_workflows_to_done(pg_database: str, tmp_path: Path) -> None:
    server = ServerProc(pg_database, 3, tmp_path)
    swarms: list[subprocess.Popen[bytes]] = []
    try:
        url = server.wait_ready()
        for k in range(2):
            _workflow_file(tmp_path / f"wf{k}.toml", f"pg-swarm-{k}")
            swarms.append(subprocess.Popen(
                [sys.executable, "-m", "actors.main", "run", str(tmp_path / f"wf{k}.toml"),
                 "--server", url, "--backend", "sim", "--progress", "off",
                 "--heartbeat-interval", "2", "--json", str(tmp_path / f"r{k}.json")],
                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        for k, swarm in enumerate(swarms):
            out, err = swarm.communicate(timeout=240)
            assert swarm.returncode == 0, (out + err).decode(errors="replace")[-3000:]
            result = json.loads((tmp_path / f"r{k}.json").read_text())
            assert result["final_status"] == "D" and result["done_count"] == TASKS, result
    finally:
        for swarm in swarms:
            if swarm.poll() is None:
                swarm.kill()
                swarm.wait(timeout=30)
        assert server.stop() == 0
    engine = sqlalchemy.create_engine(pg_database, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sqlalchemy.text(
                "SELECT w.name, count(DISTINCT t.id), count(ti.id), "
                "sum(CASE WHEN ti.status = 'D' THEN 1 ELSE 0 END), "
                "count(DISTINCT (ti.task_id, ti.attempt)), "
                "sum(CASE WHEN t.status = 'D' THEN 1 ELSE 0 END) "
                "FROM workflow w JOIN task t ON t.workflow_id = w.id "
                "LEFT JOIN task_instance ti ON ti.task_id = t.id "
                "GROUP BY w.name ORDER BY w.name")).all()
    finally:
        engine.dispose()
    # per workflow: all tasks, one instance each (no failures injected), each D, no repeats
    assert [tuple(r) for r in rows] == [(f"pg-swarm-{k}", TASKS, TASKS, TASKS, TASKS, TASKS)
                                        for k in range(2)]
