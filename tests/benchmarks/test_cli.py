"""The command line: listing, option errors, output checks before measuring, plotting."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import benchmarks
from actors.errors import StartError
from benchmarks import harness, load_suites
from benchmarks.__main__ import main
from benchmarks.errors import PlotUnavailable
from benchmarks.harness import Mode, SuiteOptions, SuiteResult, from_rounds
from benchmarks.plotting import load_pyplot, plot_result


def test_list_names_the_registered_suites(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "runtime" in out and "planner" in out
    assert set(load_suites()) >= {"runtime", "planner"}


def test_no_suite_and_unknown_suite_are_usage_errors(capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    assert main([]) == 2
    assert "name a SUITE" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["nope"])
    assert exc.value.code == 2


def test_quick_and_tiny_are_exclusive() -> None:
    with pytest.raises(SystemExit):
        main(["planner", "--quick", "--tiny"])


def test_unwritable_json_path_fails_before_measuring(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[SuiteOptions] = []

    def run(options: SuiteOptions) -> SuiteResult:
        calls.append(options)
        return SuiteResult("test-cli", options.mode, {}, ())

    harness.suite("test-cli", "records its calls")(run)
    try:
        assert main(["test-cli", "--json", str(tmp_path / "missing" / "x.json")]) == 2
        assert "does not exist" in capsys.readouterr().err and not calls
        assert main(["test-cli", "--tiny", "--rounds", "4", "--json",
                     str(tmp_path / "ok.json")]) == 0
        assert calls == [SuiteOptions(mode=Mode.TINY, rounds=4, params={})]
    finally:
        harness._registry.pop("test-cli", None)


def test_missing_matplotlib_is_a_clear_error_before_measuring(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed
    with pytest.raises(PlotUnavailable, match="bench extra"):
        load_pyplot()
    assert main(["planner", "--tiny", "--plot", str(tmp_path / "p.png")]) == 2
    assert "PlotUnavailable" in capsys.readouterr().err
    assert not (tmp_path / "p.png").exists()


def test_plot_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result = SuiteResult("demo", Mode.TINY, {}, (
        from_rounds("a", "g1", "op", [[1000.0, 2000.0]]),
        from_rounds("b", "g2", "op", [[10.0, 1e7]])))
    path = tmp_path / "demo.png"
    plot_result(result, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_public_names() -> None:
    assert set(benchmarks.__all__) <= set(dir(benchmarks))
    assert "load_suites" in benchmarks.__all__ and "suite" in benchmarks.__all__


def test_json_to_stdout_moves_the_table_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["planner", "--tiny", "--sizes", "100", "--width", "20", "--rounds", "1",
                 "--json", "-"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["suite"] == "planner" and doc["parameters"]["sizes"] == [100]
    assert "planner: 100 tasks" in captured.err


def test_a_suite_failing_with_a_runtime_error_exits_2_naming_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    def run(options: SuiteOptions) -> SuiteResult:
        raise StartError("actor bench did not become ready within 15 s")

    harness.suite("test-fails", "raises")(run)
    try:
        assert main(["test-fails", "--tiny"]) == 2
        assert "StartError: actor bench did not become ready" in capsys.readouterr().err
    finally:
        harness._registry.pop("test-fails", None)
