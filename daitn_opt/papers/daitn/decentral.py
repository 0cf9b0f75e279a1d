"""Experiment 4: the price of decentralisation (AATS vs the optimum).

AATS (:mod:`daitn_opt.mtrce.aats`) lets the model decide each hop from its neighbourhood only:
each node's ``degree`` nearest nodes by travel time, expanded ``hops`` times, plus the
distance-vector table to the end. On random-geometric instances of 50-2,000 nodes (the request's
view of the generator's first request), two questions:

1. **Neighbourhood size.** The ratio of AATS's utility to the reference: ``highs`` (exact,
   time-limited) where the view has at most :data:`EXACT_MAX` nodes, else ``ils`` with the same
   time limit (the reference is then a lower bound on the optimum, so the ratio is an upper
   bound on AATS's share of it; a time-limited ``highs`` reference can also be beaten, ratio > 1).
2. **Information age.** The snapshot is ``age`` old: between the report and the decision a node's
   state changes with probability ``1 - exp(-age / deadline)`` (a changed node is down, utility
   0, with probability 0.3, else its utility is multiplied by a log-normal factor, sigma 0.5;
   travel times do not change, so every route stays on time). The central plan (``ils`` on the
   stale snapshot) and AATS deciding on the stale snapshot are compared with AATS observing its
   neighbourhood as it is when it gets there (fresh local information), all judged on the true
   utilities and divided by ``ils`` planned on the truth (``ils`` runs of :data:`AGE_LIMIT` s).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ...drrt.generators import generate
from ...drrt.view import view
from ...mtrce.problem import from_view
from ...registry import solve
from .common import Progress, Section, Settings, ci_columns, ci_text, md_table

EXACT_MAX = 120
"""Views with at most this many nodes get an exact ``highs`` reference."""
DEGREES = (2, 5, 10, 20, 50)
HOPS = (1, 2, 3)
AGES = (0.0, 0.1, 0.25, 0.5, 1.0)
"""Information age as a share of the request's deadline."""
AGE_LIMIT = 2.0
"""Seconds of each ``ils`` run of the information-age part (five per instance)."""
DOWN_SHARE = 0.3
SIGMA = 0.5


def drifted(problem: Any, age_share: float, seed: int) -> Any:
    """The true problem after the snapshot aged ``age_share`` deadlines (utilities change)."""
    rng = np.random.default_rng(10_000 + seed)
    u = np.asarray(problem.utility, dtype=np.float64).copy()
    changed = rng.random(len(u)) < 1.0 - np.exp(-age_share)
    down = rng.random(len(u)) < DOWN_SHARE
    factor = rng.lognormal(0.0, SIGMA, len(u))
    u = np.where(changed, np.where(down, 0.0, u * factor), u)
    u[[problem.start, problem.end]] = np.asarray(problem.utility)[[problem.start, problem.end]]
    return problem.replace(utility=u)


def worth(problem: Any, routes: list[list[str]]) -> float:
    """Utility of ``routes`` (node ids) on ``problem`` (each node once)."""
    pos = {x: i for i, x in enumerate(problem.ids)}
    nodes = {pos[x] for r in routes for x in r}
    return float(np.asarray(problem.utility)[sorted(nodes)].sum())


def reference(problem: Any, tl: float, seed: int) -> tuple[float, str, list]:
    """(value, how, routes) of the best plan found by ``highs`` and/or ``ils``."""
    best = (-1.0, "", [])
    solvers = ("highs",) if problem.n <= EXACT_MAX else ("ils",)
    for name in solvers:
        res = solve(problem, name, time_limit=tl, seed=seed)
        if res.objective is not None and res.objective > best[0]:
            how = f"{name} {res.status.value}"
            best = (float(res.objective), how, res.solution["routes"])
    return best


def run_instance(n: int, seed: int, settings: Settings, ages: bool) -> dict[str, list]:
    p = from_view(view(generate("rgg", nodes=n, seed=seed)))
    tl = settings.time_limit
    ref, how, _ = reference(p, tl, seed)
    price = []
    for d in DEGREES:
        for h in HOPS:
            res = solve(p, "aats", time_limit=tl, seed=seed, degree=d, hops=h)
            price.append(
                {
                    "nodes": n,
                    "view_nodes": p.n,
                    "seed": seed,
                    "degree": d,
                    "hops": h,
                    "reference": how,
                    "ratio": (res.objective or 0.0) / ref if ref > 0 else 1.0,
                    "rows_read": res.stats.get("rows_read"),
                }
            )
    drift = []
    if ages:
        stale_aats = solve(p, "aats", time_limit=tl, seed=seed).solution["routes"]
        tl = min(tl, AGE_LIMIT)
        ils_stale = solve(p, "ils", time_limit=tl, seed=seed).solution["routes"]
        for a in AGES:
            truth = drifted(p, a, seed)
            best = max(
                1e-9, worth(truth, solve(truth, "ils", time_limit=tl, seed=seed).solution["routes"])
            )
            fresh = solve(truth, "aats", time_limit=tl, seed=seed).solution["routes"]
            drift.append(
                {
                    "nodes": n,
                    "seed": seed,
                    "age_share": a,
                    "central_stale": worth(truth, ils_stale) / best,
                    "aats_stale": worth(truth, stale_aats) / best,
                    "aats_fresh_local": worth(truth, fresh) / best,
                }
            )
    return {"price": price, "drift": drift}


def run(settings: Settings, progress: Progress) -> Section:
    t0 = time.perf_counter()
    sizes = (50, 200) if settings.quick else (50, 200, 500, 1000, 2000)
    age_sizes = (50,) if settings.quick else (50, 200, 1000)
    seeds = list(range(settings.seeds))
    price, drift = [], []
    for n in sizes:
        for seed in seeds:
            got = run_instance(n, seed, settings, n in age_sizes)
            price += got["price"]
            drift += got["drift"]
        progress("size", {"experiment": "decentral", "nodes": n})
    psum, dsum = _summaries(price, drift, sizes, age_sizes)
    sec = Section("4-decentral", "Experiment 4: the price of decentralisation (AATS)")
    sec.params = {
        "sizes": sizes,
        "age_sizes": age_sizes,
        "seeds": seeds,
        "degrees": DEGREES,
        "hops": HOPS,
        "ages": AGES,
        "time_limit": settings.time_limit,
        "exact_max": EXACT_MAX,
        "age_limit": AGE_LIMIT,
        "down_share": DOWN_SHARE,
        "sigma": SIGMA,
    }
    refs = sorted({r["reference"] for r in price})
    sec.lines = [
        __doc__.split("\n\n", 1)[1],
        "",
        f"References used: {', '.join(refs)}.",
        "",
        "## AATS utility / reference, by neighbourhood",
        "",
        *md_table(
            psum, ["nodes", "degree", "hops", "ratio_mean", "ratio_low", "ratio_high", "ratio_n"]
        ),
        "## Information age (utility / ils on the truth)",
        "",
        *md_table(
            dsum,
            [
                "nodes",
                "age_share",
                "central_stale_mean",
                "aats_stale_mean",
                "aats_fresh_local_mean",
                "central_stale_n",
            ],
        ),
    ]
    sec.tables = {"price-runs": price, "price": psum, "age-runs": drift, "age": dsum}
    sec.figures = {"price": _figure_price(psum, sizes), "age": _figure_age(dsum, age_sizes)}
    for n in (sizes[0], sizes[-1]):
        default = [r["ratio"] for r in price if (r["nodes"], r["degree"], r["hops"]) == (n, 5, 2)]
        wide = [r["ratio"] for r in price if (r["nodes"], r["degree"], r["hops"]) == (n, 50, 3)]
        sec.headline.append(
            f"{n} nodes: AATS (degree 5, 2 hops) reaches {ci_text(default)} of the reference; "
            f"degree 50, 3 hops {ci_text(wide)}"
        )
    for n in age_sizes[-1:]:
        rs = [r for r in drift if r["nodes"] == n and r["age_share"] == AGES[-1]]
        sec.headline.append(
            f"{n} nodes, snapshot one deadline old: central plan "
            f"{ci_text([r['central_stale'] for r in rs])}, AATS on stale "
            f"{ci_text([r['aats_stale'] for r in rs])}, AATS with fresh local information "
            f"{ci_text([r['aats_fresh_local'] for r in rs])} of the plan on the truth"
        )
    sec.seconds = time.perf_counter() - t0
    return sec


def _summaries(
    price: list[dict[str, Any]],
    drift: list[dict[str, Any]],
    sizes: tuple[int, ...],
    age_sizes: tuple[int, ...],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Mean and CI of the AATS/reference ratio per (size, degree, hops), and of each policy's
    utility per (size, information age)."""
    psum = []
    for n in sizes:
        for d in DEGREES:
            for h in HOPS:
                rs = [
                    r["ratio"] for r in price if (r["nodes"], r["degree"], r["hops"]) == (n, d, h)
                ]
                psum.append({"nodes": n, "degree": d, "hops": h} | ci_columns("ratio", rs))
    dsum = []
    for n in age_sizes:
        for a in AGES:
            rs = [r for r in drift if (r["nodes"], r["age_share"]) == (n, a)]
            row: dict[str, Any] = {"nodes": n, "age_share": a}
            for k in ("central_stale", "aats_stale", "aats_fresh_local"):
                row |= ci_columns(k, [r[k] for r in rs])
            dsum.append(row)
    return psum, dsum


def _figure_price(psum: list[dict[str, Any]], sizes: tuple[int, ...]):
    def draw(fig: Any) -> None:
        axes = fig.subplots(1, len(HOPS), sharey=True)
        for ax, h in zip(axes, HOPS, strict=True):
            for n in sizes:
                rs = [r for r in psum if r["nodes"] == n and r["hops"] == h]
                ax.plot(
                    [r["degree"] for r in rs],
                    [r["ratio_mean"] for r in rs],
                    marker="o",
                    label=f"{n} nodes",
                )
            ax.set_xscale("log")
            ax.set_xticks(DEGREES, [str(d) for d in DEGREES])
            ax.minorticks_off()
            ax.set_title(f"{h} hop(s)", fontsize=9)
            ax.set_xlabel("degree")
        axes[0].set_ylabel("AATS / reference utility")
        axes[0].legend(fontsize=7)

    return draw


def _figure_age(dsum: list[dict[str, Any]], sizes: tuple[int, ...]):
    def draw(fig: Any) -> None:
        axes = fig.subplots(1, len(sizes), sharey=True, squeeze=False)[0]
        for ax, n in zip(axes, sizes, strict=True):
            rs = [r for r in dsum if r["nodes"] == n]
            x = [r["age_share"] for r in rs]
            for k in ("central_stale", "aats_stale", "aats_fresh_local"):
                ax.plot(x, [r[f"{k}_mean"] for r in rs], marker="o", label=k)
            ax.set_title(f"{n} nodes", fontsize=9)
            ax.set_xlabel("information age / deadline")
        axes[0].set_ylabel("true utility / plan on truth")
        axes[0].legend(fontsize=7)

    return draw


__all__ = ["AGES", "DEGREES", "HOPS", "drifted", "run", "worth"]
