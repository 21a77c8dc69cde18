"""Options of ``run`` and ``resume`` and their translation into ``RunRequest`` fields.

``add_run_options`` declares the options (argparse); ``request_fields`` checks the options that
only make sense together and returns the keyword arguments of ``actors.app.RunRequest`` (a
plain dict, so this module does not import the composition root). The run configuration comes
from ``WorkflowRunConfig.from_defaults`` (config file, ``ACTORSWARM_*`` variables) with the
command-line values on top. Bad combinations raise ``UsageError``; bad configuration values
raise ``ConfigError``; a bad workflow file raises ``WorkflowFileError`` (all exit 2).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

from actors.cli.context import TOKEN_VARIABLE
from actors.cli.errors import UsageError
from actors.cli.options import (
    add_server_option,
    add_token_option,
    add_workflow_id_option,
    non_negative_int,
    positive_float,
    positive_int,
    regex,
)
from actors.errors import ConfigError
from actors.tree import READY_SOURCES
from actors.workflow import load_workflow
from messages.config import OrchestratorConfig, WorkflowRunConfig

__all__ = ["BACKENDS", "SIM_OPTIONS", "add_run_options", "request_fields"]

#: Backends the run command accepts (the composition root rejects one it cannot start).
BACKENDS = ("local", "sim", "slurm")
#: ``--sim-*`` options passed through to our distributor (option -> Namespace attribute).
SIM_OPTIONS = {"--sim-duration": "sim_duration", "--sim-failure-rate": "sim_failure_rate",
               "--sim-resource-error-rate": "sim_resource_error_rate", "--sim-seed": "sim_seed"}


def _sim_duration(text: str) -> str:
    from actors.distributor.sim import Duration
    try:
        Duration.from_spec(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a probability in [0, 1], got {text!r}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def add_run_options(parser: argparse.ArgumentParser, *, resume: bool) -> None:
    """The options of ``run`` (``resume=False``) or ``resume`` (``resume=True``)."""
    if resume:
        add_server_option(parser, required=True)
        add_workflow_id_option(parser, required=True)
        how = parser.add_mutually_exclusive_group()
        how.add_argument("--cold", dest="resume_mode", action="store_const", const="cold",
                         help="stop the running tasks of the active run first (default)")
        how.add_argument("--hot", dest="resume_mode", action="store_const", const="hot",
                         help="keep the running tasks of the active run")
    else:
        parser.add_argument("workflow_file", nargs="?", metavar="WORKFLOW.toml",
                            help="workflow file to bind and run")
        add_server_option(parser, required=False)
        add_workflow_id_option(parser, required=False)
        parser.add_argument("--workflow-run-id", type=positive_int, metavar="M",
                            help="drive this existing run of --workflow-id")
    add_token_option(parser)
    parser.add_argument("--state-dir", default=".actorswarm", metavar="DIR",
                        help="embedded server database and task logs (default ./.actorswarm)")
    parser.add_argument("--backend", choices=BACKENDS, default="local",
                        help="where tasks run (default local)")
    parser.add_argument("--config", metavar="FILE",
                        help="run configuration file (default $ACTORSWARM_CONFIG or "
                             "~/.config/actorswarm/config.toml)")
    parser.add_argument("--timeout", type=positive_float, metavar="S",
                        help="end the run with an error after S seconds (default 36000)")
    parser.add_argument("--fail-fast", action=argparse.BooleanOptionalAction, default=None,
                        help="stop after the first task fails for good")
    parser.add_argument("--heartbeat-interval", type=positive_float, metavar="S",
                        help="seconds between run heartbeats (default 30)")
    parser.add_argument("--max-concurrently-running", type=non_negative_int, metavar="N",
                        help="the workflow's concurrency limit for this run")
    parser.add_argument("--max-batch-size", type=positive_int, metavar="N",
                        help="most tasks queued in one request (default 500)")
    parser.add_argument("--json", dest="json_target", metavar="FILE|-",
                        help="write the result as JSON to FILE ('-' for stdout)")
    parser.add_argument("--progress", choices=("auto", "live", "plain", "off"), default="auto",
                        help="progress display: live on a terminal, plain log lines otherwise")
    parser.add_argument("--mode", choices=("process", "thread"), default="process",
                        help="actors in OS processes (default) or threads (for debugging)")
    parser.add_argument("--fail-after-n-executions", type=positive_int,
                        help=argparse.SUPPRESS)
    ext = parser.add_argument_group("external distributor")
    ext.add_argument("--distributor-command", metavar="CMD",
                     help="run this distributor instead of ours ({workflow_run_id} and "
                          "{server_url} are substituted)")
    ext.add_argument("--distributor-ready", type=regex, metavar="REGEX",
                     help="regex of the line the distributor prints when ready "
                          "(default: ours, READY)")
    ext.add_argument("--distributor-ready-stream", choices=READY_SOURCES,
                     help="how readiness shows: a line on stdout (default) or stderr matching "
                          "--distributor-ready, the run reaching a status on the server "
                          "(status; --distributor-ready lists the letters, default OR), or a "
                          "plain delay of --distributor-ready-timeout seconds (delay)")
    ext.add_argument("--distributor-ready-timeout", type=positive_float, metavar="S",
                     help="seconds to wait for readiness (default 60)")
    sim = parser.add_argument_group("backend sim (passed to our distributor)")
    sim.add_argument("--sim-duration", type=_sim_duration, metavar="SPEC",
                     help="const:S | uniform:LO:HI | exp:MEAN | normal:MU:SD | lognormal:MU:SG")
    sim.add_argument("--sim-failure-rate", type=_rate, metavar="P")
    sim.add_argument("--sim-resource-error-rate", type=_rate, metavar="P")
    sim.add_argument("--sim-seed", type=_integer, metavar="N")


def _check_combinations(args: argparse.Namespace) -> None:
    workflow_file = getattr(args, "workflow_file", None)
    if args.command == "run":
        if workflow_file and args.workflow_id is not None:
            raise UsageError("give either WORKFLOW.toml or --workflow-id, not both")
        if not workflow_file and args.workflow_id is None:
            raise UsageError("give a WORKFLOW.toml file, or --server URL --workflow-id N")
        if args.workflow_id is not None and args.server is None:
            raise UsageError("--workflow-id needs --server URL")
        if args.workflow_run_id is not None and args.workflow_id is None:
            raise UsageError("--workflow-run-id needs --workflow-id")
    sims = [opt for opt, attr in SIM_OPTIONS.items() if getattr(args, attr) is not None]
    if sims and (args.backend != "sim" or args.distributor_command):
        raise UsageError(f"{sims[0]} needs --backend sim and our own distributor "
                         f"(no --distributor-command)")
    if args.sim_failure_rate is not None and args.sim_resource_error_rate is not None and \
            args.sim_failure_rate + args.sim_resource_error_rate > 1.0:
        raise UsageError("--sim-failure-rate plus --sim-resource-error-rate exceed 1")
    ready = [opt for opt, value in (("--distributor-ready", args.distributor_ready),
                                    ("--distributor-ready-stream", args.distributor_ready_stream),
                                    ("--distributor-ready-timeout",
                                     args.distributor_ready_timeout)) if value is not None]
    if ready and not args.distributor_command:
        raise UsageError(f"{ready[0]} needs --distributor-command")
    if args.json_target and args.json_target != "-":
        parent = os.path.dirname(os.path.abspath(args.json_target))
        if not os.path.isdir(parent):
            raise UsageError(f"--json {args.json_target}: directory {parent} does not exist")


def _distributor_args(args: argparse.Namespace) -> tuple[str, ...]:
    out: list[str] = []
    for option, attr in SIM_OPTIONS.items():
        value = getattr(args, attr)
        if value is not None:
            out += [option, str(value)]
    return tuple(out)


def _orchestrator_config(args: argparse.Namespace,
                         environ: Mapping[str, str]) -> OrchestratorConfig:
    try:
        run = WorkflowRunConfig.from_defaults(
            args.config, environ=environ, fail_fast=args.fail_fast,
            heartbeat_interval=args.heartbeat_interval,
            fail_after_n_executions=args.fail_after_n_executions)
        return OrchestratorConfig.from_run_config(run, timeout=args.timeout,
                                                  max_batch_size=args.max_batch_size)
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(str(exc)) from None


def request_fields(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, Any]:
    """The ``RunRequest`` keyword arguments for parsed ``run``/``resume`` options.

    A workflow file is loaded and validated here, so a bad file fails before anything starts.
    """
    _check_combinations(args)
    workflow_file = getattr(args, "workflow_file", None)
    if workflow_file:
        load_workflow(workflow_file)
    fields: dict[str, Any] = {
        "workflow_file": workflow_file or None,
        "workflow_id": args.workflow_id,
        "workflow_run_id": getattr(args, "workflow_run_id", None),
        "resume": (args.resume_mode or "cold") if args.command == "resume" else None,
        "server_url": args.server,
        "token": args.token or environ.get(TOKEN_VARIABLE) or None,
        "state_dir": args.state_dir,
        "backend": args.backend,
        "distributor_command": args.distributor_command,
        "distributor_args": _distributor_args(args),
        "max_concurrently_running": args.max_concurrently_running,
        "config": _orchestrator_config(args, environ),
        "mode": args.mode,
    }
    for attr in ("distributor_ready", "distributor_ready_stream", "distributor_ready_timeout"):
        value = getattr(args, attr)
        if value is not None:  # unset: keep RunRequest's default
            fields[attr] = value
    return fields
