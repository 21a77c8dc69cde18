"""DAG algorithms over task names: a cycle finder and a stable topological order. Pure.

Who uses it: ``actors.workflow.validate`` (rejects cycles, naming one) and the binder (binds
tasks upstream-first). Graphs are ``{name: upstream names}`` with every upstream a key.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

__all__ = ["find_cycle", "topological_order"]


def find_cycle(upstream: Mapping[str, Sequence[str]]) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]`` (each depends on the next), or None if there is none.

    Iterative depth-first search, so deep chains do not hit the recursion limit.
    """
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for root in upstream:
        if state.get(root):
            continue
        path: list[str] = [root]
        iters = [iter(upstream[root])]
        state[root] = 1
        while path:
            node = next(iters[-1], None)
            if node is None:
                state[path.pop()] = 2
                iters.pop()
                continue
            mark = state.get(node)
            if mark == 1:
                start = path.index(node)
                return path[start:] + [node]
            if mark is None:
                state[node] = 1
                path.append(node)
                iters.append(iter(upstream[node]))
    return None


def topological_order(order: Sequence[str], upstream: Mapping[str, Sequence[str]]) -> list[str]:
    """Names with every upstream before its downstreams; ties keep the order of ``order``.

    ``upstream`` must be acyclic (``find_cycle`` first); ValueError otherwise.
    """
    index = {name: i for i, name in enumerate(order)}
    pending = {name: len(set(upstream[name])) for name in order}
    downstream: dict[str, list[str]] = {name: [] for name in order}
    for name in order:
        for up in set(upstream[name]):
            downstream[up].append(name)
    ready = [index[name] for name in order if pending[name] == 0]
    heapq.heapify(ready)
    result: list[str] = []
    while ready:
        name = order[heapq.heappop(ready)]
        result.append(name)
        for down in downstream[name]:
            pending[down] -= 1
            if pending[down] == 0:
                heapq.heappush(ready, index[down])
    if len(result) != len(order):
        raise ValueError("topological_order: the graph has a cycle")
    return result
