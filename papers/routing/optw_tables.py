"""OPTW (issue 13 item 5): heuristics at 2 s and exact solvers at 60 s on the shipped OPTW sets.

Converts the Solomon (29) and Cordeau (10) OPTW files into ``out/optw/json``, runs
``daitn-opt bench`` per set (heuristics ``ils,greedy,routing`` at ``--heuristic-limit``; exact
``optw-dp,cpsat,highs`` at ``--exact-limit``; one run at a time, seed 0, one thread; a rerun only runs
what is missing) and writes ``papers/routing/optw.md``'s tables from the stores. Gaps are to
Righini and Salani's published values (proved optima, or best known where no run of theirs
finished: r104, r108; pr06 and pr10 have none).

    .venv/bin/python papers/routing/optw_tables.py            # everything (about 90 min)
    .venv/bin/python papers/routing/optw_tables.py --tables   # the tables from existing stores
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETS = {"solomon": "solomon_100", "cordeau": "cordeau_pr01_10"}
HEURISTICS = "ils,greedy,routing"
EXACT = "optw-dp,cpsat,highs"


def convert_all(out: Path) -> dict[str, list[Path]]:
    """The OPTW files as instance JSON (the converter's distance convention), per set."""
    from daitn_opt.drrt.converters import convert
    from daitn_opt.drrt.instance import save_instance

    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[Path]] = {}
    for name, folder in SETS.items():
        for txt in sorted((ROOT / "instances" / "classic" / "optw" / folder).glob("*.txt")):
            target = out / f"{txt.stem}.json"
            if not target.exists():
                save_instance(convert("optw", txt), target)
            files.setdefault(name, []).append(target)
    return files


def bench(files: list[Path], solvers: str, limit: float, db: Path) -> None:
    cmd = [sys.executable, "-m", "daitn_opt.cli", "bench", *map(str, files)]
    cmd += ["--solvers", solvers, "--time-limit", str(limit), "--workers", "1", "--db", str(db)]
    subprocess.run(cmd, cwd=ROOT, check=False)


def rows(db: Path) -> list[dict]:
    if not db.exists():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    query = (
        "select instance, solver, status, objective, bound, best_known, best_known_proven, "
        "runtime, check_ok, load_at_start, time_limit, started_at from runs"
    )
    return [dict(r) for r in con.execute(query)]


def gap(row: dict) -> float | None:
    """Percent below the published value (negative: above it); None without one or a route."""
    if not row["best_known"] or row["objective"] is None:
        return None
    return 100.0 * (row["best_known"] - row["objective"]) / row["best_known"]


def _mean(values: list[float]) -> str:
    return f"{statistics.mean(values):.2f}" if values else "-"


def best_seen(runs: list[dict]) -> dict[str, float]:
    """Per instance: the published value or the best checked route of any run, the larger."""
    best: dict[str, float] = {}
    for r in runs:
        values = [r["best_known"] or 0.0]
        if r["objective"] is not None and r["check_ok"]:
            values.append(r["objective"])
        best[r["instance"]] = max(best.get(r["instance"], 0.0), *values)
    return best


def heuristic_table(sets: dict[str, list[dict]], best: dict[str, float]) -> list[str]:
    lines = [
        "| set | solver | runs | checked ok | mean gap % | max gap % | at or above | "
        "mean gap to best seen % | mean load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, runs in sets.items():
        for solver in sorted({r["solver"] for r in runs}):
            mine = [r for r in runs if r["solver"] == solver]
            gaps = [g for g in map(gap, mine) if g is not None]
            seen = [
                100.0 * (best[r["instance"]] - (r["objective"] or 0.0)) / best[r["instance"]]
                for r in mine
            ]
            lines.append(
                f"| {name} | {solver} | {len(mine)} | {sum(bool(r['check_ok']) for r in mine)} | "
                f"{_mean(gaps)} | {max(gaps):.2f} | {sum(g <= 1e-9 for g in gaps)} of "
                f"{len(gaps)} | {_mean(seen)} | {_mean([r['load_at_start'] or 0.0 for r in mine])} |"
            )
    return lines


def exact_table(sets: dict[str, list[dict]]) -> list[str]:
    lines = [
        "| set | solver | runs | proved | proved = published | mean gap % | mean bound gap % | "
        "mean s (proved) | failed | mean load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, runs in sets.items():
        for solver in sorted({r["solver"] for r in runs}):
            mine = [r for r in runs if r["solver"] == solver]
            proved = [r for r in mine if r["status"] == "optimal"]
            same = [
                r for r in proved if r["best_known_proven"] and r["objective"] == r["best_known"]
            ]
            bound_gaps = [
                100.0 * (r["bound"] - r["objective"]) / r["bound"]
                for r in mine
                if r["bound"] and r["objective"] is not None
            ]
            failed = sum(r["objective"] is None for r in mine)
            lines.append(
                f"| {name} | {solver} | {len(mine)} | {len(proved)} | {len(same)} | "
                f"{_mean([g for g in map(gap, mine) if g is not None])} | {_mean(bound_gaps)} | {_mean([r['runtime'] for r in proved])} | {failed} | "
                f"{_mean([r['load_at_start'] or 0.0 for r in mine])} |"
            )
    return lines


def instance_table(heuristic: list[dict], exact: list[dict]) -> list[str]:
    solvers = sorted({r["solver"] for r in exact})
    head = "| instance | published | ils | greedy | routing | " + " | ".join(
        f"{s} value [bound] s" for s in solvers
    )
    lines = [head + " |", "|---" * (5 + len(solvers)) + "|"]
    by = {(r["instance"], r["solver"]): r for r in heuristic + exact}
    for inst in sorted({r["instance"] for r in heuristic + exact}):
        some = next(r for r in heuristic + exact if r["instance"] == inst)
        known = some["best_known"]
        pub = "-" if not known else f"{known:g}" + ("" if some["best_known_proven"] else " (bk)")
        cells = [inst, pub]
        for s in HEURISTICS.split(","):
            r = by.get((inst, s))
            cells.append("-" if r is None or r["objective"] is None else f"{r['objective']:g}")
        for s in solvers:
            r = by.get((inst, s))
            if r is None or r["objective"] is None:
                cells.append("-" if r is None else r["status"])
                continue
            mark = " ✓" if r["status"] == "optimal" else ""
            bound = "" if r["bound"] is None else f" [{r['bound']:g}]"
            cells.append(f"{r['objective']:g}{bound} {r['runtime']:.0f}{mark}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def labelled(specs: list[str]) -> list[dict]:
    """The rows of each ``STORE=LABEL`` store, solvers renamed ``SOLVER (LABEL)``."""
    out = []
    for spec in specs:
        store, label = spec.split("=", 1)
        out += [{**r, "solver": f"{r['solver']} ({label})"} for r in rows(Path(store))]
    return out


def cpu_table(folder: Path, limit: float, seed: int) -> list[str]:
    """``ils``'s OPTW search in this process, stopped after ``limit`` seconds of process CPU time
    (a figure the machine's load does not move), seed ``seed``; routes checked."""
    import time

    import numpy as np

    from daitn_opt.drrt.instance import load_instance
    from daitn_opt.mtrce import check, from_instance
    from daitn_opt.mtrce.heuristics import _wanted, eligible
    from daitn_opt.mtrce.optw_search import OptwSearch
    from daitn_opt.mtrce.plan import Arrays

    lines = [
        "| instance | published | score | gap % | kicks | checked |",
        "|---|---|---|---|---|---|",
    ]
    gaps: dict[str, list[float]] = {"solomon": [], "cordeau": []}
    for path in sorted(folder.glob("*.json")):
        inst = load_instance(path)
        problem = from_instance(inst)
        arr = Arrays.of(problem)
        t0 = time.process_time()
        search = OptwSearch(
            arr,
            _wanted(arr, eligible(arr)),
            np.random.default_rng(seed),
            lambda t0=t0: time.process_time() - t0 > limit,
        )
        route = search.run(10**9, 100 + 5 * arr.n)
        ids = [problem.ids[i] for i in route]
        report = check(problem, {"routes": [ids]})
        score = report.objective
        known = inst.benchmark.best_known
        g = None if not known else 100.0 * (known - score) / known
        if g is not None:
            gaps["cordeau" if path.stem.startswith("pr") else "solomon"].append(g)
        lines.append(
            f"| {path.stem} | {'-' if not known else f'{known:g}'} | {score:g} | "
            f"{'-' if g is None else f'{g:.2f}'} | "
            f"{search.stats['iterations']} | {report.ok} |"
        )
    for name, values in gaps.items():
        lines.append(f"| **{name}** mean (max) | | | {_mean(values)} ({max(values):.2f}) | | |")
    return lines


def split(runs: list[dict]) -> dict[str, list[dict]]:
    return {
        "solomon": [r for r in runs if not r["instance"].startswith("pr")],
        "cordeau": [r for r in runs if r["instance"].startswith("pr")],
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tables", action="store_true", help="only print the tables of the stores")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "optw")
    ap.add_argument("--heuristic-limit", type=float, default=2.0)
    ap.add_argument("--exact-limit", type=float, default=60.0)
    ap.add_argument("--exact-sets", default="solomon,cordeau")
    for flag in ("--also", "--also-heuristic"):
        ap.add_argument(
            flag,
            action="append",
            default=[],
            metavar="STORE=LABEL",
            help="another exact (heuristic) store, an earlier run: solvers shown as SOLVER (LABEL)",
        )
    ap.add_argument(
        "--cpu", type=float, default=0.0, help="also run the OPTW search in process, CPU seconds"
    )
    args = ap.parse_args(argv)
    heur_db = {name: args.out / f"heuristics-{name}.sqlite" for name in SETS}
    exact_db = {name: args.out / f"exact-{name}.sqlite" for name in SETS}
    if not args.tables:
        files = convert_all(args.out / "json")
        for name, paths in files.items():
            bench(paths, HEURISTICS, args.heuristic_limit, heur_db[name])
        for name in args.exact_sets.split(","):
            bench(files[name], EXACT, args.exact_limit, exact_db[name])
    heuristic = [r for db in heur_db.values() for r in rows(db)]
    exact = [r for db in exact_db.values() for r in rows(db)]
    exact += labelled(args.also)
    earlier = labelled(args.also_heuristic)
    best = best_seen(heuristic + earlier + exact)
    out = ["## Heuristics", "", *heuristic_table(split(heuristic + earlier), best), ""]
    out += ["## Exact", "", *exact_table(split(exact)), ""]
    out += ["## Per instance", "", *instance_table(heuristic, exact)]
    if args.cpu:
        out += ["", f"## OPTW search at {args.cpu:g} s CPU", ""]
        out += cpu_table(args.out / "json", args.cpu, 0)
    print("\n".join(out))


if __name__ == "__main__":
    main()
