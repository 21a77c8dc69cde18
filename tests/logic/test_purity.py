"""The pure-logic modules stay pure (no pykka, httpx, sockets, threads, clocks, logging) and
export exactly their public names."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

PURE = [
    "actors.resources",
    "actors.orchestrator.state",
    "actors.orchestrator.values",
    "actors.orchestrator.logic",
    "actors.orchestrator.rows",
    "actors.scheduler.planner",
    "actors.heartbeat.logic",
    "actors.synchronizer.logic",
]
FORBIDDEN = {"pykka", "httpx", "socket", "threading", "time", "logging", "asyncio",
             "subprocess", "os", "selectors", "multiprocessing", "random", "pickle",
             "datetime"}
ACTOR_PACKAGES = {"orchestrator", "scheduler", "heartbeat", "synchronizer"}


def imports_of(module: str) -> set[str]:
    """Top-level module names imported by ``module``'s source (any nesting level)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def closure(module: str) -> set[str]:
    """``module`` and every project module it imports, transitively."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for imported in imports_of(name):
            if imported.split(".")[0] in ("actors", "messages") and \
                    importlib.util.find_spec(imported) is not None:
                todo.append(imported)
        parts = name.split(".")
        for i in range(1, len(parts)):  # packages run their __init__ on import
            seen.add(".".join(parts[:i]))
    return seen


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_no_io_and_no_other_actor(module: str) -> None:
    own = module.split(".")[1] if module.count(".") > 1 else None
    for name in closure(module):
        for imported in imports_of(name) if importlib.util.find_spec(name) else ():
            root = imported.split(".")[0]
            assert root not in FORBIDDEN, f"{name} imports {imported}"
            parts = imported.split(".")
            if parts[0] == "actors" and len(parts) > 1 and parts[1] in ACTOR_PACKAGES \
                    and name == module:
                assert parts[1] == own, f"{module} imports another actor: {imported}"


@pytest.mark.parametrize("module", PURE)
def test_all_lists_exactly_the_public_names(module: str) -> None:
    mod = importlib.import_module(module)
    exported = set(mod.__all__)
    assert len(exported) == len(mod.__all__)
    assert all(hasattr(mod, name) for name in exported)
    public = {name for name, value in vars(mod).items()
              if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
              and getattr(value, "__module__", None) == module}
    assert public <= exported, f"not in __all__: {sorted(public - exported)}"
