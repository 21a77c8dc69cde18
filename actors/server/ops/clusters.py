"""Clusters, queues and task resources: lookup, upsert, seeding, resource binding.

Upserts by name rely on unique keys: two server processes creating the same cluster, queue
or resources at once end with one row (the loser's transaction is run again, see ``db``).
Wire shapes follow Jobmon: cluster params are a JSON string, queue params a Python-literal
string (``str(dict)``), so Jobmon clients can ``json.loads`` / ``ast.literal_eval`` them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update

from actors.server.db import Tx
from actors.server.errors import InvalidInput, UnknownId
from actors.server.ops.common import dumps
from actors.server.schema import cluster, queue, task_resources

__all__ = [
    "cluster_wire",
    "get_cluster",
    "get_queue",
    "queue_wire",
    "resources_hash",
    "resources_id",
    "seed_clusters",
    "upsert_cluster",
]

_WEEK = 7 * 24 * 3600


def cluster_wire(row: Any) -> list[Any]:
    """``[id, name, type, params]`` with params as JSON text (Jobmon's shape)."""
    return [row.id, row.name, row.cluster_type, row.params]


def queue_wire(row: Any) -> list[Any]:
    """``[id, name, params]`` with params as a Python-literal string (Jobmon's shape)."""
    return [row.id, row.name, str(json.loads(row.params))]


def get_cluster(conn: Connection, name: str) -> Any:
    """The cluster row named ``name`` or UnknownId."""
    row = conn.execute(select(cluster).where(cluster.c.name == name)).first()
    if row is None:
        raise UnknownId(f"cluster {name!r} does not exist", location="cluster_name")
    return row


def get_queue(conn: Connection, cluster_id: int, name: str) -> Any:
    """The queue ``name`` of cluster ``cluster_id`` or UnknownId."""
    if conn.execute(select(cluster.c.id).where(cluster.c.id == cluster_id)).first() is None:
        raise UnknownId(f"cluster {cluster_id} does not exist", location="cluster_id")
    row = conn.execute(select(queue).where(queue.c.cluster_id == cluster_id,
                                           queue.c.name == name)).first()
    if row is None:
        raise UnknownId(f"queue {name!r} does not exist in cluster {cluster_id}",
                        location="queue_name")
    return row


def upsert_cluster(tx: Tx, name: str, cluster_type: str, params: dict[str, Any],
                   queues: Sequence[tuple[str, dict[str, Any]]]) -> tuple[Any, dict[str, Any]]:
    """Create or update a cluster and its queues (by name); returns the rows."""
    names = [q for q, _ in queues]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InvalidInput(f"queue name {dup!r} appears twice", location="queues")
    conn = tx.conn
    row = conn.execute(select(cluster.c.id).where(cluster.c.name == name)).first()
    if row is None:
        cid = conn.execute(insert(cluster).values(name=name, cluster_type=cluster_type,
                                                  params=dumps(params))).inserted_primary_key
        cluster_id = int(cid[0]) if cid else 0
    else:
        cluster_id = row.id
        conn.execute(update(cluster).where(cluster.c.id == cluster_id)
                     .values(cluster_type=cluster_type, params=dumps(params)))
    existing = {r.name: r.id for r in conn.execute(
        select(queue.c.id, queue.c.name).where(queue.c.cluster_id == cluster_id))}
    for qname, qparams in queues:
        if qname in existing:
            conn.execute(update(queue).where(queue.c.id == existing[qname])
                         .values(params=dumps(qparams)))
        else:
            conn.execute(insert(queue).values(cluster_id=cluster_id, name=qname,
                                              params=dumps(qparams)))
    crow = conn.execute(select(cluster).where(cluster.c.id == cluster_id)).one()
    qrows = {r.name: r for r in conn.execute(select(queue).where(queue.c.cluster_id
                                                                 == cluster_id))}
    return crow, qrows


def _local_queue() -> dict[str, Any]:
    # MemTotal, as psutil.virtual_memory().total reads it (importing psutil cost ~15 ms/start)
    mem_gib = round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 2)
    return {"min_cores": 1, "max_cores": os.cpu_count() or 1, "min_memory": 0.001,
            "max_memory": mem_gib, "min_runtime": 1, "max_runtime": _WEEK}


def seed_clusters(tx: Tx) -> None:
    """Clusters every server has: ``local`` (this machine) and ``sim`` (simulated)."""
    upsert_cluster(tx, "local", "local", {}, [("all", _local_queue())])
    sim_all = {"min_cores": 1, "max_cores": 64, "min_memory": 0.001, "max_memory": 512,
               "min_runtime": 1, "max_runtime": 86400}
    upsert_cluster(tx, "sim", "sim", {}, [("all", sim_all),
                                          ("long", dict(sim_all, max_runtime=_WEEK))])


def resources_id(tx: Tx, queue_id: int, resources_type: str,
                 requested: dict[str, Any]) -> int:
    """The id of these resources on this queue: an existing equal row, or a new one."""
    conn = tx.conn
    if conn.execute(select(queue.c.id).where(queue.c.id == queue_id)).first() is None:
        raise UnknownId(f"queue {queue_id} does not exist", location="queue_id")
    text = dumps(requested)
    digest = resources_hash(text)
    found = conn.execute(select(task_resources.c.id).where(
        task_resources.c.queue_id == queue_id, task_resources.c.resources_type == resources_type,
        task_resources.c.requested_resources_hash == digest)).first()
    if found is not None:
        return int(found.id)
    # two processes inserting the same resources: the unique key refuses the second, whose
    # transaction is run again and then finds this row
    pk = conn.execute(insert(task_resources).values(
        queue_id=queue_id, resources_type=resources_type, requested_resources=text,
        requested_resources_hash=digest)).inserted_primary_key
    return int(pk[0]) if pk else 0


def resources_hash(text: str) -> str:
    """The key of a resources text (SHA-256 hex) in ``task_resources``."""
    return hashlib.sha256(text.encode()).hexdigest()
