"""POST /task/get_downstream_tasks answers a Jobmon 3.4 client in its own format (issue 5).

Jobmon's 3.4 swarm ``json.loads`` every non-empty ``downstream_node_ids`` (its servers store
them as JSON strings); clients of 3.6 and later, and clients that do not say, get lists.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.server.helpers import TestClient, bind_dag

DIAMOND = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}


def _edges(client: TestClient, version: str | None) -> tuple[dict[str, list[Any]], dict[str, int]]:
    ids = bind_dag(client, DIAMOND)
    params = {"client_jobmon_version": version} if version is not None else None
    answer = client.post("/task/get_downstream_tasks", params=params,
                         json={"task_ids": list(ids["tasks"].values()), "dag_id": ids["dag_id"]})
    assert answer.status_code == 200, answer.text
    return answer.json()["downstream_tasks"], ids["tasks"]


@pytest.mark.parametrize("version", ["3.4.8", "3.4.3.dev3", "3.5.0", "2.9"])
def test_older_clients_get_json_strings_and_null_for_a_leaf(client: TestClient,
                                                            version: str) -> None:
    edges, tasks = _edges(client, version)
    node = {name: edges[str(tid)][0] for name, tid in tasks.items()}
    down_a = edges[str(tasks["a"])][1]
    assert isinstance(down_a, str) and sorted(json.loads(down_a)) == sorted([node["b"],
                                                                             node["c"]])
    assert edges[str(tasks["b"])][1] == json.dumps([node["d"]])
    assert edges[str(tasks["d"])][1] is None


@pytest.mark.parametrize("version", ["3.6.0", "3.10.1", "4.0", None, "not-a-version"])
def test_newer_or_unknown_clients_get_lists(client: TestClient, version: str | None) -> None:
    edges, tasks = _edges(client, version)
    node = {name: edges[str(tid)][0] for name, tid in tasks.items()}
    assert sorted(edges[str(tasks["a"])][1]) == sorted([node["b"], node["c"]])
    assert edges[str(tasks["d"])][1] == []
