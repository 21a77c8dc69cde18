"""Per-task memory cgroups (cgroup v1 memory controller), created by the local backend.

The local backend calls ``MemoryCgroups.detect()`` once; when this machine lets it create memory
cgroups below its own, it makes one per task instance (``create``) with the instance's memory
limit, hands its path to the worker, and removes it after the worker exits (``remove``). The
worker puts its command into that cgroup before the command starts, and after the command ends
reads ``oom_kills`` to tell a kernel OOM kill (a resource error) from an ordinary failure.
Where no writable memory controller exists, ``detect`` answers None and the worker watches the
command's resident memory instead.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path

__all__ = [
    "MEMORY_ROOT",
    "MemoryCgroups",
    "cgroup_procs",
    "oom_kills",
    "own_memory_cgroup",
    "sweep_stale",
]

#: Mount point of the cgroup v1 memory controller.
MEMORY_ROOT = Path("/sys/fs/cgroup/memory")


def own_memory_cgroup(proc_cgroup_text: str) -> str | None:
    """The memory-controller path in a ``/proc/<pid>/cgroup`` text, or None (pure)."""
    for line in proc_cgroup_text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and "memory" in parts[1].split(","):
            return parts[2] or "/"
    return None


def _read_ints(path: Path) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            values[key] = int(value)
    return values


def oom_kills(cgroup: Path) -> int:
    """Kernel OOM kills seen in ``cgroup`` (0 if it cannot be read).

    Kernels without the ``oom_kill`` counter report 1 once the limit was hit (``failcnt``).
    """
    try:
        control = _read_ints(cgroup / "memory.oom_control")
        if "oom_kill" in control:
            return control["oom_kill"]
        return 1 if int((cgroup / "memory.failcnt").read_text().strip() or 0) > 0 else 0
    except (OSError, ValueError):
        return 0


def cgroup_procs(cgroup: Path) -> list[int]:
    """PIDs currently in ``cgroup`` (empty if it is gone)."""
    try:
        text = (cgroup / "cgroup.procs").read_text()
    except OSError:
        return []
    return [int(line) for line in text.split() if line.isdigit()]


def sweep_stale(parent: Path) -> list[str]:
    """Remove empty ``actorswarm-*-<pid>`` cgroups whose creator is dead; their names.

    A distributor killed with SIGKILL cannot remove its cgroups; the next one does. Cgroups that
    still hold processes are left alone.
    """
    removed = []
    for base in parent.glob("actorswarm-*"):
        pid = base.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        children = [c for c in base.iterdir() if c.is_dir()]
        if any(cgroup_procs(c) for c in children) or cgroup_procs(base):
            continue
        try:
            for child in children:
                child.rmdir()
            base.rmdir()
        except OSError:
            continue
        removed.append(base.name)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class MemoryCgroups:
    """A private directory of per-instance memory cgroups below this process's own cgroup."""

    def __init__(self, base: Path) -> None:
        self.base = base

    @classmethod
    def detect(cls, root: Path = MEMORY_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup"),
               name: str | None = None) -> MemoryCgroups | None:
        """Create the private directory ``<name>-<pid>`` below this process's own memory
        cgroup when the controller is writable there (else None), after sweeping stale ones."""
        try:
            own = own_memory_cgroup(proc_cgroup.read_text())
        except OSError:
            return None
        if own is None or not (root / "memory.limit_in_bytes").exists():
            return None
        parent = root / own.lstrip("/")
        sweep_stale(parent)
        base = parent / f"{name or 'actorswarm'}-{os.getpid()}"
        try:
            base.mkdir(exist_ok=True)
            if not (base / "memory.limit_in_bytes").exists():
                base.rmdir()
                return None
        except OSError:
            return None
        return cls(base)

    def create(self, name: str, limit_bytes: int) -> Path:
        """A new cgroup ``name`` limited to ``limit_bytes`` (memory and memory+swap)."""
        path = self.base / name
        path.mkdir(exist_ok=True)
        try:
            (path / "memory.limit_in_bytes").write_text(str(limit_bytes))
            memsw = path / "memory.memsw.limit_in_bytes"
            if memsw.exists():
                memsw.write_text(str(limit_bytes))
        except OSError:
            self.remove(path)
            raise
        return path

    def remove(self, path: Path, timeout: float = 2.0) -> bool:
        """Kill what is left in ``path`` and remove it; False if it could not be removed."""
        deadline = time.monotonic() + timeout
        while True:
            for pid in cgroup_procs(path):
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                path.rmdir()
                return True
            except FileNotFoundError:
                return True
            except OSError as exc:
                if exc.errno != errno.EBUSY or time.monotonic() >= deadline:
                    return False
            time.sleep(0.01)

    def close(self) -> None:
        """Remove every cgroup left and the private directory itself."""
        if not self.base.exists():
            return
        for child in self.base.iterdir():
            if child.is_dir():
                self.remove(child)
        self.remove(self.base)
