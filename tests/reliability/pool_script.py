"""A serving process for the worker-pool tests: binds a socket, runs a WorkerPool of real
server workers (SQLite, one worker) on it, prints ``{"port", "pids"}`` once one answers.

    python -m tests.reliability.pool_script STATE_DIR
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

import httpx

from actors.server.serve import WORKER_SETTINGS_ENV, _bind
from actors.server.settings import ServerSettings
from actors.server.workers import WorkerPool, stop_on_signals, worker_argv


def main() -> int:
    state = sys.argv[1]
    settings = ServerSettings.from_options(db=None, host="127.0.0.1", port=0, token=None,
                                           state_dir=state)
    sock = _bind("127.0.0.1", 0)
    fd = sock.fileno()
    pool = WorkerPool(1, lambda _i: worker_argv(fd, "warning"),
                      env={**os.environ, WORKER_SETTINGS_ENV: settings.to_json()},
                      pass_fds=(fd,), grace=5)
    stop = threading.Event()
    stop_on_signals(stop)
    port = sock.getsockname()[1]

    def announce() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not stop.is_set():
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v3/health", timeout=2).is_success:
                    print(json.dumps({"port": port, "pids": pool.pids()}), flush=True)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)

    threading.Thread(target=announce, daemon=True).start()
    return pool.run(stop)


if __name__ == "__main__":
    sys.exit(main())
