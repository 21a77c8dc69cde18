"""Checked access to decoded JSON: every mismatch becomes a ``ProtocolMismatch`` naming where.

Pure helpers for ``actors.gateway.parse`` and ``actors.gateway.parse_admin``; no I/O. ``where``
strings read like ``tasks["12"][3]`` so the error message points at the offending value.
"""

from __future__ import annotations

import ast
import functools
import enum
import json
import math
from collections.abc import Mapping
from typing import Any, TypeVar

from actors.errors import ProtocolMismatch

__all__ = [
    "enum_value",
    "get",
    "int_key",
    "literal",
    "mismatch",
    "node_list",
    "number",
    "obj",
    "opt_int",
    "opt_str",
    "str_list",
    "strict_bool",
    "strict_int",
    "strict_str",
]

E = TypeVar("E", bound=enum.Enum)


def _show(value: Any) -> str:
    """A short repr of an offending value for an error message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def mismatch(route: str, where: str, expected: str, value: Any) -> ProtocolMismatch:
    """The error for ``value`` found at ``where`` in the answer of ``route``."""
    return ProtocolMismatch(f"{route}: answer field {where}: expected {expected}, "
                            f"got {_show(value)}")


def obj(route: str, value: Any, where: str = "body") -> Mapping[str, Any]:
    """``value`` as a JSON object."""
    if not isinstance(value, dict):
        raise mismatch(route, where, "a JSON object", value)
    return value


def get(route: str, mapping: Mapping[str, Any], key: str, where: str = "") -> Any:
    """``mapping[key]``, or a ProtocolMismatch naming the missing key."""
    try:
        return mapping[key]
    except KeyError:
        path = f"{where}.{key}" if where else key
        raise ProtocolMismatch(f"{route}: answer field {path} is missing") from None


def strict_int(route: str, value: Any, where: str) -> int:
    """An integer (not a bool; a float with an integral value is accepted)."""
    if isinstance(value, bool):
        raise mismatch(route, where, "an integer", value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise mismatch(route, where, "an integer", value)


def opt_int(route: str, value: Any, where: str) -> int | None:
    """An integer or null."""
    return None if value is None else strict_int(route, value, where)


def number(route: str, value: Any, where: str) -> float:
    """A finite int or float (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise mismatch(route, where, "a finite number", value)
    return float(value)


def strict_bool(route: str, value: Any, where: str) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        raise mismatch(route, where, "a boolean", value)
    return value


def strict_str(route: str, value: Any, where: str) -> str:
    """A string."""
    if not isinstance(value, str):
        raise mismatch(route, where, "a string", value)
    return value


def opt_str(route: str, value: Any, where: str) -> str | None:
    """A string or null (numbers, e.g. a distributor id, are turned into strings)."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return strict_str(route, value, where)


def int_key(route: str, key: Any, where: str) -> int:
    """A JSON object key holding an integer id ("12" -> 12)."""
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    if isinstance(key, str) and key.strip().lstrip("-").isdigit():
        return int(key)
    raise mismatch(route, where, "an integer id as key", key)


def enum_value(route: str, cls: type[E], value: Any, where: str) -> E:
    """A member of ``cls`` from its wire letter."""
    try:
        return cls(value)
    except (ValueError, TypeError):
        letters = ", ".join(str(m.value) for m in cls)
        raise mismatch(route, where, f"a {cls.__name__} letter ({letters})", value) from None


def literal(route: str, value: Any, where: str, kind: type) -> Any:
    """A dict/list that may arrive as itself, as null, as JSON text or as a Python literal.

    Jobmon stores ``requested_resources``, ``resource_scales`` and ``fallback_queues`` as the
    ``str()`` of a Python value, so ``"{'memory': 1.0}"`` and ``"['long']"`` are accepted;
    anything that is not a literal of ``kind`` is a ProtocolMismatch.
    """
    if value is None:
        return kind()
    if isinstance(value, kind):
        return value
    if not isinstance(value, str):
        raise mismatch(route, where, f"a {kind.__name__} or its text", value)
    if value.strip() in ("", "None", "null"):
        return kind()
    parsed = _parse_literal(value.strip())
    if parsed is _UNREADABLE or not isinstance(parsed, kind):
        raise mismatch(route, where, f"a {kind.__name__} literal", value)
    return kind(parsed)  # a shallow copy: the cached value is never handed out


_UNREADABLE = object()


@functools.lru_cache(maxsize=4096)
def _parse_literal(text: str) -> Any:
    """JSON, else a Python literal, of ``text`` (cached: a workflow's tasks repeat a few
    resource strings thousands of times); ``_UNREADABLE`` when it is neither."""
    if text in ("", "None", "null"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return _UNREADABLE


def node_list(route: str, value: Any, where: str) -> tuple[int, ...]:
    """Downstream node ids given as null, a list, or a JSON string of a list (or of null)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise mismatch(route, where, "null, a list of ids or its JSON text", value) from None
    if value is None:
        return ()
    if not isinstance(value, list):
        raise mismatch(route, where, "null, a list of ids or its JSON text", value)
    return tuple(strict_int(route, v, f"{where}[{i}]") for i, v in enumerate(value))


def str_list(route: str, value: Any, where: str) -> tuple[str, ...]:
    """A list of strings."""
    if not isinstance(value, list):
        raise mismatch(route, where, "a list of strings", value)
    return tuple(strict_str(route, v, f"{where}[{i}]") for i, v in enumerate(value))
