"""``concurrency --server URL --workflow-id N --max M``: change a workflow's limit live.

Sends PUT /workflow/{wf}/update_max_concurrently_running through the gateway; a running swarm
picks the new limit up at its next sync. ``--max 0`` pauses the workflow.
"""

from __future__ import annotations

import argparse
from typing import Any

from actors.cli.client import open_gateway
from actors.cli.context import CliContext
from actors.cli.options import (
    add_server_option,
    add_token_option,
    add_workflow_id_option,
    non_negative_int,
)

__all__ = ["execute", "register"]


def register(subparsers: Any) -> None:
    """Add the ``concurrency`` subcommand."""
    p = subparsers.add_parser("concurrency", help="set a workflow's max concurrently running",
                              description="Set how many tasks of a workflow may be active at "
                                          "once (0 pauses it); a running swarm follows.")
    add_server_option(p, required=True)
    add_token_option(p)
    add_workflow_id_option(p, required=True)
    p.add_argument("--max", type=non_negative_int, required=True, metavar="M",
                   help="the new limit (0 pauses the workflow)")
    p.set_defaults(handler=execute)


def execute(args: argparse.Namespace, ctx: CliContext) -> int:
    """Update the limit on the server; 0, or 1 when the server fails us."""
    with open_gateway(args.server, ctx.token(args.token)) as gateway:
        gateway.update_max_concurrently_running(args.workflow_id, args.max)
    note = " (paused)" if args.max == 0 else ""
    ctx.stdout.write(f"workflow {args.workflow_id}: max concurrently running set to "
                     f"{args.max}{note}\n")
    ctx.stdout.flush()
    return 0
