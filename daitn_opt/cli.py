"""The ``daitn-opt`` command line: a thin layer over the public API.

Conventions, the same in every command:

- bad input (a file, a field, an option) prints one line naming the field and the value and exits
  with code 2, never a traceback; a run that fails (solver error, checker violation, failed sweep
  runs) exits with code 1;
- ``-o/--output`` is always a *file* and ``--out-dir`` always a *folder*; every output path is
  checked before the work starts, and an output that would overwrite an input is refused;
- ``--seeds`` is always a list of seeds (``0,1,2`` or ``0-4``), ``--seed`` one seed in
  ``0..2**31-1``;
- tables are never cut to 80 columns when the output is not a terminal.

Heavy modules (numpy, scipy, pydantic models, solvers, torch, matplotlib, distributed) are imported
inside the commands that use them, so that ``daitn-opt --help`` starts fast. Nothing below this
module prints.

The commands here read their options and call the library; what they show is drawn by
:mod:`daitn_opt.cli_render` and :mod:`daitn_opt.cli_reports`, their inputs are read by
:mod:`daitn_opt.cli_inputs`, and the error rule is kept by :class:`daitn_opt.cli_console.Group`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import typer

from .cli_console import Group, console, err_console
from .cli_inputs import (
    SEED_MAX,
    kind_metavar,
    load_instance,
    load_result,
    max_nodes_of,
    out_dir_of,
    parse_seeds,
    problem_kind,
    seconds,
    solution_document,
    solver_params,
    time_limit_of,
)
from .errors import InputError

ReplayMode = Literal["sequential", "federated", "serving"]
ReplayPolicy = Literal["static", "replan", "aats"]
ReplayModel = Literal["auto", "logreg", "mlp", "cnn"]
Family = Literal["healthcare", "random-geometric", "rgg"]
ClassicFormat = Literal["tsplib", "op", "oplib", "top", "optw", "gap", "mknap"]
Sense = Literal["min", "max"]
RouteObjective = Literal[
    "max_utility", "min_time", "max_coverage", "max_recency_coverage", "min_time_to_target"
]
"""Choices shown in help; tests/test_cli_reliability.py checks them against the library's lists.
Problem kinds are not among them: ``--problem`` takes any registered kind (:mod:`daitn_opt.kinds`)."""

DEFAULT_SOLVERS = "mtrce: ils (coverage objectives: coverage-ils), tfam: ls, qirce: ls"
"""Help text only (--help imports no problem package); an added kind names its own default
(``DEFAULT_SOLVER`` in its package), shown by ``daitn-opt solvers``."""


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("daitn-opt")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            text = "unknown"
        sys.stdout.write(f"daitn-opt {text}\n")
        raise typer.Exit(0)


app = typer.Typer(
    cls=Group,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Optimization and research toolkit for DA-ITN: MTRCE, T-FAM, QIRCE.",
)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Optimization and research toolkit for DA-ITN: MTRCE, T-FAM, QIRCE.

    Bad input exits with code 2 and one line; a failed run with code 1. -o/--output is always a
    file, --out-dir a folder.
    """


Seed = Annotated[
    int, typer.Option(min=0, max=SEED_MAX, help="Seed of every random choice (0..2**31-1).")
]
Threads = Annotated[int, typer.Option(min=1, max=1024, help="Solver threads / workers.")]
TimeLimit = Annotated[
    float, typer.Option(callback=time_limit_of, help="Seconds (positive, finite).")
]
MaxNodes = Annotated[
    int | None,
    typer.Option(
        callback=max_nodes_of,
        help="Cap the view at this many nodes (those nearest the way from start to end); "
        "needed when a snapshot is too large for an uncapped view.",
    ),
]
Problem = Annotated[
    str, typer.Option(parser=problem_kind, metavar=kind_metavar(), help="Problem kind.")
]
Params = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        help="Solver parameter KEY=VALUE, repeatable (`daitn-opt solvers --params` lists them).",
    ),
]
OutDirAlias = Annotated[
    Path | None,
    typer.Option("-o", "--output", hidden=True, help="Deprecated alias of --out-dir."),
]


# -- instances ----------------------------------------------------------------------------------
@app.command()
def schema(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to a file.")] = None,
) -> None:
    """Print the JSON Schema of instance files."""
    from .drrt.instance import instance_schema
    from .io import check_output_file, write_text

    if output:
        check_output_file(output)
    text = json.dumps(instance_schema(), indent=2)
    if output:
        write_text(output, text + "\n")
    else:
        sys.stdout.write(text + "\n")


@app.command()
def info(file: Annotated[Path, typer.Argument(help="Instance file.")]) -> None:
    """Summarise an instance: nodes by kind, data by modality, connectivity, requests."""
    import networkx as nx

    from .cli_render import render_info

    inst = load_instance(file)
    snap = inst.snapshot
    # Weak connectivity over up links; a node without an up link is a component of its own.
    up = nx.Graph()
    up.add_nodes_from(n.id for n in snap.nodes)
    up.add_edges_from((lk.source, lk.target) for lk in snap.links if lk.up)
    render_info(inst, nx.number_connected_components(up))


@app.command("view")
def view_cmd(
    file: Annotated[Path, typer.Argument(help="Instance file.")],
    request: Annotated[str | None, typer.Option(help="Request id (default: the first).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the arrays as JSON.")] = False,
    max_nodes: MaxNodes = None,
) -> None:
    """Build and show the MS-DRRT view of one request."""
    from .cli_render import render_view, view_document
    from .drrt.view import view

    v = view(load_instance(file), request, max_nodes=max_nodes)
    if as_json:
        sys.stdout.write(json.dumps(view_document(v)) + "\n")
    else:
        render_view(v)


@app.command()
def generate(
    family: Annotated[Family, typer.Argument(help="Instance family (rgg: random-geometric).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Instance file to write.")],
    nodes: Annotated[
        int, typer.Option(min=1, max=100_000, help="Number of nodes (data nodes for healthcare).")
    ] = 12,
    seed: Seed = 0,
    requests: Annotated[
        int, typer.Option(min=0, max=10_000, help="Number of training requests.")
    ] = 1,
    opt: Annotated[
        list[str] | None,
        typer.Option("--opt", help="Family option KEY=VALUE, repeatable (e.g. replayable=false)."),
    ] = None,
) -> None:
    """Generate a seeded instance of a family."""
    from .drrt.generators import generate as gen
    from .drrt.instance import dump_instance
    from .io import check_output_file, write_text

    check_output_file(output)
    opts: dict[str, object] = {}
    for item in opt or []:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise InputError("--opt", item, "expected KEY=VALUE")
        try:
            opts[key] = json.loads(text)  # numbers, true/false, null
        except (json.JSONDecodeError, RecursionError):
            opts[key] = text
    inst = gen(family, nodes=nodes, seed=seed, requests=requests, **opts)
    write_text(output, dump_instance(inst))
    console.print(
        f"wrote {output}: {inst.snapshot.num_nodes} nodes, {inst.snapshot.num_links} links",
        highlight=False,
        markup=False,
    )


@app.command(
    help="Convert a classic benchmark file into an instance file; FORMAT: "
    f"<{'|'.join(get_args(ClassicFormat))}>."
)
def convert(
    fmt: Annotated[ClassicFormat, typer.Argument(metavar="FORMAT", help="Classic format.")],
    source: Annotated[Path, typer.Argument(help="Benchmark file.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Instance file to write.")],
    sense: Annotated[
        Sense | None, typer.Option(help="gap only: min (gapa-gapd) or max (gap1-gap12).")
    ] = None,
    index: Annotated[
        int,
        typer.Option(
            min=1, max=1_000_000, help="gap/mknap: which instance of a multi-instance file."
        ),
    ] = 1,
) -> None:
    """Convert a classic benchmark file into an instance file (the help adds the formats)."""
    from .drrt.converters import convert as conv
    from .drrt.instance import dump_instance
    from .io import check_output_file, write_text

    check_output_file(output, inputs=[source])
    inst = conv(fmt, source, sense=sense, index=index)
    write_text(output, dump_instance(inst))
    console.print(f"wrote {output}: {inst.name}", highlight=False, markup=False)


# -- solving ------------------------------------------------------------------------------------
@app.command()
def solvers(
    problem: Annotated[
        str | None,
        typer.Option(parser=problem_kind, metavar=kind_metavar(), help="Only this problem."),
    ] = None,
    solver: Annotated[
        str | None, typer.Option(help="Only this solver, with its parameters.")
    ] = None,
    params: Annotated[
        bool, typer.Option("--params", help="Show each solver's parameters (type, default).")
    ] = False,
) -> None:
    """List the registered solvers per problem (the default one marked) and their parameters."""
    from .cli_render import render_solver, render_solvers
    from .problems import default_solver
    from .registry import solvers as registered

    def default_of(kind: str) -> str | None:
        try:
            return default_solver(kind)
        except InputError:  # a kind that names no default
            return None

    found = registered(problem)
    if solver is None:
        render_solvers(found, default_of, params)
        return
    named = [specs[solver] for _, specs in sorted(found.items()) if solver in specs]
    if not named:
        known = sorted({n for specs in found.values() for n in specs})
        raise InputError("--solver", solver, f"is not registered; registered: {known}")
    for spec in named:
        render_solver(spec, default_of(spec.problem) == spec.name)


@app.command("solve")
def solve_cmd(
    file: Annotated[Path, typer.Argument(help="Instance file.")],
    problem: Problem = "mtrce",
    solver: Annotated[
        str | None,
        typer.Option(help=f"Registered solver (see `solvers`); default {DEFAULT_SOLVERS}."),
    ] = None,
    time_limit: TimeLimit = 10.0,
    seed: Seed = 0,
    threads: Threads = 1,
    param: Params = None,
    request: Annotated[str | None, typer.Option(help="Request id (default: the first).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the result JSON to this file.")
    ] = None,
    max_nodes: MaxNodes = None,
) -> None:
    """Solve one problem of an instance and print the result (exit 1 when the solver failed).

    --time-limit covers the whole command: reading the file, the view, T-FAM's plan generation
    and the solve.
    """
    from .cli_render import render_result
    from .io import check_output_file, write_text
    from .params import parse_params
    from .problems import default_solver, problem_from_instance
    from .registry import get_solver, solve

    started = time.perf_counter()
    params = solver_params(param)
    if output:
        check_output_file(output, inputs=[file])
    if solver is not None:  # an unknown solver or parameter fails before the instance is read
        spec = get_solver(problem, solver)
        if spec.params is not None:
            parse_params(spec.params, params, solver=solver)
    inst = load_instance(file)
    # The limit covers the whole command: reading, the view and (T-FAM) plan generation count
    # against it; plan generation may use half of what is left, the solver gets the rest.
    left = time_limit - (time.perf_counter() - started)
    prob = problem_from_instance(
        problem, inst, request, time_limit=max(left / 2, 0.05), max_nodes=max_nodes
    )
    solver = solver or default_solver(problem, prob)
    setup = time.perf_counter() - started
    # A setup that used up the limit still leaves the solver a sliver, so that the exact solvers
    # can return their warm start rather than nothing.
    budget = max(time_limit - setup, min(0.1 * time_limit, 1.0))
    result = solve(prob, solver, time_limit=budget, seed=seed, threads=threads, **params)
    result.time_limit = time_limit
    result.stats["setup_seconds"] = round(setup, 3)
    result.instance = inst.name
    result.request = getattr(prob, "request_id", None) or request
    text = result.to_json()
    if output:
        write_text(output, text + "\n")
    if as_json:
        sys.stdout.write(text + "\n")
    else:
        render_result(result, inst)
    if result.status.value == "error":
        raise typer.Exit(1)


@app.command("check")
def check_cmd(
    file: Annotated[Path, typer.Argument(help="Instance file.")],
    solution: Annotated[Path, typer.Argument(help="Result JSON as `solve --json` prints it.")],
) -> None:
    """Check a solution independently: exit 0 when valid, 1 listing each violation."""
    from .cli_render import render_check
    from .problems import check_result, excluded_nodes, problem_from_instance

    inst = load_instance(file)
    result = load_result(solution)
    if result.instance is not None and result.instance != inst.name:
        raise InputError("solution.instance", result.instance, f"does not match {inst.name!r}")
    prob = problem_from_instance(result.problem, inst, result.request)
    excluded = excluded_nodes(result.problem, inst, result.request)
    report = check_result(prob, result, excluded)
    render_check(report, result)
    if not report.ok:
        raise typer.Exit(1)


# -- benchmarks ---------------------------------------------------------------------------------
def _open_store(db: Path, readonly: bool = False) -> Any:
    from .bench.store import ResultsStore

    return ResultsStore(db, readonly=readonly)


@app.command()
def bench(
    instances: Annotated[list[Path], typer.Argument(help="Instance files.")],
    problem: Problem = "mtrce",
    solvers: Annotated[
        str | None,
        typer.Option(help=f"Comma-separated solver names; default {DEFAULT_SOLVERS}."),
    ] = None,
    time_limit: Annotated[
        float, typer.Option(callback=time_limit_of, help="Seconds per run (positive, finite).")
    ] = 10.0,
    seeds: Annotated[
        str, typer.Option(help="Seeds: comma-separated and ranges, e.g. 0,1 or 0-4.")
    ] = "0",
    threads: Threads = 1,
    workers: Annotated[int, typer.Option(min=1, max=1024, help="Local runs at a time.")] = 1,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (tcp://host:8786).")
    ] = None,
    db: Annotated[Path, typer.Option(help="SQLite results store (created if missing).")] = Path(
        "results.sqlite"
    ),
    request: Annotated[str | None, typer.Option(help="Request id (default: the first).")] = None,
    param: Params = None,
) -> None:
    """Run every (instance, solver, seed), check each solution, store one row per run.

    Exit 0 when every run finished and passed the checker, 1 when a run failed (error, timeout)
    or a solution violated a constraint, 2 on bad input (an unreadable instance, a bad store).
    """
    from .bench.sweep import plan_tasks, run_sweep
    from .io import check_output_file
    from .problems import default_solver

    names = [s.strip() for s in (solvers or default_solver(problem)).split(",") if s.strip()]
    seed_list = parse_seeds(seeds)
    params = solver_params(param)
    check_output_file(db, "--db", inputs=instances)
    for path in instances:  # every input is read before any run starts
        load_instance(path)
    tasks = plan_tasks(
        instances, problem, names, seed_list, time_limit, threads, request, params=params
    )
    with _open_store(db) as store:
        from .cli_render import SweepTally, render_sweep, sweep_progress

        done = store.done_keys()
        tally = SweepTally()
        todo = sum(t.key not in done for t in tasks)
        with sweep_progress(f"{problem} sweep", todo, tally) as on_row:
            summary = run_sweep(tasks, store, workers=workers, scheduler=scheduler, on_row=on_row)
    render_sweep(summary, tally, db)
    if not tally.ok:
        raise typer.Exit(1)


@app.command()
def report(
    db: Annotated[Path, typer.Option(help="SQLite results store (opened read-only).")] = Path(
        "results.sqlite"
    ),
    out_dir: Annotated[
        Path | None,
        typer.Option("--out-dir", help="Folder for plots and CSV (default: the store's name)."),
    ] = None,
    output: OutDirAlias = None,
    html: Annotated[
        Path | None,
        typer.Option(help="Also write the store's self-contained HTML report to this file."),
    ] = None,
) -> None:
    """Summarise a results store per family and solver; write profiles, plots and CSV."""
    from .io import check_output_dir, check_output_file, make_dir

    if html is not None:
        check_output_file(html, "--html", inputs=[db])
    if not db.is_file():
        reason = "is a directory, not a results store" if db.is_dir() else "no such results store"
        raise InputError("--db", str(db), reason)
    with _open_store(db, readonly=True) as store:
        rows = store.rows()
    if not rows:
        raise InputError("--db", str(db), "holds no runs")
    default = db.with_suffix("") if db.suffix else db.with_name(db.name + "-report")
    out = out_dir_of(out_dir, output, default)
    check_output_dir(out)
    from .bench.report import export_csv, summarize, write_plots
    from .cli_render import render_report

    render_report(summarize(rows))
    make_dir(out)
    try:
        plots = write_plots(rows, out)
        csv_path = export_csv(rows, out / "runs.csv")
    except OSError as exc:  # a full disk after the checks
        reason = exc.strerror or exc.__class__.__name__
        raise InputError("--out-dir", str(out), f"cannot be written: {reason}") from None
    if html is not None:
        from .pages.commands import report_html

        plots.append(report_html(db, html))
    console.print(
        f"wrote {', '.join(str(p) for p in [*plots, csv_path])}", highlight=False, markup=False
    )


@app.command("feasible")
def feasible_cmd(
    file: Annotated[Path, typer.Argument(help="Instance file.")],
    request: Annotated[str | None, typer.Option(help="Request id (default: the first).")] = None,
    exact_seconds: Annotated[
        float,
        typer.Option(
            min=0, max=1e7, help="Seconds the exact MTRCE solver may spend on a proof (0: skip)."
        ),
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
@app.command("oam")
def oam_cmd(
    file: Annotated[Path, typer.Argument(help="Instance file (what the nodes report).")],
    request: Annotated[str | None, typer.Option(help="Request id (default: the first).")] = None,
    rounds: Annotated[int, typer.Option(min=1, max=1000, help="Plan-replay-update rounds.")] = 3,
    solver: Annotated[
        str | None,
        typer.Option(help="MTRCE solver; default greedy (coverage objectives: coverage-greedy)."),
    ] = None,
    objective: Annotated[
        RouteObjective | None, typer.Option(help="Route objective (default: the request's).")
    ] = None,
    seed: Seed = 0,
    time_limit: TimeLimit = 10.0,
    estimates: Annotated[
        Path | None, typer.Option(help="Start from these estimates (JSON from --save-estimates).")
    ] = None,
    save_estimates: Annotated[
        Path | None, typer.Option(help="Write the final estimates (JSON) to this file.")
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(help="Instance file whose snapshot holds what the data is really worth."),
    ] = None,
    misreport: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1e3,
            help="Simulate over-reporting nodes (each lies with probability scale x (1 - trust)).",
        ),
    ] = None,
    setting: Annotated[
        OAMLies,
        typer.Option(
            help="What a lie is, with the rules it needs: noise (an over-reported quality is "
            "label noise; Gaussian update) or poison (label-flipping poisoners: honest-or-liar "
            "update, quality measured on the clean label mix, --aligned plans skip nodes "
            "believed at or below chance). Applies to --misreport and to new estimates.",
        ),
    ] = "noise",
    drop_below: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Plan without nodes whose estimated quality is lower."),
    ] = None,
    aligned: Annotated[
        bool,
        typer.Option(
            "--aligned",
            help="Plan each round for time to target on the outcome model fitted to pilot "
            "replays (seeds 100-104), with the estimates in it.",
        ),
    ] = False,
    target: Annotated[
        float, typer.Option(min=0.01, max=1.0, help="Target accuracy (time to target).")
    ] = 0.9,
    as_json: Annotated[bool, typer.Option("--json", help="Print every round as JSON.")] = False,
) -> None:
    """OAM feedback: plan, replay, measure each hop, update the utility estimates, for N rounds.

    The planner sees the reported snapshot; the replay trains on the truth (--truth, or a seeded
    copy in which some nodes over-report with --misreport, else the reports themselves).
    """
    from .io import check_output_file
    from .mtrce.problem import COVERAGE_OBJECTIVES, EXPECTED_TIME
    from .oam import UtilityEstimates, run_oam
    from .oam.truth import SETTINGS

    lies = SETTINGS[setting]

    if save_estimates:
        check_output_file(save_estimates, inputs=[file], option="--save-estimates")
    if truth is not None and misreport is not None:
        raise InputError("--misreport", misreport, "give either --truth or --misreport")
    inst = load_instance(file)
    req = inst.request(request)
    goal = objective or req.objective
    chosen = solver
    if goal == EXPECTED_TIME:
        solver = solver or "anytime-ils"  # the only heuristic that models the expectation
    solver = solver or ("coverage-greedy" if goal in COVERAGE_OBJECTIVES else "greedy")
    if estimates:
        start = UtilityEstimates.load(estimates)
    else:
        start = UtilityEstimates(rule=lies.get("rule", "gaussian"))
    real = _oam_truth(inst, req, truth, misreport, seed, lies.get("kinds", ("quality", "samples")))
    planner = None
    if aligned:
        from .oam import fitted_planner

        planner = fitted_planner(
            inst,
            req.id,
            target_accuracy=target,
            solver=chosen or "anytime-ils",
            time_limit=time_limit,
            exclude_harmful=lies.get("exclude_harmful", False),
        )
    result = run_oam(
        inst,
        req.id,
        rounds,
        solver,
        seed,
        objective=objective,
        truth=real,
        estimates=start,
        time_limit=time_limit,
        drop_below=drop_below,
        target_accuracy=target,
        planner=planner,
        label_mix=lies.get("label_mix", "observed"),
    )
    if save_estimates:
        result.estimates.save(save_estimates)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict()) + "\n")
        return
    from .cli_render import render_oam

    plan = "time to target on the fitted model" if aligned else f"{solver} on {result.objective}"
    render_oam(result, f"OAM: {inst.name} / {req.id}, {plan}")


def _oam_truth(
    inst: Any,
    req: Any,
    truth: Path | None,
    misreport: float | None,
    seed: int,
    kinds: tuple[str, ...] = ("quality", "samples"),
) -> Any:
    """The snapshot ``oam`` replays on: ``--truth``'s, a seeded misreporting copy (lies of
    ``kinds``), or None (the reports themselves)."""
    from .oam import misreport as make_truth

    if truth is not None:
        return load_instance(truth).snapshot
    if misreport is None:
        return None
    real, lies = make_truth(inst.snapshot, req.task, seed, scale=misreport, kinds=kinds)
    err_console.print(f"{len(lies)} node(s) misreport (seed {seed})", highlight=False)
    return real


@app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="Instance file.")],
    solution: Annotated[
        Path, typer.Argument(help="Solution JSON as `solve --json` prints it (or a bare solution).")
    ],
    mode: Annotated[ReplayMode, typer.Option(help="What to replay.")] = "sequential",
    events: Annotated[
        Path | None, typer.Option(help="Events JSON (node_down, link_cut, data_added, ...).")
    ] = None,
    seed: Seed = 0,
    policy: Annotated[
        ReplayPolicy, typer.Option(help="Reaction to events (sequential).")
    ] = "static",
    model: Annotated[ReplayModel, typer.Option(help="Model trained (auto: by the data).")] = "auto",
    threads: Annotated[int, typer.Option(min=1, max=1024, help="Torch intra-op threads.")] = 1,
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", help="Folder for the JSON and CSV outcome.")
    ] = None,
    output: OutDirAlias = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Replay a solution as real PyTorch training (or serving) on a simulated clock."""
    from .io import check_output_dir, read_json

    out = out_dir_of(out_dir, output)
    if out is not None:
        check_output_dir(out)
    inst = load_instance(file)
    doc = solution_document(read_json(solution), str(solution))
    from .executor.dynamics import EventTimeline
    from .executor.replay import replay_document

    timeline = EventTimeline.load(events, inst.snapshot) if events else None
    outcome = replay_document(
        inst,
        doc,
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
        from .cli_render import render_serving

        render_serving(outcome)
    else:
        from .cli_render import render_training

        render_training(outcome, mode, seed)
    if out is not None:
        _write_outcome(outcome, out, mode)


@app.command()
def concurrent(
    file: Annotated[Path, typer.Argument(help="Instance file.")],
    solution: Annotated[
        Path, typer.Argument(help="T-FAM result (`solve --problem tfam --json`) with its plans.")
    ],
    mpvus: Annotated[int, typer.Option(min=1, max=1000, help="Verification servers.")] = 1,
    seed: Seed = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Replay every admitted plan of a T-FAM decision at once on one clock (shared training
    slots and MPVU queues; timing only): who waits, who misses, how long the queues grow."""
    from .executor.concurrent import replay_concurrent
    from .io import read_json
    from .problems import validate_solution

    inst = load_instance(file)
    doc = solution_document(read_json(solution), str(solution))
    sol = doc.get("solution", doc) if isinstance(doc, dict) else doc
    validate_solution("tfam", sol)
    if not sol.get("plans"):
        raise InputError("solution.plans", None, "missing: solve the batch again with T-FAM")
    outcome = replay_concurrent(inst, sol["plans"], mpvus=mpvus, seed=seed)
    summary = outcome.summary()
    if as_json:
        sys.stdout.write(json.dumps({"summary": summary, "requests": outcome.rows()}, indent=2))
        sys.stdout.write("\n")
        return
    for key, value in summary.items():
        console.print(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")


def _write_outcome(outcome: Any, out: Path, mode: str) -> None:
    """``replay --out-dir``: the outcome as JSON (and the trace as CSV, but for serving)."""
    from .io import make_dir, write_text

    make_dir(out)
    path = out / f"replay-{mode}.json"
    write_text(path, json.dumps(outcome.to_dict(), indent=2) + "\n", "--out-dir")
    if mode != "serving":
        write_text(out / f"replay-{mode}.csv", outcome.to_csv(), "--out-dir")
    console.print(f"wrote {path}", highlight=False, markup=False)


@app.command()
def demo(
    out_dir: Annotated[
        Path | None,
        typer.Option("--out-dir", help="Folder for plots and outcomes [default: daitn-demo]."),
    ] = None,
    output: OutDirAlias = None,
    instance: Annotated[
        Path | None, typer.Option(help="Instance file (default: instances/healthcare-small.json).")
    ] = None,
    request: Annotated[str | None, typer.Option(help="Sequential request to route.")] = None,
    replays: Annotated[
        int | None,
        typer.Option(min=1, max=1000, help="Replay seeds per plan (seeds 0..N-1) [default: 5]."),
    ] = None,
    seeds_count: Annotated[
        int | None,
        typer.Option(
            "--seeds", min=1, max=1000, hidden=True, help="Deprecated alias of --replays."
        ),
    ] = None,
    time_limit: Annotated[
        float, typer.Option(callback=time_limit_of, help="Seconds per solver call.")
    ] = 20.0,
) -> None:
    """Solve, admit, place, then replay every decision as real training: the main job."""
    from .io import check_output_dir

    output = out_dir_of(out_dir, output, Path("daitn-demo"))
    check_output_dir(output)
    if instance is not None:
        load_instance(instance)
    from .cli_render import demo_progress, stage_progress
    from .cli_reports import render_demo
    from .demo import run_demo

    stages = 9
    with stage_progress(stages, transient=True) as (bar, task):
        report = run_demo(
            instance,
            output,
            request_id=request,
            seeds=replays or seeds_count or 5,
            time_limit=time_limit,
            progress=demo_progress(bar, task, stages),
        )
    render_demo(report, output)


PaperName = Literal["outcomes", "da-itn", "routing", "kas"]
OutcomesPart = Literal["evidence", "oam", "tag", "serving", "all"]
OAMSetting = Literal["noise", "poison", "all"]
OAMLies = Literal["noise", "poison"]
EXTERNAL_PAPERS = {"routing": "daitn_opt.papers.routing", "kas": "daitn_opt.papers.kas"}
"""Papers whose module exposes ``run_paper(out, quick=, seeds=, time_limit=) -> list[str]``
(the headline lines the command prints)."""


@app.command()
def paper(
    name: Annotated[
        PaperName,
        typer.Argument(
            help="Experiment: outcomes (issue 12), da-itn (issue 16), routing (issue 13) "
            "or kas (issue 15)."
        ),
    ],
    out_dir: Annotated[
        Path | None,
        typer.Option("--out-dir", help="Folder for tables and figures (default: papers/NAME)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Alias of --out-dir.")
    ] = None,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick", help="Two requests, 3 seeds, short solver limits (each part's quick run)."
        ),
    ] = False,
    replays: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=1000,
            help="Paired seeds 0..N-1 per plan (outcomes: every part; default: evidence 20, "
            "oam 20, tag 10, serving 10 arrival seeds; --quick: 3).",
        ),
    ] = None,
    seeds: Annotated[
        str | None, typer.Option(help="Seeds as a list (0,1,2 or 0-19); overrides --replays.")
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option(
            help="Seconds per solver call (outcomes: every part; default: evidence 20, oam 3, "
            "tag 6, serving 10 per HiGHS solve; --quick: 5, 2, 2, 3)."
        ),
    ] = None,
    pool: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=1000,
            help="Extra random routes per calibration pool (outcomes evidence; default: 6, "
            "--quick: 3).",
        ),
    ] = None,
    case: Annotated[
        list[str] | None,
        typer.Option(
            "--case",
            help="Run only this request (e.g. healthcare-small/r1); repeatable (outcomes "
            "evidence).",
        ),
    ] = None,
    part: Annotated[
        OutcomesPart,
        typer.Option(
            help="outcomes only: which part of issue 12's evidence to regenerate: evidence "
            "(routes vs baselines), oam (learned utilities), tag (epochs and paradigm), serving "
            "(congestion-aware QIRCE) or all.",
        ),
    ] = "all",
    oam_setting: Annotated[
        OAMSetting,
        typer.Option(
            help="outcomes oam only: the misreport setting: noise (a quality lie is label noise; "
            "page oam.md), poison (label-flipping poisoners; page oam-poison/) or all.",
        ),
    ] = "all",
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=1024, help="routing: bench worker processes (default 1)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="kas: run the Dask rows on this cluster (tcp://host:port)."),
    ] = None,
) -> None:
    """Regenerate a paper experiment's tables and figures (papers/NAME by default)."""
    from .io import check_output_dir

    out = out_dir_of(out_dir, output, Path("papers") / name)
    check_output_dir(out)
    seconds(time_limit)
    if name != "outcomes" and part != "all":
        raise InputError("--part", part, "only `paper outcomes` has parts")
    if oam_setting != "all" and (name != "outcomes" or part not in ("oam", "all")):
        raise InputError("--oam-setting", oam_setting, "only `paper outcomes`' oam part has it")
    if name == "da-itn":
        _paper_daitn(out, quick, replays, time_limit)
        return
    if name in EXTERNAL_PAPERS:
        extra = {"workers": workers, "scheduler": scheduler}
        _paper_external(
            name,
            out,
            quick,
            parse_seeds(seeds) if seeds else None,
            time_limit,
            {k: v for k, v in extra.items() if v is not None},
        )
        return
    seed_list = parse_seeds(seeds) if seeds else (list(range(replays)) if replays else None)
    args = {"quick": quick, "seeds": seed_list, "time_limit": time_limit}
    for one in OUTCOMES_PARTS if part == "all" else (part,):
        if part == "all":  # the headlines of four parts follow each other
            typer.echo(f"== paper outcomes --part {one} ==")
        if one == "evidence":
            _outcomes_evidence(out, **args, pool=pool, cases=case or None)
        elif one == "oam":
            for setting in OAM_SETTINGS if oam_setting == "all" else (oam_setting,):
                command = _outcomes_command(one, quick, seeds, replays, time_limit, setting)
                where = out if setting == "noise" else out / f"oam-{setting}"
                _outcomes_part(one, where, **args, command=command, oam_setting=setting)
        else:
            command = _outcomes_command(one, quick, seeds, replays, time_limit)
            _outcomes_part(one, out, **args, command=command)


OUTCOMES_PARTS = ("evidence", "oam", "tag", "serving")
"""The parts of ``paper outcomes`` (issue 12's evidence), in the order ``--part all`` runs them."""
OAM_SETTINGS = ("noise", "poison")
"""The misreport settings of the oam part (:data:`daitn_opt.oam.truth.SETTINGS`), in the order
``--oam-setting all`` runs them; ``noise`` writes into the output folder, the others into
``oam-<setting>/`` inside it."""


def _outcomes_command(
    part: str,
    quick: bool,
    seeds: str | None,
    replays: int | None,
    time_limit: float | None,
    oam_setting: str | None = None,
) -> str:
    """The command line of one part (named on the first line of its page)."""
    cmd = f"daitn-opt paper outcomes --part {part}" + (" --quick" if quick else "")
    if oam_setting is not None:
        cmd += f" --oam-setting {oam_setting}"
    if seeds:
        cmd += f" --seeds {seeds}"
    elif replays:
        cmd += f" --replays {replays}"
    return cmd + (f" --time-limit {time_limit:g}" if time_limit is not None else "")


def _outcomes_evidence(
    out: Path,
    *,
    quick: bool,
    seeds: list[int] | None,
    time_limit: float | None,
    pool: int | None,
    cases: list[str] | None,
) -> None:
    """``paper outcomes --part evidence``: the route evidence (routes vs practice baselines)."""
    from .cli_render import outcomes_progress, stage_progress
    from .cli_reports import render_outcomes
    from .papers.outcomes import Settings, run_outcomes

    settings = Settings(
        quick=quick,
        seeds=seeds or list(range(3 if quick else 20)),
        time_limit=time_limit if time_limit is not None else (5.0 if quick else 20.0),
        pool=pool if pool is not None else (3 if quick else 6),
        cases=cases,
    )
    with stage_progress(None, stderr=True) as (bar, task):
        report = run_outcomes(out, settings, outcomes_progress(bar, task))
    render_outcomes(report)


def _outcomes_part(
    part: str,
    out: Path,
    *,
    quick: bool,
    seeds: list[int] | None,
    time_limit: float | None,
    command: str,
    oam_setting: str = "noise",
) -> None:
    """``paper outcomes --part oam|tag|serving``: its quick or full settings (for oam, those of
    the misreport setting), then its headline."""
    import importlib
    from dataclasses import replace

    from .cli_render import stage_progress
    from .cli_reports import PART_RENDERERS, part_progress

    module = importlib.import_module(f"daitn_opt.papers.{part}")
    settings_class, run = {
        "oam": ("OAMSettings", "run_oam"),
        "tag": ("TagSettings", "run_tag"),
        "serving": ("ServingSettings", "run_serving"),
    }[part]
    cls = getattr(module, settings_class)
    if part == "oam":
        settings = cls.preset(oam_setting, quick)
    else:
        settings = cls.quick_run() if quick else cls()
    changes = {"seeds": None if seeds is None else tuple(seeds), "time_limit": time_limit}
    settings = replace(settings, **{k: v for k, v in changes.items() if v is not None})
    with stage_progress(None, stderr=True) as (bar, task):
        bar.update(task, description=part)
        report = getattr(module, run)(out, settings, part_progress(bar, task), command=command)
    PART_RENDERERS[part](report)


def _paper_daitn(out: Path, quick: bool, replays: int | None, time_limit: float | None) -> None:
    """``paper da-itn``: the DA-ITN paper's experiments (issue 16); prints each headline."""
    from .papers.daitn.common import Settings
    from .papers.daitn.run import run_daitn

    report = run_daitn(out, Settings.of(quick, seeds=replays, time_limit=time_limit))
    for section in report["sections"]:
        typer.echo(f"## {section.title} ({section.seconds:.0f} s)")
        for line in section.headline:
            typer.echo(f"- {line}")
    typer.echo(f"total {report['meta']['seconds']:.0f} s; files in {out}")


def _paper_external(
    name: str,
    out: Path,
    quick: bool,
    seeds: list[int] | None,
    time_limit: float | None,
    extra: dict[str, Any],
) -> None:
    """A paper whose module has ``run_paper``; prints the headline lines it returns.

    ``extra`` holds the options the user gave (``workers``, ``scheduler``); one the paper's
    ``run_paper`` does not take is an input error naming the option.
    """
    import importlib
    import inspect

    module = importlib.import_module(EXTERNAL_PAPERS[name])
    takes = inspect.signature(module.run_paper).parameters
    for key, value in extra.items():
        if key not in takes:
            raise InputError(f"--{key}", value, f"`paper {name}` does not take it")
    for line in module.run_paper(out, quick=quick, seeds=seeds, time_limit=time_limit, **extra):
        typer.echo(line)


# -- pages --------------------------------------------------------------------------------------
from .pages.commands import register as _register_pages  # noqa: E402  (imports nothing heavy)

_register_pages(app)  # explain: one self-contained HTML page per decision

# -- batches on Dask ----------------------------------------------------------------------------
from .kas.commands import register as _register_kas  # noqa: E402  (imports nothing heavy)

_register_kas(app)  # batch: every request of an instance on Dask, each result checked


def main() -> None:
    """Entry point of the console script (errors are handled by the command group)."""
    app(prog_name="daitn-opt")


if __name__ == "__main__":
    main()
