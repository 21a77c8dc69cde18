"""Oversized frames and bodies are refused without exhausting memory.

A peer streams a frame whose header claims 1 GiB (a bin, str, array, map or ext, bare or as
an envelope's payload) into a live actor's socket: the actor closes that connection long
before 1 GiB, its resident memory stays within the 64 MiB frame limit plus slack, and it goes
on answering (same process: no crash, no restart). Likewise a 1 GiB HTTP body to the state
server: declared (``Content-Length``) it is refused at once, streamed (chunked) it is cut at
64 MiB; either way the answer is 413 and the server's memory stays bounded.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from fastapi import FastAPI

from actors.runtime import ActorSpec, Node, Supervisor
from actors.server import ServerSettings, create_app
from actors.server.limits import MAX_BODY_BYTES, BodyLimit
from messages import DecodeError, EncodeError, FrameReader, encode
from messages.codec import MAX_FRAME_SIZE
from tests.reliability.servers import ServerProcess
from tests.runtime.sample_actors import Echo, WhoAmI
from tests.server.helpers import TestClient

GIB = 1 << 30
CHUNK = 1 << 20
#: Resident memory a receiver may gain while refusing: one frame limit plus interpreter slack.
SLACK = MAX_FRAME_SIZE + (96 << 20)

HEADERS = {
    "bin32": b"\xc6" + struct.pack(">I", GIB),
    "str32": b"\xdb" + struct.pack(">I", GIB),
    "array32": b"\xdd" + struct.pack(">I", GIB),
    "map32": b"\xdf" + struct.pack(">I", GIB),
    "ext32": b"\xc9" + struct.pack(">I", GIB) + b"\x01",
    # a well-formed envelope start whose message is a 1 GiB bin
    "envelope": b"\x97\xa8envelope\x01\x00\xa0\xc0\xc0" + b"\xc6" + struct.pack(">I", GIB),
    # within every length limit: 999,999 elements of 64 KiB each, an endless-looking frame
    # that only the receive buffer's bound stops
    "many-elements": b"\xdd" + struct.pack(">I", 999_999),
}
#: What follows each header: zeros, or (many-elements) one 64 KiB bin element after another.
BODIES = {"many-elements": (b"\xc5\xff\xff" + bytes(0xFFFF)) * 16}


def _stream(sock: socket.socket, header: bytes, body: bytes, total: int,
            rss: psutil.Process) -> tuple[int, int]:
    """Send ``header`` then ``body`` again and again up to ``total`` bytes or until the peer
    closes; (bytes sent, peak RSS of ``rss``)."""
    sent, peak = 0, rss.memory_info().rss
    try:
        sock.sendall(header)
        sent = len(header)
        while sent < total:
            sock.sendall(body)
            sent += len(body)
            peak = max(peak, rss.memory_info().rss)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent, max(peak, rss.memory_info().rss)


@pytest.fixture
def echo(tmp_path: Path) -> Iterator[tuple[Node, Supervisor]]:
    node = Node(str(tmp_path / "run"))
    sup = Supervisor(node, [ActorSpec("echo", "tests.runtime.sample_actors:EchoActor")],
                     log_dir=str(tmp_path))
    sup.start()
    yield node, sup
    sup.stop()
    node.close()


@pytest.mark.process
@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("kind", sorted(HEADERS))
def test_a_1_gib_frame_header_is_refused_by_a_live_actor(
        kind: str, echo: tuple[Node, Supervisor]) -> None:
    node, sup = echo
    pid = sup.pid("echo")
    assert pid is not None
    proc = psutil.Process(pid)
    before = proc.memory_info().rss
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(os.path.join(node.rundir or "", "echo.sock"))
        sent, peak = _stream(sock, HEADERS[kind], BODIES.get(kind, bytes(CHUNK)), GIB, proc)
    assert sent < MAX_FRAME_SIZE + 16 * CHUNK, f"the actor read {sent >> 20} MiB of it"
    assert peak - before < SLACK, f"RSS grew by {(peak - before) >> 20} MiB"
    assert node.ref("echo").ask(Echo("still here"), timeout=10) == Echo("still here")
    assert node.ref("echo").ask(WhoAmI(), timeout=10).pid == pid  # not restarted
    assert sup.restarts() == {"echo": 0}


def test_the_frame_reader_bounds_a_frame_that_never_ends() -> None:
    """msgpack builds the elements of an unfinished array as they arrive; the reader counts
    them against the frame limit (found by the many-elements case above: 1 GiB was read)."""
    reader = FrameReader(max_frame=1 << 20)
    reader.feed(HEADERS["many-elements"])
    fed = 0
    with pytest.raises(DecodeError, match="limit") as info:
        while fed < (64 << 20):
            reader.feed(BODIES["many-elements"])
            fed += len(BODIES["many-elements"])
            assert reader.next_frame() is None
    assert not info.value.recoverable
    assert fed <= (1 << 20) + len(BODIES["many-elements"])
    small = FrameReader(max_frame=1 << 20)  # frames under the limit, back to back, still pass
    frame = encode(Echo("y" * 1000))
    for _ in range(3000):  # 3 MB in all, far over one frame's limit
        small.feed(frame)
        assert small.next_frame() == Echo("y" * 1000)


def test_an_oversized_message_is_refused_by_the_sender() -> None:
    with pytest.raises(EncodeError, match="limit"):
        encode(Echo("x" * (MAX_FRAME_SIZE + 1)))


@pytest.fixture
def small_limit_app(tmp_path: Path) -> Iterator[TestClient]:
    app: FastAPI = create_app(ServerSettings(db_url=f"sqlite:///{tmp_path / 's.sqlite'}"))
    with TestClient(BodyLimit(app, max_bytes=1000), base_url="http://t/api/v3") as client:
        yield client
    app.state.server.db.dispose()


def test_the_body_limit_refuses_declared_and_streamed_bodies(
        small_limit_app: TestClient) -> None:
    body = b'{"name": "w", "workflow_args": "' + b"x" * 2000 + b'"}'
    declared = small_limit_app.post("/workflow/bind", content=body,
                                    headers={"content-type": "application/json"})
    streamed = small_limit_app.post("/workflow/bind", content=iter([body[:600], body[600:]]),
                                    headers={"content-type": "application/json"})
    for r in (declared, streamed):
        assert r.status_code == 413, r.text
        assert r.json()["error"]["type"] == "PayloadTooLarge"
        assert "1000 bytes" in r.json()["detail"]
    assert small_limit_app.get("/workflows").json() == {"workflows": []}  # nothing written
    ok = small_limit_app.post("/workflow/bind", json={"name": "w", "workflow_args": "a",
                                                      "max_concurrently_running": 1})
    assert ok.status_code == 200


def _http_stream(server: ServerProcess, chunked: bool) -> tuple[int, int, bytes]:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    proc = psutil.Process(server.pid)
    head = (b"POST /api/v3/workflow/bind HTTP/1.1\r\nHost: t\r\n"
            b"Content-Type: application/json\r\n")
    head += b"Transfer-Encoding: chunked\r\n\r\n" if chunked else \
        b"Content-Length: %d\r\n\r\n" % GIB
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head)
        sent, peak = 0, proc.memory_info().rss
        piece = (b"%x\r\n" % CHUNK + b"1" * CHUNK + b"\r\n") if chunked else b"1" * CHUNK
        try:
            while sent < GIB:
                sock.sendall(piece)
                sent += CHUNK
                peak = max(peak, proc.memory_info().rss)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = sock.recv(4096)
        except OSError:
            answer = b""
    return sent, peak, answer


@pytest.mark.process
@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_a_1_gib_http_body_is_refused_with_bounded_memory(
        chunked: bool, shared_server: ServerProcess) -> None:
    before = psutil.Process(shared_server.pid).memory_info().rss
    sent, peak, answer = _http_stream(shared_server, chunked)
    assert sent < MAX_BODY_BYTES + 64 * CHUNK, f"the server read {sent >> 20} MiB"
    assert peak - before < SLACK, f"RSS grew by {(peak - before) >> 20} MiB"
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert httpx.get(shared_server.url + "/api/v3/health", timeout=10).status_code == 200
