"""What the two long commands show at the end: ``demo`` and ``paper outcomes``.

Each report is a few tables drawn from the report object the library returns (the files are in the
output folder already); one function per table, so that each reads as what it shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .cli_console import console
from .cli_render import line, show


# -- demo ---------------------------------------------------------------------------------------
def render_demo(report: Any, output: Path) -> None:
    """``demo``: the plans replayed, the dynamics, admission, FedAvg, serving, the files."""
    console.print(
        f"[bold]{report.instance}[/], request {report.request} (deadline {report.deadline} s); "
        f"accuracy: mean over seeds {report.seeds[0]}-{report.seeds[-1]}",
        highlight=False,
    )
    for note in report.notes:
        console.print(f"  {note}", highlight=False)
    _demo_plans(report)
    _demo_dynamics(report.dynamics)
    for solver, adm in report.admission.items():
        console.print(
            f"T-FAM {solver}: {adm['status']}, value {show(adm['value'], '.4g')}, admitted "
            f"{sorted(adm['admitted'])}, refused {adm['refused']} ({adm['solve_time']:.2f} s)",
            highlight=False,
        )
    if report.federated:
        f = report.federated
        console.print(
            f"FedAvg {f['request']} over {f['clients']}: {f['rounds']} rounds, accuracy "
            f"{f['final_accuracy']:.3f}, bytes {f['bytes_moved']}, finish {f['finish_time']:.1f} s "
            f"(deadline {f['deadline']}: {'met' if f['deadline_met'] else 'MISSED'})",
            highlight=False,
        )
    _demo_serving(report.serving)
    for item in report.missing:
        console.print(f"[yellow]missing:[/] {item}", highlight=False)
    console.print(
        f"wrote {len(report.files)} files to {output} in {report.wall_time:.1f} s: "
        + ", ".join(Path(f).name for f in report.files),
        highlight=False,
    )


def _demo_plans(report: Any) -> None:
    from rich.table import Table

    from .demo import format_gap

    table = Table(title="MTRCE plans replayed as real training")
    target = f"t→{report.target_accuracy:g}"
    cols = ("plan", "util", "gap", "solve s", "acc", target, "bytes", "end s", "deadline")
    for col in cols:
        table.add_column(col, justify="left" if col == "plan" else "right")
    for row in report.plans:
        reached = f" {row.reached_target}/{len(report.seeds)}" if row.reached_target else ""
        settled = row.status == "optimal" or (row.status == "feasible" and "exact" not in row.plan)
        table.add_row(
            row.plan if settled else f"{row.plan} ({row.status})",
            show(row.utility, ".4g"),
            format_gap(row.gap),
            show(row.solve_time, ".2f"),
            "-" if row.final_accuracy is None else f"{row.final_accuracy:.3f}",
            "-" if row.time_to_target is None else f"{row.time_to_target:.0f}s{reached}",
            show(row.bytes_moved, "d"),
            show(row.finish_time, ".1f"),
            "-" if row.deadline_met is None else ("met" if row.deadline_met else "MISSED"),
        )
    console.print(table)
    for row in report.plans:
        line = " > ".join(row.route) if row.route else row.note
        if row.route and row.objective is not None and row.note:
            line += f" ({row.note})"  # what the outcome-aligned plan optimised
        console.print(f"  {row.plan}: {line}", highlight=False, markup=False)


def _demo_dynamics(dynamics: list[dict]) -> None:
    from rich.table import Table

    if not dynamics:
        return
    first = dynamics[0]
    dyn = Table(title=f"{first['failed']} fails at t={first['at']:.1f} s on the exact route")
    for col in ("policy", "utility", "of planned", "accuracy", "deadline", "visited"):
        dyn.add_column(col, justify="left" if col in ("policy", "visited") else "right")
    for d in dynamics:
        dyn.add_row(
            d["policy"],
            f"{d['utility']:.4g}",
            f"{d['planned_utility']:.4g}",
            show(d["final_accuracy"], ".3f"),
            "met" if d["deadline_met"] else "MISSED",
            ">".join(d["visited"]),
        )
    console.print(dyn)
    for d in dynamics:
        for note in d["notes"]:
            if "lost" in note or "re-planned" in note:
                console.print(f"  {d['policy']}: {note}", highlight=False)


def _demo_serving(serving: list[dict]) -> None:
    from rich.table import Table

    if not serving:
        return
    st = Table(title="Serving replay (60 s of Poisson queries)")
    for col in ("placement", "queries", "p99 ms", "SLO violations", "overloaded"):
        st.add_column(col, justify="left" if col in ("placement", "overloaded") else "right")
    for s in serving:
        st.add_row(
            s["label"],
            str(s["queries"]),
            show(s["p99_ms"], ".1f"),
            "-" if s["violation_rate"] is None else f"{100 * s['violation_rate']:.1f}%",
            "; ".join(n.split(":")[0] for n in s["notes"]) or "-",
        )
    console.print(st)


# -- paper outcomes -----------------------------------------------------------------------------
def render_outcomes(report: dict[str, Any]) -> None:
    """``paper outcomes``: the headline figures (the tables themselves are in the folder)."""
    from .papers.outcomes import ALIGNED

    an = report["analysis"]
    meta = report["meta"]
    _outcome_summary(an["summary"])
    _outcome_tests(an["tests"])
    _outcome_calibration(an["rhos"])
    for fam, s in an["share"].items():
        n = max(1, s["pairs"])
        line(
            f"{fam}: {ALIGNED} reaches the target strictly sooner than every baseline in "
            f"{s['sooner']}/{s['pairs']} (request, seed) pairs ({100 * s['sooner'] / n:.0f}%), "
            f"no later than any in {s['no_later']} ({100 * s['no_later'] / n:.0f}%); target 80%",
            markup=True,
        )
    line(
        f"commit {meta['commit'][:12]}{' (dirty)' if meta['dirty'] else ''}; "
        f"{len(meta['settings']['seeds'])} seeds; wrote {len(report['files'])} files to "
        f"{Path(report['files'][0]).parent} in {meta['seconds']:.0f} s",
        markup=True,
    )


def _outcome_summary(summary: list[dict]) -> None:
    from rich.table import Table

    table = Table(title="Paired replays: mean final accuracy, median time to target")
    cols = ("request", "plan", "accuracy [95% CI]", "reached", "median t s", "bytes", "deadline")
    for col in cols:
        table.add_column(col, justify="left" if col in ("request", "plan") else "right")
    for s in summary:
        a = s["accuracy"]
        ci = "-" if a.low is None else f" [{a.low:.3f}, {a.high:.3f}]"
        table.add_row(
            s["case"],
            s["plan"],
            f"{show(a.mean, '.3f')}{ci}",
            f"{s['reached']}/{s['runs']}",
            show(s["median_time"], ".1f"),
            show(s["bytes"].mean, ".0f"),
            f"{s['deadline_met']}/{s['runs']}",
        )
    console.print(table)


def _outcome_tests(tests: list[dict]) -> None:
    from rich.table import Table

    from .papers.outcomes import ALIGNED

    table = Table(title=f"Wilcoxon signed-rank: {ALIGNED} vs each baseline (paired seeds)")
    for col in ("family", "baseline", "pairs", "time s/l/t", "p time", "acc h/l/t", "p acc"):
        table.add_column(col, justify="left" if col in ("family", "baseline") else "right")
    for t in tests:
        tt, ac = t["time"], t["accuracy"]
        table.add_row(
            t["family"],
            t["baseline"],
            str(tt.n),
            f"{tt.better}/{tt.worse}/{tt.ties}",
            show(tt.p, ".3g"),
            f"{ac.better}/{ac.worse}/{ac.ties}",
            show(ac.p, ".3g"),
        )
    console.print(table)


def _outcome_calibration(rhos: dict[str, dict]) -> None:
    from rich.table import Table

    from .papers.outcomes import RHO_KEYS

    cal = Table(title="Calibration: Spearman rho, planned vs measured (per request)")
    cal.add_column("request")
    for k in RHO_KEYS:
        cal.add_column(k[3], justify="right")
    for case, row in rhos.items():
        cal.add_row(case, *(show(row[k[3]], ".2f") for k in RHO_KEYS))
    means = []
    for k in RHO_KEYS:
        vals = [r[k[3]] for r in rhos.values() if r[k[3]] is not None]
        means.append(show(sum(vals) / len(vals) if vals else None, ".2f"))
    cal.add_row("mean", *means)
    console.print(cal)


# -- paper outcomes: the other parts -------------------------------------------------------------
def part_progress(bar: Any, task: Any) -> Any:
    """The progress callback of ``run_tag``/``run_serving``/``run_oam``: one tick per unit done."""

    def progress(event: str, data: dict) -> None:
        if event == "start":
            bar.update(task, total=data["total"])
        elif event in ("request", "point"):
            bar.update(task, completed=data["index"], description=data["name"])
        elif event == "fit":
            bar.update(task, description=f"{data['request']}: fitted")
        elif event == "run":
            bar.advance(task)
            bar.update(task, description=f"{data['request']}: seed {data['seed']}")

    return progress


def _wrote(report: dict[str, Any], seconds: float) -> None:
    files = [Path(f) for f in report["files"]]
    line(
        f"wrote {', '.join(f.name for f in files)} to {files[0].parent} in {seconds:.0f} s",
    )


def render_tag(report: dict[str, Any]) -> None:
    """``paper outcomes --part tag``: TAG against its baselines, and the paradigm chooser."""
    from rich.table import Table

    an = report["analysis"]
    ep = an["epochs"]
    table = Table(
        title=f"TAG, sequential requests: {ep['requests']} requests, {ep['pairs']} paired runs"
    )
    for col in ("plan", "accuracy [95% CI]", "p acc", "reached 0.9", "time to 0.9 s", "p time"):
        table.add_column(col, justify="left" if col == "plan" else "right")
    for row in ep["rows"]:
        a, t = row["accuracy"], row["time"]
        ci = "" if a.low is None else f" [{a.low:.3f}, {a.high:.3f}]"
        table.add_row(
            row["arm"],
            f"{show(a.mean, '.3f')}{ci}",
            show(row["p_accuracy"], ".3g"),
            f"{row['reached']}/{row['n']}",
            show(t.mean, ".1f"),
            show(row["p_time"], ".3g"),
        )
    console.print(table)
    picked = an["picked"]
    line(
        f"paradigm chooser: right on {an['right']} of {an['requests']} requests (picked "
        f"sequential {picked['sequential']}, federated {picked['federated']})"
    )
    _wrote(report, report["meta"]["seconds"])


def render_serving(report: dict[str, Any]) -> None:
    """``paper outcomes --part serving``: unmet queries per load, congestion-aware vs the rest."""
    from rich.table import Table

    from .papers.serving import headline

    table = Table(title="Serving: unmet queries (violations + refused) / offered")
    for col in ("instance", "load", "congestion-aware", "best other", "its unmet"):
        table.add_column(col, justify="left" if col in ("instance", "best other") else "right")
    for p in headline(report["rows"]):
        table.add_row(
            p["instance"],
            f"{100 * p['load']:.0f}%",
            "-" if p["congestion_aware"] is None else f"{100 * p['congestion_aware']:.1f}%",
            p["best_other"] or "-",
            "-" if p["best_other_unmet"] is None else f"{100 * p['best_other_unmet']:.1f}%",
        )
    console.print(table)
    _wrote(report, report["meta"]["seconds"])


def render_oam(report: dict[str, Any]) -> None:
    """``paper outcomes --part oam``: time to target, learned and oracle vs reported, pooled."""
    for p in report["analysis"]["pools"]:
        if " / " in p["pool"]:  # one request: the page has them
            continue
        for c in p["compare"]:
            t = c["time"]
            line(
                f"oam {p['pool']}: {c['arm']} - {c['against']}: time to target "
                f"{show(t['mean'], '+.1f')} s, p = {show(c['time_test']['p'], '.3g')}"
            )
    _wrote(report, report["meta"]["seconds"])


PART_RENDERERS = {"oam": render_oam, "tag": render_tag, "serving": render_serving}
"""What ``paper outcomes`` prints after each part other than the route evidence."""
