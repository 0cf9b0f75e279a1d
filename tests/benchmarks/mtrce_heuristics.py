"""Measure the MTRCE heuristics against published values (a script, not a unit test).

Usage::

    .venv/bin/python tests/benchmarks/mtrce_heuristics.py FAMILY [--limit S] [--solver NAME]
        [--every K] [--seed N]

FAMILY is ``op`` (Chao sets 64 and 66), ``tsp`` (TSPLIB instances of 150-200 cities), ``top``
(Chao's TOP sets), ``optw`` (Solomon and Cordeau OPTW) or ``random-op`` (random 100-node OP
instances against the ``highs`` optimum). Every solution goes through the independent checker;
each line gives the value, the published (or proven) value, the relative gap and the runtime, and
the last line the mean and maximum gap. Wall-clock times depend on the machine's load: the issue's
targets are 2 s (OP), 1 s (TSP) and 10 s (TOP, OPTW) per instance.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from daitn_opt.drrt.converters import convert
from daitn_opt.mtrce import Problem, check, from_instance
from daitn_opt.registry import solve

CLASSIC = Path(__file__).resolve().parents[2] / "instances" / "classic"
TSP_200 = ["kroA200", "kroB200", "d198", "ch150", "kroA150", "kroB150", "rat195", "ts225"]


def files(family: str, every: int) -> list[tuple[str, Path]]:
    if family == "op":
        paths = sorted((CLASSIC / "op").glob("chao_set_6[46]/*.txt"))
        return [("op", p) for p in paths][::every]
    if family == "tsp":
        out = [("tsplib", CLASSIC / "tsplib" / f"{n}.tsp") for n in TSP_200]
        return [f for f in out if f[1].exists()][::every]
    if family == "top":
        return [("top", p) for p in sorted((CLASSIC / "top").glob("Set_*/*.txt"))][::every]
    if family == "optw":
        paths = sorted((CLASSIC / "optw").glob("solomon_100/*.txt")) + sorted(
            (CLASSIC / "optw").glob("cordeau_pr01_10/*.txt")
        )
        return [("optw", p) for p in paths][::every]
    raise SystemExit(f"unknown family {family!r}")


def random_op(seed: int, n: int = 100) -> Problem:
    """Random uniform OP in the unit square x 100, scores 1-10, budget = 40% of a rough tour."""
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2)) * 100
    t = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    return Problem(
        ids=[f"v{i}" for i in range(n)],
        start=0,
        end=0,
        travel=t,
        service=np.zeros(n),
        utility=np.r_[0, rng.integers(1, 11, n - 1)].astype(float),
        deadline=0.4 * 0.7124 * np.sqrt(n * 100 * 100),
        name=f"random-op-{seed}",
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("family")
    ap.add_argument("--limit", type=float, default=None)
    ap.add_argument("--solver", default="ils")
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=5)
    args = ap.parse_args()
    limit = args.limit or {"op": 2.0, "tsp": 1.0, "random-op": 2.0}.get(args.family, 10.0)
    gaps, times = [], []
    if args.family == "random-op":
        cases = []
        for s in range(args.count):
            p = random_op(s)
            exact = solve(p, "highs", time_limit=120, seed=0)
            cases.append((p, exact.objective, exact.status.value))
    else:
        cases = []
        for fmt, path in files(args.family, args.every):
            inst = convert(fmt, path)
            known = inst.benchmark.best_known if inst.benchmark else None
            tag = "opt" if inst.benchmark and inst.benchmark.proven_optimal else "best"
            cases.append((from_instance(inst), known, tag))
    for p, known, tag in cases:
        result = solve(p, args.solver, time_limit=limit, seed=args.seed)
        report = check(p, result.solution)
        value = result.objective
        gap = None
        if known and value is not None:
            gap = (known - value) / known if p.sense == "max" else (value - known) / known
            gaps.append(gap)
        times.append(result.runtime)
        gap_text = "-" if gap is None else f"{100 * gap:6.2f}%"
        print(
            f"{p.name:28s} n={p.n:4d} k={p.k} {args.solver}={value} {tag}={known} gap={gap_text} "
            f"t={result.runtime:.2f}s checked={'ok' if report.ok else report.violations[:2]}",
            flush=True,
        )
    if gaps:
        print(
            f"{args.family}: {args.solver} at {limit:g} s: mean gap {100 * np.mean(gaps):.2f}%, "
            f"max {100 * np.max(gaps):.2f}%, {sum(g <= 1e-9 for g in gaps)}/{len(gaps)} at the "
            f"value, mean time {np.mean(times):.2f} s"
        )


if __name__ == "__main__":
    main()
