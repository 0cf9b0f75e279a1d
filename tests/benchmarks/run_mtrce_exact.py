"""Benchmark of the exact MTRCE solvers on the classic files (run as a script, output quoted).

Usage::

    .venv/bin/python tests/benchmarks/run_mtrce_exact.py tsplib --max-n 200 --time-limit 60
    .venv/bin/python tests/benchmarks/run_mtrce_exact.py op --time-limit 60
    .venv/bin/python tests/benchmarks/run_mtrce_exact.py top --time-limit 60 --limit 20
    .venv/bin/python tests/benchmarks/run_mtrce_exact.py build --n 200
    .venv/bin/python tests/benchmarks/run_mtrce_exact.py opproof --time-limit 60 \
        --db out/opproof/final.sqlite --out papers/routing/op-proofs.md

``opproof`` converts Chao's sets 64 and 66 and the OPLib files with n <= 200 into
``out/opproof/json/``, runs ``daitn-opt bench --solvers highs --workers 1`` on them (Chao first,
then OPLib in order of size, ``--every k`` keeps every k-th OPLib file; the store resumes, so
a rerun only runs what is missing; ``--no-run`` only reports) and writes the proof tables
(counts proved, certified gaps, times, each run) to ``--out``.

One line per instance (status, objective, reference, bound, gap, seconds, MIP rounds, cuts,
checker verdict) and a summary. Every solution goes through :func:`daitn_opt.mtrce.check`.
``build`` times the highspy model build of an n-node TSP against the Pyomo build + translation
of the same model, in one run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from mtrce_files import (
    BENCH as BENCH_ROOT,
)
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


OPPROOF_JSON = Path("out/opproof/json")


def _opproof_files(every: int) -> list[Path]:
    """Convert (once) Chao 64/66 and OPLib n <= 200; Chao first, then OPLib by size."""
    import re

    from daitn_opt.drrt.converters import convert
    from daitn_opt.drrt.instance import dump_instance

    OPPROOF_JSON.mkdir(parents=True, exist_ok=True)
    chao, oplib = [], []
    for s in ("64", "66"):
        for f in sorted((BENCH_ROOT / "op" / f"chao_set_{s}").glob("*.txt")):
            out = OPPROOF_JSON / f"chao{s}_{f.stem}.json"
            if not out.exists():
                out.write_text(dump_instance(convert("op", f)))
            chao.append(out)
    for f in sorted((BENCH_ROOT / "oplib").glob("gen*/*.oplib")):
        n = int(re.search(r"DIMENSION\s*:\s*(\d+)", f.read_text()[:4000]).group(1))
        if n <= 200:
            out = OPPROOF_JSON / f"{f.stem}.json"
            if not out.exists():
                out.write_text(dump_instance(convert("oplib", f)))
            oplib.append((n, f.stem, out))
    oplib.sort()
    kept = [(n, stem, o) for i, (n, stem, o) in enumerate(oplib) if i % every == 0]
    # every quarter of the run holds each TSPLIB base (all sizes) once, in a generation that
    # turns with the base: a run cut short stays a sample of sizes and generations alike
    bases = sorted({(n, stem.split("-gen")[0]) for n, stem, _ in kept})
    rank = {b[1]: i for i, b in enumerate(bases)}

    def phase(item: tuple) -> tuple[int, int]:
        base, gen = item[1].split("-gen")
        return (rank[base] + int(gen[0])) % 4, rank[base]

    return chao + [o for _, _, o in sorted(kept, key=phase)]


def _opproof_rows(db: Path) -> list[dict]:
    import sqlite3

    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute("select * from runs where solver = 'highs'")]
    con.close()
    for r in rows:
        name = r["instance"]
        r["set"] = (
            f"Chao {name.split('_')[1]}"
            if name.startswith("set_6")
            else "OPLib " + next((g for g in ("gen1", "gen2", "gen3", "gen4") if g in name), "?")
        )
    return rows


def _opproof_summary(rows: list[dict]) -> list[str]:
    lines = [
        "| set | runs | proved | proved % | proved = best known | proved above best known | "
        "proved below best known (an error) | unproved: mean / max certified gap | "
        "proved: mean / max s | checker ok |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["set"], []).append(r)
        if r["set"].startswith("OPLib"):
            groups.setdefault("OPLib n <= 200 (all gen.)", []).append(r)
        else:
            groups.setdefault("Chao 64 + 66", []).append(r)
    for name in sorted(groups):
        g = groups[name]
        proved = [r for r in g if r["status"] == "optimal"]
        same = sum(abs(r["objective"] - r["best_known"]) < 1e-6 for r in proved)
        above = sum(r["objective"] > r["best_known"] + 1e-6 for r in proved)
        below = sum(r["objective"] < r["best_known"] - 1e-6 for r in proved)
        open_ = [r["gap"] for r in g if r["status"] != "optimal" and r["gap"] is not None]
        gap = f"{100 * np.mean(open_):.2f}% / {100 * max(open_):.2f}%" if open_ else "-"
        times = [_seconds(r) for r in proved]
        t = f"{np.mean(times):.1f} / {max(times):.1f}" if times else "-"
        lines.append(
            f"| {name} | {len(g)} | {len(proved)} | {100 * len(proved) / len(g):.0f}% | {same} | "
            f"{above} | {below} | {gap} | {t} | {sum(bool(r['check_ok']) for r in g)}/{len(g)} |"
        )
    return lines


def _opproof_table(rows: list[dict]) -> list[str]:
    lines = [
        "| instance | n | status | objective | bound | certified gap | best known | s | "
        "load at start |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: (r["set"], r["size"], r["instance"])):
        gap = "-" if r["gap"] is None else f"{100 * r['gap']:.2f}%"
        bk = f"{r['best_known']:g}{'*' if r['best_known_proven'] else ''}"
        lines.append(
            f"| {r['instance']} | {r['size']} | {r['status']} | {r['objective']:g} | "
            f"{r['bound'] if r['bound'] is None else format(r['bound'], 'g')} | {gap} | {bk} | "
            f"{_seconds(r):.1f} | {r['load_at_start']:.1f} |"
        )
    return lines


def _opproof_targets(rows: list[dict], listed: int) -> list[str]:
    """Issue 13's targets against what was run."""
    chao = [r for r in rows if r["set"].startswith("Chao")]
    oplib = [r for r in rows if r["set"].startswith("OPLib")]
    ok = sum(r["status"] == "optimal" for r in chao)
    op_ok = sum(r["status"] == "optimal" for r in oplib)
    share = f"{100 * op_ok / len(oplib):.0f}%" if oplib else "-"
    return [
        "Targets (issue 13, item 4; 60 s each):",
        "",
        f"- Chao 64/66, 40 of 40 proved: **{ok} of {len(chao)}** run"
        f"{' (target met)' if ok == 40 else ' (target missed)'}.",
        f"- OPLib n <= 200 (136 files), at least 90% proved: **{op_ok} of {len(oplib)}** run "
        f"({share}); {136 - len(oplib)} of the 136 not run in this store"
        f"{' (a sample: the target is not measured on the full set)' if len(oplib) < 136 else ''}.",
        *([f"- Runs listed by the command: {listed}; stored: {len(rows)}."] if listed else []),
    ]


def _commit() -> str:
    """The checkout's commit (short), with the solver package's files that have local changes
    (the checkout is shared: other sessions' work in progress)."""
    import subprocess

    def git(*a: str) -> str:
        return subprocess.run(["git", *a], capture_output=True, text=True).stdout.strip()

    dirty = git("status", "--porcelain", "--", "daitn_opt/mtrce", "daitn_opt/exact.py")
    files = sorted(Path(line[3:]).name for line in dirty.splitlines())
    head = git("rev-parse", "--short", "HEAD")
    return f"{head} (uncommitted: {', '.join(files)})" if files else head


def _stamps(db: Path) -> list[dict]:
    """What each invocation of the sweep on ``db`` ran with (``<db>.runs.json``)."""
    import json

    path = db.with_suffix(".runs.json")
    return json.loads(path.read_text()) if path.exists() else []


def _stamp(db: Path, entry: dict) -> None:
    import json

    stamps = [*_stamps(db), entry]
    db.with_suffix(".runs.json").write_text(json.dumps(stamps, indent=1))


def _clock(rows: list[dict]) -> str:
    """``cpu`` when the runs had a ``cpu_limit`` (their keys carry the parameters), else
    ``wall``."""
    cpu = {("cpu_limit=" in r["key"]) for r in rows}
    return "cpu" if cpu == {True} else "wall" if cpu == {False} else "mixed"


def _seconds(row: dict) -> float:
    """The run's time on its own clock: CPU seconds (the trace's last time) for a CPU-limited
    run, else its wall runtime."""
    import json

    if "cpu_limit=" in row["key"] and row.get("trace"):
        trace = json.loads(row["trace"])
        if trace:
            return float(trace[-1][0])
    return float(row["runtime"])


def _conditions(db: Path, rows: list[dict]) -> str:
    """One line: clock, limit, load at the runs' start, commits (from the stamps)."""
    loads = [r["load_at_start"] for r in rows]
    clock = _clock(rows)
    limits = sorted({_param(r, "cpu_limit") or f"{r['time_limit']:g}" for r in rows})
    stamps = _stamps(db)
    commits = sorted({s["commit"] for s in stamps}) or ["not recorded"]
    extra = sorted({s.get("params", "") for s in stamps} - {""})
    return (
        f"store `{db}`: {len(rows)} runs, clock **{clock}** ({' / '.join(limits)} s"
        f"{' of CPU each, wall cap ' + format(rows[0]['time_limit'], 'g') + ' s' if clock == 'cpu' else ' each'}); "
        f"1-minute load at their start: mean {np.mean(loads):.1f}, min {min(loads):.1f}, "
        f"max {max(loads):.1f} (on {os.cpu_count()} cores); code: {', '.join(commits)}"
        f"{'; parameters: ' + ', '.join(extra) if extra else ''}."
    )


def _param(row: dict, name: str) -> str:
    """A solver parameter's text from the run's key (``...;name=value;...``), or ''."""
    for part in row["key"].split("|")[-1].split(";"):
        if part.startswith(name + "="):
            return part.split("=", 1)[1]
    return ""


def opproof_selection(args, files: list[Path]) -> list[Path]:
    """The files of the sweep, in order: ``--only``, ``--unproved-in``, ``--first-from``,
    ``--offset`` applied to ``files`` (Chao, then OPLib in the interleaved order)."""
    if args.only:  # comma-separated parts of file names
        files = [f for f in files if any(part in f.stem for part in args.only.split(","))]
    if args.unproved_in:  # a rerun of what an earlier sweep did not prove
        proved = {
            r["instance"] for r in _opproof_rows(Path(args.unproved_in)) if r["status"] == "optimal"
        }
        files = [f for f in files if f.stem.startswith("chao") or f.stem not in proved]
    if args.first_from and Path(args.first_from).exists():
        # OPLib files never run in that store first, then its unproved, then its proved
        done = {r["instance"]: r["status"] for r in _opproof_rows(Path(args.first_from))}
        rank = {None: 0, "optimal": 2}

        def first(f: Path) -> int:
            if f.stem.startswith("chao"):
                return -1
            return rank.get(done.get(f.stem), 1)

        files = sorted(files, key=first)  # stable: the interleaved order within each group
    if args.offset:  # a second sweep on the same store, from elsewhere in the list
        files = files[args.offset :] + files[: args.offset]
    return files


def bench_opproof(args) -> None:
    import subprocess

    files = opproof_selection(args, _opproof_files(args.every))
    db = Path(args.db)
    if args.run:
        cli = Path(sys.executable).with_name("daitn-opt")
        limit = args.time_limit
        params = list(args.param)
        if args.cpu_limit:
            limit = args.wall_cap or 20 * args.cpu_limit
            params.append(f"cpu_limit={args.cpu_limit:g}")
        cmd = [str(cli), "bench", *map(str, files), "--solvers", "highs", "--time-limit"]
        cmd += [f"{limit:g}", "--workers", str(args.workers), "--db", str(db)]
        for p in params:
            cmd += ["--param", p]
        _stamp(
            db,
            {
                "commit": _commit(),
                "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "load": round(os.getloadavg()[0], 1),
                "params": ", ".join(params),
                "time_limit": limit,
            },
        )
        subprocess.run(cmd, check=False)
    rows = _opproof_rows(db)
    print("\n".join(_opproof_summary(rows)))
    if args.out:
        write_opproof_page(args, db, rows, len(files))


def _before(args, rows: list[dict]) -> list[tuple[Path, list[dict], str]]:
    """Each ``--baseline STORE=LABEL``: its rows on the instances ``rows`` has."""
    names = {r["instance"] for r in rows}
    out = []
    for item in args.baseline:
        path, _, label = item.partition("=")
        if Path(path).exists():
            base = [r for r in _opproof_rows(Path(path)) if r["instance"] in names]
            if base:
                out.append((Path(path), base, label or path))
    return out


def _ratio(rows: list[dict], before: list[dict]) -> str:
    """Proofs after / before on the instances both stores ran, per set family."""
    done = {r["instance"]: r for r in before}
    parts = []
    for fam in ("Chao", "OPLib"):
        both = [r for r in rows if r["set"].startswith(fam) and r["instance"] in done]
        if both:
            a = sum(r["status"] == "optimal" for r in both)
            b = sum(done[r["instance"]]["status"] == "optimal" for r in both)
            parts.append(f"{fam}: {a} proved after, {b} before, on the same {len(both)}")
    return "; ".join(parts)


def _store_section(title: str, db: Path, rows: list[dict], listed: int, args) -> list[str]:
    """One measured store: its conditions, the targets, the summary, and the proofs against
    each ``--baseline`` on the instances both ran."""
    text = [f"## {title}", "", _conditions(db, rows), "", *_opproof_targets(rows, listed), ""]
    for path, base, label in _before(args, rows):
        if path != db and base:  # not a store against itself
            text.append(f"- Against {label}: {_ratio(rows, base)}.")
    return [*text, "", *_opproof_summary(rows), ""]


def _combined_section(args, db: Path, rows: list[dict]) -> list[str]:
    """``--combined STORE=LABEL``: the targets on the main store's runs plus, for the instances
    it did not run, STORE's (a rerun of only what an earlier sweep left unproved is then read
    with that sweep's proofs of the rest; the section says which runs come from where)."""
    out = []
    for item in args.combined:
        path, _, label = item.partition("=")
        if not Path(path).exists():
            continue
        ran = {r["instance"] for r in rows}
        kept = [r for r in _opproof_rows(Path(path)) if r["instance"] not in ran]
        both = rows + kept
        proved = sum(r["status"] == "optimal" for r in kept)
        out += [
            f"## Combined: `{db}` with {label or path}",
            "",
            f"{len(rows)} runs of `{db}`, and for the {len(kept)} instances it did not run, the "
            f"runs of `{path}` ({proved} of them proved there, not rerun).",
            "",
            *_opproof_targets(both, 0),
            "",
            *_opproof_summary(both),
            "",
        ]
    return out


def write_opproof_page(args, db: Path, rows: list[dict], listed: int) -> None:
    """The page: each measured store (``--db``, then every ``--extra``) with its targets and
    summary, the before tables (``--baseline``, on the instances the main store ran), then
    every run of each measured store."""
    extras = []
    for item in args.extra:
        path, _, label = item.partition("=")
        found = _opproof_rows(Path(path)) if Path(path).exists() else []
        if found:
            extras.append((Path(path), found, label or path))
    text = [
        "# Orienteering proofs with `highs` (issue 13, item 4)",
        "",
        OPPROOF_INTRO,
        "",
        *_combined_section(args, db, rows),
        *_store_section("After", db, rows, listed, args),
    ]
    for path, extra, label in extras:
        text += _store_section(f"After: {label}", path, extra, 0, args)
    for path, base, label in _before(args, rows):
        if path == db:  # the main store itself: only its counts against the extras
            continue
        text += [
            f"## Before: {label}",
            "",
            _conditions(path, base),
            "",
            "Only the instances the first store ran.",
            "",
            *_opproof_summary(base),
            "",
        ]
    note = (
        "`*`: the best known value is a proven optimum. Certified gap: (bound - objective) / "
        "objective of the checked route. Seconds on the run's clock."
    )
    for title, part in [("After", rows), *[(f"After: {lab}", r) for _, r, lab in extras]]:
        text += [f"## Every run ({title})", "", note, "", *_opproof_table(part), ""]
    Path(args.out).write_text("\n".join(text))


OPPROOF_INTRO = """Exact `highs` solver, one run per instance, stored with `daitn-opt bench` (every
route goes through the checker; a status `optimal` means the bound certified by
`daitn_opt.mtrce.certify` closes the gap to the checked route). Each table says its clock: **cpu**
runs stop after so many seconds of the process's CPU time (`cpu_limit`: the warm start, the model,
the cut loops and HiGHS; HiGHS is interrupted by its callbacks, its own `time_limit` being
wall-clock), so that a result on the shared machine means the same as on a free core; **wall**
runs stop after so many seconds of wall-clock time, whatever share of a core they got.

The solver: an `ils` warm start, then rounds of cut separation on the LP relaxation
(generalized subtour elimination by minimum cuts, with start and end kept apart on a path;
logical cuts `x_ij <= y_i`, and `x_si <= y_i` at the depots of a path as rows; triple covers of
the budget; count cuts), optionally with reduced-cost fixing against the incumbent
(`rc_fixing`), then the tree search: `search=highs` (HiGHS's branch and bound on the model with
the cuts found so far, the subtours of its integer solutions cut and the MIP solved again; the
default), `search=cuts` (branch and cut in Python on HiGHS's LP, the same separation at every
node; `daitn_opt/mtrce/milp_branch.py`) or `search=auto` (HiGHS's search for 25 % of the time
left, then the Python tree). `sub_mip_heuristics=false` (5a60ab5) turns HiGHS's RINS, RENS,
root reduced-cost and feasibility-jump heuristics off on an orienteering route: on the model
whose subtour cuts come lazily they found routes with subtours only and took most of a round
(OPLib pr107-gen3-50: 70 of 96 s of the round, no node explored). It was the default at 93763ff,
which also repairs the five best integer solutions of each round into routes (2-opt, then the
subtours' nodes inserted while the budget allows), not only the last; since d096e7b the
heuristics are on again by default (off proved one file more and lost four, below) and the
repairs stay.

The stores: `out/opproof/oplib-default.sqlite` is the default with the heuristics on (7a19afd:
99 files, then 8164c4a: the 37 others, this session) on all 136 OPLib files with n <= 200: the
current default but for the repairs. The three stores of 93763ff ran the heuristics off:
`oplib-93763ff.sqlite` on 14 of the 34 files `oplib-default` left unproved, those with the
smallest gaps when the list was made (run with `--only` and their names); the other 20 were
not rerun (gaps 0.6-57 %: six under 2 % came from the end of the sweep, after the list was
made; the session ended); `check-93763ff.sqlite` on twelve files
`oplib-default` proved only with a route found after its warm start (by HiGHS's heuristics,
its tree or a repair; seven of them in 45-57 s): whether turning the heuristics off loses
proofs there; `chao-93763ff.sqlite` on Chao 64/66 (the runs of `check-` and `chao-` are stamped
with later commits, which changed nothing of the solver: only this script and other sessions'
files). `default-d096e7b.sqlite` is the current default (heuristics on, repairs; stamped
0b33ad6, the same solver) on the four files the heuristics off lost and on bier127-gen4-45;
`chao-d096e7b.sqlite` the current default on Chao 64/66 (stamped c72a151, the same solver). Earlier stores: `cpu.sqlite` ran the default of 8f68af8/e75ee38 (search=cuts);
`cpu-hybrid.sqlite` ran `--only
set_64_1_30,set_64_1_35,set_66_1_050,set_66_1_065,set_66_1_070,set_66_1_075,set_66_1_085` at
5ae4939 (search=auto); `cpu-before.sqlite` ran `--param search=highs --param rc_fixing=false --only
set_6` (the previous default on Chao), then six OPLib files; `final.sqlite` is the first page
(wall clock). Bounds are rounded to the objective's step (the gcd of the scores: 5 on Chao set
66).

The sweeps (each store resumes: a rerun only runs what is missing; the three of 93763ff ran at
that commit, where the heuristics were off by default: at a later one add `--param
sub_mip_heuristics=false`, which stores the runs under another key), then the page (`--no-run`
only writes it):

```
.venv/bin/python tests/benchmarks/run_mtrce_exact.py opproof --only gen --cpu-limit 60 \\
    --workers 1 --db out/opproof/oplib-default.sqlite                    # 7a19afd, 8164c4a
.venv/bin/python tests/benchmarks/run_mtrce_exact.py opproof --cpu-limit 60 --workers 1 \\
    --only pr76-gen4-70,gr120-gen2-50,bier127-gen4-45,pr136-gen1-50,kroA150-gen3-50,kroA150-gen4-75,kroA200-gen4-90,kroA200-gen1-50,kroB200-gen4-90,rat195-gen2-50,rat99-gen3-50,kroA200-gen2-50,pr124-gen4-30,rat195-gen3-50 \\
    --db out/opproof/oplib-93763ff.sqlite                                # 93763ff
.venv/bin/python tests/benchmarks/run_mtrce_exact.py opproof --cpu-limit 60 --workers 1 \\
    --only st70-gen4-85,rat195-gen4-95,kroB200-gen3-50,kroB200-gen1-50,kroA150-gen2-50,pr136-gen3-50,u159-gen3-50,kroE100-gen2-50,bier127-gen3-50,rat99-gen4-60,eil101-gen2-50,rd100-gen3-50 \\
    --db out/opproof/check-93763ff.sqlite                                # 93763ff
.venv/bin/python tests/benchmarks/run_mtrce_exact.py opproof --only set_6 --cpu-limit 60 \\
    --workers 1 --db out/opproof/chao-93763ff.sqlite                     # 93763ff
.venv/bin/python tests/benchmarks/run_mtrce_exact.py opproof --cpu-limit 60 --workers 1 \\
    --only st70-gen4-85,pr136-gen3-50,rat195-gen4-95,kroB200-gen1-50,bier127-gen4-45 \\
    --db out/opproof/default-d096e7b.sqlite                              # d096e7b
.venv/bin/python tests/benchmarks/run_mtrce_exact.py opproof --only set_6 --cpu-limit 60 \\
    --workers 1 --db out/opproof/chao-d096e7b.sqlite                     # d096e7b
.venv/bin/python tests/benchmarks/run_mtrce_exact.py opproof --only gen --cpu-limit 60 \\
    --db out/opproof/oplib-default.sqlite \\
    --extra out/opproof/chao-d096e7b.sqlite="the current default (heuristics on, repairs), Chao 64/66" \\
    --extra out/opproof/default-d096e7b.sqlite="the current default (heuristics on, repairs), five files" \\
    --extra out/opproof/oplib-93763ff.sqlite="heuristics off, 14 files the heuristics on left unproved" \\
    --extra out/opproof/check-93763ff.sqlite="heuristics off, twelve files proved late with them on" \\
    --extra out/opproof/chao-93763ff.sqlite="heuristics off, Chao 64/66" \\
    --extra out/opproof/cpu.sqlite="the Python tree (search=cuts), 8f68af8/e75ee38" \\
    --extra out/opproof/cpu-hybrid.sqlite="search=auto, the Chao instances one of the two trees left unproved" \\
    --baseline out/opproof/oplib-default.sqlite="heuristics on (oplib-default), same files, same clock" \\
    --baseline out/opproof/cpu-before.sqlite="heuristics on, Chao (search=highs, rc_fixing=false), same clock" \\
    --baseline out/opproof/final.sqlite="the first page (wall clock, 60 s, load 6-32)" \\
    --out papers/routing/op-proofs.md --no-run
```

`--cpu-limit S`: `S` CPU seconds per run (the wall cap is `20 S` unless `--wall-cap`);
`--time-limit S` alone: wall-clock runs; `--param KEY=VALUE`: a parameter of `highs`;
`--baseline STORE=LABEL`: an earlier sweep shown as a "before" table (on the instances the main
store ran), with the number of proofs on the instances both ran; `--extra STORE=LABEL`: another
measured sweep shown in full; `--combined STORE=LABEL`: the targets on the main store's runs plus
STORE's runs of the files the main store did not run; `--unproved-in STORE`: only the OPLib files
STORE did not prove; `--only TEXT`: only the files whose name
holds one of its comma-separated parts; `--first-from STORE`: the OPLib files that store never
ran first, then those it left unproved; `--offset K`: start at the K-th file of that list."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("family", choices=["tsplib", "op", "top", "build", "opproof"])
    ap.add_argument("--solver", default="highs")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--max-n", type=int, default=200)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--only", default="")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--pyomo-solver", default="appsi_highs")
    ap.add_argument("--db", default="out/opproof/final.sqlite")
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument(
        "--baseline",
        action="append",
        default=[],
        help="opproof: STORE=LABEL of an earlier sweep, shown as a 'before' table (repeatable)",
    )
    ap.add_argument(
        "--extra",
        action="append",
        default=[],
        help="opproof: STORE=LABEL of another measured sweep, shown in full (repeatable)",
    )
    ap.add_argument(
        "--combined",
        action="append",
        default=[],
        help="opproof: STORE=LABEL whose runs stand for the instances the main store did not "
        "run, in a combined table of the targets (repeatable)",
    )
    ap.add_argument("--cpu-limit", type=float, default=0.0, help="opproof: CPU seconds per run")
    ap.add_argument(
        "--wall-cap", type=float, default=0.0, help="opproof: wall cap with --cpu-limit (20x)"
    )
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument(
        "--offset", type=int, default=0, help="opproof: start at this position of the list"
    )
    ap.add_argument(
        "--first-from",
        default="",
        help="opproof: run first the OPLib files this store never ran, then those it left unproved",
    )
    ap.add_argument(
        "--unproved-in",
        default="",
        help="opproof: only the OPLib files this store did not prove (or never ran)",
    )
    ap.add_argument("--param", action="append", default=[], help="opproof: solver KEY=VALUE")
    ap.add_argument("--out", default="")
    ap.add_argument("--no-run", dest="run", action="store_false")
    args = ap.parse_args()
    benches = {"tsplib": bench_tsplib, "op": bench_op, "top": bench_top, "build": bench_build}
    benches["opproof"] = bench_opproof
    benches[args.family](args)


if __name__ == "__main__":
    main()
