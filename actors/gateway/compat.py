"""The one place that knows how a real Jobmon 3.4 server differs from ours.

Who uses it: ``actors.gateway`` only (``_http`` for error answers, ``client`` for shapes).
Everything that adapts a Jobmon difference lives here, so the rest of the gateway reads as if
every server spoke docs/server-api.md:

- error bodies: ours are ``{"detail", "error": {"type", "message", "location"}}``; Jobmon's are
  ``{"error": {"type": "<class '...'>", "exception_message", "status_code"}}`` or, for an
  unknown route, ``{"error": "Route ... not found"}``;
- unknown ids: ours answer 404; Jobmon answers 500 whose ``error.type`` is SQLAlchemy's
  ``NoResultFound`` (retrying cannot help, so it becomes ``NotFound`` at once), and answers 200
  with ``{"workflow": []}``, ``{"cluster": null}`` or ``{"queue": null}`` on its lookup routes;
- GET /features: Jobmon answers 404, meaning no long poll (clients poll);
- PUT terminate_task_instances: only ``{"workflow_run_id"}`` is promised (older servers send
  ``{}``), so the requested id stands in;
- POST /workflow_run: Jobmon requires ``user``, ``jobmon_version`` and
  ``next_report_increment`` (ours ignores the extra key), refuses with 200
  ``{"workflow_run_id": null, "err_msg"}`` instead of 409, and leaves a new run in L (its
  client then moves it to B), where ours answers B.
"""

from __future__ import annotations

from typing import Any

from actors.errors import NotFound, ProtocolMismatch, RequestRejected
from actors.gateway import _shapes as s
from actors.gateway.errors import ActiveRunExists
from actors.gateway.parse_admin import parse_workflow_run_created
from actors.gateway.types import Features, TerminateResult, WorkflowRunCreated
from messages.values import RunStatus, WorkflowRunId

__all__ = [
    "JOBMON_FEATURES",
    "error_detail",
    "is_unknown_id_failure",
    "parse_run_created",
    "parse_terminate",
    "rejection",
    "run_needs_bound",
    "unknown_id",
]

#: What a server without GET /features (a Jobmon server) supports beyond Jobmon: nothing.
JOBMON_FEATURES = Features(long_poll=False, server="jobmon", version=None)

#: Class name Jobmon reports (``str(type(exc))``) when a route looked up an id that is not there.
_JOBMON_NO_ROW = "NoResultFound"


def _error_table(body: Any) -> dict[str, Any] | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    return None


def error_detail(body: Any, text: str) -> str:
    """The server's one-sentence reason from an error answer (ours or Jobmon's)."""
    if isinstance(body, dict):
        if isinstance(body.get("detail"), str):
            return body["detail"]
        if isinstance(body.get("detail"), list):  # FastAPI's own validation errors
            return "; ".join(str(item.get("msg", item)) if isinstance(item, dict) else str(item)
                             for item in body["detail"])
        if isinstance(body.get("error"), str):
            return body["error"]
        table = _error_table(body)
        if table is not None:
            for key in ("message", "exception_message"):
                if isinstance(table.get(key), str):
                    return table[key]
    return text.strip()[:500]


def is_unknown_id_failure(status_code: int, body: Any) -> bool:
    """True for Jobmon's 500 on an unknown id (a lookup that found no row): not retryable."""
    table = _error_table(body)
    if status_code != 500 or table is None or not isinstance(table.get("type"), str):
        return False
    # The type is "<class 'sqlalchemy.exc.NoResultFound'>": compare the class name only.
    class_name = table["type"].strip("<>").removeprefix("class ").strip("'\"").rsplit(".", 1)[-1]
    return class_name == _JOBMON_NO_ROW


def rejection(route: str, status_code: int, body: Any, text: str) -> RequestRejected:
    """The typed error for a non-retryable answer (4xx, or Jobmon's unknown-id 500)."""
    detail = error_detail(body, text)
    message = f"{route}: the server answered {status_code}: {detail}"
    if status_code == 404 or is_unknown_id_failure(status_code, body):
        return NotFound(message, status_code=404, detail=detail)
    if status_code == 409:
        table = _error_table(body) or {}
        active = table.get("active_workflow_run_id")
        status = table.get("status")
        if isinstance(active, int) and not isinstance(active, bool):
            return ActiveRunExists(message, detail=detail, active_workflow_run_id=active,
                                   status=status if isinstance(status, str) else None)
    return RequestRejected(message, status_code=status_code, detail=detail)


def unknown_id(route: str, what: str) -> NotFound:
    """NotFound for a lookup route that answered 200 with an empty value (Jobmon's way)."""
    detail = f"unknown {what}"
    return NotFound(f"{route}: {detail}", status_code=404, detail=detail)


def parse_terminate(route: str, workflow_run_id: int, body: Any) -> TerminateResult:
    """Our ``{"workflow_run_id", ...}`` or Jobmon's (possibly empty) object."""
    table = s.obj(route, body)
    answered = table.get("workflow_run_id", workflow_run_id)
    value = s.strict_int(route, answered, "workflow_run_id")
    if value != workflow_run_id:
        raise ProtocolMismatch(f"{route}: answer field workflow_run_id: expected "
                               f"{workflow_run_id}, got {value}")
    return TerminateResult(workflow_run_id=WorkflowRunId(value))


def parse_run_created(route: str, body: Any) -> WorkflowRunCreated:
    """Our ``{"workflow_run_id", "status"}``, or Jobmon's refusal with a null id."""
    table = s.obj(route, body)
    if table.get("workflow_run_id") is None and "err_msg" in table:
        detail = str(table["err_msg"])
        raise RequestRejected(f"{route}: the server refused to create a run: {detail}",
                              status_code=409, detail=detail)
    return parse_workflow_run_created(route, table)


def run_needs_bound(created: WorkflowRunCreated) -> bool:
    """True when a new run was left in L (Jobmon): the client must move it to B itself."""
    return created.status is RunStatus.LINKING
