"""The repo's own launcher of the real Jobmon server (issue 5), for the interop tier.

What it does, and for whom:

- ``ensure_venv()`` builds (once) and validates a cached virtual environment holding the pinned
  PyPI packages ``PACKAGES`` (with ``jobmon-constraints.txt`` as pip constraints). The venv lives
  in ``$JOBMON_REF_VENV``, else ``${XDG_CACHE_HOME:-~/.cache}/actorswarm/jobmon-reference``.
  A marker file records what was verified, so a cached venv costs a stat, not an import.
  Concurrent callers serialize on a lock file next to the venv.
- ``JobmonServer.start()`` initialises a SQLite database (if new), runs ``jobmon_serve.py`` with
  the venv's interpreter (anonymous user, the v3 ``transition_to_killed`` alias, a free port on
  127.0.0.1), waits for ``GET /api/v3/health`` and returns a handle with the base URL, the
  environment for the real client/distributor, a read-only SQL view of the database, and
  ``stop()`` (by PID). ``jobmon_procs`` runs the real client and distributor with that
  environment.

Errors (all ``ActorswarmError``)::

    ReferenceEnvError        the venv cannot be built or does not import; names the log file
    ReferenceServerError     init_db failed, the server exited, or /health never answered

As a script::

    python tests/interop/jobmon_ref.py install           # build or validate the cached venv
    python tests/interop/jobmon_ref.py serve DB_FILE      # start, print the env, serve until ^C
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Self

import attrs

from actors.errors import ActorswarmError

__all__ = [
    "CONSTRAINTS_FILE",
    "PACKAGES",
    "ClientSettings",
    "JobmonServer",
    "ReferenceEnv",
    "ReferenceEnvError",
    "ReferenceServerError",
    "default_venv_dir",
    "ensure_venv",
]

PACKAGES = ("jobmon-server==3.4.8.dev3", "jobmon-client==3.4.3.dev3", "jobmon-core==3.4.8")
HERE = Path(__file__).resolve().parent
CONSTRAINTS_FILE = HERE / "jobmon-constraints.txt"
SERVE_SCRIPT = HERE / "jobmon_serve.py"
VENV_ENV = "JOBMON_REF_VENV"
PYTHON_ENV = "JOBMON_REF_PYTHON"
NO_PIN_ENV = "JOBMON_REF_NO_PIN"
MARKER_NAME = "actorswarm-jobmon-ref.json"
ROUTE_PREFIX = "/api/v3"
_IMPORT_CHECK = (
    "import importlib.metadata as m, json\n"
    "import jobmon.server.web.api, jobmon.client.api, jobmon.distributor.cli, "
    "jobmon.worker_node.cli\n"
    "print(json.dumps({p: m.version(p) for p in ('jobmon-server', 'jobmon-client', "
    "'jobmon-core')}))\n"
)
# importing the server app needs a database URI and a session key at import time
_IMPORT_ENV = {"JOBMON__DB__SQLALCHEMY_DATABASE_URI": "sqlite://",
               "JOBMON__SESSION__SECRET_KEY": "import-check"}


class ReferenceEnvError(ActorswarmError):
    """The reference venv cannot be built, or its Jobmon packages do not import."""


class ReferenceServerError(ActorswarmError):
    """The real Jobmon server did not start (init_db failed, it exited, or /health timed out)."""


def default_venv_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$JOBMON_REF_VENV``, else ``${XDG_CACHE_HOME:-~/.cache}/actorswarm/jobmon-reference``."""
    env = os.environ if environ is None else environ
    if env.get(VENV_ENV):
        return Path(env[VENV_ENV]).expanduser()
    cache = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return cache / "actorswarm" / "jobmon-reference"


def expected_marker(pinned: bool) -> dict[str, Any]:
    """What a verified venv's marker must say: the pins and the constraints' digest."""
    digest = hashlib.sha256(CONSTRAINTS_FILE.read_bytes()).hexdigest() if pinned else None
    return {"packages": list(PACKAGES), "constraints_sha256": digest}


def pinned_versions() -> dict[str, str]:
    """``{"jobmon-server": "3.4.8.dev3", ...}`` from ``PACKAGES``."""
    return dict(tuple(spec.split("==", 1)) for spec in PACKAGES)  # type: ignore[misc]


@attrs.frozen
class ClientSettings:
    """Intervals given to the real client, distributor and worker (Jobmon defaults: 30/90/10)."""

    workflow_run_heartbeat: float = 1
    task_instance_heartbeat: float = 1
    distributor_poll: float = 1
    retries_timeout: int = 30

    def env(self) -> dict[str, str]:
        return {
            "JOBMON__HEARTBEAT__WORKFLOW_RUN_INTERVAL": _num(self.workflow_run_heartbeat),
            "JOBMON__HEARTBEAT__TASK_INSTANCE_INTERVAL": _num(self.task_instance_heartbeat),
            "JOBMON__DISTRIBUTOR__POLL_INTERVAL": _num(self.distributor_poll),
            "JOBMON__HTTP__RETRIES_TIMEOUT": str(self.retries_timeout),
            "JOBMON__OTLP__HTTP_ENABLED": "false",
            "JOBMON__OTLP__WEB_ENABLED": "false",
        }


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@attrs.frozen
class ReferenceEnv:
    """A verified reference venv: where it is and how to run its programs."""

    venv: Path

    @property
    def bin_dir(self) -> Path:
        return self.venv / "bin"

    @property
    def python(self) -> Path:
        return self.bin_dir / "python"

    def base_env(self) -> dict[str, str]:
        """This process's environment with the venv's bin first and foreign venv hints removed."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
               and not k.startswith("JOBMON__")}
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        return env

    def client_env(self, base_url: str, settings: ClientSettings = ClientSettings()) -> dict[str, str]:
        """Environment for the real client, distributor and worker talking to ``base_url``."""
        scheme, _, rest = base_url.rstrip("/").partition("://")
        netloc, _, path = rest.partition("/")
        env = self.base_env()
        env.update(settings.env())
        env["JOBMON__HTTP__SERVICE_URL"] = f"{scheme}://{netloc}"
        env["JOBMON__HTTP__ROUTE_PREFIX"] = f"/{path}" if path else ROUTE_PREFIX
        return env


def ensure_venv(venv_dir: Path | None = None, *, python: str | None = None,
                log: IO[str] | None = None, build_timeout: float = 1800) -> ReferenceEnv:
    """Return the cached reference venv, building it from PyPI first if needed.

    Raises ``ReferenceEnvError`` (with the pip log's tail) when it cannot be built or imported.
    """
    venv = (venv_dir or default_venv_dir()).resolve()
    pinned = CONSTRAINTS_FILE.is_file() and not os.environ.get(NO_PIN_ENV)
    venv.parent.mkdir(parents=True, exist_ok=True)
    with _locked(venv.parent / f"{venv.name}.lock"):
        env = ReferenceEnv(venv)
        if _marker_ok(venv, pinned) or _verify_and_mark(env, pinned):
            return env
        _build(venv, python or os.environ.get(PYTHON_ENV) or sys.executable, pinned, log)
        if not _verify_and_mark(env, pinned):
            raise ReferenceEnvError(f"{venv}: installed {', '.join(PACKAGES)} but Jobmon does "
                                    f"not import; see {_install_log(venv)}")
        return env


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _install_log(venv: Path) -> Path:
    return venv.parent / f"{venv.name}.install.log"


def _marker_ok(venv: Path, pinned: bool) -> bool:
    marker = venv / MARKER_NAME
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    scripts = ("python", "worker_node_entry_point", "jobmon_server")
    return recorded == expected_marker(pinned) and all(
        (venv / "bin" / name).exists() for name in scripts)


def _verify_and_mark(env: ReferenceEnv, pinned: bool) -> bool:
    """Import Jobmon in the venv and compare versions; on success write the marker."""
    if not env.python.exists() or not (env.bin_dir / "worker_node_entry_point").exists():
        return False
    try:
        out = subprocess.run([str(env.python), "-c", _IMPORT_CHECK], capture_output=True,
                             text=True, timeout=300, env={**env.base_env(), **_IMPORT_ENV},
                             check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    try:
        versions = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else {}
    except (ValueError, IndexError):
        versions = {}
    if versions != pinned_versions():
        return False
    (env.venv / MARKER_NAME).write_text(json.dumps(expected_marker(pinned)), encoding="utf-8")
    return True


def _build(venv: Path, python: str, pinned: bool, log: IO[str] | None) -> None:
    log_path = _install_log(venv)
    if log is not None:
        print(f"building {venv} with {' '.join(PACKAGES)} from PyPI (log: {log_path}) ...",
              file=log, flush=True)
    if venv.exists():
        shutil.rmtree(venv)
    pin = ["-c", str(CONSTRAINTS_FILE)] if pinned else []
    steps = [[python, "-m", "venv", str(venv)],
             [str(venv / "bin" / "python"), "-m", "pip", "install", "--pre", *pin, *PACKAGES]]
    with open(log_path, "w", encoding="utf-8") as out:
        for argv in steps:
            try:
                done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=1800,
                                      check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise ReferenceEnvError(f"{venv}: {argv[0]} failed: {exc}") from exc
            if done.returncode != 0:
                raise ReferenceEnvError(f"{venv}: {' '.join(argv[1:4])} exited "
                                        f"{done.returncode}:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


@attrs.define
class JobmonServer:
    """A running real Jobmon server started by ``start()``; stop it with ``stop()``."""

    env: ReferenceEnv
    db_path: Path
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{ROUTE_PREFIX}"

    def client_env(self, settings: ClientSettings = ClientSettings()) -> dict[str, str]:
        return self.env.client_env(self.base_url, settings)

    @classmethod
    def start(cls, env: ReferenceEnv, db_path: Path, *, port: int = 0, timeout: float = 60,
              log_level: str = "warning", user: str | None = None,
              clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep) -> JobmonServer:
        """Init the database if new, start the server, wait for /health (``timeout`` s)."""
        db_path = db_path.resolve()
        db_path.parent.mkdir(parents=True, exist_ok=True)
        server_env = env.base_env()
        server_env.update({
            "JOBMON__DB__SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
            "JOBMON__SESSION__SECRET_KEY": "actorswarm-interop",
            "JOBMON__OTLP__WEB_ENABLED": "false", "JOBMON__OTLP__HTTP_ENABLED": "false",
            "JOBMON__HEARTBEAT__WORKFLOW_RUN_INTERVAL": "1",
            "JOBMON__HEARTBEAT__TASK_INSTANCE_INTERVAL": "1",
            "JOBMON_REF_LOG_LEVEL": log_level,
        })
        if user:
            server_env["JOBMON_REF_USER"] = user
        if not db_path.exists() or db_path.stat().st_size == 0:
            _init_db(env, db_path, server_env)
        log_path = db_path.with_name(db_path.name + ".log")
        port_file = db_path.with_name(db_path.name + ".port")
        port_file.unlink(missing_ok=True)
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [str(env.python), str(SERVE_SCRIPT), str(port_file), str(port)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=server_env, start_new_session=True)
        server = cls(env, db_path, process, 0, log_path)
        try:
            server._wait_ready(port_file, clock() + timeout, clock, sleep)
        except BaseException:
            server.stop()
            raise
        return server

    def _wait_ready(self, port_file: Path, deadline: float, clock: Callable[[], float],
                    sleep: Callable[[float], None]) -> None:
        while clock() < deadline:
            if self.process.poll() is not None:
                raise ReferenceServerError(f"Jobmon server exited with {self.process.returncode}"
                                           f" during start-up:\n{_tail(self.log_path)}")
            if not self.port and port_file.exists():
                self.port = int(port_file.read_text(encoding="ascii").strip() or 0)
            if self.port and self.health():
                return
            sleep(0.1)
        raise ReferenceServerError(f"Jobmon server (pid {self.pid}) did not answer /health in "
                                   f"time (log: {self.log_path}):\n{_tail(self.log_path)}")

    def health(self) -> bool:
        """True when ``GET /health`` answers 200."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only SQL query on the server's database (a side-effect-free observer)."""
        uri = f"file:{self.db_path}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=10)) as conn:
            return conn.execute(sql, params).fetchall()

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM the server (by PID), SIGKILL after ``timeout`` s; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _init_db(env: ReferenceEnv, db_path: Path, server_env: dict[str, str]) -> None:
    init_log = db_path.with_name(db_path.name + ".init.log")
    with open(init_log, "w", encoding="utf-8") as out:
        try:
            done = subprocess.run([str(env.bin_dir / "jobmon_server"), "init_db"], stdout=out,
                                  stderr=subprocess.STDOUT, env=server_env, timeout=300,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ReferenceServerError(f"jobmon_server init_db for {db_path} failed: {exc}") from exc
    if done.returncode != 0:
        raise ReferenceServerError(f"jobmon_server init_db for {db_path} exited "
                                   f"{done.returncode}:\n{_tail(init_log)}")


def main(argv: list[str] | None = None) -> int:
    """CLI: ``install`` or ``serve DB_FILE [--port N]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="build or validate the cached reference venv")
    serve = sub.add_parser("serve", help="start a server on DB_FILE and serve until ^C")
    serve.add_argument("db_file", type=Path)
    serve.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        env = ensure_venv(log=sys.stderr)
    except ReferenceEnvError as exc:
        print(f"jobmon_ref: {exc}", file=sys.stderr)
        return 1
    print(f"JOBMON_REF_VENV={env.venv}  ({time.monotonic() - started:.1f} s)")
    if args.command == "install":
        return 0
    try:
        server = JobmonServer.start(env, args.db_file, port=args.port)
    except ReferenceServerError as exc:
        print(f"jobmon_ref: {exc}", file=sys.stderr)
        return 1
    print(f"JOBMON_BASE_URL={server.base_url}\nJOBMON_SERVER_PID={server.pid}", flush=True)
    for key in ("JOBMON__HTTP__SERVICE_URL", "JOBMON__HTTP__ROUTE_PREFIX", "PATH"):
        print(f"export {key}={server.client_env()[key]}")
    with server:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    return 0


if __name__ == "__main__":
    sys.exit(main())
