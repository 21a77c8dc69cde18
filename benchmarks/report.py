"""Results as JSON a machine can compare, and as a table a person can read.

Who uses it: the CLI (``benchmarks.__main__``) after a suite returned its ``SuiteResult``.
``to_json`` is pure; ``write_json`` and ``print_table`` do the I/O.

JSON shape (``SCHEMA_VERSION`` 1)::

    {"schema": 1, "suite": "runtime", "mode": "quick", "environment": {...},
     "parameters": {...}, "notes": [...],
     "measurements": [{"name", "group", "per", "params",
                       "stats_ns": {"n", "min", "p50", "p99", "max", "mean"} | null,
                       "rounds_ns": [{"n", "min", "p50", ...}, ...],
                       "throughput": {"value", "unit"} | null,
                       "memory": {"peak_bytes", "source", "retained_bytes", "items",
                                  "per_item_bytes"} | null,
                       "targets": [{"label", "metric", "op", "limit", "value",
                                    "verdict": "pass" | "miss" | "n/a"}]}]}
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping
from typing import IO, Any

import attrs
from rich.console import Console
from rich.table import Table
from rich.text import Text

from benchmarks.errors import BenchmarkConfigError
from benchmarks.harness import Measurement, Memory, Stats, SuiteResult, check_targets

__all__ = ["SCHEMA_VERSION", "format_bytes", "format_ns", "format_rate", "format_target",
           "print_table", "to_json", "write_json"]

SCHEMA_VERSION = 1


# ------------------------------------------------------------------------------ formatting


def format_ns(ns: float | None) -> str:
    """A duration in ns with a readable unit: "812 ns", "1.35 us", "4.2 ms", "1.20 s"."""
    if ns is None or not math.isfinite(ns):
        return "-"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if abs(ns) >= scale:
            value = ns / scale
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{ns:.0f} ns"


def format_bytes(n: float | None) -> str:
    """A size in bytes: "512 B", "1.5 KiB", "230 MiB"."""
    if n is None or not math.isfinite(n):
        return "-"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def format_rate(value: float | None, unit: str = "/s") -> str:
    """A rate: "182k tells/s", "1.2M ops/s"."""
    if value is None or not math.isfinite(value):
        return "-"
    sep = "" if unit.startswith("/") else " "
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}{sep}{unit}"
    return f"{value:.3g}{sep}{unit}"


def _format_metric(metric: str, value: float | None, unit: str = "/s") -> str:
    if metric == "throughput":
        return format_rate(value, unit)
    if metric == "memory_per_item":
        return format_bytes(value)
    return format_ns(value)


def format_target(m: Measurement) -> list[tuple[str, str]]:
    """(text, verdict) per target of ``m``: e.g. ("p50 <= 150 us", "pass")."""
    unit = m.throughput.unit if m.throughput is not None else "/s"
    short = {"memory_per_item": "mem/item", "throughput": "rate"}
    out = []
    for c in check_targets(m):
        limit = _format_metric(c.target.metric, c.target.limit, unit)
        out.append((f"{short.get(c.target.metric, c.target.metric)} {c.target.op} {limit}",
                    c.verdict))
    return out


# ------------------------------------------------------------------------------ JSON


def _stats(s: Stats | None) -> dict[str, Any] | None:
    return None if s is None else attrs.asdict(s)


def _memory(mem: Memory | None) -> dict[str, Any] | None:
    if mem is None:
        return None
    return {**attrs.asdict(mem), "per_item_bytes": mem.per_item}


def _jsonable(value: Any, where: str) -> Any:
    """Parameters as JSON values (tuples become lists; anything else must be a scalar)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f"{where}[]") for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise BenchmarkConfigError(f"{where}: {type(value).__name__} is not a JSON value")


def _measurement(m: Measurement) -> dict[str, Any]:
    return {
        "name": m.name,
        "group": m.group,
        "per": m.per,
        "params": _jsonable(m.params, f"{m.name}.params"),
        "stats_ns": _stats(m.stats),
        "rounds_ns": [_stats(r) for r in m.rounds],
        "throughput": None if m.throughput is None else attrs.asdict(m.throughput),
        "memory": _memory(m.memory),
        "targets": [{"label": c.target.label, "metric": c.target.metric, "op": c.target.op,
                     "limit": c.target.limit, "value": c.value, "verdict": c.verdict}
                    for c in check_targets(m)],
    }


def to_json(result: SuiteResult, environment: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON document of one suite run (see the module docstring)."""
    return {
        "schema": SCHEMA_VERSION,
        "suite": result.suite,
        "mode": result.mode.value,
        "environment": _jsonable(environment, "environment"),
        "parameters": _jsonable(result.parameters, "parameters"),
        "notes": list(result.notes),
        "measurements": [_measurement(m) for m in result.measurements],
    }


def write_json(document: Mapping[str, Any], path: str) -> None:
    """Write ``document`` to ``path`` ("-": standard output), atomically for files."""
    text = json.dumps(document, indent=2, allow_nan=False) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


# ------------------------------------------------------------------------------ table

_VERDICT_STYLE = {"pass": "[green]pass[/green]", "miss": "[red]miss[/red]", "n/a": "n/a"}


def _spread(m: Measurement) -> str:
    if len(m.rounds) < 2:
        return "-"
    p50s = [r.p50 for r in m.rounds]
    return f"{format_ns(min(p50s))}..{format_ns(max(p50s))}"


def _memory_cell(mem: Memory | None) -> str:
    if mem is None:
        return "-"
    text = f"{format_bytes(mem.peak_bytes)} {mem.source}"
    if mem.per_item is not None:
        text += f"\n{format_bytes(mem.per_item)}/item kept"
    return text


_COLUMNS = (("measurement (per unit of work)", "left", 34), ("n", "right", None),
            ("p50", "right", None), ("p99", "right", None), ("min", "right", None),
            ("max", "right", None), ("mean", "right", None), ("p50 of rounds", "left", None),
            ("rate", "right", None), ("memory", "left", 16), ("target", "left", 16),
            ("result", "left", None))


def print_table(result: SuiteResult, out: IO[str] | None = None) -> None:
    """Print one table per measurement group, each figure next to its target (pass/miss)."""
    stream = out if out is not None else sys.stdout
    tty = stream.isatty()
    console = Console(file=stream, width=None if tty else 200, no_color=not tty,
                      highlight=False)
    console.print(f"[bold]suite {result.suite}[/bold] ({result.mode.value})  "
                  + "  ".join(f"{k}={v}" for k, v in result.parameters.items()))
    groups: dict[str, list[Measurement]] = {}
    for m in result.measurements:
        groups.setdefault(m.group, []).append(m)
    for group, items in groups.items():
        table = Table(title=group, title_justify="left", show_lines=False)
        for column, justify, min_width in _COLUMNS:
            wrap = min_width is not None
            table.add_column(column, justify=justify,  # type: ignore[arg-type]
                             no_wrap=not wrap, min_width=min_width,
                             overflow="fold" if wrap else "ellipsis")
        for m in items:
            s = m.stats
            targets = format_target(m)
            table.add_row(
                Text(f"{m.name} (per {m.per})"), str(s.n) if s else "-",
                format_ns(s.p50 if s else None), format_ns(s.p99 if s else None),
                format_ns(s.min if s else None), format_ns(s.max if s else None),
                format_ns(s.mean if s else None), _spread(m),
                format_rate(m.throughput.value, "/s") if m.throughput else "-",
                _memory_cell(m.memory),
                "\n".join(t for t, _ in targets) or "-",
                "\n".join(_VERDICT_STYLE[v] for _, v in targets) or "-",
            )
        console.print(table)
    for note in result.notes:
        console.print(f"note: {note}")
