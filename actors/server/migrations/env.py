"""Alembic environment of the state server's migrations (online only).

``actors.server.migrations.ensure_schema`` → ``alembic.command.upgrade`` → this file, with the
connection (already in a transaction, holding the migration lock) in ``config.attributes``.
"""

from __future__ import annotations

from alembic import context

from actors.server.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise SystemExit("actorswarm migrations run online, through actors.server.migrations")
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
