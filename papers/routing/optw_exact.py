"""OPTW exact (issue 13 item 5): ``optw-dp`` beside ``cpsat`` at the same limit on the shipped OPTW
sets, and the page ``papers/routing/optw-exact.md``.

Converts Solomon's c1/r1/rc1 (n = 100, 29 files) and Cordeau's pr01-pr10 into
``out/optw-dp/json``, runs ``daitn-opt bench`` on them (solvers ``optw-dp,cpsat`` at ``--limit``
seconds, seed 0, one thread per run, every route checked by the independent MTRCE checker; a
rerun only runs what is missing) and writes the page from the store. The references are
Righini and Salani's (2009) values, carried by the converter: proved optima, or best known where
no run of theirs finished (r104, r108; none for pr06, pr10).

    .venv/bin/python papers/routing/optw_exact.py             # bench, then the page
    .venv/bin/python papers/routing/optw_exact.py --tables    # the page from the existing store
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import optw_tables

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "out" / "optw-dp"
DB = OUT / "optw-exact.sqlite"
INFO = OUT / "run-info.json"
PAGE = ROOT / "papers" / "routing" / "optw-exact.md"
SETS = {"solomon": "solomon_100", "cordeau": "cordeau_pr01_10"}
SOLVERS = ("optw-dp", "cpsat")


def convert_all() -> dict[str, list[Path]]:
    """The OPTW files as instance JSON, per set (``optw_tables.convert_all`` into this store's folder)."""
    return optw_tables.convert_all(OUT / "json")


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()


def run_bench(files: list[Path], limit: float, workers: int) -> None:
    info = {
        "commit": git("rev-parse", "--short", "HEAD"),
        "solver_files_modified": git(
            "status",
            "--porcelain",
            "--",
            "daitn_opt/mtrce/optw_dp.py",
            "daitn_opt/mtrce/optw_dp_kernels.py",
            "daitn_opt/mtrce/cpsat.py",
        ),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_at_start": os.getloadavg(),
        "limit": limit,
        "workers": workers,
        "cpus": os.cpu_count(),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "daitn_opt.cli", "bench", *map(str, files)]
    cmd += ["--solvers", ",".join(SOLVERS), "--time-limit", str(limit)]
    cmd += ["--workers", str(workers), "--threads", "1", "--db", str(DB)]
    subprocess.run(cmd, cwd=ROOT, check=False)
    info["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    info["load_at_end"] = os.getloadavg()
    INFO.write_text(json.dumps(info, indent=1))


CPU = OUT / "cpu.json"


def cpu_pass(files: list[Path], limit: float) -> None:
    """``optw-dp`` in this process, one instance after the other, ``limit`` s of wall clock
    each; records the process's CPU seconds per run (one thread: what the run got of a core,
    whatever the machine's load) into ``out/optw-dp/cpu.json``."""
    from daitn_opt.drrt.instance import load_instance
    from daitn_opt.problems import check_result, problem_from_instance
    from daitn_opt.registry import solve

    done: dict = {"commit": git("rev-parse", "--short", "HEAD"), "limit": limit, "runs": {}}
    done["started"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for path in files:
        problem = problem_from_instance("mtrce", load_instance(path))
        load = os.getloadavg()[0]
        wall, cpu = time.perf_counter(), time.process_time()
        result = solve(problem, "optw-dp", time_limit=limit, seed=0)
        done["runs"][path.stem] = {
            "status": result.status.value,
            "objective": result.objective,
            "bound": result.bound,
            "wall": time.perf_counter() - wall,
            "cpu": time.process_time() - cpu,
            "load": load,
            "checked": check_result(problem, result).ok,
        }
        CPU.write_text(json.dumps(done, indent=1))


def cpu_table(order: list[str], refs: dict[str, str]) -> list[str]:
    if not CPU.exists():
        return []
    done = json.loads(CPU.read_text())
    runs = done["runs"]
    loads = [r["load"] for r in runs.values()]
    out = [
        "## `optw-dp` in one process: CPU seconds",
        "",
        f"`--cpu`: `optw-dp` run in this script's process, one instance after the other, "
        f"{done['limit']:g} s of wall clock each, commit `{done['commit']}`, started "
        f"{done['started']}, 1-minute load {min(loads):.1f}-{max(loads):.1f}. `cpu s` is the "
        "process's CPU time of the run (the solver is single-threaded: what it got of a core, "
        "which the load does not change; the warm start's `ils` included).",
        "",
        "| instance | published | status | value [bound] | wall s | cpu s | checked | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in order:
        r = runs.get(name)
        if r is None:
            continue
        bound = "" if r["bound"] is None else f" [{r['bound']:.0f}]"
        value = "-" if r["objective"] is None else f"{r['objective']:.0f}"
        out.append(
            f"| {name} | {refs.get(name, '-')} | {r['status']} | {value}{bound} | {r['wall']:.1f} | {r['cpu']:.1f} | "
            f"{r['checked']} | {r['load']:.1f} |"
        )
    proved = [r for r in runs.values() if r["status"] == "optimal"]
    cpus = [r["cpu"] for r in proved]
    if cpus:
        out += [
            "",
            f"Proved {len(proved)} of {len(runs)}; CPU seconds of the proved runs: mean "
            f"{sum(cpus) / len(cpus):.1f}, max {max(cpus):.1f}.",
        ]
    return ["", *out]


def rows() -> list[dict]:
    return optw_tables.rows(DB)


def _fmt(x: float | None, digits: int = 0) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _gap(value: float | None, ref: float | None) -> float | None:
    if value is None or not ref:
        return None
    return 100.0 * (ref - value) / ref


def _bound_gap(r: dict) -> float | None:
    if r["objective"] is None or r["bound"] is None or not r["bound"]:
        return None
    return 100.0 * (r["bound"] - r["objective"]) / r["bound"]


def _mean(xs: list[float]) -> str:
    return f"{sum(xs) / len(xs):.2f}" if xs else "-"


def summary(
    runs: list[dict], names: dict[str, str], solvers: tuple[str, ...] = SOLVERS
) -> list[str]:
    out = [
        "| set | solver | runs | checked | proved | published optima proved (= published) | "
        "proved above a best known | proved, no published value | mean gap to published % | "
        "mean bound gap (unproved) % | mean s (proved) | max s (proved) | mean load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for set_name in SETS:
        for solver in solvers:
            rs = [r for r in runs if r["solver"] == solver and names.get(r["instance"]) == set_name]
            if not rs:
                continue
            proved = [r for r in rs if r["status"] == "optimal"]
            equal = [
                r
                for r in proved
                if r["best_known_proven"] and abs(r["objective"] - r["best_known"]) < 1e-6
            ]
            published = [r for r in rs if r["best_known_proven"]]
            proved_published = [r for r in proved if r["best_known_proven"]]
            unreferenced = [r for r in proved if r["best_known"] is None]
            above = [
                r
                for r in proved
                if not r["best_known_proven"]
                and r["best_known"] is not None
                and r["objective"] > r["best_known"] + 1e-6
            ]
            gaps = [
                g
                for r in rs
                if r["best_known"] is not None
                for g in [_gap(r["objective"], r["best_known"])]
                if g is not None
            ]
            bgaps = [
                g for r in rs if r["status"] != "optimal" for g in [_bound_gap(r)] if g is not None
            ]
            times = [r["runtime"] for r in proved]
            out.append(
                f"| {set_name} | {solver} | {len(rs)} | {sum(1 for r in rs if r['check_ok'])} | "
                f"{len(proved)} | {len(proved_published)} of {len(published)} ({len(equal)}) | "
                f"{len(above)} | {len(unreferenced)} | {_mean(gaps)} | {_mean(bgaps)} | "
                f"{_mean(times)} | {_fmt(max(times) if times else None, 1)} | "
                f"{_mean([r['load_at_start'] for r in rs if r['load_at_start'] is not None])} |"
            )
    return out


def per_instance(runs: list[dict], order: list[str]) -> list[str]:
    head = "| instance | published | " + " | ".join(f"{s} value [bound] s" for s in SOLVERS) + " |"
    out = [head, "|---|---|" + "---|" * len(SOLVERS)]
    by = {(r["instance"], r["solver"]): r for r in runs}
    for name in order:
        first = next((by[(name, s)] for s in SOLVERS if (name, s) in by), None)
        if first is None:
            continue
        ref = first["best_known"]
        published = (
            "-" if ref is None else f"{ref:.0f}" + ("" if first["best_known_proven"] else " (bk)")
        )
        cells = []
        for s in SOLVERS:
            r = by.get((name, s))
            if r is None:
                cells.append("not run")
                continue
            if r["objective"] is None:
                cells.append(f"{r['status']} {r['runtime']:.0f}")
                continue
            mark = " ✓" if r["status"] == "optimal" else ""
            bound = "" if r["bound"] is None else f" [{r['bound']:.0f}]"
            ok = "" if r["check_ok"] else " (check failed)"
            cells.append(f"{r['objective']:.0f}{bound} {r['runtime']:.1f}{mark}{ok}")
        out.append(f"| {name} | {published} | " + " | ".join(cells) + " |")
    return out


def published_of(runs: list[dict]) -> dict[str, str]:
    """Each instance's published value as the tables print it (``(bk)``: best known)."""
    return {
        r["instance"]: f"{r['best_known']:.0f}" + ("" if r["best_known_proven"] else " (bk)")
        for r in runs
        if r["best_known"] is not None
    }


def also_rows(spec: str) -> tuple[list[dict], str]:
    """Rows of another store (``PATH=LABEL``), each solver renamed ``solver (LABEL)``."""
    path, _, label = spec.partition("=")
    found = optw_tables.rows(ROOT / path)
    for r in found:
        r["solver"] = f"{r['solver']} ({label})"
    starts = sorted(r["started_at"] for r in found)
    note = f"`{path}` ({label}): runs started {starts[0][:16]} to {starts[-1][:16]} UTC"
    return found, note


def page(files: dict[str, list[Path]], also: list[str] = ()) -> str:
    runs = rows()
    names = {p.stem: s for s, ps in files.items() for p in ps}
    order = [p.stem for ps in files.values() for p in ps]
    info = json.loads(INFO.read_text()) if INFO.exists() else {}
    limits = sorted({r["time_limit"] for r in runs})
    load0 = info.get("load_at_start")
    load1 = info.get("load_at_end")
    fmt_load = lambda x: "/".join(f"{v:.1f}" for v in x) if x else "?"  # noqa: E731
    lines = [
        "# OPTW exact: `optw-dp` (DSSR dynamic programming) beside `cpsat`",
        "",
        "Written by `.venv/bin/python papers/routing/optw_exact.py "
        + " ".join(shlex.quote(a) for a in sys.argv[1:])
        + f"` from the store `{DB.relative_to(ROOT)}` (issue 13, item 5, the exact part; without "
        "`--tables` the script runs the bench first). Bench started "
        f"{info.get('started', '?')} at commit `{info.get('commit', '?')}`"
        + (
            " (solver files modified: " + info["solver_files_modified"].replace("\n", "; ") + ")"
            if info.get("solver_files_modified")
            else ""
        )
        + f", finished {info.get('finished', '?')}; {info.get('workers', '?')} runs at a time on a "
        f"shared {info.get('cpus', '?')}-core host, load averages (1/5/15 min) {fmt_load(load0)} "
        f"at the start and {fmt_load(load1)} at the end.",
        "",
        f"Limit {', '.join(f'{x:g}' for x in limits)} s of **wall clock** per run (the "
        "warm start included), seed 0, one thread; `cpsat` with its defaults (8 workers, 5 s OPTW "
        "warm start from `ils`), `optw-dp` with its defaults (5 s `ils` warm start, then DSSR). "
        "Times are wall-clock seconds of the whole run at the load shown; above a load of 2 "
        "each run gets less than a core. Every route is checked by the independent MTRCE "
        "checker (`checked`).",
        "",
        "Reference (`published`): Righini and Salani (2009, Comput. Oper. Res. 36(4): 1191-1203), "
        "as shipped in `instances/classic/optw/righini_salani_results/`: proved optima, or the "
        "best route of an unfinished run (*bk*: r104, r108); none for pr06 and pr10. Gap to "
        "published = (published - value) / published (negative: above it); bound gap = "
        "(bound - value) / bound over the runs not proved. ✓ = proved optimal (the solver's bound "
        "equals its checked route's value).",
        "",
        "## Summary",
        "",
        *summary(runs, names),
        *extra_summary(also, names),
        "",
        "## Per instance",
        "",
        *per_instance(runs, order),
        *cpu_table(order, published_of(runs)),
        "",
    ]
    return "\n".join(lines)


def extra_summary(also: list[str], names: dict[str, str]) -> list[str]:
    """Summary rows of solvers from other stores (other runs: other loads, other commits)."""
    lines: list[str] = []
    notes: list[str] = []
    for spec in also:
        found, note = also_rows(spec)
        solvers = tuple(dict.fromkeys(r["solver"] for r in found))
        lines += summary(found, names, solvers)[2:]
        notes.append(note)
    if notes:
        lines += ["", "Rows with a label in brackets come from another run: " + "; ".join(notes)]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", action="store_true", help="only write the page")
    parser.add_argument("--limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--sets", default="solomon,cordeau")
    parser.add_argument(
        "--also", action="append", default=[], help="PATH=LABEL: summary rows of another store"
    )
    parser.add_argument(
        "--cpu", action="store_true", help="run optw-dp in this process and record CPU seconds"
    )
    args = parser.parse_args()
    files = convert_all()
    chosen = [p for s in args.sets.split(",") for p in files[s]]
    if args.cpu:
        cpu_pass(chosen, args.limit)
    elif not args.tables:
        run_bench(chosen, args.limit, args.workers)
    PAGE.write_text(page(files, args.also))
    print(PAGE.read_text())


if __name__ == "__main__":
    main()
