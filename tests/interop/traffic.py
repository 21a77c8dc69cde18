"""Record swarm HTTP exchanges with a server and store them as JSON fixtures, one file per route.

Who uses it: ``record_traffic.py`` (which drives the real Jobmon server) writes
``tests/fixtures/jobmon/<key>.json``; tests of our server, gateway and swarm read them with
``load_fixtures``. A fixture file is::

    {"key": "fetch_workflow_metadata", "method": "GET",
     "route": "/workflow/{workflow_id}/fetch_workflow_metadata",
     "recorded_with": "...", "examples": [
        {"case": "...", "cluster": "sequential"|"multiprocess"|null,
         "method": "GET", "route": "/workflow/3/fetch_workflow_metadata",
         "query": {"client_jobmon_version": "3.6.0"}, "body": null,
         "response": {...}, "status_code": 200}, ...]}

Values are kept as the server sent them (ids, times, types). Only strings that would leak this
machine (the server's host:port, temporary directories, the home directory) are replaced by
placeholders: ``127.0.0.1:PORT``, ``{tmp}``, ``{home}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import httpx

from actors.errors import ActorswarmError

__all__ = [
    "CLIENT_VERSION",
    "ROUTES",
    "Exchange",
    "Recorder",
    "RecordingError",
    "Sanitizer",
    "load_fixtures",
    "write_fixtures",
]

CLIENT_VERSION = "3.6.0"
RECORDED_WITH = ("jobmon-server 3.4.8.dev3 on SQLite (jobmon-core 3.4.8 distributor), "
                 "recorded by tests/interop/record_traffic.py")

# fixture key -> (method, route template); the swarm's routes plus the ones resume needs
ROUTES: Mapping[str, tuple[str, str]] = {
    "time": ("GET", "/time"),
    "health": ("GET", "/health"),
    "fetch_workflow_metadata": ("GET", "/workflow/{workflow_id}/fetch_workflow_metadata"),
    "get_tasks": ("GET", "/workflow/get_tasks/{workflow_id}"),
    "get_downstream_tasks": ("POST", "/task/get_downstream_tasks"),
    "cluster": ("GET", "/cluster/{cluster_name}"),
    "queue": ("GET", "/cluster/{cluster_id}/queue/{queue_name}"),
    "bind_resources": ("POST", "/task/bind_resources"),
    "create_workflow_run": ("POST", "/workflow_run"),
    "log_heartbeat": ("POST", "/workflow_run/{workflow_run_id}/log_heartbeat"),
    "update_status": ("PUT", "/workflow_run/{workflow_run_id}/update_status"),
    "set_status_for_triaging": ("POST", "/workflow_run/{workflow_run_id}/set_status_for_triaging"),
    "task_status_updates": ("POST", "/workflow/{workflow_id}/task_status_updates"),
    "get_max_concurrently_running": ("GET", "/workflow/{workflow_id}/get_max_concurrently_running"),
    "get_array_max_concurrently_running": (
        "GET", "/array/{array_id}/get_array_max_concurrently_running"),
    "queue_task_batch": ("POST", "/array/{array_id}/queue_task_batch"),
    "terminate_task_instances": ("PUT", "/workflow_run/{workflow_run_id}/terminate_task_instances"),
    "set_resume": ("POST", "/workflow/{workflow_id}/set_resume"),
    "is_resumable": ("GET", "/workflow/{workflow_id}/is_resumable"),
    "set_resume_state": ("POST", "/task/{workflow_id}/set_resume_state"),
    "update_max_concurrently_running": (
        "PUT", "/workflow/{workflow_id}/update_max_concurrently_running"),
    "unknown_route": ("GET", "/{anything}"),
    # distributor / worker routes, recorded for the triage-timing case
    "instantiate_task_instances": ("POST", "/task_instance/instantiate_task_instances"),
    "log_distributor_id": ("POST", "/task_instance/{task_instance_id}/log_distributor_id"),
    "log_running": ("POST", "/task_instance/{task_instance_id}/log_running"),
    "sync_status": ("POST", "/workflow_run/{workflow_run_id}/sync_status"),
}


class RecordingError(ActorswarmError):
    """The recorded server did not answer as the recording scenario needs (names the step)."""


@attrs.frozen
class Exchange:
    """One request and its answer, as stored in a fixture's ``examples`` list."""

    key: str
    case: str
    cluster: str | None
    method: str
    route: str
    query: Mapping[str, Any]
    body: Any
    response: Any
    status_code: int

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case, "cluster": self.cluster, "method": self.method,
                "route": self.route, "query": dict(self.query), "body": self.body,
                "response": self.response, "status_code": self.status_code}


@attrs.frozen
class Sanitizer:
    """Replaces machine-specific substrings in every string of a JSON value."""

    replacements: tuple[tuple[str, str], ...] = ()

    def clean(self, value: Any) -> Any:
        if isinstance(value, str):
            value = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", value)
            for old, new in self.replacements:
                if old:
                    value = value.replace(old, new)
            return value
        if isinstance(value, list):
            return [self.clean(item) for item in value]
        if isinstance(value, dict):
            return {self.clean(k): self.clean(v) for k, v in value.items()}
        return value


class Recorder:
    """Sends swarm requests to ``base_url`` and keeps every exchange, in order."""

    def __init__(self, base_url: str, sanitizer: Sanitizer = Sanitizer(),
                 transport: httpx.BaseTransport | None = None) -> None:
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=30,
                                    transport=transport)
        self._sanitizer = sanitizer
        self.exchanges: list[Exchange] = []
        self.case = "unnamed"
        self.cluster: str | None = None
        self.resets_after_error: list[int] = []

    def call(self, key: str, path: str, body: Any = None, query: Mapping[str, Any] | None = None,
             *, method: str | None = None) -> tuple[int, Any]:
        """Send one request (method from ``ROUTES[key]`` unless given); record and return it."""
        method = method or ROUTES[key][0]
        params = {"client_jobmon_version": CLIENT_VERSION, **(query or {})}
        content = None if method == "GET" else json.dumps(body if body is not None else {})
        try:
            resp = self._client.request(method, path, params=params, content=content,
                                        headers={"Content-Type": "application/json"})
        except httpx.TransportError:
            # Jobmon 3.4 drops the keep-alive connection after an error its generic handler
            # answered (400 InvalidUsage, 500): the next request on it is reset before the
            # server reads it. Send it once more, on a new connection.
            if not self.exchanges or self.exchanges[-1].status_code < 400:
                raise
            self.resets_after_error.append(self.exchanges[-1].status_code)
            resp = self._client.request(method, path, params=params, content=content,
                                        headers={"Content-Type": "application/json"})
        try:
            payload = resp.json()
        except ValueError:
            payload = resp.text
        self.exchanges.append(Exchange(
            key=key, case=self.case, cluster=self.cluster, method=method, route=path,
            query=self._sanitizer.clean({k: v for k, v in params.items()}),
            body=self._sanitizer.clean(None if method == "GET" else (body if body is not None
                                                                    else {})),
            response=self._sanitizer.clean(payload), status_code=resp.status_code))
        return resp.status_code, payload

    def ok(self, key: str, path: str, body: Any = None,
           query: Mapping[str, Any] | None = None) -> Any:
        """``call`` that insists on 200 and returns only the JSON."""
        code, payload = self.call(key, path, body, query)
        if code != 200:
            raise RecordingError(f"{ROUTES[key][0]} {path} answered {code}: {payload!r}")
        return payload

    def close(self) -> None:
        self._client.close()


def write_fixtures(exchanges: list[Exchange], out_dir: Path) -> list[Path]:
    """Group ``exchanges`` by key and write one JSON file per route; returns the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    grouped: dict[str, list[Exchange]] = {}
    for exchange in exchanges:
        grouped.setdefault(exchange.key, []).append(exchange)
    written = []
    for key, items in sorted(grouped.items()):
        method, route = ROUTES[key]
        doc = {"key": key, "method": method, "route": route, "recorded_with": RECORDED_WITH,
               "examples": [item.to_json() for item in items]}
        path = out_dir / f"{key}.json"
        path.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def load_fixtures(directory: Path) -> Iterator[dict[str, Any]]:
    """Yield every route fixture document in ``directory`` (sorted by file name)."""
    for path in sorted(directory.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and "examples" in doc:
            yield doc
