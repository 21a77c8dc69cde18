"""SIGTERM/SIGINT stop the state server at once, even with long polls waiting in it.

A ``task_status_updates`` long poll waits up to its ``wait`` (here 60 s) for a change. The
server's exit signals close its long-poll hub first, so every waiting poll answers at once
(a live client gets its 200 answer) and uvicorn never has to cancel a request at the end of
its graceful-shutdown timeout (it would log "Cancel N running task(s)" then).
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from actors.server.changes import ChangeHub
from tests.reliability.servers import ServerProcess
from tests.server.helpers import bind_dag, start_run

#: Far longer than any test below may take: an answer before it can only be the wake-up.
WAIT = 60.0
#: What uvicorn logs when its graceful shutdown had to cancel requests still running.
CANCELLED = "timeout graceful shutdown exceeded"


@pytest.mark.timeout(30)
def test_closing_the_hub_wakes_every_waiter_and_no_poll_waits_after() -> None:
    hub = ChangeHub()

    async def main() -> tuple[list[bool], bool]:
        waiters = [asyncio.create_task(hub.wait_change(wf, 0, timeout=WAIT)) for wf in (1, 1, 2)]
        await asyncio.sleep(0.05)
        assert not any(w.done() for w in waiters)
        hub.close_soon()  # as the signal handler does: from another thread
        woken = await asyncio.wait_for(asyncio.gather(*waiters), timeout=10)
        late = await asyncio.wait_for(hub.wait_change(3, 0, timeout=WAIT), timeout=10)
        return list(woken), late

    woken, late = asyncio.run(main())
    assert woken == [False, False, False]  # nothing changed: woken by the close, not a bump
    assert late is False and hub.closed
    hub.bump([4])
    assert asyncio.run(hub.wait_change(4, 0, timeout=WAIT)) is True  # a change still counts


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "state")
    proc.start()
    yield proc
    proc.kill()


def _waiting_poll(server: ServerProcess) -> tuple[socket.socket, int]:
    """A long poll sent on a raw socket, waiting in the server; (the socket, workflow id)."""
    with httpx.Client(base_url=server.url + "/api/v3", timeout=10) as http:
        ids = bind_dag(http, {"a": [], "b": ["a"]})  # type: ignore[arg-type]
        start_run(http, ids)  # type: ignore[arg-type]
        wf = ids["workflow_id"]
        first = http.post(f"/workflow/{wf}/task_status_updates", json={}).json()
    body = json.dumps({"last_sync": first["time"], "wait": WAIT}).encode()
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(b"POST /api/v3/workflow/%d/task_status_updates HTTP/1.1\r\n"
                 b"Host: test\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (wf, len(body), body))
    # the first answer of this time may come at once (repeated window); it must be waiting
    sock.settimeout(1.5)
    try:
        early = sock.recv(65536)
    except TimeoutError:
        early = b""
    assert early == b"", f"the poll answered before any signal: {early[:200]!r}"
    return sock, wf


def _read_answer(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        pass
    return data


@pytest.mark.process
@pytest.mark.timeout(60)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_waiting_long_poll_is_answered_at_shutdown(server: ServerProcess,
                                                    sig: signal.Signals) -> None:
    sock, _wf = _waiting_poll(server)
    got: dict[str, Any] = {}
    reader = threading.Thread(target=lambda: got.update(data=_read_answer(sock, 20)))
    reader.start()
    assert server.popen is not None
    started = time.monotonic()
    server.popen.send_signal(sig)
    code = server.popen.wait(timeout=20)
    took = time.monotonic() - started
    reader.join(20)
    sock.close()

    assert code == 0, server.log_tail()
    head, _, body = got["data"].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), got["data"][:300]
    assert set(json.loads(body)) - {"cursor"} == {"tasks_by_status", "time"}
    assert CANCELLED not in server.log_path.read_text(), server.log_tail()
    assert took < WAIT / 4, f"shutdown took {took:.1f} s"  # bounded, far below the wait


@pytest.mark.process
@pytest.mark.timeout(60)
def test_a_long_poll_of_a_dead_client_does_not_hold_the_shutdown(server: ServerProcess) -> None:
    sock, _wf = _waiting_poll(server)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()  # the client dies (RST) while its poll waits in the server
    time.sleep(0.2)
    assert server.popen is not None
    server.popen.send_signal(signal.SIGTERM)
    try:
        code = server.popen.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("the server did not exit within 20 s of SIGTERM")
    assert code == 0, server.log_tail()
    assert CANCELLED not in server.log_path.read_text(), server.log_tail()
