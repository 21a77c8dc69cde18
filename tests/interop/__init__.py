"""Interop tier: the real Jobmon 3.4 server, client and distributor from a cached reference venv."""
