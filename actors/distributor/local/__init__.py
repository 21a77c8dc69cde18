"""Backend ``local``: task instances as worker processes on this machine."""

from __future__ import annotations

from actors.distributor.local.backend import LocalBackend, LocalConfig, local_queue

__all__ = ["LocalBackend", "LocalConfig", "local_queue"]
