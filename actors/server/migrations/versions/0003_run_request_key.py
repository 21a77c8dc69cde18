"""Idempotent run creation: ``workflow_run.request_key``.

A client may send POST /workflow_run again when the first answer was lost (a timeout, a
dropped connection). With a ``request_key`` (a random string the client picks once per
logical request) the server answers the repeat with the run it already created, instead of
a 409 for "another run is active". A unique key on (workflow_id, request_key) makes sure two
server processes cannot both create a run for one key; NULL keys (Jobmon clients, older
clients) are not constrained.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("workflow_run", sa.Column("request_key", sa.String(64), nullable=True))
    op.create_index("uq_workflow_run_request_key", "workflow_run",
                    ["workflow_id", "request_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_workflow_run_request_key", table_name="workflow_run")
    # plain DROP COLUMN (SQLite >= 3.35): a batch table copy would break the foreign keys
    op.drop_column("workflow_run", "request_key")
