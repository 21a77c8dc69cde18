"""``python -m actors.runtime.guard [--grace S] -- COMMAND...``: parent-death guard for commands.

A supervised plain OS command (a distributor, an external program) cannot be asked to watch its
parent, so the supervisor starts it under this guard. The guard runs in the process group the
supervisor created for it and starts COMMAND in the same group, then:

- stdin EOF (the supervisor's process died, even by SIGKILL): SIGTERM the whole group, wait
  ``--grace`` seconds, SIGKILL the group. No orphan survives.
- SIGTERM/SIGINT: forwarded to COMMAND alone (the supervisor signals the guard, not the group,
  so a command that stops its own children finds them alive); the guard exits when COMMAND does.
- COMMAND exits: the guard SIGKILLs whatever COMMAND left in the group, then exits with the same
  status (a signal death becomes 128+signal), so the supervisor's pidfd on the guard is the
  command's liveness.

stdout and stderr are inherited: readiness lines of COMMAND reach the supervisor unchanged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    grace = 5.0
    if args[:1] == ["--grace"]:
        grace = float(args[1])
        args = args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("usage: python -m actors.runtime.guard [--grace S] -- COMMAND...", file=sys.stderr)
        return 2
    try:
        child = subprocess.Popen(args, stdin=subprocess.DEVNULL)
    except OSError as exc:
        print(f"guard: cannot start {args[0]!r}: {exc}", file=sys.stderr)
        return 127

    def kill_group() -> None:
        try:
            os.killpg(0, signal.SIGTERM)  # includes us: ignore it below
        except OSError:
            pass
        deadline = time.monotonic() + grace
        while child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            os.killpg(0, signal.SIGKILL)
        except OSError:
            pass

    def watch_stdin() -> None:
        while True:
            try:
                if not os.read(0, 4096):
                    break
            except OSError:
                break
        kill_group()  # its SIGTERM reaches us too: ``forward`` only passes it on
        os._exit(1)

    def forward(signum: int, frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()
    code = child.wait()
    _kill_leftovers()
    return 128 - code if code < 0 else code


def _kill_leftovers() -> None:
    """SIGKILL every other process of the guard's process group (what COMMAND left running).

    Only when the guard leads its group (the supervisor starts it in a session of its own):
    started any other way, the group is its caller's.
    """
    me, group = os.getpid(), os.getpgid(0)
    if group != me:
        return
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            if os.getpgid(int(entry)) == group:
                os.kill(int(entry), signal.SIGKILL)
        except OSError:  # gone meanwhile, or not ours to signal
            continue


if __name__ == "__main__":
    sys.exit(main())
