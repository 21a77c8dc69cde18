"""Baseline: the schema of the first state server (SQLite only, ``schema_version`` 1).

A database created by that server (``create_all`` plus a ``schema_version`` row 1, no
``alembic_version``) is stamped with this revision on start and upgraded from here.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schema_version",
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("applied_date", sa.DateTime, nullable=False),
    )
    op.create_table(
        "cluster",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("cluster_type", sa.String(255), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.UniqueConstraint("name", name="uq_cluster_name"),
    )
    op.create_table(
        "queue",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("cluster_id", sa.Integer, sa.ForeignKey("cluster.id"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.UniqueConstraint("cluster_id", "name", name="uq_queue_cluster_name"),
    )
    op.create_table(
        "task_resources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("queue_id", sa.Integer, sa.ForeignKey("queue.id"), nullable=False),
        sa.Column("resources_type", sa.String(16), nullable=False),
        sa.Column("requested_resources", sa.Text, nullable=False),
    )
    op.create_index("ix_task_resources_lookup", "task_resources",
                    ["queue_id", "resources_type"])
    op.create_table(
        "dag",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_date", sa.DateTime, nullable=False),
    )
    op.create_table(
        "workflow",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dag_id", sa.Integer, sa.ForeignKey("dag.id"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("workflow_args", sa.Text, nullable=False),
        sa.Column("workflow_args_hash", sa.String(64), nullable=False),
        sa.Column("user", sa.String(255), nullable=True),
        sa.Column("max_concurrently_running", sa.Integer, nullable=False),
        sa.Column("created_date", sa.DateTime, nullable=False),
        sa.Column("bind_done_date", sa.DateTime, nullable=True),
        sa.UniqueConstraint("workflow_args_hash", name="uq_workflow_args_hash"),
    )
    op.create_table(
        "array",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workflow_id", sa.Integer, sa.ForeignKey("workflow.id"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("max_concurrently_running", sa.Integer, nullable=False),
        sa.UniqueConstraint("workflow_id", "name", name="uq_array_workflow_name"),
    )
    op.create_table(
        "node",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dag_id", sa.Integer, sa.ForeignKey("dag.id"), nullable=False),
    )
    op.create_table(
        "edge",
        sa.Column("dag_id", sa.Integer, sa.ForeignKey("dag.id"), primary_key=True),
        sa.Column("upstream_node_id", sa.Integer, sa.ForeignKey("node.id"), primary_key=True),
        sa.Column("downstream_node_id", sa.Integer, sa.ForeignKey("node.id"),
                  primary_key=True),
    )
    op.create_index("ix_edge_downstream", "edge", ["downstream_node_id"])
    op.create_table(
        "task",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workflow_id", sa.Integer, sa.ForeignKey("workflow.id"), nullable=False),
        sa.Column("array_id", sa.Integer, sa.ForeignKey("array.id"), nullable=False),
        sa.Column("node_id", sa.Integer, sa.ForeignKey("node.id"), nullable=False),
        sa.Column("task_resources_id", sa.Integer, sa.ForeignKey("task_resources.id"),
                  nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("command", sa.Text, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("num_attempts", sa.Integer, nullable=False),
        sa.Column("resource_scales", sa.Text, nullable=False),
        sa.Column("fallback_queues", sa.Text, nullable=False),
        sa.Column("status", sa.String(1), nullable=False),
        sa.Column("status_date", sa.DateTime, nullable=False),
        sa.UniqueConstraint("workflow_id", "name", name="uq_task_workflow_name"),
    )
    op.create_index("ix_task_workflow_status_date", "task", ["workflow_id", "status_date"])
    op.create_index("ix_task_workflow_status", "task", ["workflow_id", "status"])
    op.create_index("ix_task_node", "task", ["node_id"])
    op.create_table(
        "workflow_run",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workflow_id", sa.Integer, sa.ForeignKey("workflow.id"), nullable=False),
        sa.Column("user", sa.String(255), nullable=True),
        sa.Column("jobmon_version", sa.String(64), nullable=True),
        sa.Column("reset_running_jobs", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(1), nullable=False),
        sa.Column("status_date", sa.DateTime, nullable=False),
        sa.Column("created_date", sa.DateTime, nullable=False),
        sa.Column("heartbeat_date", sa.DateTime, nullable=False),
    )
    op.create_index("ix_workflow_run_workflow", "workflow_run", ["workflow_id", "status"])
    op.create_table(
        "task_instance",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("task_id", sa.Integer, sa.ForeignKey("task.id"), nullable=False),
        sa.Column("workflow_run_id", sa.Integer, sa.ForeignKey("workflow_run.id"),
                  nullable=False),
        sa.Column("array_id", sa.Integer, sa.ForeignKey("array.id"), nullable=False),
        sa.Column("task_resources_id", sa.Integer, sa.ForeignKey("task_resources.id"),
                  nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("status", sa.String(1), nullable=False),
        sa.Column("status_date", sa.DateTime, nullable=False),
        sa.Column("submitted_date", sa.DateTime, nullable=False),
        sa.Column("report_by_date", sa.DateTime, nullable=True),
        sa.Column("report_increment", sa.Float, nullable=False),
        sa.Column("distributor_id", sa.String(255), nullable=True),
        sa.Column("nodename", sa.String(255), nullable=True),
        sa.Column("process_group_id", sa.Integer, nullable=True),
        sa.Column("stdout_path", sa.Text, nullable=True),
        sa.Column("stderr_path", sa.Text, nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("exit_code", sa.Integer, nullable=True),
    )
    op.create_index("ix_ti_run_status", "task_instance", ["workflow_run_id", "status"])
    op.create_index("ix_ti_task", "task_instance", ["task_id"])


def downgrade() -> None:
    for name in ("task_instance", "workflow_run", "task", "edge", "node", "array", "workflow",
                 "dag", "task_resources", "queue", "cluster", "schema_version"):
        op.drop_table(name)
