"""JSON document and table rendering (pure parts and the file writer)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from benchmarks.errors import BenchmarkConfigError
from benchmarks.harness import Measurement, Memory, Mode, SuiteResult, Target, from_rounds
from benchmarks.report import (
    format_bytes,
    format_ns,
    format_rate,
    print_table,
    to_json,
    write_json,
)
from tests.benchmarks.helpers import check_document

ENV = {"python": "3.11.0", "implementation": "CPython", "platform": "Linux", "cpu_count": 2,
       "cpu_model": "x", "memory_bytes": 1 << 30, "load_average": [0.5, 0.5, 0.5],
       "git": None, "date": "2024-01-01T00:00:00+00:00"}


def _result() -> SuiteResult:
    timed = from_rounds("ask", "messaging", "ask", [[100_000.0, 300_000.0], [200_000.0]],
                        rate_unit="asks/s", params={"sizes": (1, 2)},
                        targets=(Target("p50 <= 150 us", "p50", "<=", 150_000.0),))
    memory = Measurement("memory", "planner", "task",
                         memory=Memory(peak_bytes=9000, source="tracemalloc",
                                       retained_bytes=4000, items=10),
                         targets=(Target("<= 1 KiB", "memory_per_item", "<=", 1024.0),))
    return SuiteResult("demo", Mode.TINY, {"rounds": 2}, (timed, memory), notes=("a note",))


@pytest.mark.parametrize(("ns", "text"), [(812, "812 ns"), (1350, "1.35 us"),
                                          (4_200_000, "4.2 ms"), (1.2e9, "1.2 s"),
                                          (150_000, "150 us"), (None, "-")])
def test_format_ns(ns: float | None, text: str) -> None:
    assert format_ns(ns) == text


def test_format_bytes_and_rates() -> None:
    assert format_bytes(512) == "512 B" and format_bytes(1536) == "1.5 KiB"
    assert format_bytes(230 * (1 << 20)) == "230 MiB"
    assert format_rate(182_000, "tells/s") == "182k tells/s"
    assert format_rate(1_200_000, "/s") == "1.2M/s"


def test_document_has_the_documented_shape_and_is_valid_json() -> None:
    doc = to_json(_result(), ENV)
    measurements = check_document(json.loads(json.dumps(doc)), "demo", "tiny")
    ask, memory = measurements
    assert ask["stats_ns"]["p50"] == 200_000.0 and len(ask["rounds_ns"]) == 2
    assert ask["targets"][0]["verdict"] == "miss" and ask["params"]["sizes"] == [1, 2]
    assert memory["stats_ns"] is None and memory["memory"]["per_item_bytes"] == 400.0
    assert memory["targets"][0]["verdict"] == "pass"
    assert doc["notes"] == ["a note"]


def test_parameters_must_be_json_values() -> None:
    bad = SuiteResult("demo", Mode.TINY, {"when": object()}, ())
    with pytest.raises(BenchmarkConfigError, match="parameters.when"):
        to_json(bad, ENV)


def test_table_shows_each_figure_next_to_its_target() -> None:
    out = io.StringIO()
    print_table(_result(), out)
    text = out.getvalue()
    assert "suite demo (tiny)" in text and "messaging" in text and "planner" in text
    assert "ask (per ask)" in text and "200 us" in text
    assert "p50 <= 150 us" in text and "miss" in text
    assert "mem/item <= 1 KiB" in text and "pass" in text and "note: a note" in text


def test_write_json_replaces_the_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "out.json"
    write_json({"a": 1}, str(path))
    write_json({"b": [1, 2]}, str(path))
    assert json.loads(path.read_text()) == {"b": [1, 2]}
    assert [p.name for p in path.parent.iterdir()] == ["out.json"]
