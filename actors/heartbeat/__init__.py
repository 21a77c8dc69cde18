"""The heartbeat actor: keeps the workflow run alive on the server (pure cadence + shell)."""
