"""CPU and memory of the processes of a run, sampled while it goes on.

Who uses it: ``benchmarks.scale`` and ``benchmarks.versus_jobmon``. A ``ProcessWatcher`` thread
looks every ``interval`` seconds at the descendants of the benchmark process (the run's state
server, distributor and actor processes, each under our supervisor's guard where it has one),
names each one's role from its command line (``role_of``, pure) and keeps, per process, the
CPU time used since the watch started (processes already running at ``start()`` count from
there: a shared server is charged only for this run) and the largest RSS seen. ``finish()``
takes a last sample and stops the thread; call it while the processes are still alive (e.g.
on ``RunFinished``), since a process that exits between two samples loses at most one
interval of CPU.

Roles: an actor host (``actors.runtime.host NAME``) is its actor's name; ``actors.server`` is
"server"; ``actors.distributor`` and ``jobmon.distributor.cli`` are "distributor"; a guard
(``actors.runtime.guard ... -- CMD``) gets the role of ``CMD``; Jobmon's worker wrapper is
"worker"; anything else is "other". Processes given by PID (``extra``) are watched as well,
with their descendants, under the role given. The benchmark process itself is "root" (our
supervisor and event relay live there, and so does this sampler, whose own CPU, measured with
``time.thread_time`` around each sample, is taken out of root's: ``own_cpu_s``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence

import attrs
import psutil

__all__ = ["ProcSample", "ProcessWatcher", "RoleUsage", "role_of"]

_COMMAND_ROLES = (("actors.server", "server"), ("actors.distributor", "distributor"),
                  ("jobmon.distributor.cli", "distributor"), ("worker_node_entry_point", "worker"),
                  ("jobmon_serve.py", "jobmon-server"), ("jobmon_probe.py", "jobmon-client"))


def role_of(cmdline: Sequence[str]) -> str:
    """The role of a process from its command line (see the module docstring)."""
    args = list(cmdline)
    if "actors.runtime.host" in args:
        at = args.index("actors.runtime.host")
        return args[at + 1] if at + 1 < len(args) else "other"
    if "actors.runtime.guard" in args and "--" in args:
        return role_of(args[args.index("--") + 1:])
    for arg in args:
        for needle, role in _COMMAND_ROLES:
            if needle in arg:
                return role
    return "other"


@attrs.frozen
class ProcSample:
    """What was last seen of one process: its role, CPU seconds, largest RSS sampled, peak
    RSS (VmHWM) and the RSS of the last sample."""

    pid: int
    role: str
    cpu_s: float
    max_rss: int
    hwm: int | None
    rss: int = 0


@attrs.frozen
class RoleUsage:
    """Totals of one role: CPU seconds (all its processes), the largest peak RSS of one, and
    the largest last-sampled RSS of one."""

    role: str
    cpu_s: float
    peak_rss: int
    processes: int
    last_rss: int = 0


def _hwm(pid: int) -> int | None:
    """VmHWM (peak RSS) of ``pid`` in bytes, Linux only."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class ProcessWatcher:
    """Samples the run's processes from a thread; ``finish()`` returns the last samples."""

    def __init__(self, interval: float = 0.2, extra: Mapping[int, str] | None = None,
                 root: int | None = None, include_root: bool = True) -> None:
        self.interval = interval
        self._root = psutil.Process(root if root is not None else os.getpid())
        self._extra = dict(extra or {})
        self._include_root = include_root
        self._seen: dict[tuple[int, float], ProcSample] = {}
        self._base: dict[tuple[int, float], float] = {}
        self.own_cpu_s = 0.0  #: CPU spent sampling (charged to no role)
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-process-watcher",
                                        daemon=True)

    def start(self) -> ProcessWatcher:
        """Take the baseline sample and start sampling every ``interval`` seconds."""
        self.sample(baseline=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._halt.wait(self.interval):
            self.sample()

    def _processes(self) -> list[tuple[psutil.Process, str | None]]:
        found: list[tuple[psutil.Process, str | None]] = []
        if self._include_root:
            found.append((self._root, "root"))
        try:
            found += [(p, None) for p in self._root.children(recursive=True)]
        except psutil.Error:
            pass
        for pid, role in self._extra.items():
            try:
                proc = psutil.Process(pid)
                found.append((proc, role))
                found += [(p, role) for p in proc.children(recursive=True)]
            except psutil.Error:
                continue
        return found

    def sample(self, baseline: bool = False) -> None:
        """Read CPU and RSS of every watched process now (``baseline``: CPU counts from here)."""
        started = time.thread_time()
        try:
            self._sample(baseline)
        finally:
            with self._lock:
                self.own_cpu_s += time.thread_time() - started

    def _sample(self, baseline: bool) -> None:
        for proc, given in self._processes():
            try:
                with proc.oneshot():
                    key = (proc.pid, proc.create_time())
                    cpu = proc.cpu_times()
                    rss = int(proc.memory_info().rss)
                    role = given or role_of(proc.cmdline())
            except psutil.Error:
                continue
            used = float(cpu.user + cpu.system)
            with self._lock:
                if proc.pid == self._root.pid and given == "root":
                    used -= self.own_cpu_s
                base = self._base.setdefault(key, used) if baseline else self._base.get(key, 0.0)
                old = self._seen.get(key)
                self._seen[key] = ProcSample(proc.pid, role, used - base,
                                             max(rss, old.max_rss if old else 0),
                                             _hwm(proc.pid) or (old.hwm if old else None), rss)

    def finish(self) -> list[ProcSample]:
        """A last sample, then stop sampling; every process ever seen, by start order.

        Only the first call samples: later calls (e.g. after the run's processes were torn
        down) return the same figures.
        """
        if self._halt.is_set():
            return self.samples()
        self.sample()
        self._halt.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(self.interval * 5 + 1.0)
        return self.samples()

    def samples(self) -> list[ProcSample]:
        with self._lock:
            return [self._seen[k] for k in sorted(self._seen, key=lambda k: k[1])]

    @staticmethod
    def by_role(samples: Sequence[ProcSample]) -> dict[str, RoleUsage]:
        """Per role: CPU seconds summed, the largest peak RSS (VmHWM, else sampled) and the
        largest last RSS of one process."""
        out: dict[str, RoleUsage] = {}
        for s in samples:
            peak = max(s.hwm or 0, s.max_rss)
            old = out.get(s.role)
            out[s.role] = RoleUsage(s.role, s.cpu_s + (old.cpu_s if old else 0.0),
                                    max(peak, old.peak_rss if old else 0),
                                    1 + (old.processes if old else 0),
                                    max(s.rss, old.last_rss if old else 0))
        return out
