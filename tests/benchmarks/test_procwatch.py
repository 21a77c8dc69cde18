"""Process roles from command lines, and CPU/RSS sampling of real child processes."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from benchmarks.procwatch import ProcessWatcher, ProcSample, role_of

BURN = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"


@pytest.mark.parametrize(("cmdline", "role"), [
    (["python", "-m", "actors.runtime.host", "orchestrator", "x:Y", "--rundir", "/r"],
     "orchestrator"),
    (["python", "-m", "actors.runtime.guard", "--grace", "5", "--", "python", "-m",
      "actors.server", "--port", "0"], "server"),
    (["python", "-m", "actors.runtime.guard", "--", "env", "A=1", "python", "-m",
      "jobmon.distributor.cli", "start"], "distributor"),
    (["python", "-m", "actors.distributor", "--backend", "sim"], "distributor"),
    (["/v/bin/python", "/repo/tests/interop/jobmon_serve.py", "port", "0"], "jobmon-server"),
    (["/v/bin/python", "/repo/benchmarks/jobmon_probe.py", "driver.py", "run"],
     "jobmon-client"),
    (["/v/bin/worker_node_entry_point", "--task_instance_id", "3"], "worker"),
    (["python", "-m", "actors.runtime.host"], "other"),
    (["sleep", "1"], "other"),
    ([], "other"),
])
def test_role_of(cmdline: list[str], role: str) -> None:
    assert role_of(cmdline) == role


def test_by_role_sums_cpu_and_keeps_the_largest_peak() -> None:
    samples = [ProcSample(1, "server", 1.5, 100, 300), ProcSample(2, "server", 0.5, 900, None),
               ProcSample(3, "heartbeat", 0.25, 50, 60)]
    usage = ProcessWatcher.by_role(samples)
    assert usage["server"].cpu_s == 2.0 and usage["server"].peak_rss == 900
    assert usage["server"].processes == 2
    assert usage["heartbeat"].peak_rss == 60


@pytest.mark.process
@pytest.mark.timeout(60)
def test_a_child_is_charged_only_for_cpu_used_after_the_start() -> None:
    early = subprocess.Popen(
        [sys.executable, "-c", BURN + "import sys\nprint('burnt', flush=True)\nsys.stdin.read()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    late = None
    try:
        assert early.stdout is not None
        assert early.stdout.readline() == b"burnt\n"  # its CPU is spent before the watch
        watcher = ProcessWatcher(interval=0.05, include_root=False).start()
        late = subprocess.Popen([sys.executable, "-c", BURN])
        late.wait(30)
        samples = {s.pid: s for s in watcher.finish()}
    finally:
        assert early.stdin is not None
        early.stdin.close()
        early.wait(30)
        if late is not None and late.poll() is None:
            late.kill()
            late.wait(30)
    assert samples[early.pid].cpu_s < 0.2  # its 0.3 s were spent before the start
    assert samples[early.pid].max_rss > 0 and samples[early.pid].hwm is not None
    if late.pid in samples:  # seen alive at least once before it exited
        assert samples[late.pid].role == "other" and samples[late.pid].cpu_s >= 0.0


@pytest.mark.process
@pytest.mark.timeout(60)
def test_the_root_process_is_watched_as_root() -> None:
    watcher = ProcessWatcher(interval=0.05).start()
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    usage = ProcessWatcher.by_role(watcher.finish())
    assert usage["root"].cpu_s >= 0.1 and usage["root"].processes == 1
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    again = ProcessWatcher.by_role(watcher.finish())  # finished: no new sample
    assert again["root"].cpu_s == usage["root"].cpu_s


@pytest.mark.process
@pytest.mark.timeout(60)
def test_the_samplers_own_cpu_is_not_charged_to_root() -> None:
    watcher = ProcessWatcher(interval=0.0005).start()  # samples nearly non-stop
    while watcher.own_cpu_s < 0.1:  # this thread idles; only the sampler works
        time.sleep(0.02)
    usage = ProcessWatcher.by_role(watcher.finish())
    assert usage["root"].cpu_s < watcher.own_cpu_s / 2
