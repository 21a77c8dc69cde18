"""Validation of the benchmark JSON document shape, shared by the suite smoke tests."""

from __future__ import annotations

import math
from typing import Any

STATS_KEYS = {"n", "min", "p50", "p99", "max", "mean"}
MEASUREMENT_KEYS = {"name", "group", "per", "params", "stats_ns", "rounds_ns", "throughput",
                    "memory", "targets"}
ENVIRONMENT_KEYS = {"python", "implementation", "platform", "cpu_count", "cpu_model",
                    "memory_bytes", "load_average", "git", "date"}


def check_stats(stats: Any) -> None:
    assert set(stats) == STATS_KEYS
    assert isinstance(stats["n"], int) and stats["n"] >= 1
    values = [stats[k] for k in ("min", "p50", "p99", "max")]
    assert all(isinstance(v, float) and math.isfinite(v) and v >= 0 for v in values)
    assert values == sorted(values)
    assert stats["min"] <= stats["mean"] <= stats["max"]


def check_document(doc: Any, suite: str, mode: str) -> list[dict[str, Any]]:
    """Assert the documented shape (benchmarks.report); returns the measurements."""
    assert doc["schema"] == 1
    assert doc["suite"] == suite and doc["mode"] == mode
    env = doc["environment"]
    assert ENVIRONMENT_KEYS <= set(env)
    assert isinstance(env["cpu_count"], int) and env["memory_bytes"] > 0
    assert isinstance(env["python"], str) and env["date"].endswith("+00:00")
    assert isinstance(doc["parameters"], dict) and isinstance(doc["notes"], list)
    measurements = doc["measurements"]
    assert measurements
    for m in measurements:
        assert set(m) == MEASUREMENT_KEYS, m["name"]
        assert isinstance(m["name"], str) and isinstance(m["params"], dict)
        if m["stats_ns"] is not None:
            check_stats(m["stats_ns"])
            assert m["rounds_ns"], m["name"]
            for r in m["rounds_ns"]:
                check_stats(r)
            assert sum(r["n"] for r in m["rounds_ns"]) == m["stats_ns"]["n"]
        if m["throughput"] is not None:
            assert m["throughput"]["value"] > 0 and m["throughput"]["unit"].endswith("/s")
        if m["memory"] is not None:
            assert m["memory"]["peak_bytes"] > 0
            assert m["memory"]["source"] in ("rss", "rss-peak", "tracemalloc")
        assert m["stats_ns"] is not None or m["memory"] is not None, m["name"]
        for t in m["targets"]:
            assert set(t) == {"label", "metric", "op", "limit", "value", "verdict"}
            assert t["verdict"] in ("pass", "miss")  # every target has its value here
            assert isinstance(t["value"], float)
    return measurements
