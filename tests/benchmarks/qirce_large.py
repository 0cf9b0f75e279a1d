"""QIRCE at scale: a generated instance with 2,000 users, 50 models and 200 MDFPs.

Run from the repository root::

    .venv/bin/python tests/benchmarks/qirce_large.py [--seed 0] [--exact-limit 60]

Builds the seeded synthetic instance (:func:`daitn_opt.qirce.synthetic.synthetic_instance`;
the healthcare generator ships only four models), times the problem build (QRRT shortest paths
and SLO filtering), runs the heuristics with a 10 s limit and HiGHS with ``--exact-limit``
seconds, checks every solution, and prints objective, bound and gap. Splittable routing (the
default) and single-source routing are both measured.

Wall-clock times depend on the machine; the figures quoted in the project notes were measured on
a 2-core machine shared with other jobs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from daitn_opt.qirce import check, from_instance  # noqa: E402
from daitn_opt.qirce.synthetic import synthetic_instance  # noqa: E402
from daitn_opt.registry import solve  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--models", type=int, default=50)
    ap.add_argument("--facilities", type=int, default=200)
    ap.add_argument("--heuristic-limit", type=float, default=10.0)
    ap.add_argument("--exact-limit", type=float, default=60.0)
    ap.add_argument("--single-source", action="store_true", help="only single-source routing")
    args = ap.parse_args()
    t0 = time.perf_counter()
    inst = synthetic_instance(
        users=args.users, models=args.models, facilities=args.facilities, seed=args.seed
    )
    t1 = time.perf_counter()
    base = from_instance(inst)
    t2 = time.perf_counter()
    print(
        f"{inst.name}: generated in {t1 - t0:.1f} s; problem built in {t2 - t1:.1f} s: "
        f"{base.num_demands} demands, {base.num_facilities} facilities, {base.num_arcs} eligible "
        f"arcs, memory binding {base.memory_binding}, blocked {len(base.blocked)}"
    )
    variants = [True] if args.single_source else [False, True]
    for single in variants:
        p = base.replace(single_source=single)
        print(f"== {'single-source' if single else 'splittable'} routing")
        for solver, limit in (
            ("nearest", args.heuristic_limit),
            ("greedy", args.heuristic_limit),
            ("ls", args.heuristic_limit),
            ("highs", args.exact_limit),
        ):
            r = solve(p, solver, time_limit=limit)
            ok = "-"
            if r.status.has_solution:
                rep = check(p, r.solution).compare_objective(r.objective)
                ok = "valid" if rep.ok else f"INVALID {rep.violations[:2]}"
            bound = "-" if r.bound is None else f"{r.bound:.3f}"
            gap = "-" if r.gap is None else f"{100 * r.gap:.2f}%"
            obj = "-" if r.objective is None else f"{r.objective:.3f}"
            print(
                f"{solver:8s} {r.status.value:11s} obj {obj:>10s} bound {bound:>10s} gap {gap:>7s} "
                f"{r.runtime:6.1f} s (limit {limit:g}) {ok} {r.message[:90]}",
                flush=True,
            )


if __name__ == "__main__":
    main()
