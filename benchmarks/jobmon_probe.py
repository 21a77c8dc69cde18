"""Run the real-client driver inside Jobmon's reference venv and report the swarm's own cost.

Who runs it: ``benchmarks.jobmon_side`` starts it with the reference venv's interpreter (it
imports nothing from actorswarm, which is not installed there; standard library only)::

    <venv>/bin/python jobmon_probe.py DRIVER_SCRIPT MODE [DRIVER ARGS...]

It loads ``DRIVER_SCRIPT`` (``tests/interop/jobmon_client_driver.py``) as a module, wraps
Jobmon's swarm (``jobmon.client.swarm.workflow_run.WorkflowRun``: ``from_workflow``,
``from_workflow_id`` and ``run``) so that every call adds its process CPU time and wall time
to a tally, runs the driver's ``main`` (which prints its ``RESULT`` line), then prints one line
``PROBE {json}`` with ``swarm_cpu_s``, ``swarm_wall_s``, ``calls`` and ``process_cpu_s`` (the
whole client process: binding, swarm, everything; its own threads, not its children) and
exits with the driver's status. Measuring happens around Jobmon's code; nothing of it is
copied or changed.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["main"]

_WRAPPED = ("from_workflow", "from_workflow_id", "run")


class Tally:
    """CPU and wall seconds spent inside the wrapped methods (not re-entrant calls twice)."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.wall = 0.0
        self.calls: dict[str, int] = {}
        self._depth = 0

    def wrap(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            if self._depth:
                return method(*args, **kwargs)
            self._depth += 1
            cpu, wall = time.process_time(), time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.cpu += time.process_time() - cpu
                self.wall += time.perf_counter() - wall
                self._depth -= 1
        return timed


def _load_driver(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("jobmon_client_driver", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"jobmon_probe: cannot load the driver {path!r}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: jobmon_probe.py DRIVER_SCRIPT MODE [ARGS...]", file=sys.stderr)
        return 2
    driver = _load_driver(argv[0])
    swarm = importlib.import_module("jobmon.client.swarm.workflow_run").WorkflowRun
    tally = Tally()
    for name in _WRAPPED:
        if hasattr(swarm, name):
            setattr(swarm, name, tally.wrap(name, getattr(swarm, name)))
    try:
        status = int(driver.main(argv[1:]) or 0)
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print("PROBE " + json.dumps({"swarm_cpu_s": tally.cpu, "swarm_wall_s": tally.wall,
                                 "calls": tally.calls,
                                 "process_cpu_s": usage.ru_utime + usage.ru_stime}),
          flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
