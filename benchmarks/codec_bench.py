"""Codec cost per registered message type: realistic small instances, encode+decode timings.

Who uses it: ``benchmarks.runtime`` (the "codec" and "envelope" groups). ``example_message``
builds a small, valid instance of any registered class from its field annotations (values
chosen from the field names: ids look like ids, times like server times, tuples hold a few
items) and checks it survives an encode/decode round trip; ``codec_measurements`` times
``decode(encode(msg))`` per type, and ``encode_envelope`` + ``decode`` for a few messages, as
the runtime sends every message wrapped in an envelope.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from benchmarks.errors import BenchmarkError
from benchmarks.harness import Clock, Measurement, Target, from_rounds, time_blocks
from messages import Kind, Message, decode, encode, registered_tags
from messages.codec import encode_envelope

__all__ = ["BULK_SAMPLES", "ENVELOPE_SAMPLES", "SMALL_FRAME_BYTES", "bulk_message",
           "codec_measurements", "example_message"]

#: Frames up to this size (a handful of scalar fields) count as "small" for the <= 3 us
#: encode+decode target; larger frames are measured and shown without a target.
SMALL_FRAME_BYTES = 100
#: Messages measured again inside an envelope (tag, envelope kind).
ENVELOPE_SAMPLES = (("heartbeat.ReportStatus", Kind.TELL), ("bench.Probe", Kind.ASK),
                    ("synchronizer.TaskStatusesChanged", Kind.TELL),
                    ("scheduler.QueueTasks", Kind.TELL))
#: Messages measured at the sizes a run at scale sends: (tag, tuple field, items).
BULK_SAMPLES = (("synchronizer.TaskStatusesChanged", "changes", 1000),
                ("scheduler.TaskGroup", "task_ids", 500))
_TARGET = Target("small message encode+decode <= 3 us", "p50", "<=", 3_000.0)
_ITEMS = 3  # items per homogeneous tuple: small but not empty


def _int_for(name: str) -> int:
    if "pid" in name:
        return 48213
    if name.endswith(("id", "ids", "changes", "statuses", "requested")):
        return 1_048_576 + len(name)
    if "size" in name or "limit" in name or "running" in name:
        return 500
    return 3


def _float_for(name: str) -> float:
    if "time" in name or "elapsed" in name or "started" in name or "deadline" in name:
        return 15432.118
    return 1.5


def _str_for(name: str) -> str:
    if "time" in name:
        return "2024-05-01 12:34:56"
    if "url" in name:
        return "http://127.0.0.1:8765/api/v3"
    if "token" in name:
        return "s3cr3t-token"
    if "type" in name:
        return "ServerUnavailable"
    if "error" in name or "reason" in name or "text" in name or "message" in name:
        return "connection refused after 5 attempts"
    if "cluster" in name:
        return "slurm"
    if "queue" in name:
        return "all.q"
    return "orchestrator"


def _value(tp: Any, name: str, depth: int, where: str,
           seq: int = 0) -> Any:
    """An example value of annotation ``tp`` for field ``name``; ``seq`` varies tuple items."""
    if depth > 6:
        raise BenchmarkError(f"{where}: nesting too deep to build an example")
    supertype = getattr(tp, "__supertype__", None)
    if supertype is not None:
        return _value(supertype, name, depth, where, seq)
    if tp is None or tp is type(None):
        return None
    if tp is bool:
        return True
    if tp is int:
        return _int_for(name) + seq
    if tp is float:
        return _float_for(name)
    if tp is str:
        return _str_for(name)
    if tp is bytes:
        return b"\x00\x01payload"
    if tp is Any or tp is object:
        return _str_for(name)
    if tp is Message:
        return _build(registered_tags()["runtime.Pong"], depth + 1)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        members = list(tp)
        return members[len(members) // 2]
    if isinstance(tp, type) and attrs.has(tp):
        return _build(tp, depth + 1)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return _value(options[0], name, depth, where, seq) if options else None
    if origin is typing.Literal:
        return args[0]
    if origin is tuple or tp is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], name, depth + 1, where, seq + i) for i in range(_ITEMS))
        if not args or args == ((),):
            return ()
        return tuple(_value(a, name, depth + 1, where, seq) for a in args)
    if origin is frozenset or tp is frozenset:
        item = args[0] if args else int
        return frozenset(_value(item, name, depth + 1, where, seq + i) for i in range(_ITEMS))
    raise BenchmarkError(f"{where}: cannot build an example value of {tp!r}")


def _build(cls: type, depth: int) -> Any:
    attrs.resolve_types(cls)
    kwargs = {}
    for field in attrs.fields(cls):
        where = f"{cls.__qualname__}.{field.name}"
        kwargs[field.name] = _value(field.type, field.name, depth, where)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise BenchmarkError(f"{cls.__qualname__}: the example values were refused: {exc}"
                             ) from exc


def example_message(cls: type) -> Any:
    """A small, valid, round-trip-checked instance of the registered message class ``cls``."""
    msg = _build(cls, 0)
    back = decode(encode(msg))
    if back != msg:
        raise BenchmarkError(f"{cls.__qualname__}: the example does not survive a round trip "
                             f"({msg!r} became {back!r})")
    return msg


def bulk_message(cls: type, field: str, items: int) -> Any:
    """The example of ``cls`` with its tuple field ``field`` holding ``items`` distinct items."""
    example = example_message(cls)
    attrs.resolve_types(cls)
    found = [f for f in attrs.fields(cls) if f.name == field]
    args = typing.get_args(found[0].type) if found else ()
    if len(args) != 2 or args[1] is not Ellipsis:
        raise BenchmarkError(f"{cls.__qualname__}.{field} is not a tuple[X, ...] field")
    where = f"{cls.__qualname__}.{field}"
    values = tuple(_value(args[0], field, 1, where, seq=i) for i in range(items))
    return attrs.evolve(example, **{field: values})


def _timed(fn: Callable[[], object], iterations: int, block: int, rounds: int,
           clock: Clock) -> list[list[float]]:
    for _ in range(min(iterations, 200)):  # warm up (specs compiled, caches filled)
        fn()
    return [time_blocks(fn, iterations, block, clock) for _ in range(rounds)]


def _roundtrip(msg: Any) -> Callable[[], object]:
    return lambda: decode(encode(msg))


def _envelope_roundtrip(msg: Any, kind: Kind) -> Callable[[], object]:
    return lambda: decode(encode_envelope(kind, 1 if kind is Kind.ASK else 0, "orchestrator",
                                          None, 15432.118 if kind is Kind.ASK else None, msg))


def codec_measurements(tags: Sequence[str], *, iterations: int, block: int, rounds: int,
                       clock: Clock) -> list[Measurement]:
    """One "codec" measurement per tag (bare message) and one "envelope" per ENVELOPE_SAMPLES
    entry present in ``tags``; samples are ns per encode+decode (mean of ``block`` calls)."""
    known = registered_tags()
    out = []
    for tag in tags:
        if tag == "envelope":
            continue  # measured below, wrapping real messages
        msg = example_message(known[tag])
        size = len(encode(msg))
        out.append(from_rounds(
            tag, "codec: encode+decode per message type", "encode+decode",
            _timed(_roundtrip(msg), iterations, block, rounds, clock), rate_unit="msgs/s",
            params={"frame_bytes": size, "block": block},
            targets=(_TARGET,) if size <= SMALL_FRAME_BYTES else ()))
    for tag, kind in ENVELOPE_SAMPLES:
        if tag not in tags:
            continue
        msg = example_message(known[tag])
        data = encode_envelope(kind, 1, "orchestrator", None, 15432.118, msg)
        bare = next((m for m in out if m.name == tag), None)
        params: dict[str, Any] = {"frame_bytes": len(data), "kind": kind.name, "block": block}
        if bare is not None and bare.stats is not None:
            params["bare_p50_ns"] = bare.stats.p50
        out.append(from_rounds(
            f"envelope({kind.name}) + {tag}", "codec: message wrapped in an envelope",
            "encode+decode", _timed(_envelope_roundtrip(msg, kind), iterations, block, rounds,
                                    clock),
            rate_unit="msgs/s", params=params,
            targets=(_TARGET,) if len(data) <= SMALL_FRAME_BYTES else ()))
    for tag, field, items in BULK_SAMPLES:
        if tag not in tags:
            continue
        msg = bulk_message(known[tag], field, items)
        out.append(from_rounds(
            f"{tag} with {items} {field}", "codec: messages at the sizes a large run sends",
            "encode+decode",
            _timed(_roundtrip(msg), max(3, iterations // 200), 1, rounds, clock),
            rate_unit="msgs/s", params={"frame_bytes": len(encode(msg)), "items": items}))
    return out
