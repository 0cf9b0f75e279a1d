"""Experiment 3 (open question 2): routes planned on differentially private DRRT reports.

Every data node reports its statistics through :func:`daitn_opt.drrt.privacy.privatise` (Laplace
mechanism, per dataset: label histogram or sample count with ``epsilon/2``, correct-label count
with ``epsilon/2``, sensitivity 1 each). The control centre builds the request's view of the
*noisy* snapshot and plans the route (MTRCE ``max_utility``, the same solver and time limit as
on the true snapshot); the route is then judged on the **true** snapshot:

- the route's data nodes that are not eligible in truth (their true quality is below the
  threshold: noise pushed them in) are skipped, and the rest is scheduled with the true training
  times (noisy sample counts mis-state them) and windows;
- **utility ratio**: true utility of that route / true optimum (the plan made on the true
  snapshot); **on-time ratio**: the same, counted 0 when the true schedule misses the deadline;
- for the healthcare instances, a few seeds are also **replayed** as real training
  (:class:`daitn_opt.executor.SequentialReplay`, breast-cancer partitions) to compare final
  accuracy with the route planned on the truth.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ...drrt.generators import generate
from ...drrt.privacy import MECHANISM, privatise
from ...drrt.view import build_view
from ...mtrce.problem import from_view
from ...mtrce.solution import route_schedule
from ...registry import solve
from .common import Progress, Section, Settings, ci_columns, ci_text, md_table

EPSILONS = (0.1, 0.3, 1.0, 3.0, 10.0)
FAMILIES = {"healthcare": 20, "rgg": 60}
SOLVER = "highs"


def plan(snapshot: Any, inst: Any, time_limit: float, seed: int) -> list[str]:
    """The route (node ids) planned on ``snapshot`` for the instance's first request."""
    v = build_view(snapshot, inst.requests[0], inst.travel)
    res = solve(from_view(v), SOLVER, time_limit=time_limit, seed=seed)
    routes = res.solution.get("routes") or [[v.ids[v.start], v.ids[v.end]]]
    return list(routes[0])


def judge(route: list[str], true_problem: Any) -> dict[str, Any]:
    """The route on the true problem: skipped nodes, true utility and whether it is on time."""
    pos = {x: i for i, x in enumerate(true_problem.ids)}
    kept = [pos[x] for x in route if x in pos]
    sch = route_schedule(true_problem, kept)
    return {
        "skipped": len(route) - len(kept),
        "utility": float(np.asarray(true_problem.utility)[kept[1:-1]].sum()),
        "on_time": bool(sch.feasible),
    }


def run_seed(family: str, seed: int, settings: Settings, replay: bool) -> list[dict[str, Any]]:
    """Every epsilon of one instance (plus the plan on the true snapshot)."""
    inst = generate(family, nodes=FAMILIES[family], seed=seed)
    tl = min(settings.time_limit, 5.0)
    true_problem = from_view(build_view(inst.snapshot, inst.requests[0], inst.travel))
    best_route = plan(inst.snapshot, inst, tl, seed)
    best = judge(best_route, true_problem)
    rep = None
    if replay:
        from ...executor import SequentialReplay

        rep = SequentialReplay(inst, inst.requests[0].id, seed=seed, threads=1)
    rows = []
    for eps in (math.inf, *EPSILONS):
        if math.isinf(eps):
            route = best_route
        else:
            route = plan(privatise(inst.snapshot, eps, seed), inst, tl, seed)
        j = judge(route, true_problem)
        ratio = j["utility"] / best["utility"] if best["utility"] > 0 else 1.0
        row = {
            "family": family,
            "seed": seed,
            "epsilon": eps,
            "route_nodes": len(route) - 2,
            "skipped": j["skipped"],
            "on_time": j["on_time"],
            "utility_ratio": ratio,
            "on_time_ratio": ratio if j["on_time"] else 0.0,
            "accuracy": None,
        }
        if rep is not None:
            pos = {x for x in true_problem.ids}
            out = rep.run({"routes": [[x for x in route if x in pos]]})
            row["accuracy"] = float(out.summary.final_accuracy)
        rows.append(row)
    return rows


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for fam in FAMILIES:
        for eps in (math.inf, *EPSILONS):
            rs = [r for r in runs if r["family"] == fam and r["epsilon"] == eps]
            row: dict[str, Any] = {"family": fam, "epsilon": eps}
            for m in ("utility_ratio", "on_time_ratio", "skipped"):
                row |= ci_columns(m, [r[m] for r in rs])
            row["missed_share"] = float(np.mean([not r["on_time"] for r in rs]))
            accs = [r["accuracy"] for r in rs if r["accuracy"] is not None]
            if accs:
                row |= ci_columns("accuracy", accs)
            out.append(row)
    return out


def _figure(summary: list[dict[str, Any]]):
    def draw(fig: Any) -> None:
        ax = fig.subplots()
        for fam in FAMILIES:
            rs = [r for r in summary if r["family"] == fam and math.isfinite(r["epsilon"])]
            x = [r["epsilon"] for r in rs]
            y = [r["on_time_ratio_mean"] for r in rs]
            lo = [
                r["on_time_ratio_mean"] - (r["on_time_ratio_low"] or r["on_time_ratio_mean"])
                for r in rs
            ]
            ax.errorbar(x, y, yerr=lo, marker="o", capsize=3, label=f"{fam}: on-time utility")
            ax.plot(x, [r["utility_ratio_mean"] for r in rs], ls="--", label=f"{fam}: utility")
        ax.set_xscale("log")
        ax.set_xlabel("epsilon (per dataset)")
        ax.set_ylabel("true utility / true optimum")
        ax.axhline(1.0, color="gray", lw=0.5)
        ax.legend(fontsize=7)

    return draw


def run(settings: Settings, progress: Progress) -> Section:
    t0 = time.perf_counter()
    seeds = list(range(min(settings.seeds, 10)))
    replay_seeds = seeds[: 2 if settings.quick else 5]
    runs = []
    for fam in FAMILIES:
        for seed in seeds:
            runs += run_seed(fam, seed, settings, fam == "healthcare" and seed in replay_seeds)
            progress("seed", {"experiment": "privacy", "family": fam, "seed": seed})
    summary = summarise(runs)
    sec = Section("3-privacy", "Experiment 3 (open question 2): DP reporting of the DRRT")
    sec.params = {
        "mechanism": MECHANISM,
        "epsilons": EPSILONS,
        "families": FAMILIES,
        "seeds": seeds,
        "replayed_seeds": replay_seeds,
        "solver": SOLVER,
        "time_limit": min(settings.time_limit, 5.0),
    }
    cols = [
        "family",
        "epsilon",
        "utility_ratio_mean",
        "utility_ratio_low",
        "utility_ratio_high",
        "on_time_ratio_mean",
        "missed_share",
        "skipped_mean",
        "accuracy_mean",
        "accuracy_low",
        "accuracy_high",
        "utility_ratio_n",
        "accuracy_n",
    ]
    sec.lines = [
        __doc__.split("\n\n", 1)[1],
        "",
        "epsilon = inf is the plan on the true snapshot (ratio 1 by definition).",
        "",
        "## Summary",
        "",
        *md_table(summary, cols),
    ]
    sec.tables = {"runs": runs, "summary": summary}
    sec.figures = {"utility": _figure(summary)}
    for fam in FAMILIES:
        parts = []
        for eps in (0.1, 1.0, 10.0):
            rs = [r for r in runs if r["family"] == fam and r["epsilon"] == eps]
            parts.append(f"eps {eps:g}: {ci_text([r['on_time_ratio'] for r in rs], '.3f')}")
        sec.headline.append(f"{fam}: on-time true utility / optimum, " + "; ".join(parts))
    accs = {
        e: [r["accuracy"] for r in runs if r["epsilon"] == e and r["accuracy"] is not None]
        for e in (math.inf, 0.1, 1.0)
    }
    if accs[math.inf]:
        sec.headline.append(
            "healthcare replayed final accuracy: true plan "
            f"{ci_text(accs[math.inf])}, eps 1 {ci_text(accs[1.0])}, eps 0.1 {ci_text(accs[0.1])}"
        )
    sec.seconds = time.perf_counter() - t0
    return sec


__all__ = ["EPSILONS", "judge", "plan", "run", "run_seed"]
