"""The list of protocol modules, so every message class can be registered on demand.

Who uses it: decoders that must know every tag before the first frame (actor hosts, tests,
PROTOCOL.md checks). Importing a protocol module registers its classes.
"""

from __future__ import annotations

import importlib

__all__ = ["PROTOCOL_MODULES", "load_all"]

PROTOCOL_MODULES = (
    "messages.envelope",
    "messages.runtime",
    "messages.config",
    "messages.swarm",
    "messages.orchestrator",
    "messages.heartbeat",
    "messages.synchronizer",
    "messages.scheduler",
    "messages.resources",
)


def load_all() -> None:
    """Import every protocol module (idempotent)."""
    for name in PROTOCOL_MODULES:
        importlib.import_module(name)
