"""Suite "scale": measurements from run records, marginal costs, and a tiny real run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actors.app import RunOutcome
from benchmarks.__main__ import main
from benchmarks.errors import BenchmarkConfigError
from benchmarks.procwatch import RoleUsage
from benchmarks.scale import marginal_rows, measure_shape, parse_shapes
from benchmarks.serverdb import RunTimes
from benchmarks.shapes import chains
from benchmarks.simrun import SimRecord
from messages.orchestrator import OrchestratorResult
from messages.values import RunStatus
from tests.benchmarks.helpers import check_document

MIB = 1 << 20


def _record(n: int, wall: float, cpu: float, orch_rss: int, times: RunTimes) -> SimRecord:
    result = OrchestratorResult(RunStatus.DONE, wall / 2, n, n, 0, 0, (), (), (), None)
    outcome = RunOutcome(result, {}, {}, {}, "", "", "", False)
    usage = {role: RoleUsage(role, cpu, rss, 1, rss // 2) for role, rss in (
        ("orchestrator", orch_rss), ("heartbeat", 40 * MIB), ("scheduler", 40 * MIB),
        ("synchronizer", 40 * MIB), ("server", 90 * MIB))}
    return SimRecord(outcome, wall, wall / 2, 0.0, times, usage, "db")


def test_measurements_of_a_chain_run() -> None:
    shape = chains(4, 2)  # t0 -> t2, t1 -> t3
    times = RunTimes({"t0": 0.0, "t1": 0.0, "t2": 1.25, "t3": 2.5},
                     {"t0": 1.0, "t1": 2.0, "t2": 3.0, "t3": 4.0},
                     {"t0": 0.5, "t1": 0.5, "t2": 1.5, "t3": 2.75})
    rows = {m.name: m for m in measure_shape(shape, [_record(4, 8.0, 0.5, 44 * MIB, times)])}
    hop = rows["upstream D -> downstream Q"]
    assert hop.stats is not None and hop.stats.n == 2
    assert sorted([hop.stats.min, hop.stats.max]) == [pytest.approx(0.25e9), pytest.approx(0.5e9)]
    assert rows["upstream D -> downstream launched (database)"].stats is not None
    life = rows["lifecycle (start, bind, run)"]
    assert life.stats is not None and life.stats.p50 == pytest.approx(2e9)
    assert not rows["lifecycle (start, bind, run)"].targets  # the 60 s target is for 100k
    memory = rows["orchestrator peak RSS"].memory
    assert memory is not None and memory.retained_bytes == 4 * MIB and memory.items == 4
    end = rows["orchestrator RSS at the end"].memory
    assert end is not None and end.retained_bytes == 2 * MIB and end.peak_bytes == 44 * MIB
    swarm = rows["CPU: swarm (four actors)"]
    assert swarm.per == "transition"
    assert swarm.stats.mean == pytest.approx(4 * 0.5e9 / 12)  # type: ignore[union-attr]
    whole = rows["CPU: whole system"]
    assert whole.stats.mean == pytest.approx(5 * 0.5e9 / 4)  # type: ignore[union-attr]


def test_marginal_rows_are_slopes_between_sizes() -> None:
    times = RunTimes({}, {})
    small = (1000, [_record(1000, 4.0, 1.0, 44 * MIB, times)])
    large = (5000, [_record(5000, 8.0, 1.6, 48 * MIB, times)])
    rows, notes = marginal_rows("fan-out", small, large)
    by = {m.name: m for m in rows}
    assert not notes
    assert by["lifecycle, marginal"].stats.mean == pytest.approx(1e6)  # type: ignore[union-attr]
    swarm = by["CPU: swarm (four actors), marginal"]
    assert swarm.stats.mean == pytest.approx(4 * 0.6e9 / (3 * 4000))  # type: ignore[union-attr]
    memory = by["orchestrator peak RSS, marginal"].memory
    assert memory is not None and memory.per_item == pytest.approx(4 * MIB / 4000)


def test_a_negative_slope_is_left_out_with_a_note() -> None:
    times = RunTimes({}, {})
    rows, notes = marginal_rows("arrays", (10, [_record(10, 5.0, 1.0, 50 * MIB, times)]),
                                (20, [_record(20, 4.0, 1.0, 40 * MIB, times)]))
    assert "lifecycle, marginal" not in {m.name for m in rows}
    assert any("came out negative" in n for n in notes)
    assert any("peak RSS fell" in n for n in notes)


def test_parse_shapes() -> None:
    assert parse_shapes("layered, chains") == ("layered", "chains")
    with pytest.raises(BenchmarkConfigError, match="star is not a shape"):
        parse_shapes("layered,star")


@pytest.mark.process
@pytest.mark.timeout(240)
def test_tiny_run_writes_the_documented_json(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scale.json"
    assert main(["scale", "--tiny", "--shapes", "layered,arrays", "--sizes", "24,48",
                 "--width", "8", "--arrays", "2", "--array-limit", "3",
                 "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    measurements = check_document(doc, "scale", "tiny")
    groups = {m["group"] for m in measurements}
    assert {"scale: layered, 24 tasks", "scale: arrays, 48 tasks",
            "scale: layered, marginal cost from 24 to 48 tasks"} <= groups
    hops = [m for m in measurements if m["name"] == "upstream D -> downstream Q"]
    assert [m["stats_ns"]["n"] for m in hops] == [16, 40]  # tasks below the first layer
    assert all(m["targets"][0]["label"].startswith("upstream D") for m in hops)
    assert not any(m["name"] == "upstream D -> downstream Q" and "arrays" in m["group"]
                   for m in measurements)
    roles = {m["name"] for m in measurements if m["name"].startswith("CPU: ")}
    assert {"CPU: server", "CPU: distributor", "CPU: orchestrator", "CPU: scheduler",
            "CPU: synchronizer", "CPU: heartbeat", "CPU: root"} <= roles
    memory = [m for m in measurements if m["name"].startswith("orchestrator ") and
              "RSS" in m["name"]]
    assert len([m for m in memory if "marginal" not in m["group"]]) == 2 * 2 * 2  # peak, end
    assert all(m["memory"]["source"] == "rss-peak" for m in memory)
    assert "scale: arrays, 48 tasks" in capsys.readouterr().out


def test_bad_options_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scale", "--tiny", "--shapes", "ring"]) == 2
    assert "--shapes: ring is not a shape" in capsys.readouterr().err
    assert main(["scale", "--tiny", "--chain-length", "0"]) == 2
    assert "--chain-length must be at least 1" in capsys.readouterr().err
