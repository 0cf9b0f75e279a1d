"""Development probe (issue 12): last-node effects by mean residual or by reach, on dev seeds.

For each request of ``paper outcomes`` named on the command line it replays the pilot routes on
the pilot seeds (as the paper does; cached in ``--cache``), fits the outcome model, and builds two
versions of it: last-node effects fitted to the mean residual (``effects="mean"``) and to each
node's pilot share of checkpoints at the target (``effects="reach"``). For each it plans the
aligned route (``plan_anytime`` started from every other plan's route, then ``solve_exact``;
20 s each) and replays, on the development seeds (default 200-219, never the evaluation seeds
0-19), both aligned routes, every plan of ``make_plans``, a random route per seed and 6 pool
routes. It prints, per version: the Spearman rho of the expected time against the measured
median time to target and against the mean censored time over the distinct routes, and the
pairs where the aligned route reaches the target strictly sooner than every baseline / no later
than any, and sooner/later against each baseline.

Run from the repository root::

    .venv/bin/python papers/outcomes/probe_effects.py digits-small/r4,digits-medium/r4 [SEEDS]

Its output for the six requests (seeds 200-219, at commit ``73fd745`` with the per-family
setting uncommitted) is in ``probe-effects.txt``; the per-family choice in
``daitn_opt/papers/outcomes.py`` (``EFFECTS``) was made from it.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pickle
import sys
import time

import numpy as np
import torch

from daitn_opt.executor import SequentialReplay
from daitn_opt.mtrce import calibration as cal
from daitn_opt.mtrce import from_instance
from daitn_opt.mtrce.anytime import Objective, plan_anytime, solve_exact
from daitn_opt.papers import outcomes as oc
from daitn_opt.papers.stats import spearman
from daitn_opt.registry import solve


def models_of(case, problem, basis, cache: str):
    """The mean- and reach-effect models of ``case`` from its pilot replays (cached)."""
    fn = os.path.join(cache, f"pilot_{case.name.replace('/', '_')}.pkl")
    if os.path.exists(fn):
        with open(fn, "rb") as fh:
            runs = pickle.load(fh)
    else:
        routes = cal.draw_pilot_routes(problem, 12, 5000)
        runs = cal.replay_prefixes(
            case.instance, case.request, routes, list(cal.PILOT_SEEDS), basis
        )
        with open(fn, "wb") as fh:
            pickle.dump(runs, fh)
    data = cal.aggregate(runs)
    m0 = cal.fit_measurements(basis, data, target_accuracy=case.target_accuracy)
    eff = cal.node_effects(m0, data, sum(s**2 for s in cal.spread_of(m0, runs)))
    mm = dataclasses.replace(m0, node_effect=eff)
    cs, ss = cal.spread_of(mm, runs)
    mm = dataclasses.replace(
        mm, report=dataclasses.replace(m0.report, checkpoint_sd=cs, shared_sd=ss)
    )
    sd = math.hypot(cs, ss)
    reach = cal.reach_effects(m0, runs, case.target_accuracy, sd, 2 * sd)
    print(
        case.name,
        "fit",
        f"kappa {m0.kappa:.3g} rho {m0.recency} {m0.forgetting} gamma {m0.noise_exponent} "
        f"sd {cs:.3f}/{ss:.3f} pilot rho {m0.report.rho}",
        flush=True,
    )
    return {"mean": mm, "reach": dataclasses.replace(mm, node_effect=reach)}


def main() -> None:
    names = sys.argv[1].split(",")
    nseeds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    seeds = list(range(200, 200 + nseeds))
    cache = os.environ.get("PROBE_CACHE", "/tmp")
    torch.set_num_threads(1)
    st = oc.Settings()
    for c in oc.cases(st):
        if c.name not in names:
            continue
        t0 = time.time()
        problem = from_instance(c.instance, c.request)
        basis = cal.basis_of(c.instance, c.request)
        models = models_of(c, problem, basis, cache)
        _, plans = oc.make_plans(c, st)
        idx = {n: i for i, n in enumerate(problem.ids)}
        starts = [[idx[n] for n in p["route"]] for p in plans if "route" in p]
        aligned, objs = {}, {}
        for k, m in models.items():
            obj = Objective(problem, m, m.spread(), c.target_accuracy)
            objs[k] = obj
            r, h = plan_anytime(obj, time_limit=20, seed=0, starts=starts)
            ex = solve_exact(obj, time_limit=20, incumbent=r)
            aligned[k] = ex.route
            print(
                c.name,
                k,
                f"ils {h:.1f} exact {ex.value:.1f} bound {ex.bound:.1f} opt {ex.optimal}",
                " > ".join(problem.ids[i] for i in ex.route),
                flush=True,
            )
        routes = {f"aligned-{k}": r for k, r in aligned.items()}
        for p in plans:
            if "route" in p:
                routes.setdefault(p["plan"], [idx[n] for n in p["route"]])
        for e in range(6):
            r = solve(problem, "random", time_limit=5, seed=1000 + e).solution["routes"][0]
            routes[f"pool{e}"] = [idx[n] for n in r]
        times: dict[str, list[float]] = {k: [] for k in [*routes, "random"]}
        for s in seeds:
            rp = SequentialReplay(
                c.instance, c.request, seed=s, threads=1, target_accuracy=c.target_accuracy
            )
            seen: dict[tuple[int, ...], float] = {}
            for k, r in routes.items():
                if tuple(r) not in seen:
                    t = rp.run({"routes": [[problem.ids[i] for i in r]]}).summary.time_to_target
                    seen[tuple(r)] = math.inf if t is None else float(t)
                times[k].append(seen[tuple(r)])
            rnd = solve(problem, "random", time_limit=5, seed=s).solution["routes"][0]
            t = rp.run({"routes": [rnd]}).summary.time_to_target
            times["random"].append(math.inf if t is None else float(t))
        distinct: dict[tuple[int, ...], str] = {}
        for k, r in routes.items():
            distinct.setdefault(tuple(r), k)
        for k, obj in objs.items():
            ett = np.array([obj.value(list(r)) for r in distinct])
            med = np.array([float(np.median(times[n])) for n in distinct.values()])
            ctime = np.array(
                [float(np.mean(np.minimum(times[n], problem.deadline))) for n in distinct.values()]
            )
            print(
                c.name,
                k,
                "rho ettt~time",
                f"{spearman(oc._finite(ett), oc._finite(med)):.2f}",
                "ettt~ctime",
                f"{spearman(ett, ctime):.2f}",
                "pool",
                len(distinct),
                flush=True,
            )
        base = [b for b in oc.BASELINES if b in times] + ["random"]
        for k in aligned:
            mine = times[f"aligned-{k}"]
            n = len(seeds)
            strict = sum(
                math.isfinite(mine[j]) and all(mine[j] < times[b][j] - 1e-9 for b in base)
                for j in range(n)
            )
            no_later = sum(
                math.isfinite(mine[j]) and all(mine[j] <= times[b][j] + 1e-9 for b in base)
                for j in range(n)
            )
            vs = {
                b: (
                    sum(oc._compare(mine[j], times[b][j]) == 0 for j in range(n)),
                    sum(oc._compare(mine[j], times[b][j]) == 1 for j in range(n)),
                )
                for b in base
            }
            reached = int(np.isfinite(mine).sum())
            print(
                c.name, k, "sooner-all", strict, "nolater", no_later, "reached", reached, "vs", vs
            )
        print(c.name, "secs", round(time.time() - t0), flush=True)


if __name__ == "__main__":
    main()
