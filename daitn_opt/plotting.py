"""Figures of replay outcomes: accuracy over simulated time, serving latency per model.

matplotlib with the non-interactive Agg backend (files only, no display needed); every function
writes one figure to ``path`` and returns the path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .executor.outcome import Outcome
    from .executor.serving import ServingOutcome


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_accuracy(
    outcomes: Sequence[Outcome],
    path: str | Path,
    *,
    title: str = "Test accuracy at the MPVU over simulated time",
    deadline: float | None = None,
    target: float | None = None,
) -> Path:
    """Accuracy over simulated time for several plans on one figure.

    Each outcome is a step curve (accuracy holds between checkpoints); a marker shows the final
    verification; ``deadline`` draws a vertical line and ``target`` a horizontal one.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    for k, outcome in enumerate(outcomes):
        times, accs = outcome.curve()
        if not times:
            continue
        color = f"C{k % 10}"
        # Line styles differ so that plans with the same curve (tied optima) stay visible.
        style = ("-", "--", "-.", ":")[k % 4]
        ax.step(
            times,
            accs,
            where="post",
            color=color,
            linestyle=style,
            label=outcome.label,
            linewidth=2.2 - 0.3 * (k % 4),
        )
        ax.plot(times[-1], accs[-1], "o", color=color)
    if deadline is not None and math.isfinite(deadline):
        ax.axvline(deadline, color="black", linestyle="--", linewidth=1, label="deadline")
    if target is not None:
        ax.axhline(target, color="grey", linestyle=":", linewidth=1, label=f"target {target:g}")
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _save(plt, fig, path)


def plot_serving(
    outcomes: Sequence[ServingOutcome],
    path: str | Path,
    *,
    title: str = "Serving latency per model (p50 bar, p99 whisker)",
) -> Path:
    """p50 and p99 latency per model for several placements, grouped bars."""
    plt = _pyplot()
    import numpy as np

    models = [m.model for m in outcomes[0].models] if outcomes else []
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    width = 0.8 / max(1, len(outcomes))
    x = np.arange(len(models))
    for k, outcome in enumerate(outcomes):
        by = {m.model: m for m in outcome.models}
        p50 = [by[m].p50_ms if m in by else math.nan for m in models]
        p99 = [by[m].p99_ms if m in by else math.nan for m in models]
        pos = x + (k - (len(outcomes) - 1) / 2) * width
        ax.bar(pos, p50, width, label=f"{outcome.label} p50", color=f"C{k}", alpha=0.8)
        ax.errorbar(
            pos,
            p50,
            yerr=[np.zeros(len(models)), np.subtract(p99, p50)],
            fmt="none",
            ecolor="black",
            capsize=3,
        )
    ax.set_xticks(x, models, rotation=15)
    ax.set_ylabel("latency (ms)")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(plt, fig, path)


def _save(plt: Any, fig: Any, path: str | Path) -> Path:
    """Lay out ``fig``, write it to ``path`` (creating folders) and close it."""
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
