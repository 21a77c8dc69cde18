"""The state server's tables (SQLAlchemy Core), portable between SQLite and PostgreSQL.

Times are naive UTC ``DateTime`` values written from the server's injected clock. Statuses are
the one-letter codes of ``fsm``. JSON-ish columns (requested resources, scales, queue params)
are ``Text`` holding JSON written by the server.

The migrations (``actors.server.migrations``) own the schema; this module mirrors their head
revision for the queries and creates an empty database's tables directly (tests check that
the two agree, down to types, keys and indexes). Unique keys that make
concurrent writers safe: one instance per (task, run, attempt), one active run per workflow,
one resources row per (queue, type, resources hash).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

__all__ = [
    "ACTIVE_RUN_SQL",
    "array",
    "cluster",
    "dag",
    "edge",
    "metadata",
    "node",
    "queue",
    "task",
    "task_instance",
    "task_resources",
    "workflow",
    "workflow_run",
]

metadata = MetaData()

# the active run statuses (fsm.ACTIVE_RUN_STATUSES) as the partial-index predicate
ACTIVE_RUN_SQL = "status IN ('G', 'L', 'B', 'I', 'O', 'R', 'C', 'H')"

cluster = Table(
    "cluster", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("cluster_type", String(255), nullable=False),
    Column("params", Text, nullable=False),  # JSON object
    UniqueConstraint("name", name="uq_cluster_name"),
)

queue = Table(
    "queue", metadata,
    Column("id", Integer, primary_key=True),
    Column("cluster_id", Integer, ForeignKey("cluster.id"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("params", Text, nullable=False),  # JSON object
    UniqueConstraint("cluster_id", "name", name="uq_queue_cluster_name"),
)

task_resources = Table(
    "task_resources", metadata,
    Column("id", Integer, primary_key=True),
    Column("queue_id", Integer, ForeignKey("queue.id"), nullable=False),
    Column("resources_type", String(16), nullable=False),
    Column("requested_resources", Text, nullable=False),  # JSON object
    Column("requested_resources_hash", String(64), nullable=True),  # sha256 of the text
    Index("uq_task_resources_key", "queue_id", "resources_type", "requested_resources_hash",
          unique=True),
)

dag = Table(
    "dag", metadata,
    Column("id", Integer, primary_key=True),
    Column("created_date", DateTime, nullable=False),
)

workflow = Table(
    "workflow", metadata,
    Column("id", Integer, primary_key=True),
    Column("dag_id", Integer, ForeignKey("dag.id"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("workflow_args", Text, nullable=False),
    Column("workflow_args_hash", String(64), nullable=False),
    Column("user", String(255), nullable=True),
    Column("max_concurrently_running", Integer, nullable=False),
    Column("created_date", DateTime, nullable=False),
    Column("bind_done_date", DateTime, nullable=True),
    UniqueConstraint("workflow_args_hash", name="uq_workflow_args_hash"),
)

array = Table(
    "array", metadata,
    Column("id", Integer, primary_key=True),
    Column("workflow_id", Integer, ForeignKey("workflow.id"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("max_concurrently_running", Integer, nullable=False),
    UniqueConstraint("workflow_id", "name", name="uq_array_workflow_name"),
)

node = Table(
    "node", metadata,
    Column("id", Integer, primary_key=True),
    Column("dag_id", Integer, ForeignKey("dag.id"), nullable=False),
)

edge = Table(
    "edge", metadata,
    Column("dag_id", Integer, ForeignKey("dag.id"), primary_key=True),
    Column("upstream_node_id", Integer, ForeignKey("node.id"), primary_key=True),
    Column("downstream_node_id", Integer, ForeignKey("node.id"), primary_key=True),
    Index("ix_edge_downstream", "downstream_node_id"),
)

task = Table(
    "task", metadata,
    Column("id", Integer, primary_key=True),
    Column("workflow_id", Integer, ForeignKey("workflow.id"), nullable=False),
    Column("array_id", Integer, ForeignKey("array.id"), nullable=False),
    Column("node_id", Integer, ForeignKey("node.id"), nullable=False),
    Column("task_resources_id", Integer, ForeignKey("task_resources.id"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("command", Text, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("num_attempts", Integer, nullable=False),
    Column("resource_scales", Text, nullable=False),  # JSON object
    Column("fallback_queues", Text, nullable=False),  # JSON list
    Column("status", String(1), nullable=False),
    Column("status_date", DateTime, nullable=False),
    UniqueConstraint("workflow_id", "name", name="uq_task_workflow_name"),
    Index("ix_task_workflow_status_date", "workflow_id", "status_date"),
    Index("ix_task_workflow_status", "workflow_id", "status"),
    Index("ix_task_node", "node_id"),
)

workflow_run = Table(
    "workflow_run", metadata,
    Column("id", Integer, primary_key=True),
    Column("workflow_id", Integer, ForeignKey("workflow.id"), nullable=False),
    Column("user", String(255), nullable=True),
    Column("jobmon_version", String(64), nullable=True),
    Column("reset_running_jobs", Boolean, nullable=False),
    Column("status", String(1), nullable=False),
    Column("status_date", DateTime, nullable=False),
    Column("created_date", DateTime, nullable=False),
    Column("heartbeat_date", DateTime, nullable=False),
    # set by a client that may repeat POST /workflow_run (see ops.runs.create_run)
    Column("request_key", String(64), nullable=True),
    Index("ix_workflow_run_workflow", "workflow_id", "status"),
    Index("uq_workflow_run_request_key", "workflow_id", "request_key", unique=True),
    Index("uq_workflow_run_one_active", "workflow_id", unique=True,
          postgresql_where=text(ACTIVE_RUN_SQL), sqlite_where=text(ACTIVE_RUN_SQL)),
)

task_instance = Table(
    "task_instance", metadata,
    Column("id", Integer, primary_key=True),
    Column("task_id", Integer, ForeignKey("task.id"), nullable=False),
    Column("workflow_run_id", Integer, ForeignKey("workflow_run.id"), nullable=False),
    Column("array_id", Integer, ForeignKey("array.id"), nullable=False),
    Column("task_resources_id", Integer, ForeignKey("task_resources.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status", String(1), nullable=False),
    Column("status_date", DateTime, nullable=False),
    Column("submitted_date", DateTime, nullable=False),
    Column("report_by_date", DateTime, nullable=True),
    Column("report_increment", Float, nullable=False),
    Column("distributor_id", String(255), nullable=True),
    Column("nodename", String(255), nullable=True),
    Column("process_group_id", Integer, nullable=True),
    Column("stdout_path", Text, nullable=True),
    Column("stderr_path", Text, nullable=True),
    Column("error_message", Text, nullable=True),
    Column("exit_code", Integer, nullable=True),
    Index("ix_ti_run_status", "workflow_run_id", "status"),
    Index("uq_ti_task_run_attempt", "task_id", "workflow_run_id", "attempt", unique=True),
)
