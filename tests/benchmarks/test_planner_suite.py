"""Suite "planner": a tiny run through the real CLI, and the transition stream's bookkeeping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actors.orchestrator.state import SwarmState
from benchmarks.__main__ import main
from benchmarks.dags import layered_dag
from benchmarks.errors import BenchmarkConfigError
from benchmarks.planner import build_state, measure_memory, parse_sizes, transition_stream
from messages.values import RunStatus, TaskStatus
from tests.benchmarks.helpers import check_document


class StepClock:
    """A fake nanosecond clock advancing 1000 ns per read."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        self.now += 1000
        return self.now


@pytest.mark.timeout(120)
def test_tiny_run_writes_the_documented_json(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "planner.json"
    assert main(["planner", "--tiny", "--sizes", "200,1k", "--width", "50", "--rounds", "2",
                 "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    measurements = check_document(doc, "planner", "tiny")
    assert doc["parameters"]["sizes"] == [200, 1000]
    by_size = {m["params"]["tasks"] for m in measurements}
    assert by_size == {200, 1000}
    names = {m["name"] for m in measurements}
    assert {"SwarmState.build", "memory held by SwarmState",
            "take_ready + plan_batches (all ready)", "state transition, CPU over the stream",
            "state transition, wall per step"} <= names
    memory = [m for m in measurements if m["name"] == "memory held by SwarmState"]
    assert all(m["memory"]["source"] == "tracemalloc" and m["memory"]["per_item_bytes"] > 0
               for m in memory)
    targets = {t["label"] for m in measurements for t in m["targets"]}
    assert any("200 ms" in t for t in targets) and any("50 us" in t for t in targets)
    table = capsys.readouterr().out
    assert "planner: 1,000 tasks" in table and ("pass" in table or "miss" in table)


def test_transition_stream_moves_every_task_through_q_r_d() -> None:
    dag = layered_dag(250, width=40)
    state = build_state(dag)
    stream = transition_stream(state, 7, 13, StepClock(), StepClock())
    assert stream.transitions == 3 * 250
    assert state.done_count == 250 and state.live_count == 0
    assert state.count(TaskStatus.DONE) == 250
    assert stream.final_status is RunStatus.DONE  # the run machine saw the run through
    assert stream.cpu_ns == 1000  # one step of the fake CPU clock around the whole stream
    assert stream.samples and all(s > 0 for s in stream.samples)


def test_planning_state_has_every_task_ready() -> None:
    dag = layered_dag(120, width=30)
    ready = build_state(dag, edges=False)
    with_edges = build_state(dag)
    assert ready.n_ready == 120
    assert with_edges.n_ready == 30  # only the first layer
    assert isinstance(ready, SwarmState)


def test_memory_is_measured_with_tracemalloc_per_task() -> None:
    memory = measure_memory(lambda: layered_dag(500, width=50))
    assert memory.source == "tracemalloc" and memory.items == 500
    assert memory.retained_bytes is not None and 0 < memory.retained_bytes <= memory.peak_bytes
    assert memory.per_item is not None and memory.per_item > 50


@pytest.mark.parametrize(("text", "sizes"), [("10000", (10_000,)), ("10k,100K, 1m",
                                                                   (10_000, 100_000, 1_000_000)),
                                             ("1_000", (1000,))])
def test_parse_sizes(text: str, sizes: tuple[int, ...]) -> None:
    assert parse_sizes(text) == sizes


@pytest.mark.parametrize("text", ["", "ten", "0", "5x", "1,,2", "-3"])
def test_parse_sizes_refuses_what_is_not_a_count(text: str) -> None:
    with pytest.raises(BenchmarkConfigError, match="--sizes"):
        parse_sizes(text)


def test_bad_suite_option_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["planner", "--tiny", "--width", "0"]) == 2
    assert "--width must be at least 1" in capsys.readouterr().err
