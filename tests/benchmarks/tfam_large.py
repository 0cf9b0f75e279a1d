"""Benchmark: T-FAM admission on a generated batch of 10,000 requests over 500 nodes x 24 slots.

Run from the repository root::

    .venv/bin/python tests/benchmarks/tfam_large.py [--requests 10000] [--limit 60] [--exact highs]

Draws the seeded synthetic batch of :func:`daitn_opt.tfam.synthetic.random_batch` (about 30,000
plans over 12,000 (node, slot) resources, over-subscribed about 2.8 times), then times the
model build, the heuristics (``fcfs``, ``greedy``, ``ls`` with a 10 s limit) and the exact solver
with ``--limit`` seconds, warm-started from the local search; reports objective, bound and gap,
and checks every solution with the independent checker. Wall-clock times are inflated when
other processes share the machine; the CPU seconds this process used are printed beside them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from daitn_opt import solve  # noqa: E402
from daitn_opt.tfam import check  # noqa: E402
from daitn_opt.tfam.milp import _highs, model_arrays  # noqa: E402
from daitn_opt.tfam.synthetic import random_batch  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--slots", type=int, default=24)
    parser.add_argument("--limit", type=float, default=60.0)
    parser.add_argument("--ls-limit", type=float, default=10.0)
    parser.add_argument("--exact", default="highs", help="comma-separated exact solvers")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    t0 = time.perf_counter()
    problem = random_batch(args.requests, args.nodes, args.slots, seed=args.seed)
    print(
        f"batch: {problem.n_requests} requests, {problem.n_plans} plans, {problem.n_resources} "
        f"resources, {problem.use.nnz} nonzeros; generated in {time.perf_counter() - t0:.2f} s"
    )
    t0 = time.perf_counter()
    arrays = model_arrays(problem)
    _highs(problem, arrays)
    print(f"HiGHS model build: {time.perf_counter() - t0:.2f} s ({arrays['A'].shape[0]} rows)")
    runs = [("fcfs", 10.0), ("greedy", 10.0), ("ls", args.ls_limit)]
    runs += [(name, args.limit) for name in args.exact.split(",") if name]
    for name, limit in runs:
        cpu = time.process_time()
        result = solve(problem, name, time_limit=limit, seed=args.seed)
        cpu = time.process_time() - cpu
        report = check(problem, result.solution).compare_objective(result.objective)
        print(
            f"{name:7} {result.summary()}; CPU {cpu:.1f} s; "
            f"admitted {len(result.solution.get('admitted', {}))}; "
            f"checker {'ok' if report.ok else report.violations[:3]}",
            flush=True,
        )


if __name__ == "__main__":
    main()
