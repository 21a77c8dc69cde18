"""A root process for the orphan tests: starts a supervised tree, prints its PIDs, waits.

    python -m tests.runtime.root_script RUNDIR

Prints one JSON line ``{"root": pid, "children": {name: pid}}`` once everything is ready.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading

from actors.runtime import ActorSpec, CommandSpec, Node, Supervisor


def main() -> int:
    rundir = sys.argv[1]
    node = Node(rundir)
    sup = Supervisor(node, [
        ActorSpec("alpha", "tests.runtime.sample_actors:EchoActor"),
        ActorSpec("beta", "tests.runtime.sample_actors:EchoActor"),
        CommandSpec("sleeper", ("sh", "-c", "echo up; exec sleep 300"), ready_pattern="up"),
    ])
    sup.start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(json.dumps({"root": os.getpid(), "children": sup.pids()}), flush=True)
    stop.wait()
    sup.stop()
    node.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
