"""Command line of the benchmark suites.

::

    python -m benchmarks --list
    python -m benchmarks SUITE [--quick | --tiny] [--rounds N] [--json FILE] [--plot FILE.png]
                               [suite options; see python -m benchmarks SUITE --help]

The user -> this CLI -> the registered suite's ``run(SuiteOptions)``; the CLI then adds the
environment, prints the table (to stderr when the JSON goes to stdout with ``--json -``),
writes the JSON and draws the plot. Targets are reported as pass/miss and never change the
exit status: 0 after a run, 2 for bad options or a suite that could not run (any
``ActorswarmError``: a ``BenchmarkError``, or e.g. an actor that did not start).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from actors.errors import ActorswarmError
from benchmarks import load_suites
from benchmarks.errors import BenchmarkConfigError, BenchmarkError
from benchmarks.harness import Mode, Suite, SuiteOptions, SuiteResult
from benchmarks.plotting import load_pyplot, plot_result
from benchmarks.report import print_table, to_json, write_json
from benchmarks.system import capture_environment

__all__ = ["build_parser", "main", "run_suite"]

_COMMON = ("mode", "rounds", "json", "plot", "suite", "list")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def build_parser(suites: dict[str, Suite]) -> argparse.ArgumentParser:
    """The parser: ``--list`` plus one sub-command per registered suite."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure actorswarm: each suite prints a table and can write JSON/PNG.")
    parser.add_argument("--list", action="store_true", help="list the suites and exit")
    sub = parser.add_subparsers(dest="suite", metavar="SUITE")
    for name, entry in sorted(suites.items()):
        p = sub.add_parser(name, help=entry.summary, description=entry.summary)
        mode = p.add_mutually_exclusive_group()
        mode.add_argument("--quick", dest="mode", action="store_const", const=Mode.QUICK,
                          help="a short run (well under two minutes; CI smoke test)")
        mode.add_argument("--tiny", dest="mode", action="store_const", const=Mode.TINY,
                          help="minimal sizes, for tests of the suite itself")
        p.set_defaults(mode=Mode.FULL)
        p.add_argument("--rounds", type=_positive_int, default=None,
                       help="repetitions of each measurement (default: per mode)")
        p.add_argument("--json", metavar="FILE", default=None,
                       help="write the results as JSON to FILE ('-': standard output)")
        p.add_argument("--plot", metavar="FILE.png", default=None,
                       help="draw the results to a PNG (needs matplotlib, the bench extra)")
        if entry.configure is not None:
            entry.configure(p)
    return parser


def _check_output(path: str | None, what: str) -> None:
    """Fail before measuring, not after, when an output file cannot be written."""
    if path is None or path == "-":
        return
    directory = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        raise BenchmarkConfigError(f"{what} {path!r} is a directory")
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        raise BenchmarkConfigError(f"{what} {path!r}: directory {directory!r} does not exist "
                                   "or is not writable")


def run_suite(entry: Suite, args: argparse.Namespace) -> SuiteResult:
    """Run ``entry`` with the parsed options (common ones apart from the suite's own)."""
    params = {k: v for k, v in vars(args).items() if k not in _COMMON}
    result = entry.run(SuiteOptions(mode=args.mode, rounds=args.rounds, params=params))
    if result.suite != entry.name:
        raise BenchmarkError(f"suite {entry.name!r} returned a result named {result.suite!r}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    suites = load_suites()
    parser = build_parser(suites)
    args = parser.parse_args(argv)
    if args.list:
        for name, entry in sorted(suites.items()):
            print(f"{name:16} {entry.summary}")
        return 0
    if args.suite is None:
        parser.print_usage(sys.stderr)
        print("error: name a SUITE (see --list)", file=sys.stderr)
        return 2
    entry = suites[args.suite]
    try:
        _check_output(args.json, "--json")
        _check_output(args.plot, "--plot")
        if args.plot is not None:
            load_pyplot()  # fail before measuring when matplotlib is missing
        result = run_suite(entry, args)
        document = to_json(result, capture_environment())
        print_table(result, sys.stderr if args.json == "-" else sys.stdout)
        if args.json is not None:
            write_json(document, args.json)
        if args.plot is not None:
            (entry.plot or plot_result)(result, args.plot)
    except ActorswarmError as exc:  # BenchmarkError, or the runtime failing under a suite
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
