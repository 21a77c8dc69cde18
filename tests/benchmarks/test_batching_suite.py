"""Suite "batching": the recommendation rule, option parsing and a tiny run through the CLI
(our server, a delaying proxy, the sim distributor and the actor processes, all real)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.__main__ import main
from benchmarks.batching import Point, parse_latencies, recommend
from benchmarks.errors import BenchmarkConfigError, BenchmarkError
from tests.benchmarks.helpers import check_document


def test_recommend_takes_the_smallest_batch_within_ten_percent_of_the_best() -> None:
    assert recommend({50: 800.0, 100: 2000.0, 500: 9100.0, 2000: 9800.0}) == 500
    assert recommend({50: 800.0, 100: 2000.0, 500: 8000.0, 2000: 9800.0}) == 2000
    assert recommend({100: 5.0}) == 100
    assert recommend({10: 90.0, 20: 100.0}, tolerance=0.0) == 20
    with pytest.raises(BenchmarkError, match="no batch sizes"):
        recommend({})


def test_steady_rate_leaves_out_the_wait_for_the_first_batch() -> None:
    point = Point(drain_s=1.2, first_s=0.2, batches=4)
    assert point.steady_ns(101) == pytest.approx(1e9 / 100)
    assert Point(0.5, 0.5, 1).steady_ns(1) == 0.0


def test_parse_latencies() -> None:
    assert parse_latencies("0, 5,20.5") == (0.0, 5.0, 20.5)
    for bad, match in (("x", "'x' is not a number"), ("-1", "not within"), ("", "is not a")):
        with pytest.raises(BenchmarkConfigError, match=match):
            parse_latencies(bad)


@pytest.mark.process
@pytest.mark.timeout(240)
def test_tiny_grid_writes_the_documented_json_and_a_recommendation(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "batching.json"
    assert main(["batching", "--tiny", "--tasks", "120", "--batch-sizes", "30,200",
                 "--latencies-ms", "0,15", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    measurements = check_document(doc, "batching", "tiny")
    assert doc["parameters"]["batch_sizes"] == [30, 200]
    assert set(doc["parameters"]["recommended"]) == {"120@0ms", "120@15ms"}
    assert set(doc["parameters"]["recommended"].values()) <= {30, 200}
    queue = [m for m in measurements if m["name"].endswith("queue every ready task")]
    assert len(queue) == 4
    for m in queue:
        assert m["throughput"]["unit"] == "tasks/s"
        # 120 tasks in batches of at most B: at least ceil(120 / B) queue_task_batch requests
        assert m["params"]["batches"] >= -(-120 // m["params"]["max_batch_size"])
        assert m["params"]["first_queued_s_p50"] <= m["params"]["drain_s_p50"]
    server = [m for m in measurements if m["name"].endswith("one queue_task_batch")]
    assert len(server) == 4 and all(m["stats_ns"]["n"] == m["params"]["batches"]
                                    for m in server)
    zero = [m for m in queue if m["params"]["latency_ms"] == 0]
    assert all(t["label"].startswith(">= 3,000 tasks/s") for m in zero for t in m["targets"])
    table = capsys.readouterr().out
    assert "recommended max_batch_size for 120 ready tasks at +15 ms" in table
    assert "batching: 120 ready tasks, +15 ms per request" in table


def test_bad_grid_options_are_refused_before_anything_starts(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batching", "--tiny", "--batch-sizes", "0"]) == 2
    assert "--batch-sizes: '0' is not a count of at least 1" in capsys.readouterr().err
    assert main(["batching", "--tiny", "--latencies-ms", "fast"]) == 2
    assert "--latencies-ms: 'fast'" in capsys.readouterr().err
