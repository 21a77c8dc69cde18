"""Gateway-specific error classes (all inside the tree of ``actors.errors``).

::

    GatewayError
    ├── ServerUnavailable          connection errors, timeouts, 5xx, 423 after the retry budget
    ├── RequestRejected            any other 4xx (never retried): status_code, detail
    │   ├── NotFound               404, or a Jobmon server's 500 for an unknown id
    │   └── ActiveRunExists        409 from POST /workflow_run: another run is still active
    └── ProtocolMismatch           the answer does not have the shape the route promises
"""

from __future__ import annotations

from actors.errors import RequestRejected

__all__ = ["ActiveRunExists"]


class ActiveRunExists(RequestRejected):
    """POST /workflow_run answered 409: ``active_workflow_run_id`` (status ``status``) is active.

    The caller resumes it (``set_resume``) and waits for it to reach T before creating a run.
    """

    def __init__(self, message: str, *, detail: str, active_workflow_run_id: int | None,
                 status: str | None) -> None:
        self.active_workflow_run_id = active_workflow_run_id
        self.status = status
        super().__init__(message, status_code=409, detail=detail)
