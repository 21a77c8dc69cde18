"""Entry point of an actor process: ``python -m actors.runtime.host NAME MODULE:CLASS --rundir D``.

Started by ``actors.runtime.children`` (never by ``multiprocessing``) as a fresh interpreter, so
``ps -eo args`` shows the actor's name. The handshake with the parent:

1. the parent writes the init frame to our stdin: a 4-byte big-endian length, then the
   ``messages.encode``-d init message (length 0 means no init message), and keeps stdin open;
2. we start the actor, listen on ``<rundir>/<NAME>.sock`` and print ``READY <pid>`` on stdout;
3. stdout is then pointed at stderr, so later prints never block on a pipe nobody reads.

We exit when: stdin reaches EOF (the parent died: no orphan), SIGTERM/SIGINT arrive (clean
stop), the actor stops on ``StopActor`` (exit 0), or the actor crashes (exit 1; the supervisor
applies the restart policy).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import struct
import sys
import threading
from typing import Any

from messages import decode

__all__ = ["main"]

EXIT_CRASHED = 1
EXIT_PARENT_GONE = 3


def _read_exact(fd: int, n: int) -> bytes:
    chunks = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            raise EOFError("parent closed stdin during the handshake")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _load_class(spec: str) -> type:
    module_name, _, class_name = spec.partition(":")
    if not class_name:
        raise SystemExit(f"actor class must be MODULE:CLASS, got {spec!r}")
    module = importlib.import_module(module_name)
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise SystemExit(f"{spec!r} is not a class")
    return cls


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="actors.runtime.host")
    ap.add_argument("name")
    ap.add_argument("actor_class")
    ap.add_argument("--rundir", required=True)
    ap.add_argument("--log-level", default=os.environ.get("ACTORSWARM_LOG_LEVEL", "WARNING"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format=f"%(asctime)s {args.name}[%(process)d] %(levelname)s %(name)s: %(message)s")

    cls = _load_class(args.actor_class)  # first: its module registers the init message class
    length = struct.unpack(">I", _read_exact(0, 4))[0]
    init: Any = decode(_read_exact(0, length)) if length else None

    from actors.errors import RuntimeFailure
    from actors.runtime.node import Node  # after the handshake read: keeps start-up lean
    from messages.runtime import Ping

    done = threading.Event()
    exit_code = [0]

    def finish(code: int) -> None:
        if not done.is_set():
            exit_code[0] = code
            done.set()

    node = Node(args.rundir, name=args.name)
    node.on_actor_failure = lambda name, exc: finish(EXIT_CRASHED)
    node.on_actor_stopped = lambda name: finish(0)
    node.spawn(args.name, cls, init)
    try:  # READY means started: the Pong comes after the actor's set-up
        node.ask(args.name, Ping(), timeout=60.0)
    except RuntimeFailure as exc:
        logging.getLogger(__name__).error("actor %s did not start: %s", args.name, exc)
        node.close()
        os._exit(EXIT_CRASHED)

    def watch_stdin() -> None:
        while True:
            try:
                if not os.read(0, 4096):
                    break
            except OSError:
                break
        finish(EXIT_PARENT_GONE)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: finish(0))
    threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()

    sys.stdout.write(f"READY {os.getpid()}\n")
    sys.stdout.flush()
    os.dup2(2, 1)

    while not done.wait(0.5):
        if os.getppid() == 1:
            finish(EXIT_PARENT_GONE)
    node.close()
    logging.shutdown()
    os._exit(exit_code[0])


if __name__ == "__main__":
    sys.exit(main())
