"""The command line of actorswarm: ``python -m actors.main COMMAND ...``.

One module per subcommand (``run_cmd`` for run and resume, ``status_cmd``, ``logs_cmd``,
``concurrency_cmd``, ``serve_cmd``), the run options (``run_options``), the progress display
(``progress`` over the pure ``progress_model``), the JSON result (``result_json``), the
summary text (``summary``) and signal handling (``signals``). ``entry.main`` ties them together.
"""

from __future__ import annotations

from actors.cli.context import CliContext
from actors.cli.entry import build_parser, exit_code_for_error, main
from actors.cli.errors import UsageError

__all__ = ["CliContext", "UsageError", "build_parser", "exit_code_for_error", "main"]
