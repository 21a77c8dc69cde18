"""Reading cgroup files (pure parts, and files laid out in a temporary directory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.worker.cgroup import (
    MemoryCgroups,
    cgroup_procs,
    oom_kills,
    own_memory_cgroup,
    sweep_stale,
)


def test_own_memory_cgroup_from_proc_text() -> None:
    text = "9:name=systemd:/\n4:memory:/a/b\n3:cpuset:/\n0::/\n"
    assert own_memory_cgroup(text) == "/a/b"
    assert own_memory_cgroup("5:cpu,memory:/x\n") == "/x"
    assert own_memory_cgroup("0::/user.slice\n") is None


def test_oom_kills_and_procs(tmp_path: Path) -> None:
    (tmp_path / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    (tmp_path / "cgroup.procs").write_text("12\n34\n")
    assert oom_kills(tmp_path) == 2
    assert cgroup_procs(tmp_path) == [12, 34]
    old = tmp_path / "old"
    old.mkdir()
    (old / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\n")
    (old / "memory.failcnt").write_text("5\n")
    assert oom_kills(old) == 1
    assert oom_kills(tmp_path / "missing") == 0
    assert cgroup_procs(tmp_path / "missing") == []


def test_detect_without_a_memory_controller(tmp_path: Path) -> None:
    proc = tmp_path / "cgroup"
    proc.write_text("4:memory:/x\n")
    assert MemoryCgroups.detect(root=tmp_path / "nothing", proc_cgroup=proc) is None
    proc.write_text("0::/\n")
    assert MemoryCgroups.detect(root=tmp_path, proc_cgroup=proc) is None


@pytest.mark.process
def test_sweep_removes_only_empty_cgroups_of_dead_creators(tmp_path: Path) -> None:
    import os
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / f"actorswarm-wfr1-{dead.pid}" / "ti5").mkdir(parents=True)
    (tmp_path / f"actorswarm-wfr2-{os.getpid()}" / "ti6").mkdir(parents=True)
    busy = tmp_path / f"actorswarm-wfr3-{dead.pid}"
    busy.mkdir()
    (busy / "cgroup.procs").write_text(f"{os.getpid()}\n")
    (tmp_path / "other-1").mkdir()
    assert sweep_stale(tmp_path) == [f"actorswarm-wfr1-{dead.pid}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"actorswarm-wfr2-{os.getpid()}", busy.name, "other-1"])
