"""The synchronizer actor: triage, status sync and limits from the server (pure plan + shell)."""
