"""What the ``daitn-opt`` commands show: one function per table or summary.

The commands in :mod:`daitn_opt.cli` read their input, call the library and hand the outcome to a
function here; these functions only draw (tables and lines on :data:`console`), so that a command
reads as what it does. Cells that hold ids or free text go through :func:`plain`, so that an id
such as ``h[1]`` is never read as rich markup. Missing values show as ``-``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .cli_console import console, err_console, plain, table


def show(value: float | None, fmt: str) -> str:
    """``value`` formatted with ``fmt``; ``-`` when it is missing or NaN."""
    return "-" if value is None or value != value else format(value, fmt)


def _columns(tab: Any, names: tuple[str, ...], left: tuple[str, ...]) -> Any:
    """Add columns ``names`` to ``tab``; those in ``left`` left-justified, the others right."""
    for name in names:
        tab.add_column(name, justify="left" if name in left else "right")
    return tab


def line(text: str, markup: bool = False) -> None:
    """One line of text, printed literally unless ``markup``."""
    console.print(text, highlight=False, markup=markup)


# -- instances ----------------------------------------------------------------------------------
def render_info(inst: Any, components: int) -> None:
    """``info``: nodes by kind, data by modality, links, requests and the benchmark's optimum."""
    from rich.markup import escape

    snap = inst.snapshot
    line(f"[bold]{escape(inst.name)}[/]  {escape(inst.description)}", markup=True)
    nodes = _columns(table("Nodes"), ("kind", "count", "up", "mean trust"), ("kind",))
    for kind, count in sorted(Counter(n.kind for n in snap.nodes).items()):
        of_kind = snap.of_kind(kind)
        trust = sum(n.trust for n in of_kind) / count
        nodes.add_row(kind, str(count), str(sum(n.up for n in of_kind)), f"{trust:.2f}")
    console.print(nodes)
    _render_data(snap)
    console.print(
        f"links: {snap.num_links} ({sum(lk.up for lk in snap.links)} up); "
        f"connected components over up links: {components}"
        + (f"; travel: {inst.travel.metric}" if inst.travel else ""),
        highlight=False,
    )
    _render_requests(inst.requests)
    if inst.benchmark:
        b = inst.benchmark
        known = "-" if b.best_known is None else f"{b.best_known:g}"
        line(
            f"benchmark: {b.family} ({b.source}); {b.sense} {b.objective}; "
            f"{'optimum' if b.proven_optimal else 'best known'} {known}"
        )


def _render_data(snap: Any) -> None:
    volume: Counter[str] = Counter()
    holders: Counter[str] = Counter()
    for node in snap.of_kind("data"):
        for d in node.datasets:
            volume[f"{d.modality}/{d.task}"] += d.samples
            holders[f"{d.modality}/{d.task}"] += 1
    if not volume:
        return
    data = table("Data by modality/task")
    for col in ("modality/task", "nodes", "samples"):
        data.add_column(col)
    for key, samples in sorted(volume.items()):
        data.add_row(plain(key), str(holders[key]), str(samples))
    console.print(data)


def _render_requests(requests: list[Any]) -> None:
    if not requests:
        return
    rt = table("Training requests")
    for col in ("id", "owner", "modality/task", "mode", "deadline", "budget", "replicas"):
        rt.add_column(col)
    for r in requests:
        rt.add_row(
            plain(r.id),
            plain(r.owner),
            plain(f"{r.modality}/{r.task}"),
            r.mode,
            "-" if r.deadline is None else f"{r.deadline:g}",
            "-" if r.budget is None else f"{r.budget:g}",
            str(r.replicas),
        )
    console.print(rt)


def view_document(v: Any) -> dict[str, Any]:
    """``view --json``: the arrays of view ``v`` (unreachable entries as -1)."""
    import numpy as np

    def arr(a: np.ndarray) -> list:
        return np.where(np.isfinite(a), a, -1).tolist()

    return {
        "request": v.request_id,
        "ids": v.ids,
        "start": v.ids[v.start],
        "end": v.ids[v.end],
        "end_reachable": bool(np.isfinite(v.transfer[v.start, v.end])),
        "transfer": arr(v.transfer),
        "train_time": arr(v.train_time),
        "utility": v.utility.tolist(),
        "window_open": arr(v.window_open),
        "window_close": arr(v.window_close),
        "verify_time": v.verify_time,
        "deadline": v.deadline,
        "excluded": v.excluded,
    }


def render_view(v: Any, shown: int = 50, excluded_shown: int = 30) -> None:
    """``view``: the first ``shown`` eligible nodes and the excluded ones, with reasons."""
    import numpy as np

    line(
        f"request {v.request_id}: {v.n} nodes in view, start {v.ids[v.start]}, "
        f"end {v.ids[v.end]}, deadline {v.deadline}, verification {v.verify_time:.3g} s"
    )
    if not np.isfinite(v.transfer[v.start, v.end]):
        line(
            f"note: the end {v.ids[v.end]!r} is unreachable from the start "
            f"{v.ids[v.start]!r} over links that are up: no route exists"
        )
    cols = ("id", "utility", "samples", "train s", "from start s", "to end s")
    nodes = _columns(table("Eligible nodes"), cols, ("id",))
    for i, node_id in enumerate(v.ids[:shown]):
        nodes.add_row(
            plain(node_id),
            f"{v.utility[i]:.4g}",
            f"{v.samples[i]:.0f}",
            f"{v.train_time[i]:.4g}",
            f"{v.transfer[v.start, i]:.4g}",
            f"{v.transfer[i, v.end]:.4g}",
        )
    console.print(nodes)
    if v.n > shown:
        console.print(f"... and {v.n - shown} more")
    if v.excluded:
        ex = table(f"Excluded data nodes ({len(v.excluded)})")
        ex.add_column("id")
        ex.add_column("reason")
        for node_id, reason in list(v.excluded.items())[:excluded_shown]:
            ex.add_row(plain(node_id), plain(reason))
        console.print(ex)


# -- solving ------------------------------------------------------------------------------------
NOT_DECLARED = "parameters not declared"
"""What ``solvers --params`` shows for a solver registered without a parameter class."""


def parameter_lines(spec: Any) -> list[str]:
    """One line per parameter of solver ``spec``: ``name: type = default  meaning``."""
    from .params import describe

    if spec.params is None:
        return [NOT_DECLARED]
    infos = describe(spec.params)
    if not infos:
        return ["no parameters"]
    return [f"{p.name}: {p.type} = {json.dumps(p.default)}  {p.help}" for p in infos]


def render_solvers(
    registered: dict[str, dict[str, Any]], default_of: Callable[[str], str | None], params: bool
) -> None:
    """``solvers``: one row per solver (the kind's default marked); with ``params``, a column of
    each solver's parameters (type, default, meaning)."""
    from rich.text import Text

    cols = ("problem", "solver", "exact", "description") + (("parameters",) if params else ())
    tab = table("Solvers")
    for col in cols:
        tab.add_column(col)
    for kind, specs in sorted(registered.items()):
        default = default_of(kind)
        for name, spec in sorted(specs.items()):
            mark = " (default)" if default == name else ""
            # descriptions are plain text: "z[i, e]" must not be read as rich markup
            row = [kind, name + mark, "yes" if spec.exact else "no", Text(spec.description)]
            if params:
                row.append(Text("\n".join(parameter_lines(spec))))
            tab.add_row(*row)
    console.print(tab)


def render_solver(spec: Any, default: bool) -> None:
    """``solvers --solver NAME``: one solver, then one line per parameter and its meaning."""
    kind = "exact" if spec.exact else "heuristic"
    line(f"{spec.problem} {spec.name}{' (default)' if default else ''}, {kind}: {spec.description}")
    lines = parameter_lines(spec)
    if lines[0] in (NOT_DECLARED, "no parameters"):
        line(f"  {lines[0]}")
        return
    line("  parameters (solve --param KEY=VALUE):")
    for text in lines:
        line(f"    {text}")


def render_result(result: Any, inst: Any) -> None:
    """``solve``: the result's summary and, for a benchmark instance, the published optimum."""
    line(result.summary())
    b = inst.benchmark
    if b and b.best_known is not None and result.objective is not None:
        console.print(
            f"published {'optimum' if b.proven_optimal else 'best known'}: "
            f"{b.best_known:g} (difference {result.objective - b.best_known:+g})",
            highlight=False,
        )


def render_check(report: Any, result: Any) -> None:
    """``check``: ``valid`` with the recomputed objective, or one line per violation."""
    if report.ok and report.objective is None:
        why = f": {result.message}" if result.message else ""
        line(f"valid: nothing to check, the result is {result.status.value}{why}")
    elif report.ok:
        console.print(f"valid: objective {report.objective:.10g}", highlight=False)
    for violation in report.violations:
        console.print("[red]violation:[/] ", plain(violation), highlight=False, sep="")


# -- benchmarks ---------------------------------------------------------------------------------
class SweepTally:
    """What ``bench`` counts while its runs finish: failures by status, checker violations."""

    def __init__(self) -> None:
        self.violations = 0
        self.failed: Counter[str] = Counter()
        self.first_failure: str | None = None

    def add(self, row: dict) -> None:
        self.violations += row.get("check_ok") == 0
        status = row.get("status")
        if status in ("error", "timeout"):
            self.failed[status] += 1
            if self.first_failure is None:
                message = row.get("message") or status
                self.first_failure = f"{row['instance']} {row['solver']}: {message}"

    @property
    def ok(self) -> bool:
        return not (self.failed or self.violations)


@contextmanager
def sweep_progress(title: str, total: int, tally: SweepTally) -> Iterator[Callable[[dict], None]]:
    """A progress bar over ``total`` runs; yields the per-row callback (which also tallies)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console._get(),
    ) as progress:
        bar = progress.add_task(title, total=total)

        def on_row(row: dict) -> None:
            tally.add(row)
            progress.update(bar, advance=1, description=f"{row['instance']} {row['solver']}")

        yield on_row


def render_sweep(summary: Any, tally: SweepTally, db: Path) -> None:
    """``bench``: runs planned, skipped and run, failures and violations, the first failure."""
    failed = tally.failed
    line(
        f"{summary.planned} runs planned, {summary.skipped} already stored, {summary.ran} run "
        f"in {summary.wall:.1f} s; failed runs: {sum(failed.values())}"
        + (f" ({', '.join(f'{n} {k}' for k, n in sorted(failed.items()))})" if failed else "")
        + f"; checker violations: {tally.violations}; store: {db}"
    )
    if not tally.ok and tally.first_failure:
        line(f"first failure: {tally.first_failure}")


def render_report(entries: list[dict]) -> None:
    """``report``: one table per family, one row per solver."""
    families: dict[str, list[dict]] = {}
    for entry in entries:
        families.setdefault(entry["family"], []).append(entry)
    cols = ("solver", "runs", "optimal", "feasible", "failed", "violations")
    for family, rows in families.items():
        tab = _columns(table(f"{family}"), cols, ("solver",))
        _columns(tab, ("mean gap %", "max gap %", "sgm time s"), ())
        for e in rows:
            tab.add_row(
                plain(e["solver"]),
                str(e["runs"]),
                str(e["optimal"]),
                str(e["feasible"]),
                str(e["failed"]),
                str(e["check_violations"]),
                f"{100 * e['mean_gap']:.3f}",
                f"{100 * e['max_gap']:.3f}",
                f"{e['sgm_time']:.3f}",
            )
        console.print(tab)


# -- executor -----------------------------------------------------------------------------------
def render_oam(result: Any, title: str) -> None:
    """``oam``: one row per plan-replay-update round."""
    tab = table(title)
    for col in ("round", "planned", "accuracy", "time to target s", "deadline", "route"):
        tab.add_column(col)
    for r in result.rounds:
        s = r.outcome.summary
        tab.add_row(
            str(r.round),
            show(r.planned_objective, ".4g"),
            show(s.final_accuracy, ".3f"),
            show(s.time_to_target, ".1f"),
            "met" if s.deadline_met else "missed",
            " > ".join(r.route),
        )
    console.print(tab)


def render_serving(outcome: Any) -> None:
    """``replay --mode serving``: latency percentiles and SLO violations per model."""
    cols = ("model", "queries", "p50 ms", "p95 ms", "p99 ms", "SLO violations", "refused q/s")
    tab = _columns(table(f"Serving replay ({outcome.horizon:g} s of queries)"), cols, ("model",))
    for m in outcome.models:
        tab.add_row(
            plain(m.model),
            str(m.queries),
            *(show(v, ".1f") for v in (m.p50_ms, m.p95_ms, m.p99_ms)),
            f"{100 * m.violation_rate:.1f}%" if m.queries else "-",
            f"{m.refused_rate:.3g}",
        )
    console.print(tab)
    _notes(outcome.notes)


def render_training(outcome: Any, mode: str, seed: int) -> None:
    """``replay`` (sequential, federated): the trace of the training and its summary."""
    cols = ("time s", "node", "action", "loss", "accuracy", "bytes", "utility", "note")
    title = f"{mode} replay ({outcome.policy}, seed {seed})"
    tab = _columns(table(title), cols, ("node", "action", "note"))
    for s in outcome.trace:
        tab.add_row(
            f"{s.time:.2f}",
            plain(s.node),
            s.action,
            "" if s.loss != s.loss else f"{s.loss:.4f}",
            "" if s.accuracy != s.accuracy else f"{s.accuracy:.4f}",
            str(s.bytes),
            f"{s.utility:.4g}",
            plain(s.note),
        )
    console.print(tab)
    sm = outcome.summary
    ttt = "never" if sm.time_to_target is None else f"{sm.time_to_target:.2f} s"
    console.print(
        f"final accuracy {sm.final_accuracy:.4f}; time to {sm.target_accuracy:g}: {ttt}; "
        f"bytes moved {sm.bytes_moved}; utility {sm.utility_collected:.4g} "
        f"(planned {sm.planned_utility:.4g}); finish {sm.finish_time:.2f} s; deadline "
        f"{'met' if sm.deadline_met else 'MISSED'}; wall {sm.wall_time:.2f} s",
        highlight=False,
    )
    _notes(outcome.notes)


def _notes(notes: list[str]) -> None:
    for note in notes:
        line(f"note: {note}")


@contextmanager
def stage_progress(
    total: int | None, stderr: bool = False, transient: bool = False
) -> Iterator[tuple[Any, Any]]:
    """A progress bar of a long command (``demo``, ``paper``): yields ``(bar, task)``."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=(err_console if stderr else console)._get(),
        transient=transient,
    ) as bar:
        yield bar, bar.add_task("starting", total=total)


def demo_progress(bar: Any, task: Any, stages: int) -> Callable[[str, dict], None]:
    """The progress callback of ``run_demo``: a stage moves the bar, a step names the action."""

    def progress(event: str, data: dict) -> None:
        if event == "stage":
            bar.update(task, completed=data["index"], description=data["detail"])
        elif event == "step":
            step = data["step"]
            bar.update(task, description=f"{data.get('label')}: {step.action} at {step.node}")
        elif event == "done":
            bar.update(task, completed=stages)

    return progress


def outcomes_progress(bar: Any, task: Any) -> Callable[[str, dict], None]:
    """The progress callback of ``run_outcomes``: one tick per (case, seed)."""
    done = {"n": 0}

    def progress(event: str, data: dict) -> None:
        if event == "cases":
            bar.update(task, total=len(data["names"]) * data["seeds"])
        elif event == "stage":
            bar.update(task, description=f"{data['case']}: {data['detail']}")
        elif event == "seed":
            done["n"] += 1 if data["index"] else 0
            bar.update(
                task,
                completed=done["n"],
                description=f"{data['case']}: seed {data['seed']} ({data['routes']} routes)",
            )
        elif event == "case_done":
            done["n"] += 1
            bar.update(task, completed=done["n"])
            err_console.print(f"{data['case']} done in {data['seconds']:.0f} s", highlight=False)

    return progress
