"""Errors of the benchmark suite (subclasses of the project's exception tree).

::

    ActorswarmError (actors.errors)
    └── BenchmarkError                  a benchmark could not run or produced unusable data
        ├── BenchmarkConfigError (ConfigError)  a bad option, parameter or suite registration
        └── PlotUnavailable             --plot was asked for but matplotlib is not installed
"""

from __future__ import annotations

from actors.errors import ActorswarmError, ConfigError

__all__ = ["BenchmarkConfigError", "BenchmarkError", "PlotUnavailable"]


class BenchmarkError(ActorswarmError):
    """A benchmark could not run, or its measurements are unusable (says which and why)."""


class BenchmarkConfigError(BenchmarkError, ConfigError):
    """A bad command-line option, suite parameter or suite registration (names which)."""


class PlotUnavailable(BenchmarkError):
    """``--plot`` needs matplotlib (the ``bench`` extra), which is not installed."""
