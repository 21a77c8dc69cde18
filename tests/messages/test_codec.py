"""Codec: round trips of every registered message, and nothing but DecodeError on bad input."""

from __future__ import annotations

import enum
import typing
from typing import Any

import attrs
import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import messages
from messages import DecodeError, EncodeError, Envelope, FrameReader, Kind, decode, encode
from messages.codec import MAX_FRAME_SIZE, Message, registered_tags
from messages.protocols import load_all

load_all()

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1),
                     st.floats(allow_nan=False), st.text(max_size=20), st.binary(max_size=20))


def _strategy(tp: Any) -> st.SearchStrategy[Any]:  # noqa: C901 - one branch per type kind
    supertype = getattr(tp, "__supertype__", None)
    if supertype is not None:
        return _strategy(supertype)
    if tp is type(None) or tp is None:
        return st.none()
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(-(2**63), 2**63 - 1)
    if tp is float:  # mostly positive: many config fields validate > 0
        return st.floats(min_value=1e-6, max_value=1e12) | st.floats(allow_nan=False)
    if tp is str:
        return st.text(max_size=30)
    if tp is bytes:
        return st.binary(max_size=30)
    if tp is Any or tp is object:
        return _scalars
    if tp is Message:
        return st.sampled_from(sorted(_leaf_messages())).flatmap(
            lambda tag: _message_strategy(registered_tags()[tag], depth=1))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if isinstance(tp, type) and attrs.has(tp):
        return _message_strategy(tp, depth=1)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, __import__("types").UnionType):
        return st.one_of([_strategy(a) for a in args])
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(_strategy(args[0]), max_size=5).map(tuple)
        return st.tuples(*[_strategy(a) for a in args])
    if origin is frozenset:
        return st.frozensets(_strategy(args[0]), max_size=5)
    if origin is typing.Literal:
        return st.sampled_from(args)
    raise AssertionError(f"no strategy for {tp!r}")


def _leaf_messages() -> list[str]:
    """Tags of messages without Message-typed fields (bounded nesting for generation)."""
    out = []
    for tag, cls in registered_tags().items():
        attrs.resolve_types(cls)
        if tag != "envelope" and all("Message" not in str(f.type) for f in attrs.fields(cls)):
            out.append(tag)
    return out


def _message_strategy(cls: type, depth: int = 0) -> st.SearchStrategy[Any]:
    """Instances of ``cls``; values its own validators refuse are skipped."""
    attrs.resolve_types(cls)
    fields = st.fixed_dictionaries({f.name: _strategy(f.type) for f in attrs.fields(cls)})

    def build(kw: dict[str, Any]) -> Any:
        try:
            return cls(**kw)
        except (TypeError, ValueError):
            return None

    return fields.map(build).filter(lambda v: v is not None)


#: The protocol's own tags (test modules register classes of their own; those are not ours).
ALL_TAGS = sorted(tag for tag, cls in registered_tags().items()
                  if cls.__module__.startswith("messages."))


def test_the_protocol_registers_messages() -> None:
    assert "envelope" in ALL_TAGS
    assert "runtime.Ping" in ALL_TAGS
    assert len(ALL_TAGS) >= 10


@pytest.mark.parametrize("tag", ALL_TAGS)
@settings(max_examples=40,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_every_registered_message_round_trips(tag: str, data: st.DataObject) -> None:
    cls = registered_tags()[tag]
    value = data.draw(_message_strategy(cls))
    assert decode(encode(value)) == value


@given(st.binary(max_size=200))
@settings(max_examples=500)
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    try:
        decode(data)
    except DecodeError:
        pass


_structures = st.recursive(
    _scalars | st.sampled_from(ALL_TAGS),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=5),
                                                                      children, max_size=3),
    max_leaves=30,
)


@given(st.lists(_structures, max_size=8), st.sampled_from(ALL_TAGS))
@settings(max_examples=500)
def test_arbitrary_msgpack_structures_raise_only_decode_error(fields: list[Any], tag: str) -> None:
    for frame in ([tag, *fields], fields, ["envelope", 1, 2, "x", None, None, [tag, *fields]]):
        try:
            decode(msgpack.packb(frame, use_bin_type=True))
        except DecodeError:
            pass


@messages.message("test.codec.V1")
@attrs.frozen
class V1:
    task_id: int
    status: str


@messages.message("test.codec.V2")
@attrs.frozen
class V2:
    task_id: int
    status: str
    attempt: int = 0
    note: str | None = None


def test_a_field_added_with_a_default_still_decodes_older_frames() -> None:
    old_frame = msgpack.packb(["test.codec.V2", 7, "D"])
    assert decode(old_frame) == V2(7, "D", 0, None)


def test_trailing_fields_from_a_newer_sender_are_ignored() -> None:
    newer = msgpack.packb(["test.codec.V1", 7, "D", 3, "extra"])
    assert decode(newer) == V1(7, "D")


@pytest.mark.parametrize(
    ("frame", "needle"),
    [
        (["test.codec.V1", 7], "missing status"),
        (["test.codec.V1", "7", "D"], "V1.task_id"),
        (["test.codec.V1", True, "D"], "V1.task_id"),
        (["no.such.tag", 1], "unknown message tag 'no.such.tag'"),
        ([], "message array"),
        ({"a": 1}, "message array"),
        ("envelope", "message array"),
        (["envelope", 9, 1, "", None, None, None], "not a valid Kind"),
        (["envelope", 0, 1, "", None, None, ["test.codec.V1", 1]], "missing status"),
    ],
)
def test_invalid_frames_name_what_is_wrong(frame: Any, needle: str) -> None:
    with pytest.raises(DecodeError, match=needle.replace("(", r"\(")):
        decode(msgpack.packb(frame))


def test_truncated_and_trailing_bytes() -> None:
    good = encode(V1(1, "D"))
    with pytest.raises(DecodeError, match="malformed"):
        decode(good[:-1])
    with pytest.raises(DecodeError, match="trailing"):
        decode(good + b"\x01")


def test_oversized_frame_is_refused() -> None:
    with pytest.raises(DecodeError, match="over the"):
        decode(b"\x00" * (MAX_FRAME_SIZE + 1))


def test_encode_refuses_unregistered_and_unsupported_values() -> None:
    @attrs.frozen
    class NotRegistered:
        x: int

    with pytest.raises(EncodeError, match="not a registered"):
        encode(NotRegistered(1))
    with pytest.raises(EncodeError):
        encode(V1(1, object()))  # type: ignore[arg-type]


def test_envelope_carries_metadata_around_the_message() -> None:
    env = Envelope(Kind.ASK, 42, "orchestrator", None, 123.25, V1(3, "R"))
    back = decode(encode(env))
    assert back == env and back.kind is Kind.ASK


def test_frame_reader_reassembles_frames_split_at_every_byte() -> None:
    frames = [Envelope(Kind.TELL, 0, "a", "b", None, V1(i, "G")) for i in range(20)]
    stream = b"".join(encode(f) for f in frames)
    reader = FrameReader()
    out = []
    for i in range(len(stream)):
        reader.feed(stream[i : i + 1])
        while (frame := reader.next_frame()) is not None:
            out.append(frame)
    assert out == frames


def test_frame_reader_skips_invalid_frames_and_stops_on_broken_streams() -> None:
    reader = FrameReader()
    reader.feed(msgpack.packb(["no.such.tag"]) + encode(V1(1, "D")))
    with pytest.raises(DecodeError) as info:
        reader.next_frame()
    assert info.value.recoverable
    assert reader.next_frame() == V1(1, "D")
    reader.feed(b"\xc1")  # never valid msgpack
    with pytest.raises(DecodeError) as info:
        reader.next_frame()
    assert not info.value.recoverable


def test_frame_reader_bounds_its_buffer() -> None:
    reader = FrameReader(max_frame=1024)
    big = msgpack.packb(["test.codec.V1", 1, "x" * 5000])
    with pytest.raises(DecodeError, match="limit") as info:
        reader.feed(big)
    assert not info.value.recoverable


def test_public_api() -> None:
    assert sorted(messages.__all__) == sorted(
        ["MAX_FRAME_SIZE", "DecodeError", "EncodeError", "Envelope", "FrameReader", "Kind",
         "Message", "decode", "decode_obj", "encode", "encode_obj", "is_registered", "message",
         "registered_tags", "tag_of"])
    for name in messages.__all__:
        assert hasattr(messages, name)


def test_config_from_defaults_still_coerces_after_the_codec_resolved_its_types() -> None:
    """Encoding resolves attrs annotations to types; reading the environment must not care."""
    from messages.config import OrchestratorConfig, WorkflowRunConfig

    decode(encode(OrchestratorConfig()))  # resolves the field types of both classes
    cfg = WorkflowRunConfig.from_defaults(path=None, environ={
        "ACTORSWARM_HEARTBEAT_INTERVAL": "5", "ACTORSWARM_FAIL_FAST": "yes",
        "ACTORSWARM_FAIL_AFTER_N_EXECUTIONS": "3", "ACTORSWARM_CONFIG": "/nonexistent"})
    assert (cfg.heartbeat_interval, cfg.fail_fast, cfg.fail_after_n_executions) == (5.0, True, 3)
    with pytest.raises(ValueError, match="ACTORSWARM_FAIL_FAST"):
        WorkflowRunConfig.from_defaults(environ={"ACTORSWARM_FAIL_FAST": "maybe",
                                                 "ACTORSWARM_CONFIG": "/nonexistent"})
