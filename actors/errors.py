"""The one exception tree of actorswarm (``messages.DecodeError`` is the protocol's own).

Low-level errors (OSError, httpx errors, sqlite errors) are translated once, at the boundary
that meets them, with ``raise X(...) from exc``. Callers branch on the class, never on text.

::

    ActorswarmError
    ├── ConfigError (ValueError)              bad configuration value or file
    │   └── WorkflowFileError                 bad workflow file: names file, task, field
    ├── RuntimeFailure                        the actor runtime (actors.runtime)
    │   ├── AskTimeout (TimeoutError)         an ask passed its deadline
    │   ├── ActorDeadError                    the target actor (or its process) is gone
    │   ├── RemoteError                       the handler raised; carries the remote type name
    │   ├── Rejected                          the actor answered the request with a rejection
    │   ├── StartError                        a child did not complete its readiness handshake
    │   └── RestartIntensityExceeded          too many restarts in the window: supervisor gave up
    ├── GatewayError                          talking HTTP to the state server (actors.gateway)
    │   ├── ServerUnavailable                 connection errors/timeouts/5xx/423 after all retries
    │   ├── RequestRejected                   a 4xx answer (never retried); has status_code
    │   │   └── NotFound                      404: unknown id or route
    │   └── ProtocolMismatch                  the server's answer has an unexpected shape
    └── RunError                              a workflow run ended abnormally
        ├── RunTimeout (TimeoutError)         the run exceeded its timeout
        ├── DistributorDied                   the distributor process exited or hung
        ├── TransitionError                   the server refused a run-status transition
        └── FailAfterNExecutions              test hook: raised after N tasks reached D
"""

from __future__ import annotations

__all__ = [
    "ActorDeadError",
    "ActorswarmError",
    "AskTimeout",
    "ConfigError",
    "DistributorDied",
    "FailAfterNExecutions",
    "GatewayError",
    "NotFound",
    "ProtocolMismatch",
    "Rejected",
    "RemoteError",
    "RequestRejected",
    "RestartIntensityExceeded",
    "RunError",
    "RunTimeout",
    "RuntimeFailure",
    "ServerUnavailable",
    "StartError",
    "TransitionError",
    "WorkflowFileError",
]


class ActorswarmError(Exception):
    """Base class of every error actorswarm raises on purpose."""


class ConfigError(ActorswarmError, ValueError):
    """A configuration value or file is invalid; the message names the key and the source."""


class WorkflowFileError(ConfigError):
    """A workflow definition is invalid.

    ``path``, ``task`` and ``field`` locate the problem (``task``/``field`` may be None when the
    problem is about the whole file); ``str()`` gives one line naming all three.
    """

    def __init__(self, message: str, *, path: str | None = None, task: str | None = None,
                 field: str | None = None) -> None:
        self.path = path
        self.task = task
        self.field = field
        self.reason = message
        where = [p for p in (path, f"task {task!r}" if task else None,
                             f"field {field!r}" if field else None) if p]
        super().__init__(f"{': '.join(where)}: {message}" if where else message)


class RuntimeFailure(ActorswarmError):
    """Base class of actor-runtime failures."""


class AskTimeout(RuntimeFailure, TimeoutError):
    """An ask got no reply before its deadline."""


class ActorDeadError(RuntimeFailure):
    """The target actor is stopped, or its process died with the ask pending."""


class RemoteError(RuntimeFailure):
    """The receiving actor's handler raised; ``remote_type`` is the exception's class name."""

    def __init__(self, remote_type: str, message: str) -> None:
        self.remote_type = remote_type
        self.remote_message = message
        super().__init__(f"{remote_type}: {message}")


class Rejected(RuntimeFailure):
    """The actor refused the request (invalid for its current state); ``reason`` says why."""


class StartError(RuntimeFailure):
    """A child process exited or timed out before its readiness handshake."""


class RestartIntensityExceeded(RuntimeFailure):
    """A supervisor saw more restarts than allowed in its window and gave up."""


class GatewayError(ActorswarmError):
    """Base class of errors talking to the state server."""


class ServerUnavailable(GatewayError):
    """The server could not be reached or kept failing (5xx/423/timeouts) after all retries."""


class RequestRejected(GatewayError):
    """The server answered 4xx; the request is not retried. ``status_code`` and ``detail``."""

    def __init__(self, message: str, *, status_code: int, detail: str = "") -> None:
        self.status_code = status_code
        self.detail = detail
        super().__init__(message)


class NotFound(RequestRejected):
    """404: an unknown id or a route the server does not have."""


class ProtocolMismatch(GatewayError):
    """The server's answer did not have the shape the route promises."""


class RunError(ActorswarmError):
    """Base class of abnormal ends of a workflow run."""


class RunTimeout(RunError, TimeoutError):
    """The run did not finish within its timeout."""


class DistributorDied(RunError):
    """The distributor process died or stopped answering."""


class TransitionError(RunError):
    """The server refused a run-status transition the swarm asked for."""


class FailAfterNExecutions(RunError):
    """Raised on purpose after ``fail_after_n_executions`` tasks reached D (testing resume)."""
