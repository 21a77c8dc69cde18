"""Gateway methods that open workflow runs and read their state, on either kind of server.

A mixin of :class:`actors.gateway.Gateway`; its users are ``actors.app_steps`` (before the
actor tree starts: create a run, resume, read a run's status) and the synchronizer (features).
Each method is one server-independent step; where a real Jobmon server needs other routes,
``actors.gateway.compat.Dialect`` (learnt once from GET /features) says which, so callers never
ask what kind of server they talk to:

- ``open_workflow_run``: ours resets unfinished tasks in POST /workflow_run itself; Jobmon's
  client first resets them (POST /task/{wf}/set_resume_state), then POSTs /workflow_run and
  moves the run from L to B (docs/jobmon-notes.md section 2.2);
- ``workflow_resumable``: ours from the workflow's run list, Jobmon from GET is_resumable;
- ``run_status``: ours from the run list, Jobmon through the refused-transition probe.
"""

from __future__ import annotations

import threading
import uuid

from actors.errors import NotFound
from actors.gateway import compat
from actors.gateway._admin_routes import AdminRoutes
from actors.gateway.parse import parse_run_status
from actors.gateway.parse_admin import parse_features
from actors.gateway.types import Features, WorkflowRunCreated
from messages.values import RunStatus

__all__ = ["ALIVE_RUN_STATUSES", "RunRoutes"]

#: Run statuses that keep a new run from being created (our server; docs/server-api.md s. 4).
ALIVE_RUN_STATUSES = frozenset(RunStatus(letter) for letter in "GLBIORCH")

_dialect_lock = threading.Lock()


class RunRoutes(AdminRoutes):
    """Features, run opening and run state (see the module docstring)."""

    def features(self) -> Features:
        """GET /features; a server without it (Jobmon) supports nothing extra (no long poll)."""
        try:
            return self._call("GET", "/features", parse_features)
        except NotFound:
            return compat.JOBMON_FEATURES

    def dialect(self) -> compat.Dialect:
        """The server's dialect, asked once per connection pool (GET /features)."""
        known = self._core.server_dialect
        if known is None:
            known = compat.dialect_of(self.features())
            with _dialect_lock:
                self._core.server_dialect = known
        return known

    # -- Jobmon's own routes (a Jobmon server only) ---------------------------------------------
    def is_resumable(self, workflow_id: int) -> bool:
        """GET /workflow/{wf}/is_resumable: bound, and no run alive (L, B, R, C, H)."""
        return self._call("GET", f"/workflow/{workflow_id}/is_resumable",
                          compat.parse_is_resumable)

    def set_resume_state(self, workflow_id: int, reset_if_running: bool) -> None:
        """POST /task/{wf}/set_resume_state: every task not D/G (nor R if not reset) -> G."""
        self._call("POST", f"/task/{workflow_id}/set_resume_state", compat.parse_resume_state,
                   body={"reset_if_running": reset_if_running})

    # -- server-independent steps ---------------------------------------------------------------
    def workflow_resumable(self, workflow_id: int) -> bool:
        """True when no run of the workflow is alive, so a new run can be opened."""
        if not self.dialect().lists_runs:
            return self.is_resumable(workflow_id)
        runs = self.workflow_status(workflow_id).runs
        return not any(run.status in ALIVE_RUN_STATUSES for run in runs)

    def run_status(self, workflow_id: int, workflow_run_id: int) -> RunStatus:
        """The run's status now; NotFound for a run the server does not know."""
        if not self.dialect().lists_runs:
            return self._call("PUT", f"/workflow_run/{workflow_run_id}/update_status",
                              parse_run_status, body={"status": compat.STATUS_PROBE.value})
        for run in self.workflow_status(workflow_id).runs:
            if int(run.workflow_run_id) == workflow_run_id:
                return run.status
        raise compat.unknown_id(f"GET /workflow/{workflow_id}/status",
                                f"workflow run {workflow_run_id} of workflow {workflow_id}")

    def open_workflow_run(self, workflow_id: int, *, resume: bool = False,
                          reset_running_jobs: bool = True) -> WorkflowRunCreated:
        """A new run in B with every unfinished task reset to G, the way the server expects.

        ``reset_running_jobs=False`` (hot resume) keeps tasks in R. Raises ``RunRefused`` (or
        its ``ActiveRunExists``) when the server will not open a run. On a server that keys
        run creation (ours) the POST carries a fresh ``request_key``, so a retry after a lost
        answer gets the same run rather than a 409.
        """
        dialect = self.dialect()
        if not dialect.resets_tasks_on_create:
            self.set_resume_state(workflow_id, reset_if_running=reset_running_jobs)
        key = uuid.uuid4().hex if dialect.keys_run_creation else None
        return self.create_workflow_run(workflow_id, resume=resume,
                                        reset_running_jobs=reset_running_jobs, request_key=key)
