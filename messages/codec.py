"""msgpack encoding of registered message classes: the only serializer of the protocol.

Who uses it: the actor runtime (``actors.runtime``) encodes every envelope it sends and decodes
every frame it reads, in process mode and in thread mode alike. Nothing else serializes messages.

Frame layout (see PROTOCOL.md): a message is the msgpack array ``[tag, field1, field2, ...]`` with
the fields in declaration order. Field values are msgpack nil/bool/int/float/str/bin, arrays
(Python tuples/frozensets) and nested messages (again ``[tag, ...]``). Maps are not used: message
fields are immutable. A field added at the end with a default keeps older frames decodable;
extra trailing fields from a newer sender are ignored.

Registration::

    @message("orchestrator.TaskStatusChanged")
    @attrs.frozen
    class TaskStatusChanged:
        task_id: int
        status: TaskStatus

Decoding is type-directed: each field's annotation (int, float, str, bytes, bool, None, unions,
str/int enums, ``tuple[X, ...]``, fixed tuples, ``frozenset[X]``, registered classes and the
``Message`` marker meaning "any registered message") is compiled once into a checker, so a
malformed frame raises ``DecodeError`` instead of building a wrong object.
"""

from __future__ import annotations

import enum
import operator
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import msgpack

from messages import _checks
from messages._checks import (
    Checker,
    Message,
    _by_tag,
    _checker_for,
    _plain_types,
    _tag_by_cls,
    _type_error,
)
from messages.errors import DecodeError, EncodeError

__all__ = [
    "MAX_FRAME_SIZE",
    "Message",
    "decode",
    "decode_obj",
    "encode",
    "encode_envelope",
    "encode_obj",
    "is_registered",
    "message",
    "registered_tags",
    "tag_of",
]

#: Largest frame (bytes) any reader accepts. Larger frames are refused with DecodeError.
MAX_FRAME_SIZE = 64 * 1024 * 1024


T = TypeVar("T")


@attrs.frozen
class _Spec:
    """Compiled per-class codec data."""

    tag: str
    cls: type
    getter: Callable[[Any], tuple[Any, ...]]
    names: tuple[str, ...]
    checkers: tuple[Checker | None, ...]  # None: only the exact-type check in ``plain`` applies
    plain: tuple[tuple[type, ...] | None, ...]  # exact types accepted as they are, per field
    n_required: int
    fast: Callable[[tuple[Any, ...], int], tuple[Any, ...] | None]  # all-fields path


_specs: dict[type, _Spec] = {}
_compile_lock = threading.Lock()


def message(tag: str) -> Callable[[type[T]], type[T]]:
    """Register an attrs class under a stable wire tag (decorator; apply above ``@attrs.frozen``)."""
    if not isinstance(tag, str) or not tag or len(tag) > 100:
        raise ValueError(f"message tag must be a non-empty string of at most 100 chars: {tag!r}")

    def register(cls: type[T]) -> type[T]:
        if not attrs.has(cls):
            raise TypeError(f"{cls.__qualname__} must be an attrs class to be registered")
        if not getattr(cls, "__attrs_frozen__", None) and not _is_frozen(cls):
            raise TypeError(f"{cls.__qualname__} must be frozen (use @attrs.frozen)")
        previous = _by_tag.get(tag)
        if previous is not None and previous is not cls:
            raise ValueError(f"tag {tag!r} already registered by {previous.__qualname__}")
        _by_tag[tag] = cls
        _tag_by_cls[cls] = tag
        return cls  # type: ignore[return-value]  # attrs.has narrows cls to AttrsInstance

    return register


def _is_frozen(cls: type) -> bool:
    setattr_ = getattr(cls, "__setattr__", None)
    return setattr_ is not None and getattr(setattr_, "__name__", "") == "_frozen_setattrs"


def registered_tags() -> dict[str, type]:
    """A copy of the tag -> class registry."""
    return dict(_by_tag)


def is_registered(obj: object) -> bool:
    """True if ``obj`` is an instance of a registered message class."""
    return type(obj) in _tag_by_cls


def tag_of(cls: type) -> str:
    """The wire tag of a registered class (KeyError if unregistered)."""
    return _tag_by_cls[cls]


# ----------------------------------------------------------------------------------- compile


def _spec(cls: type) -> _Spec:
    spec = _specs.get(cls)
    if spec is None:
        with _compile_lock:
            spec = _specs.get(cls)
            if spec is None:
                spec = _compile(cls)
                _specs[cls] = spec
    return spec


def _compile(cls: type) -> _Spec:
    attrs.resolve_types(cls)
    fields = attrs.fields(cls)
    names = tuple(f.name for f in fields)
    checkers = tuple(_checker_for(f.type, f"{cls.__qualname__}.{f.name}") for f in fields)
    plain = tuple(_plain_types(f.type) for f in fields)
    checkers = tuple(None if p is not None else c for p, c in zip(plain, checkers))
    n_required = 0
    for i, f in enumerate(fields):
        if f.default is attrs.NOTHING:
            n_required = i + 1
    getter: Callable[[Any], tuple[Any, ...]]
    if len(names) == 0:
        getter = lambda _obj: ()
    elif len(names) == 1:
        single = operator.attrgetter(names[0])
        getter = lambda obj: (single(obj),)
    else:
        getter = operator.attrgetter(*names)
    fast = _make_fast_path(plain, checkers)
    return _Spec(_tag_by_cls[cls], cls, getter, names, checkers, plain, n_required, fast)


def _make_fast_path(
    plain: tuple[tuple[type, ...] | None, ...], checkers: tuple[Checker | None, ...]
) -> Callable[[tuple[Any, ...], int], tuple[Any, ...] | None]:
    """Generate an unrolled checker for frames carrying exactly all fields.

    It returns the converted argument tuple, or None when any check fails (the generic path then
    produces the precise error message). Generated code is built from field indexes only.
    """
    n = len(plain)
    if n == 0:
        return lambda fields, depth: ()
    names = [f"f{i}" for i in range(n)]
    env: dict[str, Any] = {"DecodeError": DecodeError}
    body = [f"    {', '.join(names)}, = fields"]
    for i, (p, c) in enumerate(zip(plain, checkers)):
        if p is not None:
            env[f"P{i}"] = p[0] if len(p) == 1 else p
            op = "is not" if len(p) == 1 else "not in"
            body.append(f"    if type(f{i}) {op} P{i}: return None")
        else:
            env[f"C{i}"] = c
            body.append(f"    f{i} = C{i}(f{i}, depth)")
    src = (
        "def fast(fields, depth):\n    try:\n"
        + "\n".join("    " + line for line in body)
        + "\n    except DecodeError:\n        return None\n"
        + f"    return ({', '.join(names)},)\n"
    )
    exec(compile(src, "<messages.codec fast path>", "exec"), env)  # noqa: S102 - generated from indexes
    fast: Callable[[tuple[Any, ...], int], tuple[Any, ...] | None] = env["fast"]
    return fast


# ----------------------------------------------------------------------------------- encode


def _default(obj: Any) -> Any:
    """msgpack ``default`` hook: nested messages and frozensets."""
    cls = type(obj)
    if cls in _tag_by_cls:
        spec = _spec(cls)
        return (spec.tag, *spec.getter(obj))
    if cls is frozenset:
        return tuple(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    raise EncodeError(f"cannot encode a value of type {cls.__qualname__}: {obj!r:.60}")


_local = threading.local()


def _packer() -> msgpack.Packer:
    packer = getattr(_local, "packer", None)
    if packer is None:
        packer = _local.packer = msgpack.Packer(default=_default, use_bin_type=True)
    return packer


def encode_obj(obj: Any) -> tuple[Any, ...]:
    """The msgpack-ready array of a registered message (nested values converted lazily)."""
    cls = type(obj)
    if cls not in _tag_by_cls:
        raise EncodeError(f"{cls.__qualname__} is not a registered message class")
    spec = _specs.get(cls) or _spec(cls)
    return (spec.tag, *spec.getter(obj))


def encode(obj: Any) -> bytes:
    """Encode a registered message (an ``Envelope`` is one) to one msgpack frame."""
    cls = type(obj)
    spec = _specs.get(cls)
    if spec is None:
        if cls not in _tag_by_cls:
            raise EncodeError(f"{cls.__qualname__} is not a registered message class")
        spec = _spec(cls)
    packer = getattr(_local, "packer", None) or _packer()
    try:
        data: bytes = packer.pack((spec.tag, *spec.getter(obj)))
    except EncodeError:
        _local.packer = None  # a failed pack may leave the packer's buffer dirty
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        _local.packer = None
        raise EncodeError(f"cannot encode {spec.tag}: {exc}") from exc
    if len(data) > MAX_FRAME_SIZE:
        raise EncodeError(f"{spec.tag} encodes to {len(data)} bytes, over the {MAX_FRAME_SIZE} limit")
    return data


def encode_envelope(kind: int, corr_id: int, sender: str, reply_to: str | None,
                    deadline: float | None, msg: Any) -> bytes:
    """``encode(Envelope(...))`` without building the Envelope first (the runtime's hot path)."""
    if msg is None:
        payload = None
    else:
        cls = type(msg)
        spec = _specs.get(cls)
        if spec is None:
            if cls not in _tag_by_cls:
                raise EncodeError(f"{cls.__qualname__} is not a registered message class")
            spec = _spec(cls)
        payload = (spec.tag, *spec.getter(msg))
    packer = getattr(_local, "packer", None) or _packer()
    try:
        data: bytes = packer.pack(("envelope", kind, corr_id, sender, reply_to, deadline, payload))
    except EncodeError:
        _local.packer = None
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        _local.packer = None
        raise EncodeError(f"cannot encode {type(msg).__name__}: {exc}") from exc
    if len(data) > MAX_FRAME_SIZE:
        raise EncodeError(f"{type(msg).__name__} encodes to {len(data)} bytes, over the "
                          f"{MAX_FRAME_SIZE} limit")
    return data


# ----------------------------------------------------------------------------------- decode


def _build(value: tuple[Any, ...], depth: int) -> Any:
    tag = value[0]
    if type(tag) is not str:
        raise DecodeError(f"message tag must be a str, got {type(tag).__name__}")
    cls = _by_tag.get(tag)
    if cls is None:
        raise DecodeError(f"unknown message tag {tag!r}")
    spec = _specs.get(cls) or _spec(cls)
    fields = value[1:]
    n = len(fields)
    if n == len(spec.names):
        args_fast = spec.fast(fields, depth)
        if args_fast is not None:
            try:
                return cls(*args_fast)
            except (TypeError, ValueError) as exc:  # attrs validators
                raise DecodeError(f"{tag}: rejected by the class: {exc}") from None
    checkers = spec.checkers
    if n < spec.n_required:
        missing = ", ".join(spec.names[n : spec.n_required])
        raise DecodeError(f"{tag}: {n} fields, missing {missing}")
    if n > len(checkers):
        fields = fields[: len(checkers)]  # a newer sender's trailing fields
    args = list(fields)
    for i, (v, plain, check) in enumerate(zip(fields, spec.plain, checkers)):
        if plain is not None:
            if type(v) not in plain:
                _, expected = _plain_names(plain)
                raise DecodeError(f"{tag}.{spec.names[i]}: {_type_error(expected, v)}")
        else:
            try:
                args[i] = check(v, depth)  # type: ignore[misc]
            except DecodeError as exc:
                raise DecodeError(f"{tag}.{spec.names[i]}: {exc}") from None
    try:
        return cls(*args)
    except (TypeError, ValueError) as exc:  # attrs validators
        raise DecodeError(f"{tag}: rejected by the class: {exc}") from None


_checks.install(_build)


def _plain_names(plain: tuple[type, ...]) -> tuple[None, str]:
    names = {int: "int", str: "str", bytes: "bin", bool: "bool", type(None): "nil"}
    return None, " or ".join(names.get(t, t.__name__) for t in plain)


def decode_obj(obj: Any) -> Any:
    """Build a message from an already-unpacked msgpack structure (arrays as tuples)."""
    if type(obj) is not tuple or not obj:
        raise _type_error("a message array [tag, ...]", obj)
    try:
        return _build(obj, 0)
    except RecursionError:
        raise DecodeError("nesting too deep") from None


_stream_options: dict[str, Any] = {
    "use_list": False,
    "raw": False,
    "strict_map_key": True,
    "max_str_len": MAX_FRAME_SIZE,
    "max_bin_len": MAX_FRAME_SIZE,
    "max_array_len": 1_000_000,
    "max_map_len": 100_000,
    "max_ext_len": 0,
}


_unpackb = msgpack.unpackb


def _refuse_ext(code: int, data: bytes) -> Any:
    raise DecodeError(f"msgpack extension types are not used by the protocol (ext code {code})")


def decode(data: bytes | bytearray | memoryview) -> Any:
    """Decode one frame produced by ``encode``. Raises ``DecodeError`` for anything invalid."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError(f"expected bytes, got {type(data).__name__}")
    if len(data) > MAX_FRAME_SIZE:
        raise DecodeError(f"frame of {len(data)} bytes is over the {MAX_FRAME_SIZE} limit")
    try:
        obj = _unpackb(data, use_list=False, raw=False)
    except DecodeError:
        raise
    except msgpack.ExtraData:
        raise DecodeError("trailing bytes after the frame") from None
    except (ValueError, TypeError, msgpack.UnpackException, RecursionError) as exc:
        raise DecodeError(f"malformed msgpack: {type(exc).__name__}: {exc}") from None
    return decode_obj(obj)
