"""The runtime in thread mode: same refs, same codec, no sockets (fast, in-process)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from actors.errors import ActorDeadError, AskTimeout, Rejected, RemoteError
from actors.runtime import ActorSpec, Node, Supervisor
from messages.runtime import ChildExited, ChildRestarted
from tests.runtime.sample_actors import (
    Add,
    Count,
    Crash,
    Echo,
    EchoActor,
    Forward,
    GetCount,
    Identity,
    Init,
    Sleep,
    WhoAmI,
)


@pytest.fixture
def node() -> Iterator[Node]:
    n = Node(None)
    yield n
    n.close()


def test_tell_and_ask_through_the_codec(node: Node) -> None:
    ref = node.spawn("echo", EchoActor, Init("x"))
    for _ in range(10):
        ref.tell(Count(2))
    assert ref.ask(GetCount(), timeout=5) == Count(20)
    assert ref.ask(WhoAmI(), timeout=5).init == "x"


def test_ask_past_its_deadline_raises_a_typed_timeout(node: Node) -> None:
    ref = node.spawn("echo", EchoActor)
    with pytest.raises(AskTimeout, match="echo"):
        ref.ask(Sleep(0.5), timeout=0.05)
    time.sleep(0.6)
    assert node.stats().dead_letters >= 1  # the late reply was dropped and counted


def test_ask_future_times_out_without_a_waiter(node: Node) -> None:
    ref = node.spawn("echo", EchoActor)
    future = ref.ask_future(Sleep(0.5), timeout=0.05)
    with pytest.raises(AskTimeout):
        future.result(timeout=2)


def test_handler_exception_goes_back_to_the_asker_and_the_actor_lives(node: Node) -> None:
    ref = node.spawn("echo", EchoActor)
    with pytest.raises(RemoteError) as info:
        ref.ask(Crash("boom"), timeout=5)
    assert info.value.remote_type == "ValueError" and "boom" in str(info.value)
    assert ref.ask(Add(1, 2), timeout=5) == Count(3)


def test_rejection_is_a_typed_error(node: Node) -> None:
    ref = node.spawn("echo", EchoActor)
    with pytest.raises(Rejected, match="negative"):
        ref.ask(Add(-1, 2), timeout=5)


def test_unknown_actor_is_dead(node: Node) -> None:
    with pytest.raises(ActorDeadError):
        node.ref("nobody").ask(Echo("x"), timeout=1)
    assert node.ref("nobody").tell(Echo("x")) is False


def test_reply_to_routes_answers_by_name(node: Node) -> None:
    node.spawn("a", EchoActor)
    node.spawn("b", EchoActor)
    node.ref("a").tell(Forward("b", "hi"))  # a tells b Echo(hi) with reply_to=a; b echoes to a
    time.sleep(0.2)
    assert node.ref("a").ask(GetCount(), timeout=5) == Count(0)  # a answered Echo, no crash


def test_supervisor_restarts_a_crashed_thread_actor() -> None:
    node = Node(None)
    events: list[object] = []
    sup = Supervisor(node, [ActorSpec("echo", "tests.runtime.sample_actors:EchoActor")],
                     mode="thread")
    sup.subscribe(events.append)
    sup.start()
    try:
        ref = sup.ref("echo")
        ref.tell(Crash("die"))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if any(isinstance(e, ChildRestarted) for e in events):
                break
            time.sleep(0.02)
        assert any(isinstance(e, ChildExited) and e.reason == "crashed" for e in events)
        assert isinstance(ref.ask(WhoAmI(), timeout=5), Identity)
        assert sup.restarts()["echo"] == 1
    finally:
        sup.stop()
        node.close()
