"""The scheduler actor: plans batches of ready tasks and queues them (pure planner + shell)."""
