"""Queueing and claiming: swarm ``queue_task_batch`` → Q instances → distributor ``claim``.

``queue_task_batch`` moves only G/A tasks to Q (attempts + 1, one new Q instance each) in
one UPDATE and one INSERT; ``claim`` hands the oldest Q instances of a run to its distributor
(Q → I for instance and task) in one SELECT plus the bulk report. Instances of the run still in
I were claimed by a request whose answer never arrived (a read timeout while the server was
frozen, then a retry). A run's only distributor, which launches and reports everything it
claimed before it claims again, asks for them with ``include_unlaunched``: ``claim`` then
hands them out again first instead of stranding them in I. Without it claims are disjoint.

Concurrency (several server processes on PostgreSQL): ``queue_task_batch`` holds the run row
``FOR SHARE`` (a run being replaced or resumed queues nothing), locks the tasks in id order,
and queues exactly the rows its conditional ``UPDATE ... WHERE status IN (G, A) RETURNING``
changed, so a repeated or concurrent request cannot queue a task twice; the unique key
(task, run, attempt) makes a second instance of one attempt impossible anyway. ``claim``
takes its instances with ``FOR UPDATE SKIP LOCKED``: two distributors claiming at once get
disjoint instances, and neither waits for the other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update

from actors.server import fsm
from actors.server.db import Tx
from actors.server.errors import InvalidInput, UnknownId
from actors.server.ops.common import chunks, require_row
from actors.server.ops.instances import Report, apply_reports, load_instances
from actors.server.schema import (
    array,
    cluster,
    queue,
    task,
    task_instance,
    task_resources,
    workflow_run,
)

__all__ = ["claim", "queue_task_batch"]


def queue_task_batch(tx: Tx, array_id: int, task_ids: Sequence[int], task_resources_id: int,
                     wfr_id: int, cluster_id: int | None) -> dict[str, list[int]]:
    """Queue the G/A tasks among ``task_ids``; returns ``{status: [ids]}`` for all of them."""
    arr = require_row(tx.conn, array, array_id, "array", ("id", "workflow_id"))
    run = require_row(tx.conn, workflow_run, wfr_id, "workflow run",
                      ("id", "workflow_id", "status"), lock="share")
    require_row(tx.conn, task_resources, task_resources_id, "task resources")
    if cluster_id is not None:
        require_row(tx.conn, cluster, cluster_id, "cluster")
    if run.workflow_id != arr.workflow_id:
        raise InvalidInput(f"workflow run {wfr_id} belongs to workflow {run.workflow_id}, "
                           f"array {array_id} to workflow {arr.workflow_id}",
                           location="workflow_run_id")
    ids = sorted(set(task_ids))
    rows: dict[int, Any] = {}
    for part in chunks(ids):
        for r in tx.conn.execute(select(task.c.id, task.c.array_id, task.c.status)
                                 .where(task.c.id.in_(part)).order_by(task.c.id)
                                 .with_for_update()):
            rows[r.id] = r
    missing = [i for i in ids if i not in rows]
    if missing:
        raise UnknownId(f"task(s) {missing[:20]} do not exist", location="task_ids")
    foreign = [i for i in ids if rows[i].array_id != array_id]
    if foreign:
        raise InvalidInput(f"task(s) {foreign[:20]} are not in array {array_id}",
                           location="task_ids")
    queueable = [i for i in ids if rows[i].status in fsm.QUEUEABLE_TASK_STATUSES]
    if run.status not in fsm.CLAIMABLE_RUN_STATUSES:
        queueable = []  # the run is stopping, resuming or over: nothing new for it
    attempts: dict[int, int] = {}
    for part in chunks(queueable):
        attempts.update((r[0], r[1]) for r in tx.conn.execute(
            update(task).where(task.c.id.in_(part), task.c.status.in_(
                [s.value for s in fsm.QUEUEABLE_TASK_STATUSES])).values(
                status=fsm.TaskStatus.QUEUED.value, num_attempts=task.c.num_attempts + 1,
                status_date=tx.now).returning(task.c.id, task.c.num_attempts)))
    by_status: dict[str, list[int]] = {}
    for i in ids:
        status = fsm.TaskStatus.QUEUED.value if i in attempts else rows[i].status
        by_status.setdefault(status, []).append(i)
    if not attempts:
        return by_status
    tx.conn.execute(insert(task_instance), [
        {"task_id": i, "workflow_run_id": wfr_id, "array_id": array_id,
         "task_resources_id": task_resources_id, "attempt": attempts[i],
         "status": fsm.InstanceStatus.QUEUED.value, "status_date": tx.now,
         "submitted_date": tx.now, "report_increment": 0.0} for i in sorted(attempts)])
    tx.touched.add(arr.workflow_id)
    return by_status


def claim(tx: Tx, wfr_id: int, max_instances: int,
          include_unlaunched: bool = False) -> dict[str, Any]:
    """Hand up to ``max_instances`` oldest Q instances of the run to its distributor (→ I);
    with ``include_unlaunched``, the run's instances still in I first (they stay I)."""
    run = require_row(tx.conn, workflow_run, wfr_id, "workflow run", ("id", "status"))
    if run.status not in fsm.CLAIMABLE_RUN_STATUSES or max_instances <= 0:
        return {"run_status": run.status, "task_instances": []}
    stranded = _instances_in(tx, wfr_id, fsm.InstanceStatus.INSTANTIATED,
                             max_instances) if include_unlaunched else []
    fresh = _instances_in(tx, wfr_id, fsm.InstanceStatus.QUEUED,
                          max_instances - len(stranded)) if len(stranded) < max_instances else []
    locked = load_instances(tx, [*stranded, *fresh])
    # only instances still I/Q under our lock are ours (SKIP LOCKED already ensures it)
    stranded = [i for i in stranded if locked[i].status == fsm.InstanceStatus.INSTANTIATED]
    fresh = [i for i in fresh if locked[i].status == fsm.InstanceStatus.QUEUED]
    after = dict.fromkeys(stranded, fsm.InstanceStatus.INSTANTIATED)
    if fresh:
        after.update(apply_reports(
            tx, [Report(i, fsm.InstanceStatus.INSTANTIATED) for i in fresh], locked))
    ids = sorted(after)
    if not ids:
        return {"run_status": run.status, "task_instances": []}
    rows: list[Any] = []
    for part in chunks(ids):
        rows.extend(tx.conn.execute(
            select(task_instance.c.id, task_instance.c.task_id, task_instance.c.array_id,
                   task_instance.c.attempt, task.c.name, task.c.command,
                   task_resources.c.requested_resources, queue.c.name.label("queue_name"),
                   cluster.c.name.label("cluster_name"))
            .join(task, task.c.id == task_instance.c.task_id)
            .join(task_resources, task_resources.c.id == task_instance.c.task_resources_id)
            .join(queue, queue.c.id == task_resources.c.queue_id)
            .join(cluster, cluster.c.id == queue.c.cluster_id)
            .where(task_instance.c.id.in_(part)).order_by(task_instance.c.id)))
    resources = {text: json.loads(text) for text in {r.requested_resources for r in rows}}
    claimed = [{"task_instance_id": r.id, "task_id": r.task_id, "array_id": r.array_id,
                "name": r.name, "command": r.command,
                "requested_resources": resources[r.requested_resources],
                "cluster_name": r.cluster_name, "queue_name": r.queue_name,
                "attempt": r.attempt}
               for r in rows if after[r.id] == fsm.InstanceStatus.INSTANTIATED]
    return {"run_status": run.status, "task_instances": claimed}


def _instances_in(tx: Tx, wfr_id: int, status: fsm.InstanceStatus, limit: int) -> list[int]:
    """Up to ``limit`` oldest instances of the run in ``status``, locked (others skipped)."""
    return list(tx.conn.execute(
        select(task_instance.c.id)
        .where(task_instance.c.workflow_run_id == wfr_id,
               task_instance.c.status == status.value)
        .order_by(task_instance.c.id).limit(limit)
        .with_for_update(skip_locked=True)).scalars().all())
