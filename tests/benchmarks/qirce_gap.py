"""QIRCE on OR-Library GAP: exact proofs and heuristic gaps, as issue 5 asks.

Run from the repository root::

    .venv/bin/python tests/benchmarks/qirce_gap.py                # everything (about 20 min)
    .venv/bin/python tests/benchmarks/qirce_gap.py --part small   # gap1-gap12, HiGHS, 10 s each
    .venv/bin/python tests/benchmarks/qirce_gap.py --part large   # gapa-gapd, HiGHS, 60 s each
    .venv/bin/python tests/benchmarks/qirce_gap.py --part heuristic  # ls, 1 s each on gapa-gapd

Every solution is checked by the independent checker; a violation aborts the run. Published optima
come with the converted instances (``benchmark.best_known``, OR-Library / shared benchmarks
README). For gapd 2-6, which carry no published value here, the heuristic gap is measured against
the best lower bound HiGHS proves in 60 s: an upper bound on the true gap.

Wall-clock times depend on the machine; the figures quoted in the project notes were measured on
a 2-core machine shared with other jobs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from daitn_opt.drrt.converters import convert  # noqa: E402
from daitn_opt.qirce import check, from_instance  # noqa: E402
from daitn_opt.registry import solve  # noqa: E402

GAP = ROOT / "instances" / "classic" / "gap"
SMALL = [f"gap{k}" for k in range(1, 13)]
LARGE = ["gapa", "gapb", "gapc", "gapd"]


def load(name: str, index: int):
    sense = "min" if name in LARGE else "max"
    inst = convert("gap", GAP / f"{name}.txt", sense=sense, index=index)
    return inst, from_instance(inst)


def run(problem, solver: str, limit: float, **params):
    r = solve(problem, solver, time_limit=limit, **params)
    rep = (
        check(problem, r.solution).compare_objective(r.objective) if r.status.has_solution else None
    )
    if rep is not None and not rep.ok:
        raise SystemExit(f"checker rejected {solver} on {problem.name}: {rep.violations}")
    return r


def part_small(limit: float) -> None:
    print(f"== gap1-gap12 (max), highs, time limit {limit:g} s")
    proven = matched = 0
    times = []
    for name in SMALL:
        for index in range(1, 6):
            inst, p = load(name, index)
            r = run(p, "highs", limit)
            known = inst.benchmark.best_known
            ok = r.status.value == "optimal" and r.objective == known
            proven += r.status.value == "optimal"
            matched += ok
            times.append(r.runtime)
            print(
                f"{inst.name:9s} {r.status.value:8s} obj {r.objective:7.0f} published {known:6.0f} "
                f"{'match' if ok else 'MISMATCH'} {r.runtime:6.2f} s",
                flush=True,
            )
    print(
        f"proven optimal {proven}/60, equal to the published value {matched}/60; time mean "
        f"{statistics.mean(times):.2f} s, max {max(times):.2f} s, over {limit:g} s: "
        f"{sum(t > limit for t in times)}"
    )


def part_large(limit: float) -> dict[str, float]:
    print(f"== gapa-gapd (min), highs, time limit {limit:g} s")
    bounds: dict[str, float] = {}
    for name in LARGE:
        for index in range(1, 7):
            inst, p = load(name, index)
            r = run(p, "highs", limit)
            known = inst.benchmark.best_known
            bounds[inst.name] = r.bound if r.bound is not None else float("nan")
            tag = "-" if known is None else f"{known:.0f}"
            print(
                f"{inst.name:7s} {r.status.value:8s} obj {r.objective:7.0f} bound "
                f"{r.bound if r.bound is not None else float('nan'):9.2f} gap "
                f"{100 * (r.gap or 0):5.2f}% published {tag:>6s} {r.runtime:6.2f} s",
                flush=True,
            )
    return bounds


def part_heuristic(limit: float, bounds: dict[str, float] | None) -> None:
    print(f"== heuristics on gapa-gapd, time limit {limit:g} s each (gap to the reference)")
    rows = []
    for name in LARGE:
        for index in range(1, 7):
            inst, p = load(name, index)
            ref = inst.benchmark.best_known
            ref_kind = "optimum"
            if ref is None:
                if bounds is None or inst.name not in bounds:
                    rb = run(p, "highs", 60.0)
                    bounds = {**(bounds or {}), inst.name: rb.bound}
                ref, ref_kind = bounds[inst.name], "HiGHS bound"
            row = {"name": inst.name, "ref": ref, "kind": ref_kind}
            for solver in ("nearest", "greedy", "ls"):
                t0 = time.perf_counter()
                r = run(p, solver, limit)
                row[solver] = (
                    100 * (r.objective - ref) / ref if r.status.has_solution else float("nan")
                )
                row[solver + "_t"] = time.perf_counter() - t0
            rows.append(row)
            print(
                f"{inst.name:7s} ref {ref:9.2f} ({ref_kind:11s}) nearest "
                f"{row['nearest']:7.2f}% greedy {row['greedy']:7.2f}% ls {row['ls']:5.2f}% "
                f"in {row['ls_t']:.2f} s",
                flush=True,
            )
    for solver in ("nearest", "greedy", "ls"):
        vals = [r[solver] for r in rows if r[solver] == r[solver]]
        print(
            f"{solver:8s} solved {len(vals)}/24, average gap {statistics.mean(vals):.2f}%, "
            f"max {max(vals):.2f}%, max time {max(r[solver + '_t'] for r in rows):.2f} s"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=["all", "small", "large", "heuristic"], default="all")
    ap.add_argument("--small-limit", type=float, default=10.0)
    ap.add_argument("--large-limit", type=float, default=60.0)
    ap.add_argument("--heuristic-limit", type=float, default=1.0)
    ap.add_argument(
        "--bounds",
        default="",
        help="known lower bounds for instances without a published optimum, e.g. "
        "'gapd-2=12739,gapd-3=6336' (from a previous --part large run); others are computed",
    )
    args = ap.parse_args()
    bounds = {
        k: float(v) for k, v in (item.split("=") for item in args.bounds.split(",") if item)
    } or None
    if args.part in ("all", "small"):
        part_small(args.small_limit)
    if args.part in ("all", "large"):
        bounds = {**(bounds or {}), **part_large(args.large_limit)}
    if args.part in ("all", "heuristic"):
        part_heuristic(args.heuristic_limit, bounds)


if __name__ == "__main__":
    main()
