"""Benchmark of the MTRCE ``cpsat`` and ``routing`` solvers (and ``highs`` for comparison).

Run from the repository root, e.g.::

    .venv/bin/python tests/benchmarks/mtrce_cpsat_routing.py compare --family op --limit 20
    .venv/bin/python tests/benchmarks/mtrce_cpsat_routing.py compare --family tsp --limit 20
    .venv/bin/python tests/benchmarks/mtrce_cpsat_routing.py hint --limit 30

``compare`` runs each solver on every Tsiligirides/Chao OP instance (``--family op``) or every
TSPLIB instance of at most 100 cities (``--family tsp``), Chao's TOP sets (``top``) or the
OPTW files (``optw``); ``--only TEXT`` keeps the files whose path contains TEXT. It reports, per solver, how many runs
proved optimality, how many reached the published value, the time to reach it (from the anytime
trace) and the gap to the published value at the limit. ``hint`` runs CP-SAT on a fixed subset
with and without the warm start and with 2 and 8 workers, interleaving the four configurations per
instance so that machine load affects them alike. Every solution goes through the independent
checker; one JSON line per run is appended to ``--out``.

Wall-clock times depend on the load of the machine; compare ratios from one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from daitn_opt.drrt.converters import convert
from daitn_opt.mtrce import check, from_instance
from daitn_opt.registry import solve, solvers

BENCH = Path(__file__).resolve().parents[2] / "instances" / "classic"

HINT_SUBSET = [
    ("op", "op/chao_set_64/set_64_1_25.txt"),
    ("op", "op/chao_set_64/set_64_1_45.txt"),
    ("op", "op/chao_set_64/set_64_1_55.txt"),
    ("op", "op/chao_set_66/set_66_1_040.txt"),
    ("op", "op/tsiligirides_1/tsiligirides_problem_1_budget_40.txt"),
    ("op", "op/tsiligirides_3/tsiligirides_problem_3_budget_060.txt"),
    ("tsplib", "tsplib/eil51.tsp"),
    ("tsplib", "tsplib/berlin52.tsp"),
    ("tsplib", "tsplib/st70.tsp"),
]


def op_files() -> list[tuple[str, Path]]:
    folders = ["tsiligirides_1", "tsiligirides_2", "tsiligirides_3", "chao_set_64", "chao_set_66"]
    return [("op", f) for d in folders for f in sorted((BENCH / "op" / d).glob("*.txt"))]


def top_files() -> list[tuple[str, Path]]:
    return [("top", f) for f in sorted((BENCH / "top").glob("Set_*/*.txt"))]


def optw_files() -> list[tuple[str, Path]]:
    return [("optw", f) for f in sorted((BENCH / "optw").glob("*/*.txt"))]


def tsp_files(max_cities: int = 100) -> list[tuple[str, Path]]:
    out = []
    for f in sorted((BENCH / "tsplib").glob("*.tsp")):
        header = f.read_text(errors="replace")[:2000]
        for line in header.splitlines():
            if line.split(":")[0].strip() == "DIMENSION" and int(line.split(":")[1]) <= max_cities:
                out.append(("tsplib", f))
    return out


def time_to(result, target: float | None) -> float | None:
    """Seconds until the incumbent first reached ``target`` (within 1e-6), from the trace."""
    if target is None:
        return None
    for point in result.trace:
        if point.incumbent is not None and abs(point.incumbent - target) <= 1e-6 * max(
            1, abs(target)
        ):
            return point.time
    return None


def run(fmt: str, path: Path, solver: str, limit: float, **params) -> dict:
    instance = convert(fmt, path)
    problem = from_instance(instance)
    known = instance.benchmark.best_known if instance.benchmark else None
    t = time.perf_counter()
    result = solve(problem, solver, time_limit=limit, **params)
    wall = time.perf_counter() - t
    report = check(problem, result.solution) if result.status.has_solution else None
    gap = None
    if known and result.objective is not None:
        gap = abs(known - result.objective) / abs(known)
    return {
        "instance": instance.name,
        "n": problem.n,
        "solver": solver,
        "params": {k: v for k, v in params.items() if k != "callback"},
        "limit": limit,
        "status": result.status.value,
        "objective": result.objective,
        "bound": result.bound,
        "known": known,
        "gap_to_known": gap,
        "solver_gap": result.gap,
        "runtime": result.runtime,
        "wall": wall,
        "time_to_known": time_to(result, known),
        "checker_ok": None if report is None else report.ok,
        "hint": result.stats.get("hint"),
        "hint_objective": result.stats.get("hint_objective"),
        "message": result.message,
    }


def emit(row: dict, out: Path) -> None:
    with out.open("a") as fh:
        fh.write(json.dumps(row) + "\n")
    print(
        f"{row['instance']:32s} {row['solver']:8s} {json.dumps(row['params']):36s} "
        f"{row['status']:10s} obj {row['objective']} known {row['known']} "
        f"t_known {row['time_to_known'] and round(row['time_to_known'], 2)} "
        f"rt {row['runtime']:.2f} ok {row['checker_ok']}",
        flush=True,
    )


def summarize(rows: list[dict]) -> None:
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(f"{r['solver']} {json.dumps(r['params'])}", []).append(r)
    for key, rs in by.items():
        proved = sum(r["status"] == "optimal" for r in rs)
        reached = [r for r in rs if r["time_to_known"] is not None]
        gaps = [r["gap_to_known"] for r in rs if r["gap_to_known"] is not None]
        bad = sum(r["checker_ok"] is False for r in rs)
        ttk = [r["time_to_known"] for r in reached]
        print(
            f"{key}: {len(rs)} runs, proved optimal {proved}, reached published {len(reached)}, "
            f"median time to it {statistics.median(ttk) if ttk else None}, "
            f"mean gap to published {100 * statistics.fmean(gaps) if gaps else None:.3f}%, "
            f"max gap {100 * max(gaps) if gaps else None:.3f}%, checker failures {bad}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["compare", "hint"])
    ap.add_argument("--family", choices=["op", "tsp", "top", "optw"], default="op")
    ap.add_argument("--limit", type=float, default=20.0)
    ap.add_argument("--routing-limit", type=float, default=5.0)
    ap.add_argument("--solvers", default="cpsat,highs,routing")
    ap.add_argument("--only", default="", help="keep files whose path contains this text")
    ap.add_argument("--out", type=Path, default=Path("mtrce_cpsat_routing.jsonl"))
    args = ap.parse_args()
    available = solvers("mtrce")["mtrce"]
    rows = []
    if args.mode == "compare":
        files = {"op": op_files, "tsp": tsp_files, "top": top_files, "optw": optw_files}[
            args.family
        ]()
        files = [(fmt, f) for fmt, f in files if args.only in str(f)]
        names = [s for s in args.solvers.split(",") if s in available]
        for fmt, path in files:
            for name in names:
                limit = args.routing_limit if name == "routing" else args.limit
                row = run(fmt, path, name, limit)
                emit(row, args.out)
                rows.append(row)
    else:
        configs = [
            {"workers": 8},
            {"workers": 8, "hint": None},
            {"workers": 2},
            {"workers": 2, "hint": None},
        ]
        for fmt, rel in HINT_SUBSET:
            for cfg in configs:
                row = run(fmt, BENCH / rel, "cpsat", args.limit, **cfg)
                emit(row, args.out)
                rows.append(row)
    summarize(rows)


if __name__ == "__main__":
    sys.exit(main())
