"""``python -m actors.distributor``: the distributor process of one workflow run.

Started by the swarm's supervisor (or by hand). Prints ``READY`` on stdout once the server knows
it started, then runs until the run is over, a signal (SIGTERM/SIGINT/SIGHUP) arrives, or its
parent is gone (stdin at EOF when stdin is a pipe, or a changed parent PID); it kills its running
task process groups (or cancels its Slurm jobs) before it exits. With ``--detached`` (a
distributor on a login node, apart from the swarm) only the run's end, SIGTERM or SIGINT stop
it. The token may come from ``--token`` or ``ACTORSWARM_TOKEN``.
Exit codes: 0 done, 1 the server failed us (unreachable, rejected, malformed), 2 bad usage.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import stat
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from actors.distributor.backend import Backend
from actors.distributor.http import ServerClient
from actors.distributor.service import Distributor, DistributorConfig, declare_queues
from actors.distributor.sim import Duration, SimBackend, SimConfig
from actors.errors import ActorswarmError, ConfigError
from actors.worker.env import TOKEN_VARIABLE

__all__ = ["build_backend", "build_parser", "main"]

log = logging.getLogger("actors.distributor")

#: Idle poll ceiling per backend (seconds): how long a newly queued instance may wait.
_DEFAULT_MAX_IDLE = {"local": 0.05, "sim": 0.05, "slurm": 1.0}


def _pos_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError(text)
    return value


def _pos_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError(text)
    return value


def _nonneg_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def build_parser() -> argparse.ArgumentParser:
    """The distributor's command line."""
    p = argparse.ArgumentParser(prog="python -m actors.distributor",
                                description="Run the task instances of one workflow run.")
    p.add_argument("--server", required=True, help="state server URL (http://host:port)")
    p.add_argument("--workflow-run-id", type=int, default=None,
                   help="the run to distribute (required unless --declare-only)")
    p.add_argument("--declare-only", action="store_true",
                   help="declare the backend's cluster and queues on the server, then exit "
                        "(tasks on a cluster can only be bound once it is declared)")
    p.add_argument("--workflow-id", type=int, help="names the log directory wf<ID>")
    p.add_argument("--backend", choices=("local", "sim", "slurm"), default="local")
    p.add_argument("--token", help=f"server token (or set {TOKEN_VARIABLE})")
    p.add_argument("--state-dir", type=Path, default=Path(".actorswarm"),
                   help="where logs/ go (default: ./.actorswarm)")
    p.add_argument("--heartbeat-interval", type=_pos_float, default=30.0)
    p.add_argument("--report-by-buffer", type=_pos_float, default=3.1)
    p.add_argument("--claim-batch", type=_pos_int, default=1000)
    p.add_argument("--max-idle", type=_pos_float, default=None,
                   help="longest sleep between polls when idle (s; default 0.05 for local and "
                        "sim, where a new task should start within milliseconds, 1.0 for "
                        "slurm, whose scheduler ticks every second anyway)")
    p.add_argument("--retry-budget", type=_pos_float, default=180.0,
                   help="seconds to retry an unreachable server")
    p.add_argument("--detached", action="store_true",
                   help="run on its own, apart from the swarm (e.g. on a login node): keep "
                        "running when the parent process exits or SIGHUP arrives")
    both = p.add_argument_group("backends local and slurm")
    both.add_argument("--working-dir", type=Path, help="where commands run (default: cwd)")
    both.add_argument("--kill-grace", type=_pos_float, default=10.0,
                      help="seconds between SIGTERM and SIGKILL of a task's command")
    local = p.add_argument_group("backend local")
    local.add_argument("--max-parallel", type=_pos_int)
    local.add_argument("--max-cores", type=_pos_int)
    local.add_argument("--max-memory", type=_pos_float, help="GiB for all tasks")
    local.add_argument("--memory-enforcement", choices=("auto", "cgroup", "rss"),
                       default="auto")
    slurm = p.add_argument_group("backend slurm")
    slurm.add_argument("--slurm-poll-interval", type=_pos_float, default=5.0,
                       help="seconds between squeue calls (default 5)")
    slurm.add_argument("--slurm-max-in-flight", type=_pos_int, default=10_000,
                       help="most jobs submitted and not finished (default 10000)")
    slurm.add_argument("--slurm-max-array", type=_pos_int,
                       help="most instances per job array (default: Slurm's MaxArraySize)")
    slurm.add_argument("--slurm-python", default=sys.executable,
                       help="interpreter that runs the worker in the job (default: this one)")
    slurm.add_argument("--slurm-memory-overhead", type=_nonneg_int, default=0, metavar="MIB",
                       help="MiB added to each job's --mem for the worker (default 0)")
    slurm.add_argument("--slurm-lost-after", type=_pos_float, default=120.0,
                       help="seconds a job may be unknown to Slurm before it counts as lost")
    slurm.add_argument("--slurm-command-timeout", type=_pos_float, default=60.0,
                       help="timeout of each sbatch/squeue/scancel call (s)")
    sim = p.add_argument_group("backend sim")
    sim.add_argument("--sim-duration", default="0",
                     help="const:S | uniform:LO:HI | exp:MEAN | normal:MU:SD | lognormal:MU:SG")
    sim.add_argument("--sim-failure-rate", type=float, default=0.0)
    sim.add_argument("--sim-resource-error-rate", type=float, default=0.0)
    sim.add_argument("--sim-seed", type=int)
    return p


def build_backend(args: argparse.Namespace, token: str | None) -> Backend:
    """The backend named by ``--backend`` with its options (only that backend's modules are
    imported: the others cost a distributor start ~50 ms for nothing)."""
    if args.backend == "sim":
        return SimBackend(SimConfig(duration=Duration.from_spec(args.sim_duration),
                                    failure_rate=args.sim_failure_rate,
                                    resource_error_rate=args.sim_resource_error_rate,
                                    seed=args.sim_seed))
    if args.backend == "slurm":
        from actors.distributor.slurm import SlurmBackend, SlurmConfig

        return SlurmBackend(SlurmConfig(
            server=args.server, workflow_run_id=args.workflow_run_id,
            state_dir=args.state_dir.resolve(),
            working_dir=(args.working_dir or Path.cwd()).resolve(),
            workflow_id=args.workflow_id, token=token,
            heartbeat_interval=args.heartbeat_interval, report_by_buffer=args.report_by_buffer,
            kill_grace=args.kill_grace, retry_budget=args.retry_budget, python=args.slurm_python,
            poll_interval=args.slurm_poll_interval, max_in_flight=args.slurm_max_in_flight,
            max_array=args.slurm_max_array, memory_overhead_mib=args.slurm_memory_overhead,
            lost_after=args.slurm_lost_after, command_timeout=args.slurm_command_timeout))
    from actors.distributor.local import LocalBackend, LocalConfig

    return LocalBackend(LocalConfig(
        server=args.server, workflow_run_id=args.workflow_run_id,
        state_dir=args.state_dir.resolve(), working_dir=(args.working_dir or Path.cwd()).resolve(),
        workflow_id=args.workflow_id, token=token, max_parallel=args.max_parallel,
        max_cores=args.max_cores, max_memory_gib=args.max_memory,
        heartbeat_interval=args.heartbeat_interval, report_by_buffer=args.report_by_buffer,
        kill_grace=args.kill_grace, memory_enforcement=args.memory_enforcement,
        retry_budget=args.retry_budget))


def _watch_stdin(stop: threading.Event) -> None:
    """When stdin is a pipe, its EOF means the parent is gone: set ``stop``."""
    try:
        if not stat.S_ISFIFO(os.fstat(0).st_mode):
            return
    except OSError:
        return

    def reader() -> None:
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        log.warning("stdin closed: parent is gone")
        stop.set()

    threading.Thread(target=reader, name="stdin-watch", daemon=True).start()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the distributor; return its exit code."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s distributor %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    token = args.token or os.environ.get(TOKEN_VARIABLE) or None
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # detached (e.g. on a login node under nohup): the parent's exit and SIGHUP do not stop it
    for sig in (signal.SIGTERM, signal.SIGINT) + (() if args.detached else (signal.SIGHUP,)):
        signal.signal(sig, _on_signal)
    parent = os.getppid()
    if not args.detached:
        _watch_stdin(stop)
    try:
        backend = build_backend(args, token)
    except ConfigError as exc:
        print(f"actors.distributor: {exc}", file=sys.stderr)
        return 2
    except ActorswarmError as exc:
        print(f"actors.distributor: {exc}", file=sys.stderr)
        return 1
    if args.declare_only:
        try:
            with ServerClient(args.server, token=token, retry_budget=args.retry_budget) as client:
                declare_queues(client, backend)
        except ActorswarmError as exc:
            print(f"actors.distributor: {exc}", file=sys.stderr)
            return 1
        finally:
            backend.close()
        print(f"DECLARED {backend.cluster_name}", flush=True)
        return 0
    if args.workflow_run_id is None:
        print("actors.distributor: --workflow-run-id is required (unless --declare-only)",
              file=sys.stderr)
        return 2
    config = DistributorConfig(workflow_run_id=args.workflow_run_id,
                               claim_batch=args.claim_batch,
                               heartbeat_interval=args.heartbeat_interval,
                               report_by_buffer=args.report_by_buffer,
                               max_idle=args.max_idle if args.max_idle is not None
                               else _DEFAULT_MAX_IDLE.get(args.backend, 0.25))
    try:
        with ServerClient(args.server, token=token, retry_budget=args.retry_budget) as client:
            distributor = Distributor(config, client, backend, stop=stop,
                                      orphaned=lambda: not args.detached
                                      and os.getppid() != parent)
            status = distributor.start()
            print("READY", flush=True)
            log.info("started for run %s (status %s, backend %s)", args.workflow_run_id,
                     status.value, args.backend)
            distributor.run()
    except ActorswarmError as exc:
        log.error("distributor failed: %s", exc)
        return 1
    finally:
        backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
