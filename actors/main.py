"""``python -m actors.main``: the actorswarm command line (implemented in ``actors.cli``)."""

from __future__ import annotations

from actors.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main(setup_logging=True))
