"""Embedding example: a host pykka actor receives the swarm's typed events.

    python examples/embed.py [--mode thread|process] [--backend sim|local]

It defines the diamond workflow with the Python API, starts the actor tree in the background
(``start_workflow``), lets a pykka actor of the host count the events, and prints the result.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import pykka

from actors import RunRequest, Task, Workflow, start_workflow
from messages.config import OrchestratorConfig, WorkflowRunConfig
from messages.orchestrator import Progress, RunFinished, RunStatusChanged, TasksChanged


class Dashboard(pykka.ThreadingActor):
    """A host actor: receives run events like any other pykka message."""

    def __init__(self) -> None:
        super().__init__()
        self.task_changes = 0
        self.statuses: list[str] = []
        self.last_progress: Progress | None = None

    def on_receive(self, message: object) -> object:
        if isinstance(message, TasksChanged):
            self.task_changes += len(message.changes)
        elif isinstance(message, RunStatusChanged):
            self.statuses.append(message.status.value)
        elif isinstance(message, Progress):
            self.last_progress = message
        elif isinstance(message, RunFinished):
            print(f"dashboard: run finished {message.result.final_status.value}")
        elif message == "summary":
            return (self.task_changes, self.statuses, self.last_progress)
        return None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="thread", choices=["thread", "process"])
    ap.add_argument("--backend", default="sim", choices=["sim", "local"])
    args = ap.parse_args()

    wf = Workflow("embedded-diamond", default_resources={"memory": "256M", "runtime": "1m",
                                                         "queue": "all"})
    split = wf.add_task(Task("split", "echo split"))
    left = wf.add_task(Task("left", "echo left", upstream=[split]))
    right = wf.add_task(Task("right", "echo right", upstream=[split]))
    wf.add_task(Task("join", "echo join", upstream=[left, right]))

    dashboard = Dashboard.start()
    try:
        config = OrchestratorConfig(run=WorkflowRunConfig(heartbeat_interval=1.0), timeout=120)
        with tempfile.TemporaryDirectory() as state_dir:
            handle = start_workflow(RunRequest(
                definition=wf.definition(directory=os.getcwd()), backend=args.backend,
                state_dir=state_dir, config=config, mode=args.mode, on_event=dashboard))
            outcome = handle.wait(timeout=300)
        changes, statuses, progress = dashboard.ask("summary")
        result = outcome.result
        print(f"final status {result.final_status.value}: {result.done_count}/"
              f"{result.total_tasks} tasks done; {changes} task status changes seen; "
              f"run statuses {statuses}; last progress done={progress.done if progress else '?'}")
        return outcome.exit_code
    finally:
        dashboard.stop()


if __name__ == "__main__":
    sys.exit(main())
