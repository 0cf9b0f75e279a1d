"""``report --html``: one self-contained page for a results store.

Problem: a sweep's rows are easier to compare on a page than in a terminal table or a CSV. The
page holds, per problem (solvers of different problems are never pooled: their objectives mean
different things) a summary per solver, the performance profiles and the gap over time as inline
SVG, and per family a sortable, filterable table of runs; the runs that need attention (failed,
timed out, no solution, a checker violation, a contract violation) come first, both in a table
of their own at the top and at the head of every family table. The machine's load and the
versions recorded with the runs have their own section, and each row links to its run's details
(every stored field, the anytime trace).
"""

from __future__ import annotations

import math
import platform
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..bench.report import FAILED, gap_over_time, gap_profile, run_gap, summarize, time_profile
from .assets import Cell, cards, esc, figure, fmt, num_cell, page, pct, table, text_cell
from .svg import Series, anytime_chart, line_chart

COLUMNS = (
    "run",
    "family",
    "instance",
    "solver",
    "seed",
    "status",
    "objective",
    "bound",
    "gap",
    "gap to best",
    "time s",
    "check",
    "load",
)


SMALL = {"width": 405, "height": 280, "legend": 105}
"""Profile chart size: three fit side by side on a 1280-pixel page."""


def attention(row: dict[str, Any]) -> str:
    """Why a run needs a look ("" when it does not): failed, no solution, a violation."""
    reasons = []
    if row.get("status") in FAILED:
        reasons.append(str(row["status"]))
    if row.get("check_ok") == 0:
        reasons.append("checker violation")
    if row.get("violations"):
        reasons.append("contract violation")
    return ", ".join(reasons)


def _run_cells(k: int, row: dict[str, Any]) -> list[Cell]:
    bad = attention(row)
    check = {1: "ok", 0: "VIOLATION"}.get(row.get("check_ok"), "-")
    status = esc(row.get("status"))
    return [
        Cell(f'<a href="#run-{k}">#{k}</a>', repr(k), True),
        text_cell(row.get("family") or "?"),
        text_cell(row.get("instance")),
        text_cell(row.get("solver")),
        num_cell(row.get("seed")),
        # bad runs sort first: their sort key starts with 0
        Cell(
            f'<span class="bad">{status}</span>' if bad else status,
            f"{0 if bad else 1}{row.get('status')}",
        ),
        num_cell(row.get("objective")),
        num_cell(row.get("bound")),
        num_cell(row.get("gap"), pct(row.get("gap"))),
        num_cell(row.get("gap_to_best"), pct(row.get("gap_to_best"))),
        num_cell(row.get("runtime"), fmt(row.get("runtime"), 4)),
        Cell(f'<span class="bad">{check}</span>' if check == "VIOLATION" else check),
        num_cell(row.get("load_at_start"), fmt(row.get("load_at_start"), 3)),
    ]


def _runs_table(table_id: str, indexed: Sequence[tuple[int, dict[str, Any]]]) -> str:
    ordered = sorted(indexed, key=lambda kr: (not attention(kr[1]), kr[0]))
    return table(
        table_id,
        COLUMNS,
        [_run_cells(k, r) for k, r in ordered],
        row_attrs=[
            {"class": "run-row attention" if attention(r) else "run-row", "data-run": str(k)}
            for k, r in ordered
        ],
    )


def _summary_table(table_id: str, rows: list[dict[str, Any]]) -> str:
    cols = (
        "family",
        "solver",
        "runs",
        "optimal",
        "feasible",
        "failed",
        "violations",
        "mean gap",
        "max gap",
        "sgm time s",
    )
    body = [
        [
            text_cell(e["family"]),
            text_cell(e["solver"]),
            num_cell(e["runs"]),
            num_cell(e["optimal"]),
            num_cell(e["feasible"]),
            num_cell(e["failed"]),
            num_cell(e["check_violations"]),
            num_cell(e["mean_gap"], pct(e["mean_gap"])),
            num_cell(e["max_gap"], pct(e["max_gap"])),
            num_cell(e["sgm_time"], fmt(e["sgm_time"], 4)),
        ]
        for e in summarize(rows)
    ]
    return table(table_id, cols, body, filterable=False)


PROFILES = (
    # (css class, what, x label, y label, log x, caption)
    (
        "profile-time",
        "time profile",
        "tau (time / best time)",
        "fraction proved optimal",
        True,
        "Time profile (Dolan-Moré): the fraction of (instance, seed) problems each solver proves "
        "optimal within tau times the fastest solver's time.",
    ),
    (
        "profile-gap",
        "gap profile",
        "gap x (0 at the left edge)",
        "fraction with gap <= x",
        True,
        "Gap profile: the fraction of runs each solver ends within gap x (gap to the best known "
        "value where published, else the certified gap; a run without either counts as 100%).",
    ),
    (
        "gap-time",
        "gap over time",
        "seconds",
        "mean primal gap",
        False,
        "Mean primal gap over time from the anytime traces (1 before a first incumbent).",
    ),
)


def _profiles(problem: str, rows: list[dict[str, Any]]) -> str:
    curves = {
        "profile-time": time_profile(rows),
        "profile-gap": gap_profile(rows),
        "gap-time": gap_over_time(rows),
    }
    charts = []
    for css, what, xlabel, ylabel, xlog, caption in PROFILES:
        series = [
            # a log axis cannot show the gap profile's x = 0: that point is drawn at 1e-5
            Series(s, [max(float(v), 1e-5) for v in x] if xlog else list(x), list(y))
            for s, (x, y) in sorted(curves[css].items())
        ]
        chart = line_chart(
            series,
            xlabel=xlabel,
            ylabel=ylabel,
            title=f"{problem}: {what}",
            xlog=xlog,
            ylim=(0, 1.02),
            css_class=f"chart {css}",
            **SMALL,
        )
        charts.append(figure(chart, caption))
    return f'<div class="charts">{"".join(charts)}</div>'


def _machine(rows: list[dict[str, Any]]) -> str:
    hosts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        hosts[r.get("host") or "?"].append(r)
    host_rows = []
    for host, group in sorted(hosts.items()):
        loads = [r["load_at_start"] for r in group if r.get("load_at_start") is not None]
        started = sorted(r["started_at"] for r in group if r.get("started_at"))
        threads = sorted({r.get("threads") for r in group if r.get("threads") is not None})
        host_rows.append(
            [
                text_cell(host),
                num_cell(len(group)),
                num_cell(min(loads) if loads else None, fmt(min(loads), 3) if loads else "-"),
                num_cell(
                    sum(loads) / len(loads) if loads else None,
                    fmt(sum(loads) / len(loads), 3) if loads else "-",
                ),
                num_cell(max(loads) if loads else None, fmt(max(loads), 3) if loads else "-"),
                text_cell(", ".join(map(str, threads)) or "-"),
                text_cell(started[0] if started else "-"),
                text_cell(started[-1] if started else "-"),
            ]
        )
    versions: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for r in rows:
        versions[(r["problem"], r["solver"])][r.get("solver_version") or "?"] += 1
    version_rows = [
        [text_cell(p), text_cell(s), text_cell(", ".join(f"{v} ({n})" for v, n in c.items()))]
        for (p, s), c in sorted(versions.items())
    ]
    from importlib.metadata import PackageNotFoundError, version

    try:
        own = version("daitn-opt")
    except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        own = "unknown"
    return (
        '<h2 id="machine">Machine load and versions</h2>'
        '<p class="muted">The load average when each run started (a loaded machine slows '
        "every solver), the threads it used, and the solver versions stored with the runs. "
        f"Page written by daitn-opt {esc(own)} on Python {esc(platform.python_version())}.</p>"
        + table(
            "hosts",
            (
                "host",
                "runs",
                "min load",
                "mean load",
                "max load",
                "threads",
                "first start",
                "last start",
            ),
            host_rows,
            filterable=False,
        )
        + table(
            "versions", ("problem", "solver", "versions (runs)"), version_rows, filterable=False
        )
    )


def _trace_chart(row: dict[str, Any]) -> str:
    trace = row.get("trace") or []
    end = row.get("runtime") or (trace[-1][0] if trace else 0.0)
    return anytime_chart(trace, end, width=520, height=240)


def _details(k: int, row: dict[str, Any]) -> str:
    fields = "".join(
        f"<tr><th>{esc(name)}</th><td>{esc(_field(value))}</td></tr>"
        for name, value in row.items()
        if name != "trace"
    )
    head = f"#{k} {row.get('instance')} / {row.get('solver')} / seed {row.get('seed')}: " + str(
        row.get("status")
    )
    why = attention(row)
    flag = f' <span class="bad">({esc(why)})</span>' if why else ""
    return (
        f'<details class="run" id="run-{k}"><summary>{esc(head)}{flag}</summary>'
        f"<table>{fields}</table>{_trace_chart(row)}</details>"
    )


def _field(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(map(str, value)) or "-"
    return fmt(value, 10)


def report_page(rows: list[dict[str, Any]], *, source: str = "results store") -> str:
    """The HTML page of the store rows ``rows`` (as :meth:`ResultsStore.rows` returns them)."""
    indexed = list(enumerate(rows, start=1))
    problems = sorted({r["problem"] for r in rows})
    bad = [(k, r) for k, r in indexed if attention(r)]
    parts = [
        f"<h1>Benchmark report: {esc(Path(source).name)}</h1>",
        f'<p class="muted">{esc(source)}: {len(rows)} runs of {len(problems)} problem(s). '
        "Click a column header to sort, type in a filter box to keep matching rows, follow "
        "a run's number for every field it stored.</p>",
        cards(
            [
                ("runs", str(len(rows))),
                ("problems", ", ".join(problems) or "-"),
                ("solvers", str(len({(r["problem"], r["solver"]) for r in rows}))),
                ("instances", str(len({r["instance"] for r in rows}))),
                ("need attention", str(len(bad))),
            ]
        ),
        '<nav class="muted">'
        + " · ".join(f'<a href="#problem-{esc(p)}">{esc(p)}</a>' for p in problems)
        + ' · <a href="#machine">machine and versions</a> · <a href="#runs">run details</a></nav>',
        '<h2 id="attention">Runs that need attention</h2>',
    ]
    if bad:
        parts.append(
            '<p class="muted">Failed, timed out, without a solution, or flagged by the checker '
            "or the result contract.</p>" + _runs_table("attention-runs", bad)
        )
    else:
        parts.append('<p class="ok">None: every run finished with a checked solution.</p>')
    for problem in problems:
        mine = [(k, r) for k, r in indexed if r["problem"] == problem]
        rows_p = [r for _, r in mine]
        senses = {r.get("sense") for r in rows_p} - {None}
        parts.append(
            f'<section class="problem" id="problem-{esc(problem)}" data-problem="{esc(problem)}">'
            f"<h2>Problem {esc(problem)}</h2>"
            f'<p class="muted">{len(rows_p)} runs, sense {esc("/".join(sorted(senses)) or "?")}; '
            "profiles pool only this problem's solvers.</p>"
            + _summary_table(f"summary-{problem}", rows_p)
            + _profiles(problem, rows_p)
        )
        families: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        for k, r in mine:
            families[r.get("family") or "?"].append((k, r))
        for family, group in sorted(families.items()):
            tid = f"runs-{problem}-{_slug(family)}"
            parts.append(
                f'<h3>{esc(problem)} / {esc(family)} <span class="muted">({len(group)} runs)'
                f"</span></h3>" + _runs_table(tid, group)
            )
        parts.append("</section>")
    parts.append(_machine(rows))
    parts.append('<h2 id="runs">Run details</h2>')
    parts.extend(_details(k, r) for k, r in indexed)
    return page(f"daitn-opt report: {Path(source).name}", "".join(parts), kind="report")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text) or "family"


def gap_is_known(row: dict[str, Any]) -> bool:
    """Whether a run has any gap the report can show (used by tests and the summary)."""
    return not math.isnan(run_gap(row))
