"""Shapes of the distributor routes (``docs/server-api.md`` section 5), checked (pure; no I/O).

``parse_*`` turn the server's JSON answers into typed values and raise ``ProtocolMismatch``
naming the route and the field when an answer has another shape. ``*_body`` build requests.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from actors.distributor.backend import DistributorId, LaunchRequest, Outcome
from actors.distributor.errors import ResourceSpecError
from actors.distributor.resources import parse_resources
from actors.errors import ProtocolMismatch
from messages.values import RunStatus, TaskInstanceId

__all__ = [
    "ClaimAnswer",
    "HeartbeatAnswer",
    "Unlaunchable",
    "launched_body",
    "parse_claim",
    "parse_heartbeat",
    "parse_status_map",
    "results_body",
]


@attrs.frozen
class Unlaunchable:
    """A claimed instance that cannot be launched (malformed resources); ``reason`` says why."""

    task_instance_id: TaskInstanceId
    reason: str


@attrs.frozen
class ClaimAnswer:
    """Answer of POST ``/distributor/{wfr}/claim``."""

    run_status: RunStatus
    requests: tuple[LaunchRequest, ...]
    unlaunchable: tuple[Unlaunchable, ...] = ()


@attrs.frozen
class HeartbeatAnswer:
    """Answer of POST ``/distributor/{wfr}/heartbeat``."""

    run_status: RunStatus
    kill_self: tuple[TaskInstanceId, ...]
    triaging: tuple[TaskInstanceId, ...]


def _field(route: str, obj: Any, key: str, types: type | tuple[type, ...]) -> Any:
    if not isinstance(obj, Mapping) or key not in obj:
        raise ProtocolMismatch(f"{route}: answer lacks {key!r}: {str(obj)[:200]}")
    value = obj[key]
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise ProtocolMismatch(f"{route}: {key!r} has type bool: {value!r}")
    if not isinstance(value, types):
        raise ProtocolMismatch(f"{route}: {key!r} has type {type(value).__name__}: {value!r}")
    return value


def _run_status(route: str, answer: Any) -> RunStatus:
    value = _field(route, answer, "run_status", str)
    try:
        return RunStatus(value)
    except ValueError as exc:
        raise ProtocolMismatch(f"{route}: unknown run_status {value!r}") from exc


def _ids(route: str, answer: Any, key: str) -> tuple[TaskInstanceId, ...]:
    values = _field(route, answer, key, list)
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProtocolMismatch(f"{route}: {key!r} holds a non-integer id {value!r}")
    return tuple(TaskInstanceId(v) for v in values)


def _request(route: str, item: Any) -> LaunchRequest | Unlaunchable:
    ti = TaskInstanceId(_field(route, item, "task_instance_id", int))
    where = f"{route}: task instance {ti}"
    requested = item.get("requested_resources") or {}
    if isinstance(requested, str):
        try:
            requested = json.loads(requested)
        except ValueError:
            return Unlaunchable(ti, f"requested_resources is not JSON: {requested[:100]!r}")
    if not isinstance(requested, Mapping):
        return Unlaunchable(ti, f"requested_resources is not an object: {requested!r}")
    try:
        resources = parse_resources(requested)
    except ResourceSpecError as exc:
        return Unlaunchable(ti, str(exc))
    array_id = item.get("array_id")
    if array_id is not None and (isinstance(array_id, bool) or not isinstance(array_id, int)):
        raise ProtocolMismatch(f"{where}: 'array_id' is not an integer: {array_id!r}")
    queue = item.get("queue_name")
    return LaunchRequest(
        task_instance_id=ti,
        task_id=_field(where, item, "task_id", int),
        array_id=array_id,
        name=_field(where, item, "name", str),
        command=_field(where, item, "command", str),
        attempt=_field(where, item, "attempt", int),
        queue_name=queue if isinstance(queue, str) else None,
        memory_gib=resources.memory_gib,
        cores=resources.cores,
        runtime_s=resources.runtime_s,
    )


def parse_claim(answer: Any) -> ClaimAnswer:
    """Check and type the answer of the claim route."""
    route = "POST /distributor/{wfr}/claim"
    status = _run_status(route, answer)
    requests: list[LaunchRequest] = []
    unlaunchable: list[Unlaunchable] = []
    for item in _field(route, answer, "task_instances", list):
        parsed = _request(route, item)
        if isinstance(parsed, LaunchRequest):
            requests.append(parsed)
        else:
            unlaunchable.append(parsed)
    return ClaimAnswer(status, tuple(requests), tuple(unlaunchable))


def parse_heartbeat(answer: Any) -> HeartbeatAnswer:
    """Check and type the answer of the distributor heartbeat route."""
    route = "POST /distributor/{wfr}/heartbeat"
    return HeartbeatAnswer(_run_status(route, answer), _ids(route, answer, "kill_self"),
                           _ids(route, answer, "triaging"))


def parse_status_map(route: str, answer: Any) -> dict[TaskInstanceId, str]:
    """``{"task_instances": {"<id>": status}}`` → id → status letter."""
    raw = _field(route, answer, "task_instances", Mapping)
    try:
        return {TaskInstanceId(int(k)): str(v) for k, v in raw.items()}
    except ValueError as exc:
        raise ProtocolMismatch(f"{route}: non-integer task instance id in {raw!r}") from exc


def launched_body(pairs: Sequence[tuple[TaskInstanceId, DistributorId | None]],
                  next_report_increment: float) -> dict[str, Any]:
    """Body of POST ``/distributor/{wfr}/launched``."""
    return {"task_instances": [[int(ti), did] for ti, did in pairs],
            "next_report_increment": next_report_increment}


def results_body(outcomes: Iterable[Outcome]) -> dict[str, Any]:
    """Body of POST ``/distributor/{wfr}/results`` (order kept: R before D for one instance)."""
    return {"results": [
        {"task_instance_id": int(o.task_instance_id), "status": o.status.value,
         "error_message": o.error_message, "exit_code": o.exit_code}
        for o in outcomes]}

