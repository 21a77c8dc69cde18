"""Type-directed checkers: each message field's annotation compiled into a decode check.

Internal to ``messages.codec``, which compiles every registered class's fields with
``_checker_for`` and installs its message builder here (``install``) so that nested
messages decode through the same path. A checker takes (value, depth) and returns the value
converted (enums, floats, frozensets, nested messages) or raises ``DecodeError`` saying what
was expected.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable
from typing import Any

from messages.errors import DecodeError

Checker = Callable[[Any, int], Any]  # (value, depth) -> converted value, or raise DecodeError

#: Deepest nesting of arrays accepted in a frame.
MAX_DEPTH = 32


class Message:
    """Annotation marker meaning "any registered message" (classes need not inherit it)."""

    __slots__ = ()


_by_tag: dict[str, type] = {}
_tag_by_cls: dict[type, str] = {}


def _no_builder(value: tuple[Any, ...], depth: int) -> Any:
    raise DecodeError("the codec has not installed its message builder")


_build: Callable[[tuple[Any, ...], int], Any] = _no_builder


def install(build: Callable[[tuple[Any, ...], int], Any]) -> None:
    """Called once by ``messages.codec``: how nested ``[tag, ...]`` arrays are decoded."""
    global _build
    _build = build


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


def _checker_for(tp: Any, where: str) -> Checker | None:
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
