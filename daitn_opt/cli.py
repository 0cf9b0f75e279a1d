"""The ``daitn-opt`` command line: a thin layer over the public API.

Every error caused by input is printed as one line and exits with code 2; nothing below this
module prints.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .drrt.instance import instance_schema, load_instance, save_instance
from .errors import DaitnError, InputError, UnsupportedError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Optimization and research toolkit for DA-ITN: MTRCE, T-FAM, QIRCE.",
)
console = Console()
err_console = Console(stderr=True)


def _fail(message: str, code: int = 2) -> None:
    from rich.markup import escape

    # One line whatever the terminal width (soft_wrap), and the message printed literally.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise SystemExit(code)


# -- instances ----------------------------------------------------------------------------------
@app.command()
def schema(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to a file.")] = None,
) -> None:
    """Print the JSON Schema of instance files."""
    text = json.dumps(instance_schema(), indent=2)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")


@app.command()
def info(file: Annotated[Path, typer.Argument(help="Instance file.")]) -> None:
    """Summarise an instance: nodes by kind, data by modality, connectivity, requests."""
    import networkx as nx

    inst = load_instance(file)
    snap = inst.snapshot
    console.print(f"[bold]{inst.name}[/]  {inst.description}")
    table = Table(title="Nodes")
    for col in ("kind", "count", "up", "mean trust"):
        table.add_column(col, justify="right" if col != "kind" else "left")
    kinds = Counter(n.kind for n in snap.nodes)
    for kind, count in sorted(kinds.items()):
        nodes = snap.of_kind(kind)
        table.add_row(
            kind,
            str(count),
            str(sum(n.up for n in nodes)),
            f"{sum(n.trust for n in nodes) / count:.2f}",
        )
    console.print(table)
    volume: Counter[str] = Counter()
    holders: Counter[str] = Counter()
    for node in snap.of_kind("data"):
        for d in node.datasets:
            volume[f"{d.modality}/{d.task}"] += d.samples
            holders[f"{d.modality}/{d.task}"] += 1
    if volume:
        dt = Table(title="Data by modality/task")
        for col in ("modality/task", "nodes", "samples"):
            dt.add_column(col)
        for key, samples in sorted(volume.items()):
            dt.add_row(key, str(holders[key]), str(samples))
        console.print(dt)
    # Weak connectivity over up links; a node without an up link is a component of its own.
    up = nx.Graph()
    up.add_nodes_from(n.id for n in snap.nodes)
    up.add_edges_from((lk.source, lk.target) for lk in snap.links if lk.up)
    comps = nx.number_connected_components(up)
    console.print(
        f"links: {snap.num_links} ({sum(lk.up for lk in snap.links)} up); "
        f"connected components over up links: {comps}"
        + (f"; travel: {inst.travel.metric}" if inst.travel else "")
    )
    if inst.requests:
        rt = Table(title="Training requests")
        for col in ("id", "owner", "modality/task", "mode", "deadline", "budget", "replicas"):
            rt.add_column(col)
        for r in inst.requests:
            rt.add_row(
                r.id,
                r.owner,
                f"{r.modality}/{r.task}",
                r.mode,
                "-" if r.deadline is None else f"{r.deadline:g}",
                "-" if r.budget is None else f"{r.budget:g}",
                str(r.replicas),
            )
        console.print(rt)
    if inst.benchmark:
        b = inst.benchmark
        known = "-" if b.best_known is None else f"{b.best_known:g}"
        console.print(
            f"benchmark: {b.family} ({b.source}); {b.sense} {b.objective}; "
            f"{'optimum' if b.proven_optimal else 'best known'} {known}"
        )


@app.command("view")
def view_cmd(
    file: Annotated[Path, typer.Argument(help="Instance file.")],
    request: Annotated[str | None, typer.Option(help="Request id (default: the first).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the arrays as JSON.")] = False,
) -> None:
    """Build and show the MS-DRRT view of one request."""
    import numpy as np

    from .drrt.view import view

    inst = load_instance(file)
    v = view(inst, request)
    if as_json:

        def arr(a: np.ndarray) -> list:
            return np.where(np.isfinite(a), a, -1).tolist()

        doc = {
            "request": v.request_id,
            "ids": v.ids,
            "start": v.ids[v.start],
            "end": v.ids[v.end],
            "transfer": arr(v.transfer),
            "train_time": arr(v.train_time),
            "utility": v.utility.tolist(),
            "window_open": arr(v.window_open),
            "window_close": arr(v.window_close),
            "verify_time": v.verify_time,
            "deadline": v.deadline,
            "excluded": v.excluded,
        }
        sys.stdout.write(json.dumps(doc) + "\n")
        return
    console.print(
        f"request [bold]{v.request_id}[/]: {v.n} nodes in view, start {v.ids[v.start]}, "
        f"end {v.ids[v.end]}, deadline {v.deadline}, verification {v.verify_time:.3g} s"
    )
    table = Table(title="Eligible nodes")
    for col in ("id", "utility", "samples", "train s", "from start s", "to end s"):
        table.add_column(col, justify="right" if col != "id" else "left")
    for i, node_id in enumerate(v.ids[:50]):
        table.add_row(
            node_id,
            f"{v.utility[i]:.4g}",
            f"{v.samples[i]:.0f}",
            f"{v.train_time[i]:.4g}",
            f"{v.transfer[v.start, i]:.4g}",
            f"{v.transfer[i, v.end]:.4g}",
        )
    console.print(table)
    if v.n > 50:
        console.print(f"... and {v.n - 50} more")
    if v.excluded:
        ex = Table(title=f"Excluded data nodes ({len(v.excluded)})")
        ex.add_column("id")
        ex.add_column("reason")
        for node_id, reason in list(v.excluded.items())[:30]:
            ex.add_row(node_id, reason)
        console.print(ex)


@app.command()
def generate(
    family: Annotated[str, typer.Argument(help="healthcare or random-geometric.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Instance file to write.")],
    nodes: Annotated[int, typer.Option(help="Number of nodes (data nodes for healthcare).")] = 12,
    seed: Annotated[int, typer.Option(help="Seed; the same seed gives the same instance.")] = 0,
    requests: Annotated[int, typer.Option(help="Number of training requests.")] = 1,
    opt: Annotated[
        list[str] | None,
        typer.Option("--opt", help="Family option KEY=VALUE, repeatable (e.g. replayable=false)."),
    ] = None,
) -> None:
    """Generate a seeded instance of a family."""
    from .drrt.generators import generate as gen

    opts: dict[str, object] = {}
    for item in opt or []:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise InputError("--opt", item, "expected KEY=VALUE")
        try:
            opts[key] = json.loads(text)  # numbers, true/false, null
        except json.JSONDecodeError:
            opts[key] = text
    inst = gen(family, nodes=nodes, seed=seed, requests=requests, **opts)
    save_instance(inst, output)
    console.print(
        f"wrote {output}: {inst.snapshot.num_nodes} nodes, {inst.snapshot.num_links} links"
    )


@app.command()
def convert(
    fmt: Annotated[
        str, typer.Argument(metavar="FORMAT", help="tsplib, op, top, optw, gap, mknap.")
    ],
    source: Annotated[Path, typer.Argument(help="Benchmark file.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Instance file to write.")],
    sense: Annotated[
        str | None, typer.Option(help="gap only: min (gapa-gapd) or max (gap1-gap12).")
    ] = None,
    index: Annotated[
        int, typer.Option(help="gap/mknap: which instance of a multi-instance file (1-based).")
    ] = 1,
) -> None:
    """Convert a classic benchmark file into an instance file."""
    from .drrt.converters import convert as conv

    inst = conv(fmt, source, sense=sense, index=index)
    save_instance(inst, output)
    console.print(f"wrote {output}: {inst.name}")


# -- solving ------------------------------------------------------------------------------------
@app.command()
def solvers(problem: Annotated[str | None, typer.Option(help="Only this problem.")] = None) -> None:
    """List the registered solvers per problem."""
    from .registry import solvers as registered

    table = Table(title="Solvers")
    for col in ("problem", "solver", "exact", "description"):
        table.add_column(col)
    for kind, specs in sorted(registered(problem).items()):
        for name, spec in sorted(specs.items()):
            table.add_row(kind, name, "yes" if spec.exact else "no", spec.description)
    console.print(table)


@app.command("solve")
def solve_cmd(
    file: Annotated[Path, typer.Argument(help="Instance file.")],
    problem: Annotated[str, typer.Option(help="mtrce, tfam or qirce.")] = "mtrce",
    solver: Annotated[str, typer.Option(help="Registered solver name (see `solvers`).")] = "ils",
    time_limit: Annotated[float, typer.Option(help="Seconds.")] = 10.0,
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 0,
    threads: Annotated[int, typer.Option(help="Solver threads / workers.")] = 1,
    request: Annotated[str | None, typer.Option(help="Request id (default: the first).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write JSON here.")] = None,
) -> None:
    """Solve one problem of an instance and print the result."""
    from .problems import problem_from_instance
    from .registry import solve

    inst = load_instance(file)
    prob = problem_from_instance(problem, inst, request)
    result = solve(prob, solver, time_limit=time_limit, seed=seed, threads=threads)
    result.instance = inst.name
    result.request = getattr(prob, "request_id", None) or request
    text = result.to_json()
    if output:
        output.write_text(text + "\n", encoding="utf-8")
    if as_json:
        sys.stdout.write(text + "\n")
    else:
        console.print(result.summary(), highlight=False)
        if (
            inst.benchmark
            and inst.benchmark.best_known is not None
            and result.objective is not None
        ):
            known = inst.benchmark.best_known
            console.print(
                f"published {'optimum' if inst.benchmark.proven_optimal else 'best known'}: "
                f"{known:g} (difference {result.objective - known:+g})"
            )
    if result.status.value == "error":
        raise typer.Exit(1)


@app.command("check")
def check_cmd(
    file: Annotated[Path, typer.Argument(help="Instance file.")],
    solution: Annotated[Path, typer.Argument(help="Result JSON as `solve --json` prints it.")],
) -> None:
    """Check a solution independently: exit 0 when valid, 1 listing each violation."""
    from .problems import check_result, problem_from_instance
    from .result import Result

    inst = load_instance(file)
    result = Result.load(solution)
    if result.instance is not None and result.instance != inst.name:
        raise InputError("solution.instance", result.instance, f"does not match {inst.name!r}")
    prob = problem_from_instance(result.problem, inst, result.request)
    report = check_result(prob, result)
    if report.ok:
        console.print(f"valid: objective {report.objective:.10g}", highlight=False)
        return
    for violation in report.violations:
        console.print(f"[red]violation:[/] {violation}", highlight=False)
    raise typer.Exit(1)


# -- benchmarks ---------------------------------------------------------------------------------
@app.command()
def bench(
    instances: Annotated[list[Path], typer.Argument(help="Instance files.")],
    problem: Annotated[str, typer.Option(help="mtrce, tfam or qirce.")] = "mtrce",
    solvers: Annotated[str, typer.Option(help="Comma-separated solver names.")] = "greedy,ils",
    time_limit: Annotated[float, typer.Option(help="Seconds per run.")] = 10.0,
    seeds: Annotated[str, typer.Option(help="Comma-separated seeds.")] = "0",
    threads: Annotated[int, typer.Option(help="Threads per run.")] = 1,
    workers: Annotated[int, typer.Option(help="Local runs at a time.")] = 1,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (tcp://host:8786).")
    ] = None,
    db: Annotated[Path, typer.Option(help="SQLite results store.")] = Path("results.sqlite"),
    request: Annotated[str | None, typer.Option(help="Request id (default: the first).")] = None,
) -> None:
    """Run every (instance, solver, seed), check each solution, store one row per run."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from .bench.store import ResultsStore
    from .bench.sweep import plan_tasks, run_sweep

    names = [s.strip() for s in solvers.split(",") if s.strip()]
    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise InputError("--seeds", seeds, "expected comma-separated integers") from None
    tasks = plan_tasks(instances, problem, names, seed_list, time_limit, threads, request)
    with ResultsStore(db) as store:
        done = store.done_keys()
        todo = sum(t.key not in done for t in tasks)
        violations = 0
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            bar = progress.add_task(f"{problem} sweep", total=todo)

            def on_row(row: dict) -> None:
                nonlocal violations
                violations += row.get("check_ok") == 0
                progress.update(bar, advance=1, description=f"{row['instance']} {row['solver']}")

            summary = run_sweep(tasks, store, workers=workers, scheduler=scheduler, on_row=on_row)
    console.print(
        f"{summary.planned} runs planned, {summary.skipped} already stored, {summary.ran} run "
        f"in {summary.wall:.1f} s; checker violations: {violations}; store: {db}"
    )


@app.command()
def report(
    db: Annotated[Path, typer.Option(help="SQLite results store.")] = Path("results.sqlite"),
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Folder for plots and CSV.")
    ] = None,
) -> None:
    """Summarise a results store per family and solver; write profiles, plots and CSV."""
    from .bench.report import export_csv, summarize, write_plots
    from .bench.store import ResultsStore

    if not db.exists():
        raise InputError("--db", str(db), "no such results store")
    with ResultsStore(db) as store:
        rows = store.rows()
    if not rows:
        raise InputError("--db", str(db), "holds no runs")
    families: dict[str, list[dict]] = {}
    for entry in summarize(rows):
        families.setdefault(entry["family"], []).append(entry)
    for family, entries in families.items():
        table = Table(title=f"{family}")
        for col in ("solver", "runs", "optimal", "feasible", "failed", "violations"):
            table.add_column(col, justify="right" if col != "solver" else "left")
        for col in ("mean gap %", "max gap %", "sgm time s"):
            table.add_column(col, justify="right")
        for e in entries:
            table.add_row(
                e["solver"],
                str(e["runs"]),
                str(e["optimal"]),
                str(e["feasible"]),
                str(e["failed"]),
                str(e["check_violations"]),
                f"{100 * e['mean_gap']:.3f}",
                f"{100 * e['max_gap']:.3f}",
                f"{e['sgm_time']:.3f}",
            )
        console.print(table)
    out = output or db.with_suffix("")
    plots = write_plots(rows, out)
    csv_path = export_csv(rows, out / "runs.csv")
    console.print(f"wrote {', '.join(str(p) for p in [*plots, csv_path])}")


@app.command("feasible")
def feasible_cmd(
    file: Annotated[Path, typer.Argument(help="Instance file.")],
    request: Annotated[str | None, typer.Option(help="Request id (default: the first).")] = None,
    exact_seconds: Annotated[
        float, typer.Option(help="Seconds the exact MTRCE solver may spend on a proof (0: skip).")
    ] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """T-FAM: can one request reach its target by its deadline within budget? Exit 0 if so, 1 if not."""
    from .tfam.feasibility import feasibility

    report = feasibility(load_instance(file), request, exact_seconds=exact_seconds)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict()) + "\n")
    else:
        for line in report.lines():
            console.print(line, highlight=False, markup=False, soft_wrap=True)
    if not report.feasible:
        raise typer.Exit(1)


# -- executor -----------------------------------------------------------------------------------
@app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="Instance file.")],
    solution: Annotated[
        Path, typer.Argument(help="Solution JSON as `solve --json` prints it (or a bare solution).")
    ],
    mode: Annotated[str, typer.Option(help="sequential, federated or serving.")] = "sequential",
    events: Annotated[
        Path | None, typer.Option(help="Events JSON (node_down, link_cut, data_added, ...).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of data split, weights and batch order.")] = 0,
    policy: Annotated[str, typer.Option(help="static, replan or aats (sequential).")] = "static",
    model: Annotated[str, typer.Option(help="auto, logreg, mlp or cnn.")] = "auto",
    threads: Annotated[int, typer.Option(help="Torch intra-op threads.")] = 1,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Folder for the JSON and CSV outcome.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Replay a solution as real PyTorch training (or serving) on a simulated clock."""
    from .executor.dynamics import EventTimeline
    from .executor.replay import replay_document
    from .io import read_json

    inst = load_instance(file)
    timeline = EventTimeline.load(events, inst.snapshot) if events else None
    outcome = replay_document(
        inst,
        read_json(solution),
        mode=mode,
        events=timeline,
        seed=seed,
        policy=policy,
        model=model,
        threads=threads,
    )
    if as_json:
        sys.stdout.write(json.dumps(outcome.to_dict(), indent=2) + "\n")
    elif mode == "serving":
        table = Table(title=f"Serving replay ({outcome.horizon:g} s of queries)")
        cols = ("model", "queries", "p50 ms", "p95 ms", "p99 ms", "SLO violations", "refused q/s")
        for col in cols:
            table.add_column(col, justify="right" if col != "model" else "left")
        for m in outcome.models:
            table.add_row(
                m.model,
                str(m.queries),
                *("-" if v != v else f"{v:.1f}" for v in (m.p50_ms, m.p95_ms, m.p99_ms)),
                f"{100 * m.violation_rate:.1f}%" if m.queries else "-",
                f"{m.refused_rate:.3g}",
            )
        console.print(table)
        for note in outcome.notes:
            console.print(f"note: {note}", highlight=False)
    else:
        table = Table(title=f"{mode} replay ({outcome.policy}, seed {seed})")
        for col in ("time s", "node", "action", "loss", "accuracy", "bytes", "utility", "note"):
            table.add_column(col, justify="left" if col in ("node", "action", "note") else "right")
        for s in outcome.trace:
            table.add_row(
                f"{s.time:.2f}",
                s.node,
                s.action,
                "" if s.loss != s.loss else f"{s.loss:.4f}",
                "" if s.accuracy != s.accuracy else f"{s.accuracy:.4f}",
                str(s.bytes),
                f"{s.utility:.4g}",
                s.note,
            )
        console.print(table)
        sm = outcome.summary
        ttt = "never" if sm.time_to_target is None else f"{sm.time_to_target:.2f} s"
        console.print(
            f"final accuracy {sm.final_accuracy:.4f}; time to {sm.target_accuracy:g}: {ttt}; "
            f"bytes moved {sm.bytes_moved}; utility {sm.utility_collected:.4g} "
            f"(planned {sm.planned_utility:.4g}); finish {sm.finish_time:.2f} s; deadline "
            f"{'met' if sm.deadline_met else 'MISSED'}; wall {sm.wall_time:.2f} s",
            highlight=False,
        )
        for note in outcome.notes:
            console.print(f"note: {note}", highlight=False)
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        path = output / f"replay-{mode}.json"
        path.write_text(json.dumps(outcome.to_dict(), indent=2) + "\n", encoding="utf-8")
        if mode != "serving":
            (output / f"replay-{mode}.csv").write_text(outcome.to_csv(), encoding="utf-8")
        console.print(f"wrote {path}", highlight=False)


@app.command()
def demo(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Folder for plots and outcomes.")
    ] = Path("daitn-demo"),
    instance: Annotated[
        Path | None, typer.Option(help="Instance file (default: instances/healthcare-small.json).")
    ] = None,
    request: Annotated[str | None, typer.Option(help="Sequential request to route.")] = None,
    seeds: Annotated[int, typer.Option(help="Replay seeds per plan.")] = 5,
    time_limit: Annotated[float, typer.Option(help="Seconds per solver call.")] = 20.0,
) -> None:
    """Solve, admit, place, then replay every decision as real training: the main job."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from .demo import format_gap, run_demo

    def show(value: float | None, fmt: str) -> str:
        return "-" if value is None or value != value else format(value, fmt)

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=9)
        steps = {"n": 0}

        def progress(event: str, data: dict) -> None:
            if event == "stage":
                bar.update(task, completed=data["index"], description=data["detail"])
            elif event == "step":
                steps["n"] += 1
                step = data["step"]
                bar.update(task, description=f"{data.get('label')}: {step.action} at {step.node}")
            elif event == "done":
                bar.update(task, completed=9)

        report = run_demo(
            instance,
            output,
            request_id=request,
            seeds=seeds,
            time_limit=time_limit,
            progress=progress,
        )
    console.print(
        f"[bold]{report.instance}[/], request {report.request} (deadline {report.deadline} s); "
        f"accuracy: mean over seeds {report.seeds[0]}-{report.seeds[-1]}",
        highlight=False,
    )
    for note in report.notes:
        console.print(f"  {note}", highlight=False)
    table = Table(title="MTRCE plans replayed as real training")
    cols = (
        "plan",
        "util",
        "gap",
        "solve s",
        "acc",
        f"t→{report.target_accuracy:g}",
        "bytes",
        "end s",
        "deadline",
    )
    for col in cols:
        table.add_column(col, justify="left" if col == "plan" else "right")
    for row in report.plans:
        reached = f" {row.reached_target}/{len(report.seeds)}" if row.reached_target else ""
        table.add_row(
            row.plan
            if row.status == "optimal" or (row.status == "feasible" and "exact" not in row.plan)
            else f"{row.plan} ({row.status})",
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
        console.print(
            f"  {row.plan}: {' > '.join(row.route) if row.route else row.note}", highlight=False
        )
    if report.dynamics:
        dyn = Table(
            title=f"{report.dynamics[0]['failed']} fails at t="
            f"{report.dynamics[0]['at']:.1f} s on the exact route"
        )
        for col in ("policy", "utility", "of planned", "accuracy", "deadline", "visited"):
            dyn.add_column(col, justify="left" if col in ("policy", "visited") else "right")
        for d in report.dynamics:
            dyn.add_row(
                d["policy"],
                f"{d['utility']:.4g}",
                f"{d['planned_utility']:.4g}",
                show(d["final_accuracy"], ".3f"),
                "met" if d["deadline_met"] else "MISSED",
                ">".join(d["visited"]),
            )
        console.print(dyn)
        for d in report.dynamics:
            for note in d["notes"]:
                if "lost" in note or "re-planned" in note:
                    console.print(f"  {d['policy']}: {note}", highlight=False)
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
    if report.serving:
        st = Table(title="Serving replay (60 s of Poisson queries)")
        for col in ("placement", "queries", "p99 ms", "SLO violations", "overloaded"):
            st.add_column(col, justify="left" if col in ("placement", "overloaded") else "right")
        for s in report.serving:
            st.add_row(
                s["label"],
                str(s["queries"]),
                show(s["p99_ms"], ".1f"),
                "-" if s["violation_rate"] is None else f"{100 * s['violation_rate']:.1f}%",
                "; ".join(n.split(":")[0] for n in s["notes"]) or "-",
            )
        console.print(st)
    for item in report.missing:
        console.print(f"[yellow]missing:[/] {item}", highlight=False)
    console.print(
        f"wrote {len(report.files)} files to {output} in {report.wall_time:.1f} s: "
        + ", ".join(Path(f).name for f in report.files),
        highlight=False,
    )


def main() -> None:
    """Entry point of the console script: input errors exit with code 2 and one line."""
    try:
        app()
    except InputError as exc:
        _fail(str(exc), 2)
    except UnsupportedError as exc:
        _fail(str(exc), 2)
    except DaitnError as exc:
        _fail(str(exc), 1)


if __name__ == "__main__":
    main()
