"""``run`` and ``resume``: build a ``RunRequest``, drive the run, report it, exit with its code.

Who calls whom: ``actors.cli.main`` dispatches here; this module calls the composition root's
``run_workflow(request, stop=event)`` (``actors.app``) on the main thread, with SIGINT/SIGTERM
setting ``event`` and the progress display receiving the run's events through
``RunRequest.on_event``. Afterwards it prints the summary (stdout; stderr when ``--json -``
takes stdout), each failed task's last error lines (read from the server), writes the
``--json`` document, and returns ``RunOutcome.exit_code``.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from typing import Any

import attrs

from actors.cli.context import CliContext
from actors.cli.failures import fetch_task_instances
from actors.cli.progress import choose_display
from actors.cli.result_json import result_document, write_json
from actors.cli.run_options import add_run_options, request_fields
from actors.cli.signals import stop_on_signals
from actors.cli.summary import failure_lines, summary_lines
from actors.errors import ActorswarmError

__all__ = ["AppApi", "execute", "register"]


@attrs.frozen
class AppApi:
    """The composition root's entry: ``RunRequest`` and ``run_workflow`` (see ``actors.app``)."""

    request_type: Callable[..., Any]
    run_workflow: Callable[..., Any]

    @classmethod
    def load(cls) -> AppApi:
        """``actors.app``'s real ones (imported only when a run starts)."""
        from actors.app import RunRequest, run_workflow
        return cls(request_type=RunRequest, run_workflow=run_workflow)


def register(subparsers: Any) -> None:
    """Add the ``run`` and ``resume`` subcommands."""
    run = subparsers.add_parser(
        "run", help="run a workflow file, or drive a workflow bound on a server",
        description="Run WORKFLOW.toml (embedded server and local distributor unless --server "
                    "is given), or drive workflow --workflow-id N on --server URL.")
    add_run_options(run, resume=False)
    run.set_defaults(handler=execute)
    resume = subparsers.add_parser(
        "resume", help="resume a workflow on a server (cold by default)",
        description="Resume workflow --workflow-id N on --server URL: signal its active run "
                    "(cold: stop its tasks; hot: keep them), wait until it ended, run again.")
    add_run_options(resume, resume=True)
    resume.set_defaults(handler=execute)


def execute(args: argparse.Namespace, ctx: CliContext, app: AppApi | None = None) -> int:
    """Run the workflow the options name; the exit status is the run's (see the module doc)."""
    fields = request_fields(args, ctx.environ)
    api = app or AppApi.load()
    display = choose_display(args.progress, ctx.stderr, ctx.stderr_is_terminal, ctx.clock)
    request = api.request_type(**fields, on_event=display.on_event)
    stop = threading.Event()
    display.start()
    try:
        with stop_on_signals(stop, display.notice):
            outcome = api.run_workflow(request, stop=stop)
    finally:
        display.close()
    return report(outcome, args, ctx, by_name=fields["workflow_file"] is not None,
                  embedded=fields["server_url"] is None, token=fields["token"])


def report(outcome: Any, args: argparse.Namespace, ctx: CliContext, *, by_name: bool,
           embedded: bool, token: str | None) -> int:
    """Print the summary and failed tasks, write ``--json``; the exit status to use."""
    out = ctx.stderr if args.json_target == "-" else ctx.stdout
    lines = summary_lines(outcome)
    result = outcome.result
    if result.failed_task_ids:
        lines.extend(_failed_task_lines(outcome, embedded=embedded, token=token))
    out.write("\n".join(lines) + "\n")
    out.flush()
    code = int(outcome.exit_code)
    if args.json_target:
        try:
            write_json(result_document(outcome, by_name=by_name), args.json_target, ctx.stdout)
        except OSError as exc:
            ctx.err(f"actorswarm: --json {args.json_target}: cannot write the result: "
                    f"{exc.strerror or exc}")
            code = code or 1
    return code


def _failed_task_lines(outcome: Any, *, embedded: bool, token: str | None) -> list[str]:
    result = outcome.result
    try:
        rows = fetch_task_instances(workflow_id=result.workflow_id, embedded=embedded,
                                    server_url=outcome.server_url, state_dir=outcome.state_dir,
                                    token=token)
    except ActorswarmError as exc:
        return [(f"failed tasks: {len(result.failed_task_ids)} (their error lines are not "
                 f"available: {type(exc).__name__}: {exc})")]
    return failure_lines(rows, result.failed_task_ids, outcome.task_names)
