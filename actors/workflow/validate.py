"""Turn a raw workflow document into a validated ``WorkflowDefinition``. Pure; no I/O.

Who uses it: the TOML loader (``actors.workflow.toml_format``) with the parsed file, and the
Python API (``actors.workflow.api``) with the same document shape built from its objects, so
both produce equal definitions. The document shape is the TOML format of issue 4::

    {"workflow": {"name", "max_concurrently_running"?, "default_max_attempts"?,
                  "default_resources"?, "workflow_args"?},
     "arrays"?: {"<name>": {"max_concurrently_running"?}},
     "tasks": [{"name", "command", "array"?, "upstream"?, "max_attempts"?, "resources"?,
                "resource_scales"?, "fallback_queues"?}, ...]}

Every problem raises ``WorkflowFileError`` naming the file (``path``), the task and the field.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from actors.errors import WorkflowFileError
from actors.resources import ResourceError, parse_cores, parse_memory, parse_runtime, parse_scales
from actors.workflow.graph import find_cycle
from actors.workflow.model import (
    BUILTIN_MAX_ATTEMPTS,
    BUILTIN_MAX_CONCURRENTLY_RUNNING,
    DEFAULT_ARRAY,
    ArrayDefinition,
    ResourceFn,
    Resources,
    Scalar,
    TaskDefinition,
    WorkflowDefinition,
)

__all__ = ["MAX_ATTEMPTS", "MAX_COMMAND_LENGTH", "MAX_INT", "MAX_NAME_LENGTH",
           "build_definition", "derive_workflow_args", "parse_resources"]

#: Longest task, array or workflow name accepted (a database column bound).
MAX_NAME_LENGTH = 255
#: Largest count or limit (the state server's columns are 32-bit integers).
MAX_INT = 2**31 - 1
#: Most attempts a task may have (the state server's bound, docs/server-api.md section 3).
MAX_ATTEMPTS = 1000
#: Longest command: the server's 1,000,000 characters, less room for the ``cd`` into the
#: workflow's directory that binding puts in front of it.
MAX_COMMAND_LENGTH = 1_000_000 - 8192

_TOP_KEYS = ("arrays", "tasks", "workflow")
_WORKFLOW_KEYS = ("default_max_attempts", "default_resources", "max_concurrently_running",
                  "name", "workflow_args")
_ARRAY_KEYS = ("max_concurrently_running",)
_TASK_KEYS = ("array", "command", "fallback_queues", "max_attempts", "name", "resource_scales",
              "resources", "upstream")


class _Checker:
    """Type checks that raise ``WorkflowFileError`` located in ``path``."""

    def __init__(self, path: str | None) -> None:
        self.path = path

    def fail(self, message: str, task: str | None = None,
             field: str | None = None) -> WorkflowFileError:
        return WorkflowFileError(message, path=self.path, task=task, field=field)

    def keys(self, table: Mapping[str, Any], allowed: tuple[str, ...], task: str | None,
             where: str) -> None:
        for key in table:
            if key not in allowed:
                near = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise self.fail(f"unknown key {key!r} (allowed: {', '.join(allowed)}){hint}",
                                task, f"{where}.{key}" if where else str(key))

    def table(self, value: Any, task: str | None, field: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(f"expected a table, got {_kind(value)}", task, field)
        return value

    def name(self, value: Any, task: str | None, field: str) -> str:
        if not isinstance(value, str):
            raise self.fail(f"expected a string, got {_kind(value)}", task, field)
        if not value or value != value.strip():
            raise self.fail(f"must be non-empty without leading or trailing spaces, got "
                            f"{value!r}", task, field)
        if len(value) > MAX_NAME_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise self.fail(f"must be at most {MAX_NAME_LENGTH} printable characters, got "
                            f"{value[:40]!r}", task, field)
        return value

    def integer(self, value: Any, task: str | None, field: str, minimum: int,
                maximum: int = MAX_INT) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"expected an integer, got {_kind(value)}", task, field)
        if value < minimum:
            raise self.fail(f"must be at least {minimum}, got {value}", task, field)
        if value > maximum:
            raise self.fail(f"must be at most {maximum}, got {value}", task, field)
        return value

    def text(self, value: Any, task: str | None, field: str, maximum: int) -> str:
        """A non-blank string without NUL of at most ``maximum`` characters."""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"expected a non-empty string, got {_kind(value)}", task, field)
        if "\x00" in value:
            raise self.fail("must not contain NUL (\\x00) characters", task, field)
        if len(value) > maximum:
            raise self.fail(f"must be at most {maximum} characters, got {len(value)}", task,
                            field)
        return value

    def names(self, value: Any, task: str | None, field: str) -> tuple[str, ...]:
        if not isinstance(value, (list, tuple)):
            raise self.fail(f"expected a list of names, got {_kind(value)}", task, field)
        result = tuple(self.name(v, task, f"{field}[{i}]") for i, v in enumerate(value))
        for i, item in enumerate(result):
            if item in result[:i]:
                raise self.fail(f"{item!r} is listed twice", task, f"{field}[{i}]")
        return result

    def resources(self, value: Any, task: str | None, field: str) -> Resources:
        table = self.table(value, task, field)
        values: dict[str, Any] = {}
        extra: list[tuple[str, Scalar]] = []
        parsers = {"memory": parse_memory, "runtime": parse_runtime, "cores": parse_cores}
        for key, raw in table.items():
            where = f"{field}.{key}"
            if raw is None:
                continue
            if key in parsers:
                try:
                    values[key] = parsers[key](raw)
                except ResourceError as exc:
                    raise self.fail(f"invalid {key}: {exc.problem} (got {raw!r})", task,
                                    where) from exc
            elif key == "queue":
                values["queue"] = self.name(raw, task, where)
            elif isinstance(raw, (str, bool, int)) or (isinstance(raw, float)
                                                        and math.isfinite(raw)):
                extra.append((self.name(key, task, where), raw))
            else:
                raise self.fail(f"backend-specific resources must be strings, numbers or "
                                f"booleans, got {_kind(raw)}", task, where)
        return Resources(extra=tuple(sorted(extra)), **values)

    def scales(self, value: Any, task: str | None, field: str) -> tuple[tuple[str, float], ...]:
        table = self.table(value, task, field)
        try:
            return parse_scales(table)
        except ResourceError as exc:
            raise self.fail(f"{exc.problem} (got {exc.value!r})", task,
                            f"{field}{exc.field.removeprefix('resource_scales')}") from exc


def parse_resources(value: Any, *, path: str | None, task: str | None,
                    field: str) -> Resources:
    """A resources table (``{"memory": "8G", ...}``) as ``Resources``; WorkflowFileError if bad."""
    return _Checker(path).resources(value, task, field)


def _kind(value: Any) -> str:
    """A value's TOML-ish type name for error messages."""
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
             list: "an array", tuple: "an array", dict: "a table", type(None): "nothing"}
    return names.get(type(value), f"a {type(value).__name__}")


def _task(check: _Checker, raw: Any, index: int,
          resource_fns: Mapping[str, ResourceFn]) -> TaskDefinition:
    label = f"#{index + 1}"
    table = check.table(raw, label, f"tasks[{index}]")
    if "name" not in table:
        raise check.fail("a task needs a name", label, "name")
    name = check.name(table["name"], label, "name")
    check.keys(table, _TASK_KEYS, name, "")
    if "command" not in table:
        raise check.fail("a task needs a command", name, "command")
    command = check.text(table["command"], name, "command", MAX_COMMAND_LENGTH)
    return TaskDefinition(
        name=name,
        command=command,
        upstream=check.names(table.get("upstream", ()), name, "upstream"),
        array=check.name(table.get("array", DEFAULT_ARRAY), name, "array"),
        max_attempts=(None if table.get("max_attempts") is None
                      else check.integer(table["max_attempts"], name, "max_attempts", 1,
                                         MAX_ATTEMPTS)),
        resources=check.resources(table.get("resources", {}), name, "resources"),
        resource_scales=(None if table.get("resource_scales") is None
                         else check.scales(table["resource_scales"], name, "resource_scales")),
        fallback_queues=check.names(table.get("fallback_queues", ()), name, "fallback_queues"),
        resource_fn=resource_fns.get(name),
    )


def _arrays(check: _Checker, raw: Any) -> dict[str, ArrayDefinition]:
    result: dict[str, ArrayDefinition] = {}
    for key, value in check.table(raw, None, "arrays").items():
        name = check.name(key, None, "arrays")
        table = check.table(value, None, f"arrays.{name}")
        check.keys(table, _ARRAY_KEYS, None, f"arrays.{name}")
        limit = table.get("max_concurrently_running")
        result[name] = ArrayDefinition(name, None if limit is None else check.integer(
            limit, None, f"arrays.{name}.max_concurrently_running", 0))
    return result


def _check_graph(check: _Checker, tasks: list[TaskDefinition],
                 arrays: Mapping[str, ArrayDefinition]) -> None:
    seen: set[str] = set()
    for t in tasks:
        if t.name in seen:
            raise check.fail("a task with this name is already defined", t.name, "name")
        seen.add(t.name)
    for t in tasks:
        for i, up in enumerate(t.upstream):
            if up not in seen:
                raise check.fail(f"unknown upstream task {up!r}", t.name, f"upstream[{i}]")
        if t.array not in arrays and t.array != DEFAULT_ARRAY:
            known = ", ".join(sorted(set(arrays) | {DEFAULT_ARRAY}))
            raise check.fail(f"unknown array {t.array!r} (declared: {known})", t.name, "array")
    cycle = find_cycle({t.name: t.upstream for t in tasks})
    if cycle is not None:
        # find_cycle lists dependents first; show it in execution order (upstream first).
        shown = " -> ".join(reversed(cycle))
        raise check.fail(f"the upstream links form a cycle: {shown}", cycle[0], "upstream")


def derive_workflow_args(name: str, directory: str, tasks: tuple[TaskDefinition, ...]) -> str:
    """A stable identity of the DAG: name, directory, and each task's command and links.

    Limits, attempts and resources are left out, so changing them and running again resumes
    the same workflow; a different command or edge makes a new workflow.
    """
    canonical = json.dumps({
        "name": name, "directory": directory,
        "tasks": sorted([t.name, t.command, t.array, sorted(t.upstream)] for t in tasks),
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "actorswarm-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def build_definition(raw: Mapping[str, Any], *, path: str | None, directory: str,
                     resource_fns: Mapping[str, ResourceFn] | None = None) -> WorkflowDefinition:
    """Validate ``raw`` (see the module docstring) into a definition; commands run in
    ``directory``. ``resource_fns`` attaches Python callables to tasks by name."""
    check = _Checker(path)
    doc = check.table(raw, None, "document")
    check.keys(doc, _TOP_KEYS, None, "")
    if "workflow" not in doc:
        raise check.fail("the [workflow] table is missing", None, "workflow")
    wf = check.table(doc["workflow"], None, "workflow")
    check.keys(wf, _WORKFLOW_KEYS, None, "workflow")
    if "name" not in wf:
        raise check.fail("a workflow needs a name", None, "workflow.name")
    name = check.name(wf["name"], None, "workflow.name")
    arrays = _arrays(check, doc.get("arrays", {}))
    raw_tasks = doc.get("tasks")
    if not isinstance(raw_tasks, (list, tuple)) or not raw_tasks:
        raise check.fail("expected a non-empty array of [[tasks]] tables", None, "tasks")
    tasks = [_task(check, t, i, resource_fns or {}) for i, t in enumerate(raw_tasks)]
    _check_graph(check, tasks, arrays)
    for fn_name in resource_fns or {}:
        if not any(t.name == fn_name for t in tasks):
            raise check.fail("a resource function is given for an unknown task", fn_name,
                             "resource_fn")
    used = {t.array for t in tasks}
    if DEFAULT_ARRAY in used and DEFAULT_ARRAY not in arrays:
        arrays[DEFAULT_ARRAY] = ArrayDefinition(DEFAULT_ARRAY)
    task_tuple = tuple(tasks)
    args = wf.get("workflow_args")
    if args is not None:
        args = check.text(args, None, "workflow.workflow_args", 100_000)
    return WorkflowDefinition(
        name=name,
        directory=directory,
        workflow_args=(derive_workflow_args(name, directory, task_tuple) if args is None
                       else args),
        tasks=task_tuple,
        arrays=tuple(arrays[k] for k in sorted(arrays)),
        max_concurrently_running=check.integer(
            wf.get("max_concurrently_running", BUILTIN_MAX_CONCURRENTLY_RUNNING), None,
            "workflow.max_concurrently_running", 0),
        default_max_attempts=check.integer(
            wf.get("default_max_attempts", BUILTIN_MAX_ATTEMPTS), None,
            "workflow.default_max_attempts", 1, MAX_ATTEMPTS),
        default_resources=check.resources(wf.get("default_resources", {}), None,
                                          "workflow.default_resources"),
        source=path,
    )
