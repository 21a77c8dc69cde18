"""Error classes of the command line (inside the tree of ``actors.errors``).

::

    ConfigError (actors.errors)
    └── UsageError        options that argparse accepts alone but not together (exit 2)

``actors.cli.main`` turns a ``UsageError`` into one line ``actorswarm SUBCOMMAND: error:
MESSAGE`` on stderr and exit status 2, like argparse's own usage errors.
"""

from __future__ import annotations

from actors.errors import ConfigError

__all__ = ["UsageError"]


class UsageError(ConfigError):
    """A combination of command-line options is invalid; the message names the options."""
