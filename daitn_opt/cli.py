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
"""

from __future__ import annotations

import errno
import json
import math
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from typer.core import TyperGroup

from .errors import DaitnError, InputError, UnsupportedError

ProblemKind = Literal["mtrce", "tfam", "qirce"]
ReplayMode = Literal["sequential", "federated", "serving"]
ReplayPolicy = Literal["static", "replan", "aats"]
ReplayModel = Literal["auto", "logreg", "mlp", "cnn"]
Family = Literal["healthcare", "random-geometric", "rgg"]
ClassicFormat = Literal["tsplib", "op", "top", "optw", "gap", "mknap"]
Sense = Literal["min", "max"]
RouteObjective = Literal[
    "max_utility", "min_time", "max_coverage", "max_recency_coverage", "min_time_to_target"
]
"""Choices shown in help; tests/test_cli_conventions.py checks them against the library's lists."""

SEED_MAX = 2**31 - 1
DEFAULT_SOLVERS = "mtrce: ils (coverage objectives: coverage-ils), tfam: ls, qirce: ls"


_OUTPUT_ERRNOS = {errno.EPIPE, errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG}
"""Errors of writing the output itself (stdout, stderr), as opposed to reading an input."""
_DETACHED: list[Any] = []


class _Group(TyperGroup):
    """The command group: every error the user caused becomes one line on stderr.

    Usage errors (unknown option, a value outside its range or choices), :class:`InputError` and
    :class:`UnsupportedError` exit with code 2; other :class:`DaitnError` with 1. Handled here, in
    the group's ``main``, so that the console script and an in-process ``CliRunner`` behave alike.
    """

    def main(self, args: Any = None, *rest: Any, standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(argv, *rest, standalone_mode=False, **extra)
        except typer.Exit as exc:
            code = exc.exit_code
        except typer._click.exceptions.NoArgsIsHelpError as exc:
            sys.stdout.write(exc.format_message() + "\n")
            code = 2
        except typer._click.exceptions.ClickException as exc:
            _fail(_usage_message(exc, argv), getattr(exc, "exit_code", 2))
        except typer.Abort:
            _fail("aborted", 1)
        except (InputError, UnsupportedError) as exc:
            _fail(str(exc), 2)
        except DaitnError as exc:
            _fail(str(exc), 1)
        except OSError as exc:
            if exc.errno not in _OUTPUT_ERRNOS:
                raise
            # The output went away (`| head`) or filled up (`> /dev/full`): say so once, on
            # stderr, and stop writing to stdout (the interpreter flushes it again at exit).
            _DETACHED.append(sys.stdout)  # kept alive: a test runner still reads its buffer
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
            if exc.errno == errno.EPIPE:
                raise SystemExit(1) from None
            _fail(f"output cannot be written: {exc.strerror}", 2)
        raise SystemExit(code if isinstance(code, int) else 0)


def _usage_message(exc: Exception, argv: list[str]) -> str:
    """One line for a usage error: ``--seed = '-1': reason`` when the option is known."""
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    param = getattr(exc, "param", None)
    opts = list(getattr(param, "opts", None) or [])
    if getattr(param, "param_type_name", None) == "argument" and getattr(exc, "message", None):
        # an argument is named as help shows it (FORMAT), not by its Python name (fmt)
        shown = str(getattr(param, "metavar", None) or getattr(param, "name", "") or "argument")
        reason = str(exc.message).removeprefix("Value error, ")
        return " ".join(f"{shown.split(':')[0].strip().upper()}: {reason}".split())
    if param is not None and opts and getattr(exc, "message", None):
        name = max(opts, key=len)
        reason = str(exc.message).removeprefix("Value error, ")
        value = _raw_value(argv, opts)
        if value is not None:
            message = f"{name} = {value!r}: {reason}"
        else:
            message = f"{name}: {reason}"
    return " ".join(message.split())


def _raw_value(argv: list[str], opts: list[str]) -> str | None:
    """The last value given on the command line for an option named by ``opts``, if any."""
    found = None
    for i, arg in enumerate(argv):
        for opt in opts:
            if arg == opt and i + 1 < len(argv):
                found = argv[i + 1]
            elif opt.startswith("--") and arg.startswith(opt + "="):
                found = arg[len(opt) + 1 :]
    return found


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
    cls=_Group,
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


class _LazyConsole:
    """A rich Console made on first use, for the current stdout/stderr.

    When the stream is not a terminal (a pipe, a file, a test runner) and ``COLUMNS`` is not set,
    the width is unbounded: tables and lines are never cut at rich's default of 80 columns.
    """

    def __init__(self, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Any = None
        self._stream: Any = None

    def _get(self) -> Any:
        stream = sys.stderr if self._stderr else sys.stdout
        if self._console is None or stream is not self._stream:
            from rich.console import Console

            width = None
            isatty = getattr(stream, "isatty", None)
            if not (isatty and isatty()) and "COLUMNS" not in os.environ:
                width = 100_000
            self._console = Console(stderr=self._stderr, width=width)
            self._stream = stream
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)


console = _LazyConsole()
err_console = _LazyConsole(stderr=True)


def _fail(message: str, code: int = 2) -> None:
    from rich.markup import escape

    # One line whatever the terminal width (soft_wrap), and the message printed literally.
    flat = " ".join(str(message).split())
    err_console.print(f"[bold red]error:[/] {escape(flat)}", highlight=False, soft_wrap=True)
    raise SystemExit(code)


def _table(title: str | None = None) -> Any:
    from rich.table import Table

    return Table(title=title)


def _seconds(value: float | None, option: str = "--time-limit") -> float | None:
    if value is not None and not (math.isfinite(value) and 0 < value <= 1e7):
        raise InputError(option, value, "must be a positive finite number of seconds (<= 1e7)")
    return value


def _time_limit(value: float) -> float:
    return _seconds(value)  # type: ignore[return-value]


def _parse_seeds(text: str, option: str = "--seeds") -> list[int]:
    """``"0,1,2"`` or ``"0-4"`` (inclusive) or a mix -> seeds, each in ``0..2**31-1``."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            values = range(int(lo), int(hi) + 1) if sep and lo else [int(part)]
        except ValueError:
            raise InputError(option, text, "expected seeds like 0,1,2 or 0-4") from None
        if len(values) > 100_000:
            raise InputError(option, text, "more than 100000 seeds")
        for seed in values:
            if not 0 <= seed <= SEED_MAX:
                raise InputError(option, text, f"seed {seed} outside 0..{SEED_MAX}")
            seeds.append(seed)
    if not seeds:
        raise InputError(option, text, "no seed given")
    return list(dict.fromkeys(seeds))


def _load_instance(path: Path) -> Any:
    from .drrt.instance import load_instance

    return load_instance(path)


def _load_result(path: Path) -> Any:
    from .io import read_json, validate_result_document
    from .result import Result

    data = read_json(path)
    if isinstance(data, dict) and "snapshot" in data:
        raise InputError("file", str(path), "is an instance file, not a result document")
    validate_result_document(data, str(path))
    return Result.from_dict(data)


def _solution_document(doc: Any, source: str) -> Any:
    """Vet a document given as a solution: a result document (its fields and its solution's
    shape) or a bare solution of a recognisable kind; an instance file is named as such."""
    from .drrt.instance import RESULT_KEYS
    from .io import validate_result_document
    from .problems import validate_solution

    if isinstance(doc, dict) and RESULT_KEYS & doc.keys():
        validate_result_document(doc, source)
        if doc["problem"] in ("mtrce", "tfam", "qirce") and doc.get("solution"):
            validate_solution(doc["problem"], doc["solution"], "solution.solution")
        return doc
    if isinstance(doc, dict) and "snapshot" in doc:
        raise InputError("file", source, "is an instance file, not a solution")
    if isinstance(doc, dict):
        if "deployments" in doc:
            validate_solution("qirce", doc)
        elif "admitted" in doc:
            validate_solution("tfam", doc)
    return doc


Seed = Annotated[
    int, typer.Option(min=0, max=SEED_MAX, help="Seed of every random choice (0..2**31-1).")
]
Threads = Annotated[int, typer.Option(min=1, max=1024, help="Solver threads / workers.")]
TimeLimit = Annotated[float, typer.Option(callback=_time_limit, help="Seconds (positive, finite).")]


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

    inst = _load_instance(file)
    snap = inst.snapshot
    from rich.markup import escape

    console.print(f"[bold]{escape(inst.name)}[/]  {escape(inst.description)}", highlight=False)
    table = _table("Nodes")
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
        dt = _table("Data by modality/task")
        for col in ("modality/task", "nodes", "samples"):
            dt.add_column(col)
        for key, samples in sorted(volume.items()):
            dt.add_row(_plain(key), str(holders[key]), str(samples))
        console.print(dt)
    # Weak connectivity over up links; a node without an up link is a component of its own.
    up = nx.Graph()
    up.add_nodes_from(n.id for n in snap.nodes)
    up.add_edges_from((lk.source, lk.target) for lk in snap.links if lk.up)
    comps = nx.number_connected_components(up)
    console.print(
        f"links: {snap.num_links} ({sum(lk.up for lk in snap.links)} up); "
        f"connected components over up links: {comps}"
        + (f"; travel: {inst.travel.metric}" if inst.travel else ""),
        highlight=False,
    )
    if inst.requests:
        rt = _table("Training requests")
        for col in ("id", "owner", "modality/task", "mode", "deadline", "budget", "replicas"):
            rt.add_column(col)
        for r in inst.requests:
            rt.add_row(
                _plain(r.id),
                _plain(r.owner),
                _plain(f"{r.modality}/{r.task}"),
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
            f"{'optimum' if b.proven_optimal else 'best known'} {known}",
            highlight=False,
            markup=False,
        )


def _plain(text: str) -> Any:
    """A table cell shown literally (ids may contain rich markup such as ``[b]``)."""
    from rich.text import Text

    return Text(str(text))


@app.command("view")
def view_cmd(
    file: Annotated[Path, typer.Argument(help="Instance file.")],
    request: Annotated[str | None, typer.Option(help="Request id (default: the first).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the arrays as JSON.")] = False,
) -> None:
    """Build and show the MS-DRRT view of one request."""
    import numpy as np

    from .drrt.view import view

    inst = _load_instance(file)
    v = view(inst, request)
    unreachable = not np.isfinite(v.transfer[v.start, v.end])
    if as_json:

        def arr(a: np.ndarray) -> list:
            return np.where(np.isfinite(a), a, -1).tolist()

        doc = {
            "request": v.request_id,
            "ids": v.ids,
            "start": v.ids[v.start],
            "end": v.ids[v.end],
            "end_reachable": not unreachable,
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
        f"request {v.request_id}: {v.n} nodes in view, start {v.ids[v.start]}, "
        f"end {v.ids[v.end]}, deadline {v.deadline}, verification {v.verify_time:.3g} s",
        highlight=False,
        markup=False,
    )
    if unreachable:
        console.print(
            f"note: the end {v.ids[v.end]!r} is unreachable from the start "
            f"{v.ids[v.start]!r} over links that are up: no route exists",
            highlight=False,
            markup=False,
        )
    table = _table("Eligible nodes")
    for col in ("id", "utility", "samples", "train s", "from start s", "to end s"):
        table.add_column(col, justify="right" if col != "id" else "left")
    for i, node_id in enumerate(v.ids[:50]):
        table.add_row(
            _plain(node_id),
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
        ex = _table(f"Excluded data nodes ({len(v.excluded)})")
        ex.add_column("id")
        ex.add_column("reason")
        for node_id, reason in list(v.excluded.items())[:30]:
            ex.add_row(_plain(node_id), _plain(reason))
        console.print(ex)


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


@app.command()
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
    """Convert a classic benchmark file into an instance file."""
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
    problem: Annotated[ProblemKind | None, typer.Option(help="Only this problem.")] = None,
) -> None:
    """List the registered solvers per problem (the default one marked)."""
    from rich.text import Text

    from .problems import DEFAULT_SOLVER
    from .registry import solvers as registered

    table = _table("Solvers")
    for col in ("problem", "solver", "exact", "description"):
        table.add_column(col)
    for kind, specs in sorted(registered(problem).items()):
        for name, spec in sorted(specs.items()):
            mark = " (default)" if DEFAULT_SOLVER.get(kind) == name else ""
            # descriptions are plain text: "z[i, e]" must not be read as rich markup
            table.add_row(kind, name + mark, "yes" if spec.exact else "no", Text(spec.description))
    console.print(table)


@app.command("solve")
def solve_cmd(
    file: Annotated[Path, typer.Argument(help="Instance file.")],
    problem: Annotated[ProblemKind, typer.Option(help="Problem kind.")] = "mtrce",
    solver: Annotated[
        str | None,
        typer.Option(help=f"Registered solver (see `solvers`); default {DEFAULT_SOLVERS}."),
    ] = None,
    time_limit: TimeLimit = 10.0,
    seed: Seed = 0,
    threads: Threads = 1,
    request: Annotated[str | None, typer.Option(help="Request id (default: the first).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the result JSON to this file.")
    ] = None,
) -> None:
    """Solve one problem of an instance and print the result (exit 1 when the solver failed).

    --time-limit covers the whole command: reading the file, the view, T-FAM's plan generation
    and the solve.
    """
    from .io import check_output_file, write_text
    from .problems import default_solver, problem_from_instance
    from .registry import get_solver, solve

    started = time.perf_counter()
    if output:
        check_output_file(output, inputs=[file])
    if solver is not None:
        get_solver(problem, solver)  # an unknown solver fails before the instance is read
    inst = _load_instance(file)
    # The limit covers the whole command: reading, the view and (T-FAM) plan generation count
    # against it; plan generation may use half of what is left, the solver gets the rest.
    left = time_limit - (time.perf_counter() - started)
    prob = problem_from_instance(problem, inst, request, time_limit=max(left / 2, 0.05))
    solver = solver or default_solver(problem, prob)
    setup = time.perf_counter() - started
    # A setup that used up the limit still leaves the solver a sliver, so that the exact solvers
    # can return their warm start rather than nothing.
    budget = max(time_limit - setup, min(0.1 * time_limit, 1.0))
    result = solve(prob, solver, time_limit=budget, seed=seed, threads=threads)
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
        console.print(result.summary(), highlight=False, markup=False)
        if (
            inst.benchmark
            and inst.benchmark.best_known is not None
            and result.objective is not None
        ):
            known = inst.benchmark.best_known
            console.print(
                f"published {'optimum' if inst.benchmark.proven_optimal else 'best known'}: "
                f"{known:g} (difference {result.objective - known:+g})",
                highlight=False,
            )
    if result.status.value == "error":
        raise typer.Exit(1)


@app.command("check")
def check_cmd(
    file: Annotated[Path, typer.Argument(help="Instance file.")],
    solution: Annotated[Path, typer.Argument(help="Result JSON as `solve --json` prints it.")],
) -> None:
    """Check a solution independently: exit 0 when valid, 1 listing each violation."""
    from .problems import check_result, outside_view, problem_from_instance

    inst = _load_instance(file)
    result = _load_result(solution)
    if result.instance is not None and result.instance != inst.name:
        raise InputError("solution.instance", result.instance, f"does not match {inst.name!r}")
    prob = problem_from_instance(result.problem, inst, result.request)
    excluded = outside_view(inst, result.request) if result.problem == "mtrce" else None
    report = check_result(prob, result, excluded)
    if report.ok:
        if report.objective is None:
            why = f": {result.message}" if result.message else ""
            console.print(
                f"valid: nothing to check, the result is {result.status.value}{why}",
                highlight=False,
                markup=False,
            )
        else:
            console.print(f"valid: objective {report.objective:.10g}", highlight=False)
        return
    for violation in report.violations:
        console.print("[red]violation:[/] ", _plain(violation), highlight=False, sep="")
    raise typer.Exit(1)


# -- benchmarks ---------------------------------------------------------------------------------
def _open_store(db: Path, readonly: bool = False) -> Any:
    from .bench.store import ResultsStore

    return ResultsStore(db, readonly=readonly)


@app.command()
def bench(
    instances: Annotated[list[Path], typer.Argument(help="Instance files.")],
    problem: Annotated[ProblemKind, typer.Option(help="Problem kind.")] = "mtrce",
    solvers: Annotated[
        str | None,
        typer.Option(help=f"Comma-separated solver names; default {DEFAULT_SOLVERS}."),
    ] = None,
    time_limit: Annotated[
        float, typer.Option(callback=_time_limit, help="Seconds per run (positive, finite).")
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
) -> None:
    """Run every (instance, solver, seed), check each solution, store one row per run.

    Exit 0 when every run finished and passed the checker, 1 when a run failed (error, timeout)
    or a solution violated a constraint, 2 on bad input (an unreadable instance, a bad store).
    """
    from .bench.sweep import plan_tasks, run_sweep
    from .io import check_output_file
    from .problems import default_solver

    names = [s.strip() for s in (solvers or default_solver(problem)).split(",") if s.strip()]
    seed_list = _parse_seeds(seeds)
    check_output_file(db, "--db", inputs=instances)
    for path in instances:  # every input is read before any run starts
        _load_instance(path)
    tasks = plan_tasks(instances, problem, names, seed_list, time_limit, threads, request)
    with _open_store(db) as store:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        done = store.done_keys()
        todo = sum(t.key not in done for t in tasks)
        violations = 0
        failed: Counter[str] = Counter()
        first_failure: list[str] = []
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console._get(),
        ) as progress:
            bar = progress.add_task(f"{problem} sweep", total=todo)

            def on_row(row: dict) -> None:
                nonlocal violations
                violations += row.get("check_ok") == 0
                status = row.get("status")
                if status in ("error", "timeout"):
                    failed[status] += 1
                    if not first_failure:
                        first_failure.append(
                            f"{row['instance']} {row['solver']}: {row.get('message') or status}"
                        )
                progress.update(bar, advance=1, description=f"{row['instance']} {row['solver']}")

            summary = run_sweep(tasks, store, workers=workers, scheduler=scheduler, on_row=on_row)
    console.print(
        f"{summary.planned} runs planned, {summary.skipped} already stored, {summary.ran} run "
        f"in {summary.wall:.1f} s; failed runs: {sum(failed.values())}"
        + (f" ({', '.join(f'{n} {k}' for k, n in sorted(failed.items()))})" if failed else "")
        + f"; checker violations: {violations}; store: {db}",
        highlight=False,
        markup=False,
    )
    if failed or violations:
        if first_failure:
            console.print(f"first failure: {first_failure[0]}", highlight=False, markup=False)
        raise typer.Exit(1)


def _out_dir(out_dir: Path | None, legacy: Path | None, default: Path | None = None) -> Path | None:
    """``--out-dir``, or the deprecated ``-o/--output`` folder alias, or ``default``."""
    if out_dir is not None and legacy is not None and out_dir != legacy:
        raise InputError("--out-dir", str(out_dir), f"and -o {str(legacy)!r} both given")
    return out_dir or legacy or default


OutDirAlias = Annotated[
    Path | None,
    typer.Option("-o", "--output", hidden=True, help="Deprecated alias of --out-dir."),
]


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
) -> None:
    """Summarise a results store per family and solver; write profiles, plots and CSV."""
    from .io import check_output_dir, make_dir

    if not db.is_file():
        reason = "is a directory, not a results store" if db.is_dir() else "no such results store"
        raise InputError("--db", str(db), reason)
    with _open_store(db, readonly=True) as store:
        rows = store.rows()
    if not rows:
        raise InputError("--db", str(db), "holds no runs")
    default = db.with_suffix("") if db.suffix else db.with_name(db.name + "-report")
    out = _out_dir(out_dir, output, default)
    check_output_dir(out)
    from .bench.report import export_csv, summarize, write_plots

    families: dict[str, list[dict]] = {}
    for entry in summarize(rows):
        families.setdefault(entry["family"], []).append(entry)
    for family, entries in families.items():
        table = _table(f"{family}")
        for col in ("solver", "runs", "optimal", "feasible", "failed", "violations"):
            table.add_column(col, justify="right" if col != "solver" else "left")
        for col in ("mean gap %", "max gap %", "sgm time s"):
            table.add_column(col, justify="right")
        for e in entries:
            table.add_row(
                _plain(e["solver"]),
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
    make_dir(out)
    try:
        plots = write_plots(rows, out)
        csv_path = export_csv(rows, out / "runs.csv")
    except OSError as exc:  # a full disk after the checks
        reason = exc.strerror or exc.__class__.__name__
        raise InputError("--out-dir", str(out), f"cannot be written: {reason}") from None
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

    report = feasibility(_load_instance(file), request, exact_seconds=exact_seconds)
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
    drop_below: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Plan without nodes whose estimated quality is lower."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print every round as JSON.")] = False,
) -> None:
    """OAM feedback: plan, replay, measure each hop, update the utility estimates, for N rounds.

    The planner sees the reported snapshot; the replay trains on the truth (--truth, or a seeded
    copy in which some nodes over-report with --misreport, else the reports themselves).
    """
    from .io import check_output_file
    from .mtrce.problem import COVERAGE_OBJECTIVES
    from .oam import UtilityEstimates, run_oam
    from .oam import misreport as make_truth

    if save_estimates:
        check_output_file(save_estimates, inputs=[file], option="--save-estimates")
    if truth is not None and misreport is not None:
        raise InputError("--misreport", misreport, "give either --truth or --misreport")
    inst = _load_instance(file)
    req = inst.request(request)
    goal = objective or req.objective
    solver = solver or ("coverage-greedy" if goal in COVERAGE_OBJECTIVES else "greedy")
    start = UtilityEstimates.load(estimates) if estimates else None
    real = None
    if truth is not None:
        real = _load_instance(truth).snapshot
    elif misreport is not None:
        real, lies = make_truth(inst.snapshot, req.task, seed, scale=misreport)
        err_console.print(f"{len(lies)} node(s) misreport (seed {seed})", highlight=False)
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
    )
    if save_estimates:
        result.estimates.save(save_estimates)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict()) + "\n")
        return
    table = _table(f"OAM: {inst.name} / {req.id}, {solver} on {result.objective}")
    for col in ("round", "planned", "accuracy", "time to target s", "deadline", "route"):
        table.add_column(col)
    for r in result.rounds:
        s = r.outcome.summary
        table.add_row(
            str(r.round),
            "-" if r.planned_objective is None else f"{r.planned_objective:.4g}",
            "-" if s.final_accuracy is None else f"{s.final_accuracy:.3f}",
            "-" if s.time_to_target is None else f"{s.time_to_target:.1f}",
            "met" if s.deadline_met else "missed",
            " > ".join(r.route),
        )
    console.print(table)


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
    from .io import check_output_dir, make_dir, read_json, write_text

    out = _out_dir(out_dir, output)
    if out is not None:
        check_output_dir(out)
    inst = _load_instance(file)
    doc = _solution_document(read_json(solution), str(solution))
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
        table = _table(f"Serving replay ({outcome.horizon:g} s of queries)")
        cols = ("model", "queries", "p50 ms", "p95 ms", "p99 ms", "SLO violations", "refused q/s")
        for col in cols:
            table.add_column(col, justify="right" if col != "model" else "left")
        for m in outcome.models:
            table.add_row(
                _plain(m.model),
                str(m.queries),
                *("-" if v != v else f"{v:.1f}" for v in (m.p50_ms, m.p95_ms, m.p99_ms)),
                f"{100 * m.violation_rate:.1f}%" if m.queries else "-",
                f"{m.refused_rate:.3g}",
            )
        console.print(table)
        for note in outcome.notes:
            console.print(f"note: {note}", highlight=False, markup=False)
    else:
        table = _table(f"{mode} replay ({outcome.policy}, seed {seed})")
        for col in ("time s", "node", "action", "loss", "accuracy", "bytes", "utility", "note"):
            table.add_column(col, justify="left" if col in ("node", "action", "note") else "right")
        for s in outcome.trace:
            table.add_row(
                f"{s.time:.2f}",
                _plain(s.node),
                s.action,
                "" if s.loss != s.loss else f"{s.loss:.4f}",
                "" if s.accuracy != s.accuracy else f"{s.accuracy:.4f}",
                str(s.bytes),
                f"{s.utility:.4g}",
                _plain(s.note),
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
            console.print(f"note: {note}", highlight=False, markup=False)
    if out is not None:
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
        float, typer.Option(callback=_time_limit, help="Seconds per solver call.")
    ] = 20.0,
) -> None:
    """Solve, admit, place, then replay every decision as real training: the main job."""
    from .io import check_output_dir

    output = _out_dir(out_dir, output, Path("daitn-demo"))
    check_output_dir(output)
    if instance is not None:
        _load_instance(instance)
    seeds = replays or seeds_count or 5

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from .demo import format_gap, run_demo

    def show(value: float | None, fmt: str) -> str:
        return "-" if value is None or value != value else format(value, fmt)

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console._get(),
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


PaperName = Literal["outcomes"]


@app.command()
def paper(
    name: Annotated[PaperName, typer.Argument(help="Experiment: outcomes (issue 12 evidence).")],
    out_dir: Annotated[
        Path | None,
        typer.Option("--out-dir", help="Folder for tables and figures [default: papers/NAME]."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Alias of --out-dir.")
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Two requests, 3 seeds, short solver limits.")
    ] = False,
    replays: Annotated[
        int | None,
        typer.Option(
            min=1, max=1000, help="Paired seeds 0..N-1 per plan [default: 20; --quick: 3]."
        ),
    ] = None,
    seeds: Annotated[
        str | None, typer.Option(help="Seeds as a list (0,1,2 or 0-19); overrides --replays.")
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option(help="Seconds per solver call [default: 20; --quick: 5]."),
    ] = None,
    pool: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=1000,
            help="Extra random routes per calibration pool [default: 6; --quick: 3].",
        ),
    ] = None,
    case: Annotated[
        list[str] | None,
        typer.Option(
            "--case", help="Run only this request (e.g. healthcare-small/r1); repeatable."
        ),
    ] = None,
) -> None:
    """Regenerate a paper experiment's tables and figures (papers/NAME by default)."""
    from .io import check_output_dir

    out = _out_dir(out_dir, output, Path("papers") / name)
    check_output_dir(out)
    _seconds(time_limit)
    seed_list = _parse_seeds(seeds) if seeds else list(range(replays or (3 if quick else 20)))

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from .papers.outcomes import Settings, run_outcomes

    settings = Settings(
        quick=quick,
        seeds=seed_list,
        time_limit=time_limit if time_limit is not None else (5.0 if quick else 20.0),
        pool=pool if pool is not None else (3 if quick else 6),
        cases=case or None,
    )
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console._get(),
    ) as bar:
        task = bar.add_task("starting", total=None)
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
                err_console.print(
                    f"{data['case']} done in {data['seconds']:.0f} s", highlight=False
                )

        report = run_outcomes(out, settings, progress)
    _print_outcomes(report)


def _print_outcomes(report: dict[str, Any]) -> None:
    """The headline figures of ``paper outcomes`` (tables are in the output folder)."""
    from rich.table import Table

    from .papers.outcomes import ALIGNED, RHO_KEYS

    an = report["analysis"]
    meta = report["meta"]

    def show(value: float | None, fmt: str) -> str:
        return "-" if value is None or value != value else format(value, fmt)

    table = Table(title="Paired replays: mean final accuracy, median time to target")
    for col in (
        "request",
        "plan",
        "accuracy [95% CI]",
        "reached",
        "median t s",
        "bytes",
        "deadline",
    ):
        table.add_column(col, justify="left" if col in ("request", "plan") else "right")
    for s in an["summary"]:
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
    tests = Table(title=f"Wilcoxon signed-rank: {ALIGNED} vs each baseline (paired seeds)")
    for col in ("family", "baseline", "pairs", "time s/l/t", "p time", "acc h/l/t", "p acc"):
        tests.add_column(col, justify="left" if col in ("family", "baseline") else "right")
    for t in an["tests"]:
        tt, ac = t["time"], t["accuracy"]
        tests.add_row(
            t["family"],
            t["baseline"],
            str(tt.n),
            f"{tt.better}/{tt.worse}/{tt.ties}",
            show(tt.p, ".3g"),
            f"{ac.better}/{ac.worse}/{ac.ties}",
            show(ac.p, ".3g"),
        )
    console.print(tests)
    cal = Table(title="Calibration: Spearman rho, planned vs measured (per request)")
    cal.add_column("request")
    for k in RHO_KEYS:
        cal.add_column(k[3], justify="right")
    for case, rhos in an["rhos"].items():
        cal.add_row(case, *(show(rhos[k[3]], ".2f") for k in RHO_KEYS))
    means = []
    for k in RHO_KEYS:
        vals = [r[k[3]] for r in an["rhos"].values() if r[k[3]] is not None]
        means.append(show(sum(vals) / len(vals) if vals else None, ".2f"))
    cal.add_row("mean", *means)
    console.print(cal)
    for fam, s in an["share"].items():
        n = max(1, s["pairs"])
        console.print(
            f"{fam}: {ALIGNED} reaches the target strictly sooner than every baseline in "
            f"{s['sooner']}/{s['pairs']} (request, seed) pairs ({100 * s['sooner'] / n:.0f}%), "
            f"no later than any in {s['no_later']} ({100 * s['no_later'] / n:.0f}%); target 80%",
            highlight=False,
        )
    console.print(
        f"commit {meta['commit'][:12]}{' (dirty)' if meta['dirty'] else ''}; "
        f"{len(meta['settings']['seeds'])} seeds; wrote {len(report['files'])} files to "
        f"{Path(report['files'][0]).parent} in {meta['seconds']:.0f} s",
        highlight=False,
    )


def main() -> None:
    """Entry point of the console script (errors are handled by the command group)."""
    app(prog_name="daitn-opt")


if __name__ == "__main__":
    main()
