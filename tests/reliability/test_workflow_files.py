"""Malformed workflow files of every kind, through the command line: exit status 2 and one
error line naming the file, the task and the field; nothing is started and no server is
contacted (``--server`` points at a port where nobody listens).

Every case of tests/workflow/test_toml_errors.py goes through ``run`` here, plus damaged
documents drawn by Hypothesis (wrong types and odd values in every field of a valid file),
plus unreadable files; one case runs the real ``python -m actors.main`` process.
"""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.app_steps import bind_definition
from actors.cli import CliContext, main
from actors.errors import WorkflowFileError
from actors.gateway import Gateway, GatewayConfig, RetryPolicy
from actors.server import ServerSettings, create_app
from actors.workflow import load_workflow
from tests.server.helpers import TestClient
from tests.workflow.test_toml_errors import CASES

NOBODY = "http://127.0.0.1:9"  # discard port: a run that got this far would fail differently


def _run_cli(path: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    ctx = CliContext(stdout=out, stderr=err, environ={})
    code = main(["run", str(path), "--server", NOBODY, "--progress", "off"], ctx)
    return code, err.getvalue()


@pytest.mark.parametrize("label,text,task,field,fragment", CASES, ids=[c[0] for c in CASES])
def test_every_malformed_file_exits_2_naming_file_task_and_field(
        tmp_path: Path, label: str, text: str, task: str | None, field: str,
        fragment: str) -> None:
    path = tmp_path / "bad workflow.toml"
    path.write_text(textwrap.dedent(text))
    code, err = _run_cli(path)
    assert code == 2, err
    (line,) = err.strip().splitlines()
    assert str(path) in line and f"field {field!r}" in line and fragment in line
    if task is not None:
        assert f"task {task!r}" in line


@pytest.mark.parametrize("what", ["missing", "directory", "not utf-8", "unreadable", "empty",
                                  "binary", "invalid toml"])
def test_unusable_files_exit_2_naming_the_file(tmp_path: Path, what: str) -> None:
    path = tmp_path / "wf.toml"
    if what == "directory":
        path.mkdir()
    elif what == "not utf-8":
        path.write_bytes(b'[workflow]\nname = "\xff\xfe"\n')
    elif what == "unreadable":
        path.write_text('[workflow]\nname = "w"\n')
        path.chmod(0)
    elif what == "empty":
        path.write_text("")
    elif what == "binary":
        path.write_bytes(bytes(range(256)) * 4)
    elif what == "invalid toml":
        path.write_text('[workflow\nname = "w"\n')
    code, err = _run_cli(path)
    if what == "unreadable" and code != 2 and path.read_text():
        pytest.skip("root reads a file of mode 000")
    assert code == 2, err
    assert str(path) in err and len(err.strip().splitlines()) == 1


VALID: dict[str, Any] = {
    "workflow": {"name": "w", "max_concurrently_running": 10, "default_max_attempts": 2,
                 "default_resources": {"memory": "1G", "runtime": "10m", "cores": 1,
                                       "queue": "all"}},
    "arrays": {"x": {"max_concurrently_running": 3}},
    "tasks": [
        {"name": "a", "command": "echo a", "array": "x"},
        {"name": "b", "command": "echo b", "upstream": ["a"], "max_attempts": 3,
         "resources": {"memory": "200M", "runtime": "30s"},
         "resource_scales": {"memory": 0.5, "runtime": 0.5}, "fallback_queues": ["long"]},
    ],
}
_PATHS = [("workflow", k) for k in VALID["workflow"]] + \
    [("workflow", "default_resources", k) for k in VALID["workflow"]["default_resources"]] + \
    [("arrays", "x", "max_concurrently_running")] + \
    [("tasks", 0, k) for k in VALID["tasks"][0]] + [("tasks", 1, k) for k in VALID["tasks"][1]] + \
    [("tasks", 1, "resources", k) for k in ("memory", "runtime")] + \
    [("tasks", 1, "resource_scales", "memory"), ("tasks", 1, "upstream", 0),
     ("tasks", 1, "fallback_queues", 0)]
_ODD = st.one_of(st.none().map(lambda _: "\x00"), st.booleans(), st.integers(-2**70, 2**70),
                 st.floats(allow_nan=True), st.text(max_size=12), st.lists(st.integers(),
                                                                           max_size=3),
                 st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
                 st.sampled_from(["", " ", "a", "-1", "1e999", "8Q", "99:99:99", "\x00x",
                                  "nan", "inf", "x" * 300]))


def _damage(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    import copy
    out = copy.deepcopy(doc)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(_PATHS), _ODD)
def test_damaged_documents_load_or_name_what_is_wrong(tmp_path: Path, path: tuple[Any, ...],
                                                      value: Any) -> None:
    doc = _damage(VALID, path, value)
    try:
        text = tomli_w.dumps(doc)
    except (TypeError, ValueError):
        return  # not expressible in TOML (None, NaN keys...): no file can say it
    file = tmp_path / "damaged.toml"
    file.write_text(text)
    try:
        load_workflow(file)
    except WorkflowFileError as exc:
        assert exc.path == str(file) and str(file) in str(exc)
        if path[0] == "tasks" and exc.field not in (None, "upstream"):
            assert exc.task is not None, str(exc)
        assert exc.field or exc.task or "TOML" in exc.reason, str(exc)


@pytest.fixture(scope="module")
def our_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway to our server's app, in this process (no network)."""
    db = tmp_path_factory.mktemp("bind") / "s.sqlite"
    app = create_app(ServerSettings(db_url=f"sqlite:///{db}"))
    with TestClient(app, base_url="http://testserver") as client:
        yield Gateway(GatewayConfig(base_url="http://testserver",
                                    retry=RetryPolicy(max_attempts=1)),
                      transport=client._transport)
    app.state.server.db.dispose()


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(_PATHS), _ODD, st.integers(0, 2**31))
def test_a_file_that_loads_also_binds_on_the_server(
        tmp_path: Path, our_server: Gateway, path: tuple[Any, ...], value: Any,
        salt: int) -> None:
    """What the loader accepts, the server accepts (a queue it lacks is found before binding):
    a bad value is found in the file, where the error names the task and field, never by the
    server's refusal half-way through binding. (Found: huge limits and attempts, NUL in
    commands, unknown fallback queues, which crashed the synchronizer's load in a loop.)"""
    doc = _damage(VALID, path, value)
    doc["workflow"]["workflow_args"] = f"fuzz-{salt}-{path}-{value!r}"[:100]
    try:
        file = tmp_path / "damaged.toml"
        file.write_text(tomli_w.dumps(doc))
        definition = load_workflow(file)
    except (TypeError, ValueError):
        return  # refused (WorkflowFileError is a ValueError) or not expressible in TOML
    try:
        bind_definition(definition, our_server, "sim")  # as a run does: queues, then bind
    except WorkflowFileError as exc:  # a queue the server lacks: found before binding
        assert exc.path == str(file) and exc.task and exc.field, str(exc)
        assert "queue" in exc.field


@pytest.mark.process
@pytest.mark.timeout(60)
def test_the_real_process_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "wf.toml"
    path.write_text('[workflow]\nname = "w"\n\n[[tasks]]\nname = "a"\ncommand = "x"\n'
                    'resources = { memory = "lots" }\n')
    done = subprocess.run([sys.executable, "-m", "actors.main", "run", str(path), "--server",
                           NOBODY], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2, done.stderr
    assert str(path) in done.stderr and "task 'a'" in done.stderr
    assert "field 'resources.memory'" in done.stderr
