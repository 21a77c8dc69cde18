"""find_cycle and topological_order, with Hypothesis over random graphs."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.workflow.graph import find_cycle, topological_order


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[str], dict[str, list[str]]]:
    """A random DAG: node i may depend on nodes < i; declared in a random order."""
    n = draw(st.integers(min_value=0, max_value=30))
    names = [f"t{i}" for i in range(n)]
    upstream = {name: draw(st.lists(st.sampled_from(names[:i]), unique=True)) if i else []
                for i, name in enumerate(names)}
    order = draw(st.permutations(names))
    return list(order), upstream


@given(dags())
def test_topological_order_puts_upstreams_first(dag: tuple[list[str], dict[str, list[str]]]) -> None:
    order, upstream = dag
    assert find_cycle(upstream) is None
    result = topological_order(order, upstream)
    assert sorted(result) == sorted(order)
    position = {name: i for i, name in enumerate(result)}
    for name, ups in upstream.items():
        assert all(position[u] < position[name] for u in ups)


@given(dags(), st.data())
def test_an_added_back_edge_is_found_as_a_cycle(dag: tuple[list[str], dict[str, list[str]]],
                                                data: st.DataObject) -> None:
    _, upstream = dag
    edges = [(down, up) for down, ups in upstream.items() for up in ups]
    if not edges:
        return
    down, up = data.draw(st.sampled_from(edges))
    upstream[up] = upstream[up] + [down]  # up now also depends on down: a cycle
    cycle = find_cycle(upstream)
    assert cycle is not None and cycle[0] == cycle[-1] and len(cycle) >= 3
    for dependent, dependency in itertools.pairwise(cycle):
        assert dependency in upstream[dependent]


def test_ties_keep_declaration_order() -> None:
    upstream = {"c": [], "a": [], "b": ["c"], "d": ["a"]}
    assert topological_order(["c", "a", "b", "d"], upstream) == ["c", "a", "b", "d"]
    # b is declared first, so it goes as soon as c is done.
    assert topological_order(["b", "d", "c", "a"], upstream) == ["c", "b", "a", "d"]


def test_self_loop_and_deep_chain() -> None:
    assert find_cycle({"a": ["a"]}) == ["a", "a"]
    chain = {f"n{i}": [f"n{i - 1}"] if i else [] for i in range(20_000)}
    assert find_cycle(chain) is None
    assert topological_order(list(reversed(chain)), chain)[:2] == ["n0", "n1"]


def test_topological_order_refuses_a_cycle() -> None:
    with pytest.raises(ValueError):
        topological_order(["a", "b"], {"a": ["b"], "b": ["a"]})
