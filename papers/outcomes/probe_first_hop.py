"""Diagnosis probe (issue 12, outcomes step 1): why does AATS reach the target sooner on healthcare?

For each healthcare request of ``paper outcomes`` it fits the outcome model to the pilot replays
(as the paper does), then:

1. replays the aligned plan's route and AATS's route (read from ``evidence-plans.csv``) on
   seeds ``--seeds`` and lists, per hop, the node, the simulated time at the end of its training
   and the measured accuracy (mean and share of seeds >= target), next to the fitted model's
   prediction for that prefix;
2. replays every one-hospital route ``start > i > end`` on the pilot seeds and compares the
   measured accuracy after that single hop with the model's prediction, and its time.

Writes ``probe-first-hop.md`` and ``probe-first-hop.json`` next to this file. Run from the
repository root: ``.venv/bin/python papers/outcomes/probe_first_hop.py``.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def trace_rows(instance, request, route, seeds, target):
    from daitn_opt.executor import SequentialReplay

    per_hop: list[list[tuple[str, float, float]]] = []
    for seed in seeds:
        rep = SequentialReplay(instance, request, seed=seed, threads=1, target_accuracy=target)
        out = rep.run({"routes": [list(route)]})
        hops = [(s.node, s.time, s.accuracy) for s in out.trace if s.action in ("start", "train")]
        per_hop.append(hops)
    return per_hop


def main() -> None:
    import torch

    from daitn_opt import mtrce
    from daitn_opt.mtrce.calibration import fit_outcome_model
    from daitn_opt.papers.outcomes import Settings, cases

    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("--cases", nargs="*", default=None)
    args = ap.parse_args()
    a, b = (int(x) for x in args.seeds.split("-"))
    seeds = list(range(a, b + 1))
    torch.set_num_threads(1)
    plans = list(csv.DictReader((HERE / "evidence-plans.csv").open()))
    todo = [c for c in cases(Settings()) if c.family == "healthcare"]
    if args.cases:
        todo = [c for c in todo if c.name in args.cases]
    doc: dict = {"seeds": seeds, "cases": []}
    lines = ["# Probe: first hops of the aligned plan and AATS (healthcare)", ""]
    for case in todo:
        problem = mtrce.from_instance(case.instance, case.request)
        model = fit_outcome_model(case.instance, case.request, target_accuracy=case.target_accuracy)
        pilot = list(model.report.pilot_seeds)
        lines += [f"## {case.name}", ""]
        entry: dict = {"case": case.name, "routes": {}, "single": []}
        for plan in ("time-to-target (fitted)", "AATS"):
            route = next(
                p["route"].split(" > ")
                for p in plans
                if p["case"] == case.name and p["plan"] == plan
            )
            hops = trace_rows(case.instance, case.request, route, seeds, case.target_accuracy)
            n = min(len(h) for h in hops)
            idx = [problem.ids.index(x) for x in route]
            seq = model.trained(problem, idx)
            lines += [f"{plan}: `{' > '.join(route)}`", ""]
            lines += ["| hop | node | time s | measured acc (mean) | >= target | predicted |"]
            lines += ["|---|---|---|---|---|---|"]
            rows = []
            for k in range(min(n, 4)):
                node, t = hops[0][k][0], hops[0][k][1]
                accs = [h[k][2] for h in hops]
                pred = model.predict(seq[:k])
                hit = sum(x >= case.target_accuracy for x in accs)
                rows.append(
                    {"node": node, "time": t, "acc": float(np.mean(accs)), "hit": hit, "pred": pred}
                )
                lines.append(
                    f"| {k} | {node} | {t:.1f} | {np.mean(accs):.3f} | {hit}/{len(accs)} | "
                    f"{pred:.3f} |"
                )
            lines.append("")
            entry["routes"][plan] = {"route": route, "hops": rows}
        # every single-hospital route
        elig = [i for i in problem.customers if problem.utility[i] > 0]
        routes = [
            [problem.ids[problem.start], problem.ids[i], problem.ids[problem.end]] for i in elig
        ]
        singles = []
        from daitn_opt.executor import SequentialReplay

        accs = {tuple(r): [] for r in routes}
        times = {}
        for seed in pilot:
            rep = SequentialReplay(
                case.instance,
                case.request,
                seed=seed,
                threads=1,
                target_accuracy=case.target_accuracy,
            )
            for r in routes:
                out = rep.run({"routes": [r]})
                tr = [s for s in out.trace if s.action == "train"]
                if tr:
                    accs[tuple(r)].append(tr[0].accuracy)
                    times[tuple(r)] = tr[0].time
        for r in routes:
            if not accs[tuple(r)]:
                continue
            i = problem.ids.index(r[1])
            pred = model.predict([model.basis.index(r[1])])
            singles.append(
                {
                    "node": r[1],
                    "time": times[tuple(r)],
                    "acc": float(np.mean(accs[tuple(r)])),
                    "hit": int(sum(x >= case.target_accuracy for x in accs[tuple(r)])),
                    "pred": pred,
                    "samples": float(problem.utility[i]),
                }
            )
        singles.sort(key=lambda s: s["time"])
        entry["single"] = singles
        pm = np.array([s["pred"] for s in singles])
        ms = np.array([s["acc"] for s in singles])
        from daitn_opt.papers.stats import spearman

        lines += [
            f"Single-hospital routes on pilot seeds {pilot} ({len(singles)} eligible; "
            f"sorted by time; model rho {spearman(pm, ms):.2f}, mean error "
            f"{float(np.mean(pm - ms)):+.3f}):",
            "",
            "| node | time s | utility | measured | >= target | predicted |",
            "|---|---|---|---|---|---|",
        ]
        for s in singles[:12]:
            lines.append(
                f"| {s['node']} | {s['time']:.1f} | {s['samples']:.0f} | {s['acc']:.3f} | "
                f"{s['hit']}/{len(pilot)} | {s['pred']:.3f} |"
            )
        lines.append("")
        doc["cases"].append(entry)
    (HERE / "probe-first-hop.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (HERE / "probe-first-hop.json").write_text(json.dumps(doc, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
