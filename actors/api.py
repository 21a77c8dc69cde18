"""The embedding API: run workflows from Python, in a host's own actor system or script.

Who uses it: platforms that embed actorswarm (and the README's example). Two entry points:

- ``run_workflow(RunRequest(...))`` blocks until the run ends and returns a ``RunOutcome``
  (``.result`` is the ``OrchestratorResult``).
- ``start_workflow(RunRequest(...))`` returns a ``SwarmHandle`` at once: the run goes on in a
  background thread of the host; ``handle.wait(timeout)`` returns the outcome,
  ``handle.stop()`` ends the run cleanly (status S), ``handle.progress`` is the latest
  ``Progress`` event.

Events (``Progress``, ``RunStatusChanged``, ``TasksChanged``, ``RunFinished``) reach
``RunRequest.on_event``: a callable (called on a root thread; keep it quick) or a pykka
``ActorRef`` (the events arrive in that actor's ``on_receive``). ``mode="thread"`` runs the four
swarm actors as threads of the host process (fast start, one process); ``mode="process"`` (the
default) gives each its own OS process.
"""

from __future__ import annotations

import threading
from typing import Any

import pykka

from actors.app import RunOutcome, RunRequest, run_workflow
from messages.orchestrator import Progress

__all__ = ["RunOutcome", "RunRequest", "SwarmHandle", "run_workflow", "start_workflow"]


class SwarmHandle:
    """A run going on in the background (see ``start_workflow``)."""

    def __init__(self, request: RunRequest) -> None:
        self._stop = threading.Event()
        self._done = threading.Event()
        self._outcome: RunOutcome | None = None
        self._error: BaseException | None = None
        self.progress: Progress | None = None
        self._user_callback = request.on_event
        import attrs

        self._request = attrs.evolve(request, on_event=self._on_event)
        self._thread = threading.Thread(target=self._main, name="actorswarm-run", daemon=True)
        self._thread.start()

    def _on_event(self, event: Any) -> None:
        if isinstance(event, Progress):
            self.progress = event
        callback = self._user_callback
        if callback is None:
            return
        if isinstance(callback, pykka.ActorRef):
            callback.tell(event)
        else:
            callback(event)

    def _main(self) -> None:
        try:
            self._outcome = run_workflow(self._request, stop=self._stop)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
            self._error = exc
        finally:
            self._done.set()

    def stop(self) -> None:
        """Ask the run to stop (status S); ``wait`` then returns the stopped outcome."""
        self._stop.set()

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> RunOutcome:
        """The outcome once the run has ended; TimeoutError if it has not within ``timeout``."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"the run has not ended within {timeout} s")
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._outcome is not None
        return self._outcome


def start_workflow(request: RunRequest) -> SwarmHandle:
    """Start a run in the background and return its handle."""
    return SwarmHandle(request)
