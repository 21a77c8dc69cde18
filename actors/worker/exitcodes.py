"""Exit codes of the worker process: how the worker tells the backend who reports the outcome.

The backend that started a worker (``actors.distributor.local``) reads its exit code:

- ``REPORTED``: the server holds the instance's final status (the worker reported D, E, Z or U,
  or the server already had a final status). The backend reports nothing.
- ``UNREPORTED``: the worker could not reach the server; it wrote the outcome as JSON to its
  ``--outcome-file``. The backend reports that outcome through the distributor's results route.
- ``KILLED_SELF``: the server answered K (KILL_SELF); the worker killed its command. The backend
  reports F.
- ``TERMINATED``: the worker got SIGTERM/SIGINT/SIGHUP or lost its parent, killed its command and
  reported nothing. Whoever stopped it reports (F after a kill for K).
- anything else (``USAGE`` or a crash): the backend reports U with the worker log's tail.
"""

from __future__ import annotations

__all__ = ["KILLED_SELF", "REPORTED", "TERMINATED", "UNREPORTED", "USAGE"]

REPORTED = 0
USAGE = 2
UNREPORTED = 75
KILLED_SELF = 76
TERMINATED = 77
