"""The routing paper's Markdown pages: one per family, a CSV of its runs, and the index.

The problem: a reader of ``papers/routing/`` needs, per family, the gap of every solver to the
reference by size class and by subset, the side-by-side figures of each peer against ``ils``
measured in the same run, which runs failed or did not run at all, and under what conditions
(code state, package versions, machine load) the figures were taken. The pages are written from
the rows :func:`daitn_opt.papers.routing.run.run` collected, so ``--report-only`` rewrites them
from the store without running anything.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

from .families import FAMILIES, Family
from .run import Outcome, Planned
from .tables import TIE, SideBySide, gap, has_reference, line, lines, side_by_side, solved
from .targets import target_lines

PAGE = {"op": "op.md", "oplib": "oplib.md", "tsplib": "tsplib.md", "optw": "optw-sweep.md"}
"""Page per family (``tsp.md``, ``optw.md`` and ``op-proofs.md`` are other experiments' pages)."""
RELATED = {"op": "op-proofs.md", "tsplib": "tsp.md", "optw": "optw.md"}
"""Pages of the same family written by other experiments, linked when present."""
CSV_COLUMNS = [
    "instance",
    "group",
    "n",
    "solver",
    "seed",
    "time_limit",
    "status",
    "objective",
    "best_known",
    "gap_to_best",
    "check_ok",
    "bound",
    "runtime",
    "load_at_start",
]
HEADER = (
    "| solver | {what} | limit s | runs | checked | mean gap % | max gap % | ahead | at | behind "
    "| proved | mean s | mean load |"
)


def write_pages(out: Path, outcome: Outcome, command: str) -> list[str]:
    """Write every family's page and CSV and the index; return the headline lines."""
    out.mkdir(parents=True, exist_ok=True)
    headlines: list[str] = []
    for fam in FAMILIES:
        planned = [p for p in outcome.planned if p.family == fam.name]
        if not planned:
            continue
        rows = [r for r in outcome.rows if r["family"] == fam.name]
        text = family_page(fam, planned, rows, outcome, command, out)
        (out / PAGE[fam.name]).write_text("\n".join(text) + "\n", encoding="utf-8")
        write_csv(out / csv_name(fam), rows)
        headlines += headline(fam, planned, rows)
    (out / "README.md").write_text("\n".join(index(outcome, headlines, command, out)) + "\n")
    return headlines


def csv_name(fam: Family) -> str:
    """The family's per-run CSV, named after its page (``optw-sweep.md``: ``optw-sweep-runs.csv``)."""
    return f"{Path(PAGE[fam.name]).stem}-runs.csv"


def headline(fam: Family, planned: Sequence[Planned], rows: Sequence[dict]) -> list[str]:
    """One line per solver: mean/max gap, counts at/ahead, proofs, runs present of planned."""
    out = []
    for solver in _solvers(fam, rows):
        mine = [r for r in rows if r["solver"] == solver]
        wanted = sum(p.task.solver == solver for p in planned)
        s = line(solver, "all", mine)
        proofs = (
            f", {s.proved} proved"
            if any(p.exact for p in planned if p.task.solver == solver)
            else ""
        )
        out.append(
            f"{fam.name} {solver}: mean gap {_pct(s.mean_gap)}% (max {_pct(s.max_gap)}%), "
            f"{s.ahead + s.at} of {s.ahead + s.at + s.behind} at or ahead of the reference{proofs}; "
            f"{s.runs} of {wanted} planned runs done"
        )
    return out


def _pct(value: float) -> str:
    """A fraction as a percentage with two decimals; ``-`` when undefined (no reference)."""
    return "-" if math.isnan(value) else f"{100 * value:.2f}"


def _solvers(fam: Family, rows: Sequence[dict]) -> list[str]:
    present = {r["solver"] for r in rows}
    return [leg.solver for leg in fam.legs if leg.solver in present]


def family_page(
    fam: Family,
    planned: Sequence[Planned],
    rows: Sequence[dict],
    outcome: Outcome,
    command: str,
    out: Path,
    csv: str | None = None,
) -> list[str]:
    """The Markdown lines of one family's page (``csv``: its per-run CSV, default the family's)."""
    info = outcome.info
    first = info.get("first", {})
    solvers = _solvers(fam, rows)
    text = [
        f"# {fam.title}",
        "",
        f"Written by `{command}` on {info.get('finished', '?')} from the store "
        f"`{_shown(outcome.store)}` ({len(rows)} of {len(planned)} planned runs present). "
        f"Solver code at the sweep's first start ({first.get('at', '?')}): "
        f"{first.get('code', '?')}; at the last start: {info.get('last', {}).get('code', '?')}.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in info.get("versions", {}).items()) + ".",
        "",
        f"Reference: {fam.reference}. Gap = (reference - score) / reference for a score, "
        "(length - optimum) / optimum for a tour; positive = behind the reference, negative = "
        "ahead. Every route is checked by the independent MTRCE checker; a run without a checked "
        "route counts as a 100 % gap. `proved` = the solver proved its route optimal. One thread "
        "per run; seeds as listed in the CSV (exact solvers: the first seed only).",
        "",
        "Solvers and limits: "
        + "; ".join(f"`{leg.solver}` {leg.note}" for leg in fam.legs)
        + f"{_limits_note(info)}. `pyvrp` is PyVRP (optional clients with prizes for the OP, one "
        "vehicle, `max_distance` = the budget; integer-scaled distances), `lkh` is LKH-3 through "
        "elkai.",
        "",
        _load_note(first),
        "",
        "## By size",
        "",
        *_table(lines(rows, fam.classes, solvers), "nodes"),
    ]
    if len(fam.groups) > 1:
        text += ["", "## By set", "", *_table(_group_lines(fam, rows, solvers), "set")]
    text += ["", *_side_by_side(rows, solvers)]
    text += _stale_note(rows) if fam.name == "oplib" else []
    text += _missing(planned, rows)
    text += _unreferenced(rows)
    text += _failures(rows)
    text += _largest(rows)
    related = RELATED.get(fam.name)
    if related and (out / related).exists():
        text += [
            "",
            f"Related page of another experiment on this family: [`{related}`]({related}).",
        ]
    csv = csv or csv_name(fam)
    text += ["", f"Per-run rows: [`{csv}`]({csv})."]
    return text


def _limits_note(info: dict) -> str:
    """What replaced the legs' limits in this run (``--quick``, ``time_limit``), if anything."""
    settings = info.get("settings", {})
    if settings.get("time_limit") is not None:
        return f" (this run: every limit replaced by {settings['time_limit']:g} s)"
    if settings.get("quick"):
        return " (this run, `--quick`: 1 s per heuristic run, 5 s per exact run)"
    return ""


def _shown(path: Path) -> str:
    from .families import ROOT

    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return path.name


def _load_note(first: dict) -> str:
    load = first.get("load") or [0.0, 0.0, 0.0]
    return (
        "The machine is a shared 2-core host: load averages (1/5/15 min) at the sweep's first "
        f"start {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}; `mean load` is the 1-minute load at "
        "each run's start. Above a load of 2 a run gets less than a core, so wall-clock limits "
        "give less search than on an idle machine; the side-by-side ratios compare solvers run "
        "under the same conditions."
    )


def _table(table: Sequence, what: str) -> list[str]:
    out = [HEADER.format(what=what), "|" + "---|" * 13]
    for s in table:
        out.append(
            f"| {s.solver} | {s.label} | {s.limits} | {s.runs} | {s.ok} | "
            f"{_pct(s.mean_gap)} | {_pct(s.max_gap)} | {s.ahead} | {s.at} | {s.behind} | "
            f"{s.proved} | {s.mean_runtime:.2f} | {s.mean_load:.1f} |"
        )
    return out


def _group_lines(fam: Family, rows: Sequence[dict], solvers: Sequence[str]) -> list:
    out = []
    for solver in solvers:
        for label, _ in fam.groups:
            mine = [r for r in rows if r["solver"] == solver and r["group"] == label]
            if mine:
                out.append(line(solver, label, mine))
    return out


def _side_by_side(rows: Sequence[dict], solvers: Sequence[str]) -> list[str]:
    pairs: list[SideBySide] = [
        s for s in (side_by_side(rows, peer) for peer in solvers if peer != "ils") if s
    ]
    if not pairs:
        return []
    out = [
        "## Side by side with ils (same instances and seeds, same run)",
        "",
        "`gap ratio` = the peer's mean gap / ils's (above 1: the peer is further from the "
        "reference; n/a when ils's mean gap is not positive); `time ratio` = mean runtimes; "
        "better/equal/worse counts the instances where the peer's gap is below/equal to/above "
        "ils's.",
        "",
        "| peer | pairs | peer mean gap % | ils mean gap % | gap ratio | time ratio | better "
        "| equal | worse |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in pairs:
        ratio = "n/a" if s.gap_ratio is None else f"{s.gap_ratio:.2f}"
        timed = "n/a" if s.time_ratio is None else f"{s.time_ratio:.2f}"
        out.append(
            f"| {s.peer} | {s.pairs} | {100 * s.peer_gap:.2f} | {100 * s.base_gap:.2f} | {ratio} "
            f"| {timed} | {s.better} | {s.equal} | {s.worse} |"
        )
    return out


def _stale_note(rows: Sequence[dict]) -> list[str]:
    """OPLib: the gen3 instances whose EA4OP route was scored with older node scores."""
    from ...drrt.converters.known import entries

    stale = {
        k for k, v in entries("oplib").items() if "the .sol file says ROUTE_SCORE" in v["note"]
    }
    hit = sorted({r["instance"] for r in rows if r["instance"] in stale})
    if not hit:
        return []
    out = [
        "",
        f"EA4OP's `.sol` header disagrees with its own route on {len(hit)} gen3 instances "
        f"({', '.join(hit)}): OPLib corrected those scores after EA4OP's runs, so the value used "
        "is EA4OP's route rescored (not a like-for-like comparison). Without them:",
        "",
    ]
    for solver in sorted({r["solver"] for r in rows}):
        rest = [r for r in rows if r["solver"] == solver and r["instance"] not in stale]
        if rest:
            s = line(solver, "", rest)
            out.append(
                f"- {solver}: mean gap {100 * s.mean_gap:.2f}% over {s.runs} runs, "
                f"{s.ahead} ahead of EA4OP"
            )
    return out


def _missing(planned: Sequence[Planned], rows: Sequence[dict]) -> list[str]:
    have = {r["key"] for r in rows}
    gone = [p for p in planned if p.task.key not in have]
    out = ["", "## Not run", ""]
    if not gone:
        return [*out, "Every planned run has a row."]
    by_solver: dict[str, list[str]] = {}
    for p in gone:
        by_solver.setdefault(p.task.solver, []).append(f"{Path(p.task.instance_file).stem}")
    out.append(
        f"{len(gone)} planned runs have no row (the sweep was stopped before them); they are "
        "left out of every figure above:"
    )
    out.append("")
    for solver, names in by_solver.items():
        shown = ", ".join(names[:40]) + (f" and {len(names) - 40} more" if len(names) > 40 else "")
        out.append(f"- {solver} ({len(names)}): {shown}")
    return out


def _unreferenced(rows: Sequence[dict]) -> list[str]:
    names = sorted({r["instance"] for r in rows if not has_reference(r)})
    if not names:
        return []
    return [
        "",
        f"Instances without a reference value (left out of every gap figure; their values are "
        f"in the CSV): {', '.join(names)}",
    ]


def _failures(rows: Sequence[dict]) -> list[str]:
    bad = [r for r in rows if not solved(r)]
    out = ["", f"Runs without a checked solution: {len(bad)}"]
    for r in bad[:30]:
        why = (r.get("message") or "")[:120].replace("|", "/").replace("\n", " ")
        out.append(f"- {r['instance']} {r['solver']}: {r.get('status')} {why}".rstrip())
    return out


def _largest(rows: Sequence[dict], count: int = 10) -> list[str]:
    behind = (r for r in rows if solved(r) and has_reference(r) and gap(r) > TIE)
    worst = sorted(behind, key=gap, reverse=True)
    if not worst:
        return []
    worst = worst[:count]
    out = [
        "",
        "Largest gaps among checked runs (behind the reference):",
        "",
        "| instance | n | solver | value | reference | gap % | runtime s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in worst:
        out.append(
            f"| {r['instance']} | {r['n']} | {r['solver']} | {number(r.get('objective'))} "
            f"| {number(r.get('best_known'))} | {100 * gap(r):.2f} | {r.get('runtime') or 0:.1f} |"
        )
    return out


def number(value: float | None) -> str:
    """A value as the page shows it: whole numbers in full (18660188, not 1.86602e+07)."""
    value = value or 0
    return f"{value:.0f}" if float(value).is_integer() else f"{value:g}"


def write_csv(path: Path, rows: Sequence[dict]) -> None:
    """The per-run rows as CSV (:data:`CSV_COLUMNS`), by solver, size, instance and seed."""
    ordered = sorted(rows, key=lambda r: (r["solver"], r["n"], r["instance"], r["seed"]))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(ordered)


def index(outcome: Outcome, headlines: Sequence[str], command: str, out: Path) -> list[str]:
    """The folder's README: how to regenerate, the pages, and what the run printed."""
    text = [
        "# Routing frontier (issue 13): measurements",
        "",
        f"Every table here is written by one command, run from the repository root: `{command}` "
        "(`--quick`: a stratified subset at 1 s / 5 s limits). The runs go through the `daitn-opt "
        "bench` machinery into one store (each run in a child process, each route checked by the "
        f"independent MTRCE checker; a rerun only runs what is missing): `{_shown(outcome.store)}`. "
        "`python -m daitn_opt.papers.routing --workers N` runs the same with N runs at a time, "
        "`--until HH:MM` stops starting runs that would end later, `--report-only` rewrites the "
        "pages from the store.",
        "",
        "| page | family |",
        "|---|---|",
    ]
    for fam in FAMILIES:
        if (out / PAGE[fam.name]).exists():  # this run's, or an earlier run's of that family
            text.append(f"| [`{PAGE[fam.name]}`]({PAGE[fam.name]}) | {fam.title} |")
    for related in sorted(set(RELATED.values())):
        if (out / related).exists():
            text.append(f"| [`{related}`]({related}) | another experiment's page (linked) |")
    text += [
        "",
        f"What the run printed ({outcome.info.get('finished', '?')}; solver code at the sweep's "
        f"first start: {outcome.info.get('first', {}).get('code', '?')}; load then "
        f"{(outcome.info.get('first', {}).get('load') or [0])[0]:.1f}):",
        "",
        *(f"- {h}" for h in headlines),
        "",
        "Issue 13's targets, as measured in this run (a run without a checked route counts as a "
        "100 % gap; `partial`: measured on the runs present)"
        + (f"; NB{_limits_note(outcome.info)}:" if _limits_note(outcome.info) else ":"),
        "",
        *target_lines(outcome.planned, outcome.rows),
        "",
        "Not measured here: OPLib proofs (see `op-proofs.md` where present). TSP tours at "
        "n = 493-1,000 are also measured on their own in `tsp-large.md` (where present).",
        "",
        "The machine is a shared 2-core host; wall-clock limits at a high load give a run a "
        "fraction of a core, so the figures understate what the same limits give on an idle "
        "machine (and a rerun on another day will differ). The pages state the load per table.",
    ]
    older = sorted(p.name for p in out.glob("oplib-ils-*.md"))
    if older:
        text += ["", "Earlier runs kept for comparison: " + ", ".join(f"`{n}`" for n in older)]
    return text
