"""Benchmark of the exact MTRCE solvers on the classic files (run as a script, output quoted).

Usage::

    .venv/bin/python tests/benchmarks/run_mtrce_exact.py tsplib --max-n 200 --time-limit 60
    .venv/bin/python tests/benchmarks/run_mtrce_exact.py op --time-limit 60
    .venv/bin/python tests/benchmarks/run_mtrce_exact.py top --time-limit 60 --limit 20
    .venv/bin/python tests/benchmarks/run_mtrce_exact.py build --n 200

One line per instance (status, objective, reference, bound, gap, seconds, MIP rounds, cuts,
checker verdict) and a summary. Every solution goes through :func:`daitn_opt.mtrce.check`.
``build`` times the highspy model build of an n-node TSP against the Pyomo build + translation
of the same model, in one run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from mtrce_files import (
    TOP,
    TSPLIB,
    op_instances,
    op_problem,
    top_problem,
    top_reference,
    tsplib_optima,
    tsplib_problem,
)

from daitn_opt.mtrce import check
from daitn_opt.registry import solve


def _line(label, n, res, ref, proven, ok) -> str:
    gap = "-" if res.gap is None else f"{100 * res.gap:.2f}%"
    match = res.objective is not None and abs(res.objective - ref) < 1e-6
    return (
        f"{label:16s} n={n:4d} {res.status.value:11s} obj={res.objective!s:>9} ref={ref:g}"
        f"{'*' if proven else ' '} match={'yes' if match else 'NO '} bound={res.bound!s:>9} "
        f"gap={gap:>7} t={res.runtime:6.1f}s mip_rounds={res.stats.get('mip_rounds')} "
        f"cuts={res.stats.get('cuts')} check={'ok' if ok else 'FAIL'}"
    )


def _run(label, problem, ref, proven, args) -> tuple[bool, bool, float]:
    res = solve(problem, args.solver, time_limit=args.time_limit, seed=0)
    ok = (not res.is_feasible()) or check(problem, res.solution).ok
    print(_line(label, problem.n, res, ref, proven, ok), flush=True)
    optimal = res.status.value == "optimal"
    match = res.objective is not None and abs(res.objective - ref) < 1e-6
    return optimal and (match or not proven), ok, res.runtime


def bench_tsplib(args) -> None:
    optima = tsplib_optima()
    names = []
    for path in sorted(TSPLIB.glob("*.tsp")):
        head = path.read_text()[:600]
        n = int(next(line for line in head.splitlines() if "DIMENSION" in line).split(":")[1])
        if n <= args.max_n and path.stem in optima:
            names.append((n, path.stem))
    names.sort()
    if args.limit:
        names = names[: args.limit]
    done = []
    for _n, name in names:
        done.append(_run(name, tsplib_problem(name), optima[name], True, args))
    proved = sum(d[0] for d in done)
    print(
        f"TSPLIB n<={args.max_n}: {proved}/{len(done)} proved optimal at the published value; "
        f"checker ok {sum(d[1] for d in done)}/{len(done)}; total {sum(d[2] for d in done):.0f} s"
    )


def bench_op(args) -> None:
    items = op_instances()
    if args.only:
        items = [i for i in items if args.only in i[0]]
    done = []
    for label, path, ref, proven in items:
        done.append(_run(label, op_problem(path), ref, proven, args))
    print(
        f"OP: {sum(d[0] for d in done)}/{len(done)} proved optimal (matching the value where it "
        f"is a proven optimum); checker ok {sum(d[1] for d in done)}/{len(done)}"
    )


def bench_top(args) -> None:
    refs = top_reference()
    paths = sorted(TOP.glob("Set_*/*.txt"))
    if args.only:
        paths = [p for p in paths if args.only in str(p)]
    if args.limit:
        paths = paths[: args.limit]
    gaps = []
    for path in paths:
        problem = top_problem(path)
        res = solve(problem, args.solver, time_limit=args.time_limit, seed=0)
        ok = (not res.is_feasible()) or check(problem, res.solution).ok
        ref = refs.get(path.name, float("nan"))
        print(_line(path.name, problem.n, res, ref, False, ok), flush=True)
        if res.gap is not None:
            gaps.append(res.gap)
    print(f"TOP: {len(paths)} instances, mean proof gap {100 * np.mean(gaps):.2f}%")


def bench_build(args) -> None:
    import highspy

    from daitn_opt.mtrce.milp import _pass_model, build_model
    from daitn_opt.mtrce.pyomo_model import build_pyomo, translate

    rng = np.random.default_rng(0)
    n = args.n
    from daitn_opt.drrt.metrics import distance_matrix
    from daitn_opt.mtrce.problem import Problem

    x, y = rng.uniform(0, 1000, n), rng.uniform(0, 1000, n)
    problem = Problem(
        ids=[str(i) for i in range(n)],
        start=0,
        end=0,
        travel=distance_matrix(x, y, "EUC_2D"),
        service=np.zeros(n),
        utility=np.zeros(n),
        mandatory=np.arange(1, n),
        objective="min_time",
    )
    for label, prob in (
        ("TSP", problem),
        (
            "OP",
            problem.replace(
                objective="max_utility",
                mandatory=np.zeros(0, dtype=np.int64),
                utility=rng.integers(1, 10, n).astype(float),
                deadline=4000.0,
            ),
        ),
    ):
        t0 = time.perf_counter()
        model = build_model(prob)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        _pass_model(h, model)
        t_highs = time.perf_counter() - t0
        t0 = time.perf_counter()
        pm = build_pyomo(prob)
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        translate(pm, args.pyomo_solver)
        t_trans = time.perf_counter() - t0
        print(
            f"{label} n={n}: highspy build+pass {1000 * t_highs:.1f} ms "
            f"({model.num_col} columns, {model.num_row} rows); pyomo build {1000 * t_build:.0f} ms "
            f"+ translate ({args.pyomo_solver}) {1000 * t_trans:.0f} ms; "
            f"ratio {(t_build + t_trans) / t_highs:.0f}x"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("family", choices=["tsplib", "op", "top", "build"])
    ap.add_argument("--solver", default="highs")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--max-n", type=int, default=200)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--only", default="")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--pyomo-solver", default="appsi_highs")
    args = ap.parse_args()
    {"tsplib": bench_tsplib, "op": bench_op, "top": bench_top, "build": bench_build}[args.family](
        args
    )


if __name__ == "__main__":
    main()
