"""actorswarm: a Jobmon-compatible workflow-run engine built as a multi-process actor system."""
