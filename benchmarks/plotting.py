"""Plots of suite results (``--plot FILE.png``), with matplotlib imported only when asked for.

Who uses it: the CLI, after a suite ran; a suite may register its own plotter
(``harness.suite(..., plot=...)``), otherwise ``plot_result`` draws one panel per measurement
group: p50 bars with a line to p99, on a logarithmic time axis. matplotlib is the ``bench``
extra; without it ``PlotUnavailable`` says how to install it.
"""

from __future__ import annotations

import importlib
from typing import Any

from benchmarks.errors import PlotUnavailable
from benchmarks.harness import Measurement, SuiteResult

__all__ = ["load_pyplot", "plot_result"]


def load_pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend, or PlotUnavailable."""
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError as exc:
        raise PlotUnavailable(
            "--plot needs matplotlib, which is not installed; install the bench extra "
            "(pip install 'actorswarm[bench]' or pip install 'matplotlib>=3.7')") from exc
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def plot_result(result: SuiteResult, path: str) -> None:
    """Write a PNG of ``result`` to ``path``: one panel per group of timed measurements."""
    plt = load_pyplot()
    groups: dict[str, list[Measurement]] = {}
    for m in result.measurements:
        if m.stats is not None:
            groups.setdefault(m.group, []).append(m)
    if not groups:
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.text(0.5, 0.5, f"suite {result.suite}: no timed measurements", ha="center")
        ax.axis("off")
    else:
        heights = [max(1.6, 0.32 * len(items) + 1.0) for items in groups.values()]
        fig, axes = plt.subplots(len(groups), 1, figsize=(10, sum(heights)),
                                 gridspec_kw={"height_ratios": heights}, squeeze=False)
        for ax, (group, items) in zip(axes[:, 0], groups.items()):
            _panel(ax, group, items)
    fig.suptitle(f"actorswarm benchmarks: {result.suite} ({result.mode.value})")
    fig.tight_layout(rect=(0.0, 0.0, 1.0, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _panel(ax: Any, group: str, items: list[Measurement]) -> None:
    names = [f"{m.name} (per {m.per})" for m in items]
    p50 = [m.stats.p50 / 1e3 if m.stats else 0.0 for m in items]
    p99 = [m.stats.p99 / 1e3 if m.stats else 0.0 for m in items]
    ys = list(range(len(items)))
    ax.barh(ys, p50, color="#4c72b0", label="p50")
    ax.hlines(ys, p50, p99, color="#dd8452", linewidth=2, label="p50 to p99")
    for y, m in zip(ys, items):
        for target in m.targets:
            if target.metric in ("p50", "p99", "mean", "max"):
                ax.plot([target.limit / 1e3], [y], marker="|", markersize=14, color="#c44e52")
    ax.set_yticks(ys)
    ax.set_yticklabels(names, fontsize=7)
    ax.invert_yaxis()
    positive = [v for v in p50 + p99 if v > 0]
    if positive and max(positive) / min(positive) > 50:
        ax.set_xscale("log")
    ax.set_xlabel("microseconds (red tick: target)")
    ax.set_title(group, fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="lower right")
