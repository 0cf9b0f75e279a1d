"""Experiment 5: solve time and gap vs network size, 10 to 10,000 nodes, for each problem.

- **MTRCE**: random-geometric instances of ``n`` nodes (the view of the first request; views of
  more than :data:`VIEW_CAP` eligible nodes are capped with ``max_nodes``, stated per row);
  ``highs`` (exact, time-limited, run on views of at most :data:`MTRCE_EXACT_MAX` nodes),
  ``greedy`` and ``aats``.
- **T-FAM**: :func:`daitn_opt.tfam.synthetic.random_batch` with ``n`` nodes, ``n`` requests,
  24 time slots; ``highs``, ``fcfs``, ``greedy``, ``ls``.
- **QIRCE**: :func:`daitn_opt.qirce.synthetic.synthetic_instance` with ``0.9 n`` users,
  ``n / 10`` MDFPs, 5 models; ``highs``, ``greedy``, ``ls``.

The **gap** of a run is ``|best bound - objective| / |objective|`` with the tightest bound any
solver proved on that instance (none: blank). The **growth exponent** is the slope of a
least-squares line through (log n, log seconds) over the runs that stopped before 90% of the time
limit (a run cut by the limit measures the limit, not the solver); the points used are counted.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ...drrt.generators import generate
from ...drrt.view import view
from ...registry import solve
from ...result import relative_gap
from .common import Progress, Section, Settings, ci_text, md_table

VIEW_CAP = 3000
MTRCE_EXACT_MAX = 1000
SOLVERS = {
    "mtrce": ("highs", "greedy", "aats"),
    "tfam": ("highs", "fcfs", "greedy", "ls"),
    "qirce": ("highs", "greedy", "ls"),
}


def instance(problem: str, n: int, seed: int) -> tuple[Any, str]:
    """(problem object, note) of size ``n``."""
    if problem == "mtrce":
        from ...mtrce.problem import from_view

        v = view(generate("rgg", nodes=n, seed=seed), max_nodes=VIEW_CAP if n > VIEW_CAP else None)
        return from_view(v), f"view {v.n} nodes"
    if problem == "tfam":
        from ...tfam.synthetic import random_batch

        return random_batch(requests=n, nodes=n, slots=24, seed=seed), f"{n} requests"
    from ...qirce.problem import from_instance
    from ...qirce.synthetic import synthetic_instance

    users, fac = max(1, round(0.9 * n)), max(2, n // 10)
    inst = synthetic_instance(users=users, models=5, facilities=fac, seed=seed)
    return from_instance(inst), f"{users} users, {fac} MDFPs"


def run_instance(problem: str, n: int, seed: int, tl: float) -> list[dict[str, Any]]:
    built = time.perf_counter()
    p, note = instance(problem, n, seed)
    build_s = time.perf_counter() - built
    rows = []
    for name in SOLVERS[problem]:
        if problem == "mtrce" and name == "highs" and p.n > MTRCE_EXACT_MAX:
            continue
        t = time.perf_counter()
        res = solve(p, name, time_limit=tl, seed=seed)
        rows.append(
            {
                "problem": problem,
                "nodes": n,
                "seed": seed,
                "solver": name,
                "note": note,
                "build_s": build_s,
                "seconds": time.perf_counter() - t,
                "status": res.status.value,
                "objective": res.objective,
                "bound": res.bound,
                "sense": res.sense,
            }
        )
    bounds = [r["bound"] for r in rows if r["bound"] is not None and math.isfinite(r["bound"])]
    tight = None
    if bounds:
        tight = min(bounds) if rows[0]["sense"] == "max" else max(bounds)
    for r in rows:
        r["gap"] = relative_gap(r["objective"], tight) if tight is not None else None
    return rows


def exponent(runs: list[dict[str, Any]], tl: float) -> tuple[float | None, int]:
    """(slope of log seconds on log n, points) over runs that stopped before 0.9 tl."""
    pts = [(r["nodes"], r["seconds"]) for r in runs if r["seconds"] < 0.9 * tl and r["seconds"] > 0]
    if len({n for n, _ in pts}) < 2:
        return None, len(pts)
    x = np.log([n for n, _ in pts])
    y = np.log([s for _, s in pts])
    return float(np.polyfit(x, y, 1)[0]), len(pts)


def run(settings: Settings, progress: Progress) -> Section:
    t0 = time.perf_counter()
    sizes = (10, 30, 100, 300) if settings.quick else (10, 30, 100, 300, 1000, 3000, 10000)
    seeds = list(range(1 if settings.quick else 3))
    tl = settings.time_limit
    runs = []
    for problem in SOLVERS:
        for n in sizes:
            for seed in seeds:
                runs += run_instance(problem, n, seed, tl)
            progress("size", {"experiment": "scaling", "problem": problem, "nodes": n})
    summary = []
    fits = []
    for problem, names in SOLVERS.items():
        for name in names:
            rs = [r for r in runs if (r["problem"], r["solver"]) == (problem, name)]
            for n in sizes:
                here = [r for r in rs if r["nodes"] == n]
                if not here:
                    continue
                gaps = [r["gap"] for r in here if r["gap"] is not None]
                summary.append(
                    {
                        "problem": problem,
                        "solver": name,
                        "nodes": n,
                        "seconds": ci_text([r["seconds"] for r in here], ".3g"),
                        "gap": ci_text(gaps, ".4f") if gaps else "-",
                        "optimal": sum(r["status"] == "optimal" for r in here),
                        "runs": len(here),
                        "note": here[0]["note"],
                    }
                )
            slope, used = exponent(rs, tl)
            fits.append({"problem": problem, "solver": name, "exponent": slope, "points": used})
    sec = Section("5-scaling", "Experiment 5: scaling, 10 to 10,000 nodes")
    sec.params = {
        "sizes": sizes,
        "seeds": seeds,
        "time_limit": tl,
        "view_cap": VIEW_CAP,
        "mtrce_exact_max": MTRCE_EXACT_MAX,
        "solvers": SOLVERS,
    }
    sec.lines = [
        __doc__.split("\n\n", 1)[1],
        "",
        "## Fitted growth exponents (seconds ~ n^k)",
        "",
        *md_table(fits),
        "## Time (s) and gap per size (mean [95% CI] over seeds)",
        "",
        *md_table(summary),
    ]
    sec.tables = {"runs": runs, "exponents": fits}
    sec.figures = {"time": _figure(runs, sizes)}
    for f in fits:
        if f["exponent"] is not None:
            sec.headline.append(
                f"{f['problem']} {f['solver']}: time ~ n^{f['exponent']:.2f} ({f['points']} runs "
                "under the limit)"
            )
    sec.seconds = time.perf_counter() - t0
    return sec


def _figure(runs: list[dict[str, Any]], sizes: tuple[int, ...]):
    def draw(fig: Any) -> None:
        axes = fig.subplots(1, len(SOLVERS))
        for ax, (problem, names) in zip(axes, SOLVERS.items(), strict=True):
            for name in names:
                xs, ys = [], []
                for n in sizes:
                    t = [
                        r["seconds"]
                        for r in runs
                        if (r["problem"], r["solver"], r["nodes"]) == (problem, name, n)
                    ]
                    if t:
                        xs.append(n)
                        ys.append(float(np.mean(t)))
                ax.loglog(xs, ys, marker="o", label=name)
            ax.set_title(problem, fontsize=9)
            ax.set_xlabel("nodes")
            ax.legend(fontsize=7)
        axes[0].set_ylabel("solve seconds")

    return draw


__all__ = ["SOLVERS", "exponent", "instance", "run", "run_instance"]
