"""Development probe (issue 12): why AATS reaches the target sooner than the aligned plan on
healthcare, on development seeds only.

For each request named on the command line it fits the outcome model to the pilot replays (as
``paper outcomes`` does: pilot seeds 100-104, then the second pilot round of ``refine_case``),
plans the aligned route (``plan_anytime`` from every baseline's route and the candidates, then
``solve_exact``; 20 s each), and keeps the ``--top`` best distinct routes
the searches evaluated (by the model's expected time; distinct in their first four trained nodes).
It then replays every such candidate and every baseline's route (from ``make_plans``; random
redrawn per seed) on the seeds ``--seeds`` (default 100-119 and 200-219: the pilot seeds, 15
further pilot-side seeds and the 20 development seeds; never the evaluation seeds 0-19) and
pickles, per (route, seed), the checkpoints ``(node, time, accuracy)`` into ``--out``
(``--dev-only``: the development seeds alone). Its output is in ``probe-aats.txt``.

``--analyse`` reads that pickle and prints, per request: the model's expected time and reach
probability next to the measured mean censored time and reach share on the development seeds,
for the aligned route, AATS's and the other candidates; per-hop predicted vs measured accuracy
of the two routes; and the pairs the aligned route wins strictly / no later against every
baseline. Nothing here is used by the library.

Run from the repository root::

    .venv/bin/python papers/outcomes/probe_aats.py healthcare-medium/r3 --out /tmp/B/probe.pkl
    .venv/bin/python papers/outcomes/probe_aats.py --analyse --out /tmp/B/probe.pkl
"""

from __future__ import annotations

import argparse
import math
import os
import pickle
import time

import numpy as np

DEV = list(range(200, 220))
RACE = list(range(100, 120))


def collect(names: list[str], seeds: list[int], top: int, out: str) -> None:
    import torch

    from daitn_opt.executor import SequentialReplay
    from daitn_opt.mtrce.anytime import Objective, plan_anytime, solve_exact
    from daitn_opt.papers import outcomes as oc
    from daitn_opt.registry import solve

    torch.set_num_threads(1)
    doc = {}
    if os.path.exists(out):
        with open(out, "rb") as fh:
            doc = pickle.load(fh)
    st = oc.Settings()
    for c in oc.cases(st):
        if c.name not in names:
            continue
        t0 = time.time()
        model, _ = oc.fit_case(c, st)
        problem, plans = oc.make_plans(c, st)
        idx = {n: i for i, n in enumerate(problem.ids)}
        model, cands, _ = oc.refine_case(c, problem, model, st, plans)
        starts = [[idx[n] for n in p["route"]] for p in plans if "route" in p] + cands
        obj = Objective(problem, model, model.spread(), c.target_accuracy)
        r, _ = plan_anytime(obj, time_limit=20, seed=0, starts=starts)
        ex = solve_exact(obj, time_limit=20, incumbent=r)
        routes: dict[str, list[int]] = {"aligned": ex.route}
        for p in plans:
            if "route" in p:
                routes.setdefault(p["plan"], [idx[n] for n in p["route"]])
        seen = {tuple(obj.trained(ex.route)[:4])}
        for key, val in sorted(obj.cache.items(), key=lambda kv: kv[1]):
            if len(seen) > top or not math.isfinite(val):
                break
            head = tuple(obj.trained(list(key))[:4])
            if head not in seen:
                seen.add(head)
                routes[f"cand{len(seen) - 1}"] = list(key)
        traces: dict[tuple[str, int], list[tuple[str, float, float]]] = {}
        for s in seeds:
            rp = SequentialReplay(
                c.instance, c.request, seed=s, threads=1, target_accuracy=c.target_accuracy
            )
            rnd = solve(problem, "random", time_limit=5, seed=s).solution["routes"][0]
            todo = {k: [problem.ids[i] for i in r] for k, r in routes.items()}
            todo["random (per seed)"] = list(rnd)
            done: dict[tuple[str, ...], list] = {}
            for k, r in todo.items():
                if tuple(r) not in done:
                    o = rp.run({"routes": [r]})
                    done[tuple(r)] = [
                        (st_.node, float(st_.time), float(st_.accuracy))
                        for st_ in o.trace
                        if st_.action in ("start", "train") and not math.isnan(st_.accuracy)
                    ]
                traces[(k, s)] = done[tuple(r)]
        doc[c.name] = {
            "model": model,
            "problem": problem,
            "routes": routes,
            "traces": traces,
            "target": c.target_accuracy,
            "seeds": seeds,
            "exact": (ex.value, ex.bound, ex.optimal),
            "secs": time.time() - t0,
        }
        with open(out, "wb") as fh:
            pickle.dump(doc, fh)
        print(c.name, "done", round(time.time() - t0), "s", len(routes), "routes", flush=True)


def first_hit(trace, target: float) -> float:
    for _, t, a in trace:
        if a >= target - 1e-12:
            return t
    return math.inf


def analyse(out: str, baselines: tuple[str, ...]) -> None:
    from daitn_opt.mtrce.anytime import Objective

    with open(out, "rb") as fh:
        doc = pickle.load(fh)
    for name, d in doc.items():
        m, pr, A = d["model"], d["problem"], d["target"]
        obj = Objective(pr, m, m.spread(), A)
        H = float(pr.deadline)
        print(f"\n## {name}  (exact {d['exact']}; spread {m.spread()})")
        print("route | pred E[T] | pred reach | dev E[min(T,H)] | dev reach | race E | race reach")
        for k, r in d["routes"].items():
            dev = [first_hit(d["traces"][(k, s)], A) for s in DEV if (k, s) in d["traces"]]
            race = [first_hit(d["traces"][(k, s)], A) for s in RACE if (k, s) in d["traces"]]
            print(
                f"{k:22s} {obj.value(r):7.1f} {obj.reach_probability(r):5.2f} "
                f"{np.mean(np.minimum(dev, H)):7.1f} {np.isfinite(dev).sum():3d} "
                f"{np.mean(np.minimum(race, H)):7.1f} {np.isfinite(race).sum():3d}  "
                + " > ".join(pr.ids[i] for i in obj.trained(r)[:6])
            )
        for k in ("aligned", "AATS"):
            r = d["routes"][k]
            t, p = obj.checkpoints(r)
            acc = np.array([[a for _, _, a in d["traces"][(k, s)]] for s in DEV])
            print(f"  {k} per hop: node time pred measured(dev mean) hits/20")
            for j, node in enumerate(["start", *[pr.ids[i] for i in obj.trained(r)]][:8]):
                print(
                    f"    {node:6s} {t[j]:6.1f} {p[j]:.3f} {acc[:, j].mean():.3f} "
                    f"{(acc[:, j] >= A).sum():2d}"
                )
        for cand in [k for k in d["routes"] if k == "aligned" or k.startswith("cand")]:
            strict = nolater = 0
            vs = {}
            for s in DEV:
                mine = first_hit(d["traces"][(cand, s)], A)
                others = {
                    b: first_hit(d["traces"][(b, s)], A) for b in baselines if (b, s) in d["traces"]
                }
                for b, o in others.items():
                    key = 0 if mine < o - 1e-9 else (1 if mine > o + 1e-9 else 2)
                    if math.isinf(mine) and math.isinf(o):
                        key = 2
                    vs.setdefault(b, [0, 0, 0])[key] += 1
                if math.isfinite(mine) and all(mine < o - 1e-9 for o in others.values()):
                    strict += 1
                if math.isfinite(mine) and all(mine <= o + 1e-9 for o in others.values()):
                    nolater += 1
            print(f"  {cand}: strict {strict} nolater {nolater} vsAATS {vs.get('AATS')}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cases", nargs="?", default="")
    ap.add_argument("--out", default="/tmp/B/probe.pkl")
    ap.add_argument("--top", type=int, default=8)
    ap.add_argument("--analyse", action="store_true")
    ap.add_argument("--dev-only", action="store_true", help="replay on seeds 200-219 only")
    args = ap.parse_args()
    from daitn_opt.papers.outcomes import BASELINES

    if args.analyse:
        analyse(args.out, (*BASELINES,))
    else:
        seeds = DEV if args.dev_only else [*RACE, *DEV]
        collect(args.cases.split(","), seeds, args.top, args.out)


if __name__ == "__main__":
    main()
