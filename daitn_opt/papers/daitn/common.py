"""What every experiment of ``daitn-opt paper da-itn`` shares: settings, sections, output.

An experiment module exposes ``run(settings, progress) -> Section``. A :class:`Section` carries
its Markdown lines, its CSV tables (name -> rows) and its figures (name -> a function drawing
into a matplotlib figure); :func:`write_section` writes them into the output folder, so that an
experiment never touches files itself.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..stats import mean_ci

Progress = Callable[[str, dict[str, Any]], None]


@dataclass
class Settings:
    """Sizes of one run; ``quick`` shrinks every experiment to a few minutes in total."""

    quick: bool = False
    seeds: int = 20
    """Seeds per configuration (0..seeds-1); experiments 2 and 3 use fewer (stated per table)."""
    time_limit: float = 5.0
    """Seconds per exact or anytime solver call."""
    only: list[str] | None = None
    """Experiment names to run (default: all)."""

    @classmethod
    def of(cls, quick: bool, **overrides: Any) -> Settings:
        base = cls(quick=True, seeds=3, time_limit=2.0) if quick else cls()
        for key, value in overrides.items():
            if value is not None:
                setattr(base, key, value)
        return base


@dataclass
class Section:
    """One experiment's results, ready to be written."""

    name: str
    title: str
    lines: list[str] = field(default_factory=list)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    figures: dict[str, Callable[[Any], None]] = field(default_factory=dict)
    """File stem -> function drawing on a fresh matplotlib ``Figure``."""
    headline: list[str] = field(default_factory=list)
    """One-line results quoted in the summary."""
    params: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def ci_text(values: Sequence[float], spec: str = ".3f") -> str:
    """``mean [low, high]`` (95% t interval) of ``values``, ``-`` when empty."""
    c = mean_ci(list(values))
    if c.mean is None:
        return "-"
    if c.low is None:
        return format(c.mean, spec)
    return f"{format(c.mean, spec)} [{format(c.low, spec)}, {format(c.high, spec)}]"


def ci_columns(prefix: str, values: Sequence[float]) -> dict[str, Any]:
    """CSV columns ``prefix_mean``, ``prefix_low``, ``prefix_high``, ``prefix_n`` of ``values``."""
    c = mean_ci(list(values))
    return {
        f"{prefix}_mean": c.mean,
        f"{prefix}_low": c.low,
        f"{prefix}_high": c.high,
        f"{prefix}_n": c.n,
    }


def md_table(rows: list[dict[str, Any]], columns: Sequence[str] | None = None) -> list[str]:
    """A Markdown table of ``rows`` (floats to 4 significant digits)."""
    if not rows:
        return ["(no rows)", ""]
    cols = list(columns or rows[0])

    def cell(x: Any) -> str:
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return "-"
        if isinstance(x, float):
            return format(x, ".4g")
        return str(x)

    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(cell(r.get(c)) for c in cols) + " |" for r in rows]
    return [*out, ""]


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Rows as CSV, columns in the union of the rows' keys (first-seen order)."""
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k) for k in cols})


def write_section(out: Path, section: Section, stamp: str = "") -> list[Path]:
    """Write the section's CSV tables, PNG figures and Markdown page; the files written.

    ``stamp`` (commit and versions) goes under the title."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    files = []
    for name, rows in section.tables.items():
        path = out / f"{section.name}-{name}.csv"
        write_csv(path, rows)
        files.append(path)
    for name, draw in section.figures.items():
        fig = Figure(figsize=(8, 4.5))
        draw(fig)
        fig.tight_layout()
        path = out / f"{section.name}-{name}.png"
        fig.savefig(path, dpi=100)
        files.append(path)
    md = [f"# {section.title}", "", *([stamp, ""] if stamp else [])]
    md += [f"Run time: {section.seconds:.1f} s. Parameters: `{section.params}`.", ""]
    if section.headline:
        md += ["## Headline", "", *[f"- {h}" for h in section.headline], ""]
    md += section.lines
    md += ["## Files", "", *[f"- [{p.name}]({p.name})" for p in files], ""]
    path = out / f"{section.name}.md"
    path.write_text("\n".join(md), encoding="utf-8")
    return [path, *files]


__all__ = [
    "Progress",
    "Section",
    "Settings",
    "ci_columns",
    "ci_text",
    "md_table",
    "write_csv",
    "write_section",
]
