"""Synthetic layered DAGs: shape, ids, fan-in, arrays."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.dags import FIRST_TASK_ID, layered_dag
from benchmarks.errors import BenchmarkConfigError
from messages.values import TaskStatus


@given(st.integers(1, 400), st.integers(1, 60), st.integers(1, 3))
def test_every_task_below_the_first_layer_has_fan_in_upstreams(n: int, width: int,
                                                               fan_in: int) -> None:
    dag = layered_dag(n, width, arrays=4, fan_in=fan_in)
    ids = [t.task_id for t in dag.tasks]
    assert ids == list(range(FIRST_TASK_ID, FIRST_TASK_ID + n))
    assert all(t.status is TaskStatus.REGISTERING for t in dag.tasks)
    w = dag.width
    assert w == min(width, n) and dag.layers == -(-n // w)
    upstreams = Counter(d for downs in dag.downstream.values() for d in downs)
    for i, task_id in enumerate(ids):
        if i < w:
            assert upstreams[task_id] == 0
        else:
            assert upstreams[task_id] == min(fan_in, w)
    for up, downs in dag.downstream.items():
        assert all(d - up >= 1 for d in downs) and len(set(downs)) == len(downs)
    assert dag.edges == sum(upstreams.values())


def test_a_layer_is_one_array_with_one_resource_set() -> None:
    dag = layered_dag(30, width=10, arrays=2)
    layers = [dag.tasks[i:i + 10] for i in range(0, 30, 10)]
    assert [{t.array_id for t in layer} for layer in layers] == [{1}, {2}, {1}]
    assert len({t.resources for t in layers[0]}) == 1
    assert layers[0][0].resources != layers[1][0].resources
    assert all(t.resources.queue_key in dag.queues for t in dag.tasks)


@pytest.mark.parametrize("args", [(0, 10), (10, 0), (10, 10, 0), (10, 10, 2, 0)])
def test_bad_shapes_are_refused(args: tuple[int, ...]) -> None:
    with pytest.raises(BenchmarkConfigError, match="layered_dag"):
        layered_dag(*args)
