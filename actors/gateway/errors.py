"""Gateway-specific error classes (all inside the tree of ``actors.errors``).

::

    GatewayError
    ├── ServerUnavailable          connection errors, timeouts, 5xx, 423 after the retry budget
    │   └── OutcomeUnknown         a request that must not be repeated (queue_task_batch) failed
    │                              in a way that leaves open whether the server applied it
    ├── RequestRejected            any other 4xx (never retried): status_code, detail
    │   ├── NotFound               404, or a Jobmon server's 500 for an unknown id
    │   └── RunRefused             the server would not open a run (Jobmon: 200 with an
    │       │                      ``err_msg``; or its 500 for a workflow stuck in I/O)
    │       └── ActiveRunExists    409 from POST /workflow_run: another run is still active
    └── ProtocolMismatch           the answer does not have the shape the route promises
"""

from __future__ import annotations

from actors.errors import RequestRejected, ServerUnavailable

__all__ = ["ActiveRunExists", "OutcomeUnknown", "RunRefused"]


class RunRefused(RequestRejected):
    """The server refused to open a workflow run (or to reset its tasks for one).

    ``detail`` is the server's reason, e.g. Jobmon's ``"WorkflowRun 1 is currently linking,
    WorkflowRun 2 will be aborted."`` Status code 409.
    """


class ActiveRunExists(RunRefused):
    """POST /workflow_run answered 409: ``active_workflow_run_id`` (status ``status``) is active.

    The caller resumes it (``set_resume``) and waits for it to reach T before creating a run.
    """

    def __init__(self, message: str, *, detail: str, active_workflow_run_id: int | None,
                 status: str | None) -> None:
        self.active_workflow_run_id = active_workflow_run_id
        self.status = status
        super().__init__(message, status_code=409, detail=detail)


class OutcomeUnknown(ServerUnavailable):
    """A non-idempotent request failed after it may have reached the server.

    Raised instead of retrying, for requests a server may not see twice (a Jobmon server makes
    a second task instance for a repeated ``queue_task_batch``): a read timeout, a dropped
    connection after sending, or a 5xx that is not the server's own (rolled-back) error answer.
    The caller learns the outcome from the server's state (a full status sync) before sending
    the request again.
    """
