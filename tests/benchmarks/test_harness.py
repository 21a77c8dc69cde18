"""The harness's pure parts: statistics, timing loops (fake clock), targets, registry."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.errors import BenchmarkConfigError, BenchmarkError
from benchmarks.harness import (
    Measurement,
    Memory,
    Mode,
    SuiteOptions,
    SuiteResult,
    Target,
    Throughput,
    check_targets,
    from_rounds,
    get_suite,
    percentile,
    registered_suites,
    suite,
    summarize,
    time_blocks,
    time_each,
)

durations = st.lists(st.floats(min_value=0, max_value=1e12, allow_nan=False), min_size=1,
                     max_size=300)


class FakeClock:
    """Advances by the next of ``steps`` (ns) at each read."""

    def __init__(self, steps: list[int]) -> None:
        self.now = 0
        self.steps = itertools.cycle(steps)

    def __call__(self) -> int:
        self.now += next(self.steps)
        return self.now


@given(durations)
def test_summary_is_ordered_and_within_the_samples(samples: list[float]) -> None:
    s = summarize(samples)
    assert s.n == len(samples)
    assert s.min <= s.p50 <= s.p99 <= s.max
    assert s.min <= s.mean <= s.max
    assert s.min == min(samples) and s.max == max(samples)
    assert s.p50 in samples and s.p99 in samples


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False), st.integers(1, 50))
def test_constant_samples_summarize_to_that_constant(value: float, n: int) -> None:
    s = summarize([value] * n)
    assert s.min == s.p50 == s.p99 == s.max == value


def test_nearest_rank_percentiles() -> None:
    ordered = [float(i) for i in range(1, 101)]
    assert percentile(ordered, 0.5) == 50.0
    assert percentile(ordered, 0.99) == 99.0
    assert percentile(ordered, 1.0) == 100.0
    assert percentile(ordered, 0.0) == 1.0
    assert summarize([5.0, 1.0, 3.0]).p50 == 3.0


@pytest.mark.parametrize("samples", [[], [-1.0, 2.0], [float("inf")]])
def test_bad_samples_are_refused(samples: list[float]) -> None:
    with pytest.raises(BenchmarkError):
        summarize(samples)


def test_percentile_rank_must_be_a_fraction() -> None:
    with pytest.raises(BenchmarkError, match="within"):
        percentile([1.0], 1.5)


def test_time_each_reads_the_injected_clock_around_each_call() -> None:
    calls = []
    clock = FakeClock([100, 250])  # start read +100, end read +250 -> 250 ns per call
    samples = time_each(lambda: calls.append(1), 4, clock)
    assert samples == [250, 250, 250, 250] and len(calls) == 4


def test_time_blocks_divides_each_block_by_its_size() -> None:
    calls = []
    clock = FakeClock([7, 1000])
    samples = time_blocks(lambda: calls.append(1), 10, 4, clock)
    assert samples == [250.0, 250.0, 500.0]  # blocks of 4, 4 and the remaining 2
    assert len(calls) == 10


@pytest.mark.parametrize(("n", "block"), [(0, 1), (5, 0)])
def test_timing_loops_refuse_empty_work(n: int, block: int) -> None:
    with pytest.raises(BenchmarkConfigError):
        time_blocks(lambda: None, n, block)
    if n == 0:
        with pytest.raises(BenchmarkConfigError):
            time_each(lambda: None, n)


def test_from_rounds_keeps_each_round_and_derives_the_rate() -> None:
    m = from_rounds("x", "g", "op", [[1000.0, 3000.0], [2000.0]], rate_unit="ops/s")
    assert m.stats is not None and m.stats.n == 3 and m.stats.mean == 2000.0
    assert [r.n for r in m.rounds] == [2, 1]
    assert m.throughput == Throughput(500_000.0, "ops/s")
    with pytest.raises(BenchmarkError, match="no samples"):
        from_rounds("x", "g", "op", [[], []])


def test_targets_are_checked_both_ways_and_missing_values_are_not_applicable() -> None:
    m = Measurement(
        "ask", "g", "ask", stats=summarize([100.0, 200.0]),
        throughput=Throughput(1000.0, "asks/s"),
        memory=Memory(peak_bytes=10, source="rss"),
        targets=(Target("fast", "p50", "<=", 150.0), Target("slow", "p99", "<=", 150.0),
                 Target("rate", "throughput", ">=", 2000.0),
                 Target("mem", "memory_per_item", "<=", 1.0)))
    verdicts = [c.verdict for c in check_targets(m)]
    assert verdicts == ["pass", "miss", "miss", "n/a"]
    kept = Memory(peak_bytes=4096, source="tracemalloc", retained_bytes=2048, items=4)
    assert kept.per_item == 512.0


def test_options_pick_by_mode_and_params_default() -> None:
    options = SuiteOptions(mode=Mode.QUICK, params={"asks": 7, "tells": None})
    assert options.pick(1, 2, 3) == 2
    assert options.param("asks", 1) == 7 and options.param("tells", 9) == 9
    assert options.rounds_or(5, 3, 2) == 3
    assert SuiteOptions(rounds=8).rounds_or(5, 3, 2) == 8


def test_registry_refuses_a_second_suite_with_the_same_name() -> None:
    def first(options: SuiteOptions) -> SuiteResult:
        return SuiteResult("test-dup", options.mode, {}, ())

    def second(options: SuiteOptions) -> SuiteResult:
        return SuiteResult("test-dup", options.mode, {}, ())

    suite("test-dup", "a test suite")(first)
    try:
        assert get_suite("test-dup").run is first
        suite("test-dup", "again")(first)  # re-registering the same function is fine
        with pytest.raises(BenchmarkConfigError, match="already registered"):
            suite("test-dup", "another")(second)
    finally:
        from benchmarks import harness

        harness._registry.pop("test-dup", None)
    assert "test-dup" not in registered_suites()


def test_unknown_suite_and_bad_names_are_clear_errors() -> None:
    with pytest.raises(BenchmarkConfigError, match="unknown suite 'nope'"):
        get_suite("nope")
    with pytest.raises(BenchmarkConfigError, match="suite name"):
        suite("bad name!", "x")
