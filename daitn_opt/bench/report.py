"""Reports on a results store: summary per family and solver, performance profiles, gap over time.

Metrics (see the benchmark protocol in ``instances/README.md``):

- *gap*: the gap to the published value when the instance has one (``gap_to_best``:
  ``(obj - best) / |best|`` when minimising, ``(best - obj) / |best|`` when maximising), else the
  solver's own certified gap; a run without a solution counts as gap 1 (100%).
- *shifted geometric mean* of runtime: ``exp(mean(log(t + s))) - s`` with shift ``s`` = 1 s, the
  usual way to average solver times without letting tiny times dominate (Achterberg 2007).
- *performance profile* (Dolan and Moré 2002): for each solver s, the fraction of problems
  (instance, seed) whose time to a proved optimum is within a factor tau of the best solver's; the
  gap variant is the fraction of problems solved within gap x.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

FAILED = {"error", "timeout", "no_solution", "infeasible"}


def run_gap(row: dict[str, Any]) -> float:
    """The gap of one run used in reports (see the module docstring)."""
    if row["status"] in FAILED or row.get("objective") is None:
        return 1.0
    if row.get("gap_to_best") is not None:
        return max(0.0, float(row["gap_to_best"]))
    if row.get("gap") is not None:
        return float(row["gap"])
    return math.nan


def shifted_geometric_mean(values: list[float], shift: float = 1.0) -> float:
    if not values:
        return math.nan
    arr = np.asarray(values, dtype=float)
    return float(np.exp(np.mean(np.log(arr + shift))) - shift)


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary dict per (family, problem, solver), sorted."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row.get("family") or "?", row["problem"], row["solver"])].append(row)
    out = []
    for (family, problem, solver), group in sorted(groups.items()):
        gaps = [g for g in (run_gap(r) for r in group) if not math.isnan(g)]
        times = [r["runtime"] if r.get("runtime") is not None else r["time_limit"] for r in group]
        out.append(
            {
                "family": family,
                "problem": problem,
                "solver": solver,
                "runs": len(group),
                "optimal": sum(r["status"] == "optimal" for r in group),
                "feasible": sum(r["status"] in ("optimal", "feasible") for r in group),
                "failed": sum(r["status"] in ("error", "timeout") for r in group),
                "check_violations": sum(r.get("check_ok") == 0 for r in group),
                "mean_gap": float(np.mean(gaps)) if gaps else math.nan,
                "max_gap": float(np.max(gaps)) if gaps else math.nan,
                "sgm_time": shifted_geometric_mean(times),
            }
        )
    return out


def _problems(rows: list[dict[str, Any]]) -> tuple[list[str], list[tuple[str, int]]]:
    solvers = sorted({r["solver"] for r in rows})
    problems = sorted({(r["instance"], r["seed"]) for r in rows})
    return solvers, problems


def time_profile(rows: list[dict[str, Any]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Dolan-Moré profile on time to a proved optimum: solver -> (taus, fraction <= tau)."""
    solvers, problems = _problems(rows)
    index = {p: k for k, p in enumerate(problems)}
    times = np.full((len(problems), len(solvers)), np.inf)
    for r in rows:
        if r["status"] == "optimal" and r.get("runtime") is not None:
            times[index[(r["instance"], r["seed"])], solvers.index(r["solver"])] = max(
                r["runtime"], 1e-3
            )
    best = times.min(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = np.where(np.isfinite(best), times / best, np.inf)
    finite = ratios[np.isfinite(ratios)]
    top = max(2.0, float(finite.max()) * 1.05) if finite.size else 2.0
    taus = np.geomspace(1.0, top, 200)
    return {
        s: (taus, (ratios[:, j][:, None] <= taus[None, :]).mean(axis=0))
        for j, s in enumerate(solvers)
    }


def gap_profile(rows: list[dict[str, Any]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Fraction of problems each solver ends within gap x: solver -> (xs, fraction <= x)."""
    solvers = sorted({r["solver"] for r in rows})
    xs = np.concatenate([[0.0], np.geomspace(1e-5, 1.0, 200)])
    out = {}
    for s in solvers:
        gaps = np.array([run_gap(r) for r in rows if r["solver"] == s])
        gaps = np.where(np.isnan(gaps), 1.0, gaps)
        out[s] = (xs, (gaps[:, None] <= xs[None, :] + 1e-12).mean(axis=0))
    return out


def gap_over_time(
    rows: list[dict[str, Any]], points: int = 100
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Mean primal gap over time per solver, from the anytime traces (1 before a first incumbent).

    The reference is the best known value, else the best objective any solver found for the same
    instance.
    """
    best: dict[str, float] = {}
    for r in rows:
        if r.get("objective") is None:
            continue
        ref = r.get("best_known")
        if ref is not None:
            best[r["instance"]] = ref
            continue
        cur = best.get(r["instance"])
        better = cur is None or (
            r["objective"] < cur if r.get("sense") == "min" else r["objective"] > cur
        )
        if better:
            best[r["instance"]] = r["objective"]
    horizon = max((r.get("time_limit") or 0.0 for r in rows), default=0.0) or 1.0
    grid = np.linspace(0.0, horizon, points)
    curves: dict[str, list[np.ndarray]] = defaultdict(list)
    for r in rows:
        ref = best.get(r["instance"])
        curve = np.ones(points)
        if ref is not None:
            for t, inc, _bound in r.get("trace") or []:
                if inc is None:
                    continue
                denom = max(abs(ref), abs(inc))
                gap = 0.0 if denom == 0 else min(1.0, abs(ref - inc) / denom)
                curve[grid >= t] = gap
        curves[r["solver"]].append(curve)
    return {s: (grid, np.mean(c, axis=0)) for s, c in curves.items()}


def write_plots(rows: list[dict[str, Any]], out_dir: str | Path) -> list[Path]:
    """Write the time and gap performance profiles and the gap-over-time plot as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    specs = [
        ("profile_time.png", time_profile(rows), "tau (time / best time)", "log"),
        ("profile_gap.png", gap_profile(rows), "gap x", "symlog"),
        ("gap_over_time.png", gap_over_time(rows), "seconds", "linear"),
    ]
    ylabels = ["fraction proved optimal within tau", "fraction with gap <= x", "mean primal gap"]
    for (name, curves, xlabel, xscale), ylabel in zip(specs, ylabels, strict=True):
        fig, ax = plt.subplots(figsize=(6, 4))
        for solver, (x, y) in sorted(curves.items()):
            ax.step(x, y, where="post", label=solver)
        ax.set_xscale(xscale, **({"linthresh": 1e-5} if xscale == "symlog" else {}))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        fig.tight_layout()
        path = out / name
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    return written


def export_csv(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write the rows (without traces) as CSV."""
    path = Path(path)
    if not rows:
        path.write_text("", encoding="utf-8")
        return path
    names = [k for k in rows[0] if k != "trace"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({**r, "violations": "; ".join(r.get("violations") or [])})
    return path
