"""simrun: the event marks (fake clocks), our server started from a benchmark, one real run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from benchmarks.errors import BenchmarkError
from benchmarks.procwatch import ProcessWatcher
from benchmarks.serverdb import hop_latencies
from benchmarks.shapes import layered
from benchmarks.simrun import OwnServer, RunMarks, SimSettings, _wait_ready, run_shape
from messages.orchestrator import OrchestratorResult, RunFinished, RunStatusChanged, TasksChanged
from messages.values import RunStatus, TaskStatus


class Ticks:
    """A fake clock: each read returns the next value."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_marks_keep_the_first_q_of_each_task_and_the_r_moment() -> None:
    watcher = ProcessWatcher(include_root=False)
    marks = RunMarks(watcher, wall=Ticks(100.0), perf=Ticks(5.0))
    q, d, r, g = TaskStatus.QUEUED, TaskStatus.DONE, TaskStatus.RUNNING, TaskStatus.REGISTERING
    marks(RunStatusChanged(1, RunStatus.RUNNING, RunStatus.LAUNCHED))   # wall 101
    marks(TasksChanged(1, ((1, q), (2, q))))                            # wall 102
    marks(TasksChanged(1, ((1, r), (1, d), (3, q), (2, q), (4, g))))    # wall 103
    marks(TasksChanged(1, ((4, d), (5, TaskStatus.ADJUSTING_RESOURCES))))  # wall 104
    marks(RunStatusChanged(1, RunStatus.RUNNING, RunStatus.LAUNCHED))   # ignored: not first
    assert marks.running_at == 101.0
    # task 4 was first seen D: a sync overtook its queue answer, so D stands for its Q
    assert marks.queued == {1: 102.0, 2: 102.0, 3: 103.0, 4: 104.0}
    result = OrchestratorResult(RunStatus.DONE, 1.0, 3, 3, 0, 0, (), (), (), None)
    marks(RunFinished(result))
    marks(RunFinished(result))
    assert marks.finished_perf == 6.0  # the first RunFinished only


def test_a_server_that_prints_no_ready_line_is_a_clear_error() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "print('starting'); raise SystemExit(3)"],
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None
    try:
        with pytest.raises(BenchmarkError, match=r"did not print READY.*exit code 3.*starting"):
            _wait_ready(proc, proc.stdout, 30.0)
    finally:
        proc.wait(30)
        proc.stdout.close()


@pytest.mark.process
@pytest.mark.timeout(120)
def test_own_server_answers_and_stops(tmp_path: Path) -> None:
    with OwnServer(str(tmp_path / "srv")) as server:
        assert server.url.startswith("http://127.0.0.1:")
        reply = httpx.get(f"{server.url}/api/v3/health", timeout=10)
        assert reply.status_code == 200
        pid = server.pid
    assert server.process is not None and server.process.poll() is not None
    assert Path(server.db_path).is_file() and pid > 0


@pytest.mark.process
@pytest.mark.timeout(180)
def test_a_layered_run_gives_times_for_every_task(tmp_path: Path) -> None:
    shape = layered(30, 10)
    record = run_shape(shape, SimSettings(sample_interval=0.1), str(tmp_path / "run"))
    assert record.outcome.result.final_status is RunStatus.DONE
    names = {t.name for t in shape.tasks}
    assert set(record.times.queued) == set(record.times.done) == set(record.times.launched) == names
    assert record.running_at is not None
    assert min(record.times.queued.values()) >= record.running_at  # nothing queued before R
    hops = hop_latencies(record.times.queued, record.times.done,
                         [(t.name, t.upstream) for t in shape.tasks])
    assert len(hops) == 20  # raises if any task was queued before its upstreams were done
    assert {"server", "distributor", "orchestrator", "scheduler", "synchronizer",
            "heartbeat", "root"} <= set(record.usage)
    assert record.usage["orchestrator"].peak_rss > 0
    assert 0 < record.run_s < record.wall_s
