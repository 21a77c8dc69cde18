"""The printed block of one task instance in ``logs`` (files read through an injected reader)."""

from __future__ import annotations

from pathlib import Path

from actors.cli.logs_cmd import MISSING, instance_lines, read_local_file
from tests.cli.helpers import instance


def test_a_block_with_both_files() -> None:
    files = {"/o": "out 1\nout 2\n", "/e": "err 1\nerr 2\nerr 3\n"}
    row = instance(4, 2, "b", 3, error="boom\nbang", exit_code=2, stdout="/o", stderr="/e")
    lines = instance_lines(row, lambda path: files.get(path))
    assert lines[0] == "== task 'b' (task 2), attempt 3, instance 4: status E, exit code 2"
    assert lines[1:4] == ["-- error message:", "   boom", "   bang"]
    assert lines[4:7] == ["-- stdout: /o", "   out 1", "   out 2"]
    assert lines[7:] == ["-- stderr: /e", "   err 1", "   err 2", "   err 3"]
    tail = instance_lines(row, lambda path: files.get(path), tail=1)
    assert tail[-2:] == ["-- stderr: /e", "   err 3"] and "   out 1" not in tail


def test_missing_empty_and_unrecorded_files() -> None:
    row = instance(4, 2, "b", 1, status="D", error=None, exit_code=0, stdout="/gone",
                   stderr="/empty")
    lines = instance_lines(row, lambda path: {"/empty": ""}.get(path))
    assert lines[1] == f"-- stdout: /gone: {MISSING}"
    assert lines[2] == "-- stderr: /empty (empty)"
    row = instance(4, 2, "b", 1, status="Q", error=None, exit_code=None)
    assert instance_lines(row, lambda path: None)[1:] == ["-- stdout: no file recorded",
                                              "-- stderr: no file recorded"]


def test_read_local_file(tmp_path: Path) -> None:
    path = tmp_path / "x.out"
    path.write_bytes(b"ok \xff\n")
    assert read_local_file(str(path)) == "ok \ufffd\n"
    assert read_local_file(str(tmp_path / "missing")) is None
    assert read_local_file(str(tmp_path)) is None
