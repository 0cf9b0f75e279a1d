"""Benchmark: T-FAM's exact solvers on OR-Library's multidimensional knapsack instances.

Run from the repository root::

    .venv/bin/python tests/benchmarks/tfam_mknap.py [--solver highs] [--limit 60] [--cb 5]

Solves the 7 ``mknap1`` instances and the first ``--cb`` ``mknapcb1`` instances (5 constraints x
100 items) through the same entry point a user calls (converter -> ``from_instance`` -> ``solve``),
checks every solution with the independent checker, and prints status, objective, the published
value (``mknap1`` header; ``mkcbres.txt`` for mknapcb1), gap and seconds. Wall-clock times are
inflated when other processes share the machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from daitn_opt import solve  # noqa: E402
from daitn_opt.drrt.converters.mknap import convert  # noqa: E402
from daitn_opt.tfam import check, from_instance  # noqa: E402

FOLDER = ROOT / "instances" / "classic" / "mknap"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solver", default="highs")
    parser.add_argument("--limit", type=float, default=60.0)
    parser.add_argument("--cb", type=int, default=5, help="how many mknapcb1 instances")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    jobs = [("mknap1.txt", i) for i in range(1, 8)] + [
        ("mknapcb1.txt", i) for i in range(1, args.cb + 1)
    ]
    print(
        f"{'instance':14} {'status':9} {'objective':>10} {'published':>10} {'match':5} {'gap':>8} {'seconds':>8} checker"
    )
    proven = matched = 0
    for file, index in jobs:
        inst = convert(FOLDER / file, index=index)
        problem = from_instance(inst)
        result = solve(problem, args.solver, time_limit=args.limit, seed=args.seed)
        report = check(problem, result.solution).compare_objective(result.objective)
        known = inst.benchmark.best_known
        match = (
            result.objective is not None
            and known is not None
            and abs(result.objective - known) < 1e-6
        )
        proven += result.status.value == "optimal"
        matched += bool(match)
        gap = "-" if result.gap is None else f"{100 * result.gap:.3f}%"
        print(
            f"{inst.name:14} {result.status.value:9} {result.objective!s:>10} {known!s:>10} "
            f"{'yes' if match else 'NO':5} {gap:>8} {result.runtime:8.2f} {'ok' if report.ok else report.violations}",
            flush=True,
        )
    print(
        f"{args.solver}: {proven}/{len(jobs)} proven optimal, {matched}/{len(jobs)} equal to the published value"
    )


if __name__ == "__main__":
    main()
