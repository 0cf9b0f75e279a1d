"""TSPLIB's 493-1,000-city graphs: ``ils``, ``lkh`` and ``pyvrp`` at 5 s (writes tsp-large.md).

Usage (from the repository root)::

    .venv/bin/python papers/routing/tsp_large.py [--seeds 0,1,2] [--limit 5] [--report-only]

Issue 13's target "TSP: mean gap <= 1% at 5 s for n = 1,000", measured on the routing paper's
TSPLIB family (:mod:`daitn_opt.papers.routing.families`) restricted to its instances of more
than 442 cities: the twelve graphs of 493-1,000 cities whose optimum TSPLIB publishes
(``d493`` as TSPLIB distributes it, the others as OPLib keeps them; ``instances/classic/README.md``).
The same legs and limits as ``daitn-opt paper routing`` (5 s for these sizes), the same conversion
and bench machinery: each run in a child process, each tour checked by the independent MTRCE
checker, one row per run in the store ``out/routing/tsp-large/routing.sqlite`` (a rerun runs only
what is missing). The runs go instance by instance, seed by seed, the three solvers one after the
other, so that the solvers compared on an instance ran under nearly the same machine load.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean

from daitn_opt.bench.store import ResultsStore
from daitn_opt.bench.sweep import plan_tasks, run_sweep
from daitn_opt.mtrce import lk
from daitn_opt.papers.routing.families import LARGE_TSP, family, size
from daitn_opt.papers.routing.pages import family_page, number, write_csv
from daitn_opt.papers.routing.run import (
    Outcome,
    Planned,
    code_state,
    collect,
    converted,
    versions,
    warm_up,
)
from daitn_opt.papers.routing.tables import gap, solved
from daitn_opt.papers.routing.targets import target_lines

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
FOLDER = ROOT / "out" / "routing" / "tsp-large"
"""The default store folder (``--store``)."""
PAGE = "tsp-large.md"
"""The default page (``--page``); its CSV is ``<page stem>-runs.csv``."""
COMMAND = "python papers/routing/tsp_large.py"
"""The command, as the page names it (with the seeds and limit of the store's runs)."""


def plan(seeds: list[int], limit: float | None, folder: Path = FOLDER) -> list[Planned]:
    """Every run: instance by instance (by size), seed by seed, the heuristic legs in turn."""
    fam = family("tsplib")
    out = []
    for group, path in sorted(fam.files(), key=lambda gp: (size(gp[1], "tsplib"), gp[1].name)):
        n = size(path, "tsplib")
        if n < LARGE_TSP:
            continue
        json_path = converted(fam, path, folder / "json")
        for seed in seeds:
            for leg in fam.legs:
                if leg.exact or not leg.applies(n):
                    continue
                seconds = leg.limit(n) if limit is None else limit
                for task in plan_tasks([json_path], "mtrce", [leg.solver], [seed], seconds):
                    out.append(Planned(task, fam.name, group, n, False))
    return out


def run_info(seeds: list[int], limit: float | None, folder: Path) -> dict:
    """The store's first start kept (code, load), this invocation's added (``run-info.json``)."""
    path = folder / "run-info.json"
    info = json.loads(path.read_text()) if path.exists() else {}
    now = {"at": _now(), "load": list(os.getloadavg()), "code": code_state()}
    info.setdefault("first", now)
    info["last"] = now
    info["settings"] = {"seeds": seeds, "time_limit": limit, "families": ["tsplib"]}
    info["versions"] = versions()
    path.write_text(json.dumps(info, indent=1) + "\n")
    return info


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _print_row(row: dict) -> None:
    shown = "" if row.get("gap_to_best") is None else f" gap {100 * row['gap_to_best']:.2f}%"
    print(
        f"{row['instance']} {row['solver']} seed {row['seed']} {row['time_limit']:g}s: "
        f"{row['status']}{shown} check={row.get('check_ok')} "
        f"load={row.get('load_at_start') or 0:.1f}",
        flush=True,
    )


def per_instance(rows: list[dict], solvers: list[str]) -> list[str]:
    """Per instance: each solver's mean gap over its seeds, runtime and load at start."""
    head = " | ".join(f"{s} gap % | {s} s" for s in solvers)
    out = [
        "## Per instance (mean over the seeds run)",
        "",
        "`-`: no checked tour in any run (the failures are listed above). `load` = the mean "
        "1-minute load at the start of the instance's runs.",
        "",
        f"| instance | n | weight type | optimum | seeds | {head} | load |",
        "|---|---|---|---|---|" + "---|---|" * len(solvers) + "---|",
    ]
    for name in sorted({r["instance"] for r in rows}, key=lambda x: (_n(rows, x), x)):
        mine = [r for r in rows if r["instance"] == name]
        cells = []
        for solver in solvers:
            runs = [r for r in mine if r["solver"] == solver]
            ok = [r for r in runs if solved(r)]
            shown = f"{100 * mean(gap(r) for r in runs):.2f}" if ok else "-"
            if ok and len(ok) < len(runs):
                shown += f" ({len(ok)} of {len(runs)} checked)"
            seconds = mean(r.get("runtime") or 0.0 for r in runs) if runs else 0.0
            cells.append(f"{shown} | {seconds:.1f}")
        first = mine[0]
        out.append(
            f"| {name} | {first['n']} | {_weight_type(name)} | {number(first.get('best_known'))} "
            f"| {len({r['seed'] for r in mine})} | {' | '.join(cells)} "
            f"| {mean(r.get('load_at_start') or 0.0 for r in mine):.1f} |"
        )
    return out


def _n(rows: list[dict], name: str) -> int:
    return next(r["n"] for r in rows if r["instance"] == name)


def _weight_type(name: str) -> str:
    path = ROOT / "instances" / "classic" / "tsplib" / f"{name}.tsp"
    for line in path.read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "EDGE_WEIGHT_TYPE":
            return value.strip()
    return "?"


def write_page(outcome: Outcome, seeds: list[int], page: str = PAGE) -> None:
    fam = family("tsplib")
    sub = dataclasses.replace(
        fam,
        title="TSP at n ~ 1,000: TSPLIB's 493-1,000-city graphs, `ils`, `lkh` and `pyvrp` at 5 s",
        legs=tuple(leg for leg in fam.legs if not leg.exact),
        classes=((LARGE_TSP, 1000),),
    )
    rows = outcome.rows
    solvers = [leg.solver for leg in sub.legs if any(r["solver"] == leg.solver for r in rows)]
    settings = outcome.info.get("settings", {})
    command = f"{COMMAND} --seeds {','.join(map(str, seeds))}"
    if outcome.store.parent.resolve() != FOLDER.resolve():
        command += f" --store {_shown(outcome.store.parent)}"
    if page != PAGE:
        command += f" --page {page}"
    if settings.get("time_limit") is not None:
        command += f" --limit {settings['time_limit']:g}"
    csv = f"{Path(page).stem}-runs.csv"
    text = family_page(sub, outcome.planned, rows, outcome, command, HERE, csv=csv)
    intro = [
        "",
        "The instances: " + ", ".join(sorted({r["instance"] for r in rows})) + f"; seeds "
        f"{', '.join(map(str, seeds))}. Issue 13's target, measured on these runs (a run without "
        "a checked tour counts as a 100 % gap):",
        "",
        *target_lines(outcome.planned, rows),
    ]
    cut = text.index("## By size")
    text = [*text[:cut], *intro[1:], "", *text[cut:], "", *per_instance(rows, solvers)]
    older = sorted(p.name for p in HERE.glob("tsp-large-*.md") if p.name != page)
    if older:
        text += ["", "Other runs kept for comparison: " + ", ".join(f"`{n}`" for n in older)]
    (HERE / page).write_text("\n".join(text) + "\n", encoding="utf-8")
    write_csv(HERE / csv, rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0", help="comma-separated seeds")
    ap.add_argument("--limit", type=float, default=None, help="seconds (default: the legs')")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--store", type=Path, default=FOLDER, help="store folder (a new one: new runs)")
    ap.add_argument("--page", default=PAGE, help="page name under papers/routing")
    args = ap.parse_args(argv)
    folder = args.store if args.store.is_absolute() else ROOT / args.store
    seeds = [int(s) for s in args.seeds.split(",") if s]
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "routing.sqlite"
    planned = plan(seeds, args.limit, folder)
    info = _info(folder) if args.report_only else run_info(seeds, args.limit, folder)
    if not args.report_only:
        warm_up()
        lk.warm_up()  # ils's kick loop too (warm_up's 1 s run may end before reaching it)
        with ResultsStore(db) as store:
            run_sweep([p.task for p in planned], store, workers=1, on_row=_print_row)
    info["finished"] = _now()
    (folder / "run-info.json").write_text(json.dumps(info, indent=1) + "\n")
    write_page(Outcome(planned, collect(db, planned), db, info), seeds, args.page)
    print(f"wrote {HERE / args.page}", file=sys.stderr)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _info(folder: Path) -> dict:
    path = folder / "run-info.json"
    return json.loads(path.read_text()) if path.exists() else {}


if __name__ == "__main__":
    main()
