"""Suite "runtime": a tiny run through the real CLI (real actor processes), JSON validated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.__main__ import main
from tests.benchmarks.helpers import check_document


@pytest.mark.process
@pytest.mark.timeout(120)
def test_tiny_run_writes_the_documented_json(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runtime.json"
    assert main(["runtime", "--tiny", "--json", str(out)]) == 0
    measurements = check_document(json.loads(out.read_text()), "runtime", "tiny")
    by_name = {m["name"]: m for m in measurements}
    codec = [m for m in measurements if m["group"].startswith("codec: encode+decode")]
    assert {"heartbeat.ReportStatus", "runtime.Ping", "scheduler.QueueTasks",
            "bench.Probe"} <= {m["name"] for m in codec}
    assert all(m["params"]["frame_bytes"] > 0 for m in codec)
    assert any(m["group"].startswith("codec: message wrapped") for m in measurements)
    ask = by_name["ask latency (cross-process)"]
    assert [t["metric"] for t in ask["targets"]] == ["p50", "p99"]
    assert ask["memory"]["peak_bytes"] > 0  # the actor process's RSS
    tells = by_name["tell throughput (cross-process)"]
    assert tells["throughput"]["unit"] == "tells/s" and tells["targets"][0]["op"] == ">="
    assert "ask latency (thread mode)" in by_name
    restart = by_name["new process answering an ask"]
    assert restart["stats_ns"]["n"] == 2  # one SIGKILL per round, two rounds
    assert by_name["death noticed after SIGKILL (pidfd)"]["stats_ns"]["p50"] \
        <= restart["stats_ns"]["p50"]
    assert "runtime: restart after SIGKILL" in capsys.readouterr().out


def test_a_bad_count_is_refused_before_anything_starts(capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    assert main(["runtime", "--tiny", "--asks", "0"]) == 2
    assert "--asks must be at least 1" in capsys.readouterr().err
