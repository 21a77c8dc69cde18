"""``status --server URL [--workflow-id N] [--json]``: counts by bucket and run state.

Asks the server (GET /workflows, or GET /workflow/{wf}/status) through the gateway and prints,
per workflow, a table of the task counts by bucket (pending, running, done, fatal), the newest
run's status and its last heartbeat; ``--json`` prints ``{"workflows": [summary, ...]}`` with
the server's fields instead.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from actors.cli.client import open_gateway
from actors.cli.context import CliContext
from actors.cli.options import add_server_option, add_token_option, add_workflow_id_option
from actors.cli.summary import run_status_word
from actors.gateway import RunSummary, WorkflowSummary

__all__ = ["execute", "register", "status_table", "summary_json"]


def register(subparsers: Any) -> None:
    """Add the ``status`` subcommand."""
    p = subparsers.add_parser("status", help="task counts and run state of workflows",
                              description="Show, per workflow on the server, task counts by "
                                          "bucket, the newest run's status and heartbeat.")
    add_server_option(p, required=True)
    add_token_option(p)
    add_workflow_id_option(p, required=False)
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(handler=execute)


def _run_json(run: RunSummary) -> dict[str, Any]:
    return {"workflow_run_id": int(run.workflow_run_id), "status": run.status.value,
            "heartbeat_date": run.heartbeat_date, "created_date": run.created_date}


def summary_json(summary: WorkflowSummary) -> dict[str, Any]:
    """A workflow summary as JSON (the shape of GET /workflow/{wf}/status)."""
    b = summary.buckets
    return {
        "workflow_id": int(summary.workflow_id),
        "name": summary.name,
        "max_concurrently_running": summary.max_concurrently_running,
        "task_counts": {status.value: n for status, n in sorted(
            summary.task_counts.items(), key=lambda kv: kv[0].value)},
        "buckets": {"pending": b.pending, "running": b.running, "done": b.done,
                    "fatal": b.fatal},
        "runs": [_run_json(r) for r in summary.runs],
    }


def _newest(runs: Sequence[RunSummary]) -> RunSummary | None:
    return max(runs, key=lambda r: int(r.workflow_run_id)) if runs else None


def status_table(summary: WorkflowSummary) -> Table:
    """One workflow's table: buckets, newest run, its status and last heartbeat."""
    table = Table(title=f"workflow {summary.workflow_id} {summary.name!r} "
                        f"(max concurrently running {summary.max_concurrently_running})",
                  title_justify="left", box=box.SIMPLE)
    for name in ("pending", "running", "done", "fatal"):
        table.add_column(name, justify="right")
    table.add_column("run", justify="right")
    table.add_column("run status")
    table.add_column("last heartbeat")
    b = summary.buckets
    newest = _newest(summary.runs)
    run_cells = (["-", "no run yet", "-"] if newest is None else
                 [str(newest.workflow_run_id), run_status_word(newest.status),
                  newest.heartbeat_date or "never"])
    table.add_row(str(b.pending), str(b.running), str(b.done), str(b.fatal), *run_cells)
    earlier = sorted((r for r in summary.runs if r is not newest),
                     key=lambda r: -int(r.workflow_run_id))
    if earlier:
        table.caption = "earlier runs: " + ", ".join(
            f"{r.workflow_run_id} ({r.status.value})" for r in earlier)
        table.caption_justify = "left"
    return table


def execute(args: argparse.Namespace, ctx: CliContext) -> int:
    """Print the status of one or every workflow; 0, or 1 when the server fails us."""
    with open_gateway(args.server, ctx.token(args.token)) as gateway:
        summaries = ((gateway.workflow_status(args.workflow_id),) if args.workflow_id
                     else gateway.workflows())
    if args.json:
        ctx.stdout.write(json.dumps({"workflows": [summary_json(s) for s in summaries]},
                                    indent=2) + "\n")
        ctx.stdout.flush()
        return 0
    if not summaries:
        ctx.stdout.write(f"no workflows on {args.server}\n")
        return 0
    console = Console(file=ctx.stdout, width=None if ctx.stdout_is_terminal else 120,
                      highlight=False)
    for summary in sorted(summaries, key=lambda s: int(s.workflow_id)):
        console.print(status_table(summary))
    return 0
