"""DAG shapes of the end-to-end suites: structure, both conversions, bad sizes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import shapes
from benchmarks.errors import BenchmarkConfigError
from benchmarks.shapes import (
    SHAPE_KINDS,
    Shape,
    arrays,
    chains,
    fan_out,
    layered,
    make_shape,
    parse_counts,
    to_definition,
    to_jobmon_wire,
)


def _well_formed(shape: Shape, n: int) -> None:
    names = [t.name for t in shape.tasks]
    assert names == [f"t{i}" for i in range(n)]
    seen: set[str] = set()
    for task in shape.tasks:
        assert set(task.upstream) <= seen, f"{task.name} waits for a later task"
        assert len(set(task.upstream)) == len(task.upstream)
        assert task.array in shape.array_limits
        seen.add(task.name)
    assert shape.n == n and shape.edges == sum(len(t.upstream) for t in shape.tasks)


def test_fan_out_is_independent_tasks() -> None:
    shape = fan_out(5)
    _well_formed(shape, 5)
    assert shape.edges == 0 and shape.describe() == {"shape": "fan-out", "tasks": 5, "edges": 0}


def test_chains_link_every_task_to_the_one_a_width_earlier() -> None:
    shape = chains(10, 4)  # width 3: chains t0-t3-t6-t9, t1-t4-t7, t2-t5-t8
    _well_formed(shape, 10)
    ups = {t.name: t.upstream for t in shape.tasks}
    assert ups["t9"] == ("t6",) and ups["t6"] == ("t3",) and ups["t2"] == ()
    assert shape.detail == {"chains": 3, "length": 4}
    assert chains(7, 7).detail == {"chains": 1, "length": 7}


def test_layered_tasks_wait_for_two_neighbours_above() -> None:
    shape = layered(12, 4)
    _well_formed(shape, 12)
    ups = {t.name: t.upstream for t in shape.tasks}
    assert ups["t4"] == ("t0", "t3") and ups["t5"] == ("t0", "t1") and ups["t11"] == ("t6", "t7")
    assert shape.detail == {"width": 4, "layers": 3}
    assert {t.array for t in shape.tasks} == {"layer0", "layer1", "layer2"}
    assert layered(3, 1).edges == 2  # a width of one is a chain


def test_arrays_split_the_tasks_and_carry_the_limit() -> None:
    shape = arrays(10, 3, 2)
    _well_formed(shape, 10)
    assert shape.array_limits == {"array0": 2, "array1": 2, "array2": 2}
    assert [t.array for t in shape.tasks].count("array0") == 4


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(SHAPE_KINDS), n=st.integers(1, 120), width=st.integers(1, 30),
       length=st.integers(1, 30), count=st.integers(1, 8), limit=st.integers(1, 10))
def test_every_shape_is_a_dag_in_dependency_order(kind: str, n: int, width: int, length: int,
                                                  count: int, limit: int) -> None:
    shape = make_shape(kind, n, width=width, length=length, array_count=count,
                       array_limit=limit)
    _well_formed(shape, n)


def test_definition_keeps_tasks_edges_and_limits(tmp_path: Path) -> None:
    shape = layered(9, 3)
    definition = to_definition(shape, "tag1", tmp_path)
    assert [t.name for t in definition.tasks] == [t.name for t in shape.tasks]
    assert sum(len(d) for d in definition.downstream().values()) == shape.edges
    assert definition.workflow_args == "bench-layered-tag1"
    assert definition.max_concurrently_running == 9
    limited = to_definition(arrays(6, 2, 3), "tag2", tmp_path)
    assert {a.name: a.max_concurrently_running for a in limited.arrays} == {
        "array0": 3, "array1": 3}
    commands = {t.command for t in definition.tasks}
    assert len(commands) == 9 and all("tag1" in c for c in commands)


def test_jobmon_wire_has_one_template_per_array() -> None:
    wire = to_jobmon_wire(arrays(4, 2, 5), "tg", cluster="dummy")
    assert wire["cluster"] == "dummy" and wire["queue"] == "null.q"
    assert wire["template_limits"] == {"bench_array0": 5, "bench_array1": 5}
    assert [t["template"] for t in wire["tasks"]] == ["bench_array0"] * 2 + ["bench_array1"] * 2
    chain = to_jobmon_wire(chains(3, 3), "tg")
    assert [t["upstream"] for t in chain["tasks"]] == [[], ["t0"], ["t1"]]
    assert chain["template_limits"] == {} and chain["workflow_args"] == "bench-chains-tg"


@pytest.mark.parametrize(("maker", "args"), [(fan_out, (0,)), (chains, (5, 0)),
                                             (layered, (5, -1)), (arrays, (5, 2, 0)),
                                             (fan_out, (True,))])
def test_bad_sizes_are_named(maker: object, args: tuple[int, ...]) -> None:
    with pytest.raises(BenchmarkConfigError, match="must be a whole number"):
        maker(*args)  # type: ignore[operator]


def test_unknown_shape_lists_the_known_ones() -> None:
    with pytest.raises(BenchmarkConfigError, match="known: fan-out, chains, layered, arrays"):
        make_shape("star", 10)


def test_public_names() -> None:
    assert set(shapes.__all__) <= set(dir(shapes))


def test_parse_counts_sorts_dedups_and_names_the_option() -> None:
    assert parse_counts("10k, 1000,1_000,2M", "--sizes") == (1000, 10_000, 2_000_000)
    for bad in ("", "0", "ten", "5x", "1,,2"):
        with pytest.raises(BenchmarkConfigError, match="--tasks: .* is not a count"):
            parse_counts(bad, "--tasks")
