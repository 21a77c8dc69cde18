"""Fuzzing the protocol codec: ``messages.decode``, the streaming ``FrameReader`` and a live
actor's socket (Hypothesis; a small budget here, a large one under ``nightly``).

Inputs are valid frames of every registered message, then damaged: bytes flipped, cut,
repeated, inserted, or frames spliced together, and pure noise. The promises: decoding gives
a registered message that survives a round trip, or raises ``DecodeError`` and nothing else; a
stream reader keeps delivering the intact frames before a broken spot and refuses to go on
after it; a live actor drops every bad frame and keeps answering, in the same process.
"""

from __future__ import annotations

import itertools
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.runtime import ActorSpec, Node, Supervisor
from messages import DecodeError, Envelope, FrameReader, Kind, decode, encode
from messages.codec import is_registered, registered_tags
from messages.runtime import Failure, Ping, Pong, Rejection
from tests.messages.test_codec import ALL_TAGS, _message_strategy
from tests.runtime.sample_actors import Echo, WhoAmI

DEFAULT, NIGHTLY = 300, 20_000
LIVE_DEFAULT, LIVE_NIGHTLY = 60, 3_000
_FAST: dict[str, Any] = {
    "deadline": None, "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much,
                              HealthCheck.data_too_large]}


@st.composite
def valid_frames(draw: st.DrawFn) -> bytes:
    """An encoded envelope (tell or ask) around a message of any registered kind."""
    tag = draw(st.sampled_from([t for t in ALL_TAGS if t != "envelope"]))
    msg = draw(_message_strategy(registered_tags()[tag]))
    kind = draw(st.sampled_from([Kind.TELL, Kind.ASK]))
    return encode(Envelope(kind, draw(st.integers(0, 2**31)), "fuzz", None, None, msg))


@st.composite
def damaged(draw: st.DrawFn, frames: st.SearchStrategy[bytes]) -> bytes:
    """A valid frame with one to four damages, or noise."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    data = bytearray(draw(frames))
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["flip", "cut", "insert", "repeat", "splice", "set"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if how == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "set" and data:
            data[at] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0x90, 0xA0, 0xC0, 0xC1, 0xC4,
                                             0xC6, 0xD4, 0xDB, 0xDD, 0xDF, 0xFF]))
        elif how == "cut":
            data = data[:at]
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif how == "repeat":
            data[at:at] = data[at:at + draw(st.integers(1, 16))]
        else:
            data[at:] = draw(frames)[draw(st.integers(0, 20)):]
    return bytes(data)


def _envelope(kind: Kind, corr_id: int, sender: str, reply_to: str | None,
              deadline: float | None, message: Any) -> Envelope:
    return Envelope(kind, corr_id, sender, reply_to, deadline, message)


def _check_decode(data: bytes) -> None:
    try:
        value = decode(data)
    except DecodeError:
        return
    inner = value.message if isinstance(value, Envelope) else value
    assert inner is None or is_registered(inner), type(inner)  # never half-built or foreign
    again = encode(value)
    assert encode(decode(again)) == again  # (bytes: a NaN field is not equal to itself)


@settings(max_examples=DEFAULT, **_FAST)
@given(damaged(valid_frames()))
def test_damaged_frames_decode_or_raise_decode_error(data: bytes) -> None:
    _check_decode(data)


@pytest.mark.nightly
@pytest.mark.timeout(3600)
@settings(max_examples=NIGHTLY, **_FAST)
@given(damaged(valid_frames()))
def test_damaged_frames_decode_or_raise_decode_error_nightly(data: bytes) -> None:
    _check_decode(data)


def _check_stream(good: list[bytes], bad: bytes, cuts: list[int]) -> None:
    stream = b"".join(good) + bad
    reader = FrameReader()
    got: list[Any] = []
    broken = False
    bounds = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    for lo, hi in itertools.pairwise(bounds):
        try:
            reader.feed(stream[lo:hi])
            while (frame := reader.next_frame()) is not None:
                got.append(frame)
        except DecodeError as exc:
            if exc.recoverable:
                continue  # a well-formed frame of no known message: skipped, in sync
            broken = True
            break
    assert got[:len(good)] == [decode(g) for g in good]  # intact frames before the damage
    if broken:
        with pytest.raises(DecodeError):
            reader.next_frame()  # a broken stream stays broken


@settings(max_examples=DEFAULT, **_FAST)
@given(st.lists(valid_frames(), max_size=4), damaged(valid_frames()),
       st.lists(st.integers(0, 10_000), max_size=12))
def test_a_stream_delivers_the_intact_frames_and_stops_at_damage(
        good: list[bytes], bad: bytes, cuts: list[int]) -> None:
    _check_stream(good, bad, cuts)


@pytest.mark.nightly
@pytest.mark.timeout(3600)
@settings(max_examples=NIGHTLY, **_FAST)
@given(st.lists(valid_frames(), max_size=4), damaged(valid_frames()),
       st.lists(st.integers(0, 10_000), max_size=12))
def test_a_stream_delivers_the_intact_frames_and_stops_at_damage_nightly(
        good: list[bytes], bad: bytes, cuts: list[int]) -> None:
    _check_stream(good, bad, cuts)


# ---------------------------------------------------------------------------- a live actor

#: reply_to values a peer may send: plain names, and names that are no file name at all
_REPLY_TO = st.one_of(st.none(), st.sampled_from(["nobody", "../../tmp/x", "/etc/passwd",
                                                  "a\x00b", ".hidden", "x" * 300, "", "."]),
                      st.text(max_size=20).filter(lambda t: t != "echo"))


def _echo_frames() -> st.SearchStrategy[bytes]:
    return st.builds(
        lambda kind, text, reply_to, empty: encode(_envelope(
            kind, 0, "fuzz", reply_to, None, None if empty else Echo(text))),
        st.sampled_from([Kind.TELL, Kind.ASK]), st.text(max_size=40), _REPLY_TO,
        st.booleans())


def _harmless(stream: bytes) -> bool:
    """A byte stream the actor must survive: undecodable frames, empty requests, probes and
    answers, Echo requests with any ``reply_to``. Read as the transport reads it (skipping
    invalid frames, stopping at a broken spot). A well-formed tell of a message the actor does
    not handle crashes it by design (and is supervised): such streams are not sent."""
    reader = FrameReader()
    try:
        reader.feed(stream)
    except DecodeError:
        return True
    while True:
        try:
            frame = reader.next_frame()
        except DecodeError as exc:
            if exc.recoverable:
                continue
            return True
        if frame is None:
            return True
        if not isinstance(frame, Envelope) or frame.kind not in (Kind.TELL, Kind.ASK):
            continue
        if frame.reply_to == "echo":
            return False  # it would answer itself for ever (a property of EchoActor)
        if frame.message is not None and not isinstance(frame.message, (Echo, *_PROBES)):
            return False


_PROBES = (Ping, Pong, Failure, Rejection)


@pytest.fixture(scope="module")
def live_echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, Supervisor]]:
    tmp = tmp_path_factory.mktemp("fuzz-echo")
    node = Node(str(tmp / "run"))
    sup = Supervisor(node, [ActorSpec("echo", "tests.runtime.sample_actors:EchoActor")],
                     log_dir=str(tmp))
    sup.start()
    yield node, sup
    sup.stop()
    node.close()


def _send_to_live(live: tuple[Node, Supervisor], chunks: list[bytes]) -> bool:
    node, _ = live
    if not _harmless(b"".join(chunks)):  # one connection: the actor reads them as one stream
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(os.path.join(node.rundir or "", "echo.sock"))
        for chunk in chunks:
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break  # the actor closed a broken stream: as it should
    return True


def _alive(live: tuple[Node, Supervisor], pid: int) -> None:
    node, sup = live
    assert node.ref("echo").ask(Echo("alive?"), timeout=10) == Echo("alive?")
    assert node.ref("echo").ask(WhoAmI(), timeout=10).pid == pid
    assert sup.restarts() == {"echo": 0}


def _live_fuzz(live: tuple[Node, Supervisor], examples: int) -> None:
    pid = live[1].pid("echo")
    assert pid is not None
    sent = 0

    @settings(max_examples=examples, **_FAST)
    @given(st.lists(damaged(_echo_frames()) | damaged(valid_frames()) | _echo_frames(),
                    min_size=1, max_size=6))
    def run(chunks: list[bytes]) -> None:
        nonlocal sent
        sent += _send_to_live(live, chunks)

    run()
    assert sent >= examples // 2, f"only {sent} of {examples} examples were sent"
    _alive(live, pid)


@pytest.mark.process
@pytest.mark.timeout(300)
def test_a_live_actor_survives_damaged_frames(live_echo: tuple[Node, Supervisor]) -> None:
    _live_fuzz(live_echo, LIVE_DEFAULT)


@pytest.mark.process
@pytest.mark.nightly
@pytest.mark.timeout(3600)
def test_a_live_actor_survives_damaged_frames_nightly(
        live_echo: tuple[Node, Supervisor]) -> None:
    _live_fuzz(live_echo, LIVE_NIGHTLY)


def test_the_fuzzers_really_damage_frames() -> None:
    """The damage strategy produces frames that fail to decode (the tests above can fail)."""
    failures = 0

    @settings(max_examples=200, **_FAST)
    @given(damaged(valid_frames()))
    def count(data: bytes) -> None:
        nonlocal failures
        try:
            decode(data)
        except DecodeError:
            failures += 1

    count()
    assert failures > 50


@pytest.mark.process
@pytest.mark.timeout(60)
@pytest.mark.parametrize("frame", [
    pytest.param(_envelope(Kind.TELL, 0, "p", None, None, None), id="tell-without-message"),
    pytest.param(_envelope(Kind.ASK, 7, "p", None, None, None), id="ask-without-message"),
    pytest.param(_envelope(Kind.TELL, 0, "p", "a\x00b", None, Echo("x")), id="reply-to-nul"),
    pytest.param(_envelope(Kind.TELL, 0, "p", "../../x", None, Echo("x")), id="reply-to-path"),
    pytest.param(_envelope(Kind.TELL, 0, "p", "y" * 300, None, Echo("x")), id="reply-to-long"),
    pytest.param(_envelope(Kind.REPLY, 3, "p", None, None, Echo("x")), id="stray-reply"),
    pytest.param(_envelope(Kind.TELL, 0, "p", None, None, Ping()), id="ping-as-tell"),
    pytest.param(_envelope(Kind.TELL, 0, "p", None, None, Rejection("no")),
                 id="rejection-as-tell"),
])
def test_the_frames_the_nightly_fuzz_found_do_not_crash_an_actor(
        live_echo: tuple[Node, Supervisor], frame: Envelope) -> None:
    """Found by the nightly live fuzz: a tell without a message, a ``Ping`` sent as a tell, and
    a ``reply_to`` with a NUL (the socket path raised ValueError in the actor's handler)
    crashed the actor."""
    pid = live_echo[1].pid("echo")
    assert pid is not None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(os.path.join(live_echo[0].rundir or "", "echo.sock"))
        sock.sendall(encode(frame))
        if frame.kind == Kind.ASK:
            sock.settimeout(10)
            answer = FrameReader()
            answer.feed(sock.recv(4096))
            reply = answer.next_frame()
            assert reply.kind == Kind.REPLY and reply.corr_id == 7
            assert reply.message.reason == "a request needs a message"
    _alive(live_echo, pid)
