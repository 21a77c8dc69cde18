"""Bind example workflows on the real state server process and read them back."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.gateway import Gateway
from actors.workflow import bind, load_workflow
from messages.values import TaskStatus
from tests.gateway.server_process import running_server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = [pytest.mark.process, pytest.mark.timeout(90)]


def test_bind_and_read_back_through_the_real_server(tmp_path: Path) -> None:
    with running_server(tmp_path) as url, Gateway(url) as gateway:
        definition = load_workflow(EXAMPLES / "fan_out_fan_in.toml")
        bound = bind(definition, gateway, "local", chunk_size=4)
        assert bound.newly_created and set(bound.task_ids) == set(definition.task_names)

        again = bind(definition, gateway, "local")
        assert (again.workflow_id, dict(again.task_ids)) == (bound.workflow_id,
                                                             dict(bound.task_ids))
        assert not again.newly_created

        meta = gateway.fetch_workflow_metadata(bound.workflow_id)
        assert (meta.dag_id, meta.max_concurrently_running) == (bound.dag_id, 8)
        assert dict(gateway.task_names(bound.workflow_id)) == bound.task_names()

        rows = list(gateway.iter_tasks(bound.workflow_id, chunk_size=5))
        assert sorted(r.task_id for r in rows) == sorted(bound.task_ids.values())
        by_name = {bound.task_names()[r.task_id]: r for r in rows}
        work = by_name["work-01"]
        assert work.status is TaskStatus.REGISTERING and work.max_attempts == 3
        assert work.array_id == bound.array_ids["work"]
        assert work.array_max_concurrently_running == 3
        assert dict(work.requested_resources) == {"memory": 0.125, "runtime": 30, "cores": 1,
                                                  "queue": "all"}
        assert dict(work.resource_scales) == {"memory": 0.5, "runtime": 0.5}
        assert (work.cluster_name, work.queue_name) == ("local", "all")

        edges = gateway.get_downstream_tasks(bound.task_ids.values(), meta.dag_id)
        node_to_name = {e.node_id: bound.task_names()[tid] for tid, e in edges.items()}
        downstream = {bound.task_names()[tid]: sorted(node_to_name[n]
                                                      for n in e.downstream_node_ids)
                      for tid, e in edges.items()}
        assert downstream == {name: sorted(down)
                              for name, down in definition.downstream().items()}


def test_two_definitions_in_one_server_stay_apart(tmp_path: Path) -> None:
    with running_server(tmp_path) as url, Gateway(url) as gateway:
        diamond = bind(load_workflow(EXAMPLES / "diamond.toml"), gateway, "local")
        retry = bind(load_workflow(EXAMPLES / "retry.toml"), gateway, "local")
        assert diamond.workflow_id != retry.workflow_id
        summaries = {s.name: s for s in gateway.workflows()}
        assert summaries["diamond"].buckets.pending == 4
        assert summaries["retry"].task_counts == {TaskStatus.REGISTERING: 2}
