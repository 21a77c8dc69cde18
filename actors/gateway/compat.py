"""The one place that knows how a real Jobmon 3.4 server differs from ours.

Who uses it: ``actors.gateway`` only (``_http`` for error answers, ``client`` and
``_run_routes`` for shapes and the run-opening steps). Everything that adapts a Jobmon
difference lives here, so the rest of the gateway reads as if every server spoke
docs/server-api.md (the evidence: docs/jobmon-notes.md and tests/fixtures/jobmon):

- error bodies: ours are ``{"detail", "error": {"type", "message", "location"}}``; Jobmon's are
  ``{"error": {"type": "<class '...'>", "exception_message", "status_code"}}`` or, for an
  unknown route, ``{"error": "Route ... not found"}``;
- unknown ids: ours answer 404; Jobmon answers 500 whose ``error.type`` is SQLAlchemy's
  ``NoResultFound`` (retrying cannot help, so it becomes ``NotFound`` at once), and answers 200
  with ``{"workflow": []}``, ``{"cluster": null}`` or ``{"queue": null}`` on its lookup routes;
- deterministic 500s: Jobmon answers 500 ``InvalidStateTransition`` when a route hits an
  illegal transition it does not catch (POST /workflow_run of a workflow stuck in I or O):
  a ``RunRefused`` at once, not retried;
- a 5xx carrying the server's own error answer (either shape above) was raised inside the
  server's transaction, which was rolled back: safe to send again even for a request that must
  not be applied twice (``is_server_error_answer``);
- GET /features: Jobmon answers 404, meaning no long poll (clients poll) and the Jobmon
  ``Dialect``;
- PUT terminate_task_instances: only ``{"workflow_run_id"}`` is promised (older servers send
  ``{}``), so the requested id stands in;
- POST /workflow_run: Jobmon requires ``user``, ``jobmon_version`` and
  ``next_report_increment`` (ours ignores the extra keys), refuses with 200
  ``{"workflow_run_id": null, "err_msg"}`` instead of 409, leaves a new run in L (its client
  then moves it to B) where ours answers B, and resets no task: its client first calls POST
  ``/task/{wf}/set_resume_state`` (``Dialect.resets_tasks_on_create``);
- resumability: ours lists a workflow's runs (GET /workflow/{wf}/status); Jobmon answers GET
  ``/workflow/{wf}/is_resumable`` (``Dialect.lists_runs``);
- a run's status: Jobmon has no route that reads it. ``STATUS_PROBE`` (G) is a transition no
  status allows, so PUT update_status with it changes nothing on either server and answers the
  run's current status (Jobmon logs a refused transition).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from actors.errors import NotFound, ProtocolMismatch, RequestRejected
from actors.gateway import _shapes as s
from actors.gateway.errors import ActiveRunExists, RunRefused
from actors.gateway.parse_admin import parse_workflow_run_created
from actors.gateway.types import Features, TerminateResult, WorkflowRunCreated
from messages.values import RunStatus, WorkflowRunId

__all__ = [
    "JOBMON",
    "JOBMON_FEATURES",
    "OURS",
    "STATUS_PROBE",
    "Dialect",
    "dialect_of",
    "error_detail",
    "is_retryable_failure",
    "is_server_error_answer",
    "is_unknown_id_failure",
    "parse_is_resumable",
    "parse_resume_state",
    "parse_run_created",
    "parse_terminate",
    "rejection",
    "run_needs_bound",
    "unknown_id",
]

#: What a server without GET /features (a Jobmon server) supports beyond Jobmon: nothing.
JOBMON_FEATURES = Features(long_poll=False, server="jobmon", version=None)

#: Class names of Jobmon 500s that retrying cannot change: an unknown id, an illegal transition.
_JOBMON_NO_ROW = "NoResultFound"
_JOBMON_BAD_TRANSITION = "InvalidStateTransition"

#: A run status no transition leads to: "move the run to G" is refused and changes nothing.
STATUS_PROBE = RunStatus.REGISTERED


@attrs.frozen
class Dialect:
    """How a server opens runs and what it can tell about them.

    ``resets_tasks_on_create``: POST /workflow_run resets the unfinished tasks itself (ours);
    otherwise the client resets them first with POST /task/{wf}/set_resume_state (Jobmon).
    ``lists_runs``: GET /workflow/{wf}/status lists the runs (ours); otherwise only GET
    /workflow/{wf}/is_resumable says whether one is alive (Jobmon).
    ``keys_run_creation``: POST /workflow_run takes a ``request_key`` and answers a repeated
    key with the run it created (ours), so the POST is safe to retry.
    """

    name: str
    resets_tasks_on_create: bool
    lists_runs: bool
    keys_run_creation: bool = False


OURS = Dialect("actorswarm", resets_tasks_on_create=True, lists_runs=True,
               keys_run_creation=True)
JOBMON = Dialect("jobmon", resets_tasks_on_create=False, lists_runs=False)


def dialect_of(features: Features) -> Dialect:
    """The dialect of a server from its GET /features answer (Jobmon: the 404 stand-in)."""
    return JOBMON if features == JOBMON_FEATURES else OURS


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


def _jobmon_error_class(status_code: int, body: Any) -> str | None:
    """The class name of a Jobmon 500 (``"<class 'a.b.Name'>"`` -> ``"Name"``), else None."""
    table = _error_table(body)
    if status_code != 500 or table is None or not isinstance(table.get("type"), str):
        return None
    return table["type"].strip("<>").removeprefix("class ").strip("'\"").rsplit(".", 1)[-1]


def is_unknown_id_failure(status_code: int, body: Any) -> bool:
    """True for Jobmon's 500 on an unknown id (a lookup that found no row): not retryable."""
    return _jobmon_error_class(status_code, body) == _JOBMON_NO_ROW


def is_retryable_failure(status_code: int, body: Any) -> bool:
    """True for a 5xx that may pass: not Jobmon's unknown id or illegal transition."""
    return status_code >= 500 and _jobmon_error_class(status_code, body) not in (
        _JOBMON_NO_ROW, _JOBMON_BAD_TRANSITION)


def is_server_error_answer(body: Any) -> bool:
    """True when an error answer is the server application's own (``{"error": {...}}``).

    Both servers build it after the route's transaction failed and was rolled back, so the
    request was not applied. A proxy's 502/504 or an empty body leaves that open.
    """
    return _error_table(body) is not None


def rejection(route: str, status_code: int, body: Any, text: str) -> RequestRejected:
    """The typed error for a non-retryable answer (4xx, or a deterministic Jobmon 500)."""
    detail = error_detail(body, text)
    message = f"{route}: the server answered {status_code}: {detail}"
    if status_code == 404 or is_unknown_id_failure(status_code, body):
        return NotFound(message, status_code=404, detail=detail)
    if _jobmon_error_class(status_code, body) == _JOBMON_BAD_TRANSITION:
        return RunRefused(f"{route}: the server refused a status transition: {detail}",
                          status_code=409, detail=detail)
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


def _refusal(route: str, table: Mapping[str, Any], what: str) -> RunRefused | None:
    """Jobmon's 200 refusal ``{..., "err_msg": "..."}`` as a RunRefused, else None."""
    if "err_msg" not in table:
        return None
    detail = str(table["err_msg"])
    return RunRefused(f"{route}: the server refused {what}: {detail}", status_code=409,
                      detail=detail)


def parse_run_created(route: str, body: Any) -> WorkflowRunCreated:
    """Our ``{"workflow_run_id", "status"}``, or Jobmon's refusal with a null id."""
    table = s.obj(route, body)
    if table.get("workflow_run_id") is None:
        refused = _refusal(route, table, "to create a run")
        if refused is not None:
            raise refused
    return parse_workflow_run_created(route, table)


def parse_resume_state(route: str, body: Any) -> None:
    """Jobmon's POST /task/{wf}/set_resume_state: ``{}``, or a refusal with ``err_msg``."""
    refused = _refusal(route, s.obj(route, body), "to reset the tasks")
    if refused is not None:
        raise refused


def parse_is_resumable(route: str, body: Any) -> bool:
    """Jobmon's GET /workflow/{wf}/is_resumable: ``{"workflow_is_resumable": bool}``."""
    value = s.get(route, s.obj(route, body), "workflow_is_resumable")
    return s.strict_bool(route, value, "workflow_is_resumable")


def run_needs_bound(created: WorkflowRunCreated) -> bool:
    """True when a new run was left in L (Jobmon): the client must move it to B itself."""
    return created.status is RunStatus.LINKING
