"""Static scans of the source tree (``ast``, no imports of the scanned code).

- ``forbidden_imports``: imports of serializers that can run code on load (pickle and kin),
  of ``multiprocessing`` (it pickles whatever crosses its pipes) and of uvicorn's
  multiprocessing-based worker supervisor;
- ``dynamic_sql``: SQL text built from values instead of bound parameters: an f-string, a
  ``%`` or ``+`` of strings with a non-literal, or ``str.format()`` handed to ``text()``,
  ``execute()``, ``exec_driver_sql()``, ``executemany()`` or ``executescript()``.

Each finding is ``(path, line, what)``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

__all__ = ["FORBIDDEN_MODULES", "SQL_CALLS", "dynamic_sql", "forbidden_imports", "python_files"]

FORBIDDEN_MODULES = frozenset({
    "pickle", "cPickle", "_pickle", "cloudpickle", "dill", "marshal", "shelve", "jsonpickle",
    "multiprocessing", "concurrent.futures.process", "uvicorn.supervisors.multiprocess",
})
SQL_CALLS = frozenset({"text", "execute", "exec_driver_sql", "executemany", "executescript"})

Finding = tuple[str, int, str]


def python_files(*roots: Path) -> Iterator[Path]:
    for root in roots:
        yield from sorted(root.rglob("*.py"))


def _forbidden(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in FORBIDDEN_MODULES)


def forbidden_imports(source: str, path: str = "<source>") -> list[Finding]:
    """Imports of ``FORBIDDEN_MODULES`` (also ``from uvicorn.supervisors import Multiprocess``
    and ``importlib.import_module("pickle")``)."""
    out: list[Finding] = []
    for node in ast.walk(ast.parse(source, path)):
        if isinstance(node, ast.Import):
            out += [(path, node.lineno, f"import {a.name}") for a in node.names
                    if _forbidden(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{a.name}" for a in node.names]
            if _forbidden(node.module) or any(_forbidden(n) for n in names) or (
                    node.module == "uvicorn.supervisors"
                    and any(a.name == "Multiprocess" for a in node.names)):
                out.append((path, node.lineno, f"from {node.module} import ..."))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and _call_name(node) in (
                    "import_module", "__import__") and _forbidden(node.args[0].value):
            out.append((path, node.lineno, f"dynamic import of {node.args[0].value}"))
    return sorted(out)


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _built_from_values(node: ast.expr) -> str | None:
    """Why ``node`` is a string built from values, or None."""
    if isinstance(node, ast.JoinedStr) and any(isinstance(v, ast.FormattedValue)
                                               for v in node.values):
        return "an f-string"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and \
            isinstance(node.left, (ast.Constant, ast.JoinedStr)):
        return "%-formatting"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        parts = (node.left, node.right)
        if any(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in parts) and \
                not all(isinstance(p, ast.Constant) for p in parts):
            return "string concatenation"
        return _built_from_values(node.left) or _built_from_values(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            node.func.attr == "format" and isinstance(node.func.value, ast.Constant):
        return "str.format()"  # (psycopg's sql.SQL(...).format() composes safely)
    return None


def dynamic_sql(source: str, path: str = "<source>") -> list[Finding]:
    """Calls of ``SQL_CALLS`` whose SQL argument is built from values."""
    out: list[Finding] = []
    for node in ast.walk(ast.parse(source, path)):
        if isinstance(node, ast.Call) and _call_name(node) in SQL_CALLS and node.args:
            why = _built_from_values(node.args[0])
            if why is not None:
                out.append((path, node.lineno, f"{_call_name(node)}() of {why}"))
    return sorted(out)
