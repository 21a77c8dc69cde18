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
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import msgpack

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

#: Deepest nesting of arrays accepted in a frame.
MAX_DEPTH = 32

T = TypeVar("T")
Checker = Callable[[Any, int], Any]  # (value, depth) -> converted value, or raise DecodeError


class Message:
    """Annotation marker meaning "any registered message" (classes need not inherit it)."""

    __slots__ = ()


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


_by_tag: dict[str, type] = {}
_tag_by_cls: dict[type, str] = {}
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
        getter = lambda _obj: ()  # noqa: E731
    elif len(names) == 1:
        single = operator.attrgetter(names[0])
        getter = lambda obj: (single(obj),)  # noqa: E731
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


_PLAIN: dict[Any, type] = {int: int, str: str, bytes: bytes, bool: bool, type(None): type(None),
                           None: type(None)}


def _plain_types(tp: Any) -> tuple[type, ...] | None:
    """Exact types a field accepts without conversion, or None if it needs a checker."""
    supertype = getattr(tp, "__supertype__", None)
    if supertype is not None:
        return _plain_types(supertype)
    if tp in _PLAIN:
        return (_PLAIN[tp],)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        parts = [_plain_types(a) for a in typing.get_args(tp)]
        if all(p is not None for p in parts):
            return tuple(t for p in parts if p is not None for t in p)
    return None


def _type_error(expected: str, value: Any) -> DecodeError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return DecodeError(f"expected {expected}, got {type(value).__name__} {shown}")


def _checker_for(tp: Any, where: str) -> Checker | None:  # noqa: C901 - one branch per type kind
    """Compile an annotation into a checker; None means "accept as is" only for exact checks done inline."""
    if tp is None or tp is type(None):
        return _nil
    if tp is Any or tp is object:
        return _any_value
    if tp is bool:
        return _exact((bool,), "bool")
    if tp is int:
        return _int
    if tp is float:
        return _float
    if tp is str:
        return _exact((str,), "str")
    if tp is bytes:
        return _exact((bytes,), "bin")
    if tp is Message:
        return _nested_any
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_checker(tp)
    if isinstance(tp, type) and tp in _tag_by_cls:
        return _nested_of(tp)
    supertype = getattr(tp, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return _checker_for(supertype, where)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return _union([_checker_for(a, where) for a in args], tp)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return _homogeneous(_checker_for(args[0], where), tuple, _plain_types(args[0]))
        if args == ((),) or not args:
            return _homogeneous(_any_value, tuple)
        return _fixed([_checker_for(a, where) for a in args])
    if tp is tuple:
        return _homogeneous(_any_value, tuple)
    if origin is frozenset or tp is frozenset:
        inner = _checker_for(args[0], where) if args else _any_value
        return _homogeneous(inner, frozenset)
    if origin is typing.Literal:
        allowed = frozenset(args)
        return _literal(allowed)
    raise TypeError(f"{where}: annotation {tp!r} is not supported by the protocol")


def _exact(types_: tuple[type, ...], name: str) -> Checker:
    def check(value: Any, depth: int) -> Any:
        if type(value) not in types_:
            raise _type_error(name, value)
        return value

    check.exact = types_  # type: ignore[attr-defined]  # lets containers check inline
    return check


def _nil(value: Any, depth: int) -> Any:
    if value is not None:
        raise _type_error("nil", value)
    return value


def _int(value: Any, depth: int) -> Any:
    if type(value) is not int:
        raise _type_error("int", value)
    return value


_int.exact = (int,)  # type: ignore[attr-defined]


def _float(value: Any, depth: int) -> Any:
    t = type(value)
    if t is float:
        return value
    if t is int:
        return float(value)
    raise _type_error("float", value)


def _literal(allowed: frozenset[Any]) -> Checker:
    def check(value: Any, depth: int) -> Any:
        if isinstance(value, (dict, list)) or value not in allowed:
            raise _type_error(f"one of {sorted(map(repr, allowed))}", value)
        return value

    return check


def _enum_checker(enum_cls: type[enum.Enum]) -> Checker:
    members = {m.value: m for m in enum_cls}
    lookup = members.get

    def check(value: Any, depth: int) -> Any:
        member = lookup(value) if type(value) in (str, int) else None
        if member is None:
            raise DecodeError(f"{value!r} is not a valid {enum_cls.__name__}")
        return member

    check.members = members  # type: ignore[attr-defined]  # lets containers check inline
    return check


def _union(checkers: list[Checker | None], tp: Any) -> Checker:
    others = [c for c in checkers if c is not _nil]
    if len(others) == 1 and len(checkers) == 2 and others[0] is not None:
        inner = others[0]

        def check_optional(value: Any, depth: int) -> Any:  # X | None: X's own error message
            return None if value is None else inner(value, depth)

        return check_optional

    def check(value: Any, depth: int) -> Any:
        for c in checkers:
            if c is None:
                return value
            try:
                return c(value, depth)
            except DecodeError:
                continue
        raise _type_error(str(tp).replace("typing.", ""), value)

    return check


def _homogeneous(inner: Checker | None, container: type,
                 plain: tuple[type, ...] | None = None) -> Checker:
    """Arrays of one element type; ``plain``: exact element types needing no conversion."""
    if plain is not None:
        def check_plain(value: Any, depth: int) -> Any:
            if type(value) is not tuple:
                raise _type_error("array", value)
            for v in value:
                if type(v) not in plain:
                    raise _type_error(" or ".join(t.__name__ for t in plain), v)
            return value if container is tuple else container(value)

        return check_plain

    def check(value: Any, depth: int) -> Any:
        if type(value) is not tuple:
            raise _type_error("array", value)
        if depth >= MAX_DEPTH:
            raise DecodeError("nesting too deep")
        if inner is None:
            return value if container is tuple else container(value)
        d = depth + 1
        items = [inner(v, d) for v in value]
        return tuple(items) if container is tuple else container(items)

    return check


def _fixed(inners: list[Checker | None]) -> Checker:
    n = len(inners)
    if n == 2 and inners[0] is not None and inners[1] is not None:
        first, second = inners[0], inners[1]
        exact0 = getattr(first, "exact", None)
        members1 = getattr(second, "members", None)
        if exact0 is not None and members1 is not None:
            lookup = members1.get

            def check_scalar_enum(value: Any, depth: int) -> Any:  # e.g. (task id, status)
                if type(value) is not tuple or len(value) != 2:
                    raise _type_error("array of 2", value)
                a, b = value
                member = lookup(b) if type(b) in (str, int) else None
                if type(a) not in exact0 or member is None:
                    return check_pair(value, depth)  # the slow path names the problem
                return (a, member)

            def check_pair(value: Any, depth: int) -> Any:
                return (first(value[0], depth + 1), second(value[1], depth + 1))

            return check_scalar_enum

        def check_pair(value: Any, depth: int) -> Any:  # the common (key, value) shape
            if type(value) is not tuple or len(value) != 2:
                raise _type_error("array of 2", value)
            return (first(value[0], depth + 1), second(value[1], depth + 1))

        return check_pair

    def check(value: Any, depth: int) -> Any:
        if type(value) is not tuple or len(value) != n:
            raise _type_error(f"array of {n}", value)
        return tuple([v if c is None else c(v, depth + 1) for c, v in zip(inners, value)])

    return check


def _any_value(value: Any, depth: int) -> Any:
    """Any immutable protocol value: scalars and arrays of them (maps are refused)."""
    t = type(value)
    if t in (int, float, str, bytes, bool) or value is None:
        return value
    if t is tuple:
        if depth >= MAX_DEPTH:
            raise DecodeError("nesting too deep")
        if value and type(value[0]) is str and value[0] in _by_tag:
            return _build(value, depth + 1)
        return tuple(_any_value(v, depth + 1) for v in value)
    raise _type_error("an immutable value (nil, bool, int, float, str, bin, array)", value)


def _nested_any(value: Any, depth: int) -> Any:
    if type(value) is not tuple or not value:
        raise _type_error("a message array", value)
    return _build(value, depth + 1)


def _nested_of(cls: type) -> Checker:
    def check(value: Any, depth: int) -> Any:
        obj = _nested_any(value, depth)
        if type(obj) is not cls:
            raise DecodeError(f"expected a {cls.__qualname__} message, got {type(obj).__qualname__}")
        return obj

    return check


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
    i = 0
    for v, plain, check in zip(fields, spec.plain, checkers):
        if plain is not None:
            if type(v) not in plain:
                _, expected = _plain_names(plain)
                raise DecodeError(f"{tag}.{spec.names[i]}: {_type_error(expected, v)}")
        else:
            try:
                args[i] = check(v, depth)  # type: ignore[misc]
            except DecodeError as exc:
                raise DecodeError(f"{tag}.{spec.names[i]}: {exc}") from None
        i += 1
    try:
        return cls(*args)
    except (TypeError, ValueError) as exc:  # attrs validators
        raise DecodeError(f"{tag}: rejected by the class: {exc}") from None


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
