"""Security: no pickle on any channel, bound SQL parameters only, private run directories and
sockets, a loopback server unless told otherwise (then a bearer token every client sends,
through the environment and never on a command line), and no secret in any log.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Self

import httpx
import psutil
import pytest

from actors.runtime import Node
from tests.reliability.cli import Cli, toml_workflow
from tests.reliability.codescan import dynamic_sql, forbidden_imports, python_files
from tests.reliability.faults import layered_workflow
from tests.reliability.servers import ServerProcess
from tests.swarm.helpers import (
    Run,
    config,
    request,
    rundir_of_orchestrator,
    sim_args,
    wait_for,
)

REPO = Path(__file__).resolve().parents[2]
SOURCES = (REPO / "actors", REPO / "messages")
TOKEN = "s3cret-T0ken-for-the-reliability-tier"


# ---------------------------------------------------------------------------- code scans

def test_the_scanners_find_what_they_look_for() -> None:
    """The scans below can fail: each pattern they must catch is caught here."""
    bad_imports = ("import pickle\nimport multiprocessing.pool\nfrom dill import dumps\n"
                   "import marshal as m\nfrom uvicorn.supervisors import Multiprocess\n"
                   "import importlib\nimportlib.import_module('cloudpickle')\n")
    assert len(forbidden_imports(bad_imports)) == 6
    assert forbidden_imports("import json\nimport msgpack\nfrom uvicorn import Server\n") == []
    bad_sql = ('conn.execute(text(f"SELECT * FROM t WHERE id = {i}"))\n'
               'conn.exec_driver_sql("SET x = %s" % v)\n'
               'cur.execute("SELECT " + column)\n'
               'text("DELETE FROM {}".format(table))\n'
               'conn.execute(f"LISTEN {CHANNEL}")\n')
    assert [f[1] for f in dynamic_sql(bad_sql)] == [1, 2, 3, 4, 5]
    good_sql = ('conn.execute(text("SELECT * FROM t WHERE id = :i"), {"i": i})\n'
                'conn.execute(text("SELECT 1 " "FROM t"))\n'
                'conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))\n'
                'conn.execute(select(t).where(t.c.id == i))\n')
    assert dynamic_sql(good_sql) == []


def test_no_pickle_nor_multiprocessing_in_actors_or_messages() -> None:
    found = [f for path in python_files(*SOURCES)
             for f in forbidden_imports(path.read_text(), str(path.relative_to(REPO)))]
    assert found == []


def test_sql_is_only_built_from_bound_parameters() -> None:
    found = [f for path in python_files(*SOURCES)
             for f in dynamic_sql(path.read_text(), str(path.relative_to(REPO)))]
    assert found == []


# ---------------------------------------------------------------------------- private files

def _mode(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.process
@pytest.mark.timeout(120)
def test_run_directory_and_sockets_are_private(tmp_path: Path,
                                              shared_server: ServerProcess) -> None:
    definition = layered_workflow("private", tmp_path, layers=1, width=20, seed=1, limit=2)
    run = Run(request(definition, state_dir=tmp_path / "state", server_url=shared_server.url,
                      distributor_args=sim_args("0.5"), cfg=config())).start()
    wait_for(lambda: run.run_id is not None, 60, "the run to start")
    rundir = rundir_of_orchestrator()
    sockets = wait_for(lambda: [p for p in Path(rundir).iterdir() if p.is_socket()] or None,
                       10, "the actors' sockets")
    assert _mode(rundir) == 0o700 and os.stat(rundir).st_uid == os.getuid()
    assert {p.name for p in sockets} >= {"orchestrator.sock", "heartbeat.sock",
                                         "synchronizer.sock", "scheduler.sock"}
    assert {p.name: _mode(p) for p in sockets} == {p.name: 0o600 for p in sockets}
    assert run.wait(90).exit_code == 0
    # the state directory made for the run (task output, logs) is private too
    state = tmp_path / "state"
    assert {d.name: _mode(d) for d in (state, state / "logs", *(state / "logs").iterdir())} \
        == {d.name: 0o700 for d in (state, state / "logs", *(state / "logs").iterdir())}


def test_a_run_directory_is_made_private_and_one_of_another_user_is_refused(
        tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    Node(str(loose), name="probe").close()
    assert _mode(loose) == 0o700
    if os.getuid() != 0:
        pytest.skip("giving a directory to another user needs root")
    foreign = tmp_path / "foreign"
    foreign.mkdir(mode=0o700)
    os.chown(foreign, 12345, 12345)
    with pytest.raises(PermissionError, match="uid 12345"):
        Node(str(foreign), name="probe")


# ---------------------------------------------------------------------------- the server

def _listening(pid: int) -> set[str]:
    return {c.laddr.ip for c in psutil.Process(pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN}


@pytest.mark.process
@pytest.mark.timeout(60)
def test_the_server_listens_on_loopback_by_default(
        own_server: Callable[..., ServerProcess]) -> None:
    server = own_server()
    assert _listening(server.pid) == {"127.0.0.1"}


@pytest.mark.process
@pytest.mark.timeout(60)
def test_a_server_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ACTORSWARM_TOKEN"}
    done = subprocess.run([sys.executable, "-m", "actors.server", "--host", "0.0.0.0",
                           "--port", "0", "--state-dir", str(tmp_path / "s")], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "--host 0.0.0.0" in done.stderr and "token" in done.stderr


@pytest.mark.process
@pytest.mark.timeout(60)
def test_every_request_to_a_token_server_must_carry_the_token(
        own_server: Callable[..., ServerProcess]) -> None:
    server = own_server(host="0.0.0.0", token=TOKEN)
    assert _listening(server.pid) == {"0.0.0.0"}
    url = f"http://127.0.0.1:{server.port}/api/v3"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                    {"Authorization": f"Basic {TOKEN}"}):
        for method, path in (("GET", "/health"), ("GET", "/workflows"),
                             ("POST", "/workflow/bind"), ("GET", "/openapi.json")):
            r = httpx.request(method, url + path, headers=headers, json={}, timeout=10)
            assert r.status_code == 401, (method, path, headers, r.text)
            assert r.json()["error"]["type"] == "AuthError"
            assert TOKEN not in r.text
    r = httpx.get(url + "/health", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert r.status_code == 200


# ---------------------------------------------------------------------------- the token, end to end

class ArgvWatch:
    """Samples the command line of every process under ``root`` until stopped."""

    def __init__(self, root: Callable[[], int | None]) -> None:
        self.root = root
        self.seen: dict[int, str] = {}
        self.environ: dict[int, dict[str, str]] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        while not self.stop.is_set():
            pid = self.root()
            if pid is not None:
                try:
                    procs = psutil.Process(pid).children(recursive=True)
                except psutil.Error:
                    procs = []
                for proc in procs:
                    try:
                        self.seen[proc.pid] = " ".join(proc.cmdline())
                        environ = proc.environ()  # empty while the process is being born
                        if environ:
                            self.environ[proc.pid] = environ
                    except psutil.Error:
                        continue
            self.stop.wait(0.05)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


def _log_files(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


@pytest.mark.process
@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("how", ["environment", "option"])
def test_a_cli_run_against_a_token_server_keeps_the_token_secret(
        how: str, tmp_path: Path, own_server: Callable[..., ServerProcess]) -> None:
    server = own_server(host="0.0.0.0", token=TOKEN, extra=("--log-level", "debug"))
    tasks: list[tuple[str, str, list[str]]] = [(f"t{i}", f"echo t{i} > t{i}.txt", [])
                                              for i in range(4)]
    tasks += [(f"u{i}", f"cat t{i}.txt > u{i}.txt", [f"t{i}"]) for i in range(4)]
    path = toml_workflow(tmp_path / "wf" / "secret.toml", f"secret-{how}", tasks)
    state = tmp_path / "state"
    argv = ["-vv", "run", str(path), "--server", f"http://127.0.0.1:{server.port}",
            "--backend", "local", "--heartbeat-interval", "0.5", "--state-dir", str(state),
            "--progress", "plain"]
    env = {"ACTORSWARM_LOG_LEVEL": "DEBUG"}
    if how == "environment":
        env["ACTORSWARM_TOKEN"] = TOKEN
    else:
        argv += ["--token", TOKEN]  # the user's own command line: its children never show it
    cli = Cli(argv, tmp_path / "cli", cwd=tmp_path, env=env)
    with ArgvWatch(lambda: cli.pid if cli.popen is not None else None) as watch:
        cli.start()
        code = cli.wait(180)
    assert code == 0, cli.stderr()[-3000:]
    assert {f"u{i}.txt" for i in range(4)} <= set(os.listdir(path.parent))

    workers = [p for p, a in watch.seen.items() if "actors.worker" in a]
    distributors = [p for p, a in watch.seen.items() if "-m actors.distributor" in a]
    assert workers and distributors, watch.seen
    leaked = {p: a for p, a in watch.seen.items() if TOKEN in a}
    assert leaked == {}, "the token is on a command line"
    read = [pid for pid in workers + distributors if pid in watch.environ]
    assert set(read) & set(workers) and set(read) & set(distributors)
    for pid in read:  # they got it, through the environment
        assert watch.environ[pid].get("ACTORSWARM_TOKEN") == TOKEN, watch.seen[pid]

    files = _log_files(state, tmp_path / "wf") + [server.log_path, Path(f"{cli.out}.out"),
                                                 Path(f"{cli.out}.err")]
    assert any("DEBUG" in f.read_text(errors="replace") for f in files), "no debug logging?"
    logged = [str(f) for f in files if TOKEN in f.read_text(errors="replace")]
    assert logged == [], "the token is in a log"
