"""Constraints for several server processes writing at once (PostgreSQL, ``--workers N``).

- ``task_instance``: at most one instance per task, run and attempt (a task is never queued
  twice for one attempt), replacing the plain ``task_id`` index;
- ``workflow_run``: at most one active run (G, L, B, I, O, R, C, H) per workflow;
- ``task_resources``: a SHA-256 of the resources text and a unique key on (queue, type,
  hash), so equal resources bound at the same time by two processes get one id (a unique
  index on the text itself would break on long texts in PostgreSQL); existing rows are
  hashed here;
- ``schema_version`` is dropped: ``alembic_version`` records the schema from now on.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ACTIVE = "status IN ('G', 'L', 'B', 'I', 'O', 'R', 'C', 'H')"


def upgrade() -> None:
    op.create_index("uq_ti_task_run_attempt", "task_instance",
                    ["task_id", "workflow_run_id", "attempt"], unique=True)
    op.drop_index("ix_ti_task", table_name="task_instance")
    op.create_index("uq_workflow_run_one_active", "workflow_run", ["workflow_id"], unique=True,
                    postgresql_where=sa.text(_ACTIVE), sqlite_where=sa.text(_ACTIVE))
    op.add_column("task_resources",
                  sa.Column("requested_resources_hash", sa.String(64), nullable=True))
    resources = sa.table("task_resources", sa.column("id", sa.Integer),
                         sa.column("requested_resources", sa.Text),
                         sa.column("requested_resources_hash", sa.String(64)))
    conn = op.get_bind()
    rows = conn.execute(sa.select(resources.c.id, resources.c.requested_resources)).all()
    if rows:
        conn.execute(
            sa.update(resources).where(resources.c.id == sa.bindparam("b_id"))
            .values(requested_resources_hash=sa.bindparam("b_hash")),
            [{"b_id": r.id, "b_hash": hashlib.sha256(r.requested_resources.encode()).hexdigest()}
             for r in rows])
    op.create_index("uq_task_resources_key", "task_resources",
                    ["queue_id", "resources_type", "requested_resources_hash"], unique=True)
    op.drop_index("ix_task_resources_lookup", table_name="task_resources")
    op.drop_table("schema_version")


def downgrade() -> None:
    op.create_table(
        "schema_version",
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("applied_date", sa.DateTime, nullable=False),
    )
    op.execute(sa.text("INSERT INTO schema_version (version, applied_date) "
                       "VALUES (1, CURRENT_TIMESTAMP)"))
    op.create_index("ix_task_resources_lookup", "task_resources",
                    ["queue_id", "resources_type"])
    op.drop_index("uq_task_resources_key", table_name="task_resources")
    # plain DROP COLUMN (SQLite >= 3.35): a batch table copy would break the foreign keys
    op.drop_column("task_resources", "requested_resources_hash")
    op.drop_index("uq_workflow_run_one_active", table_name="workflow_run")
    op.create_index("ix_ti_task", "task_instance", ["task_id"])
    op.drop_index("uq_ti_task_run_attempt", table_name="task_instance")
