"""The ``batch`` command, for ``daitn_opt.cli`` to wire in with :func:`register`.

``daitn-opt batch FILE [--problem mtrce] [--solver kas] [--workers N | --scheduler tcp://...]
[--request ID ...] [--param KEY=VALUE ...] [--max-nodes N] -o results.json`` solves every request
of an instance (or those named) as Dask tasks (:func:`daitn_opt.kas.batch.solve_batch`): on a
``LocalCluster`` of ``--workers`` single-thread processes, or on the cluster whose scheduler is
given. Each result is checked where it is solved; the JSON holds every result with its verdict.

Exit 0 when every request has a checked solution, 1 when one failed or was refused by the
checker, 2 on bad input (one line naming the field, also when mounted on a plain
``typer.Typer()``). Nothing here prints but that line and the summary lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..cli_inputs import kind_metavar, max_nodes_of, problem_kind, solver_params, time_limit_of
from ..errors import InputError, UnsupportedError
from ..pages.commands import _one_line  # the one-line error rule of a mounted command


def register(app: typer.Typer) -> None:
    """Add the ``batch`` command to ``app``."""

    @app.command("batch")
    def batch(
        file: Annotated[Path, typer.Argument(help="Instance file (same path on every worker).")],
        output: Annotated[Path, typer.Option("-o", "--output", help="Results JSON to write.")],
        problem: Annotated[
            str, typer.Option(parser=problem_kind, metavar=kind_metavar(), help="Problem kind.")
        ] = "mtrce",
        solver: Annotated[str, typer.Option(help="Registered solver.")] = "kas",
        time_limit: Annotated[
            float,
            typer.Option(callback=time_limit_of, help="Seconds per request (view and solve)."),
        ] = 10.0,
        seed: Annotated[int, typer.Option(min=0, max=2**31 - 1, help="Seed of every solve.")] = 0,
        workers: Annotated[
            int, typer.Option(min=1, max=1024, help="Local Dask worker processes.")
        ] = 1,
        scheduler: Annotated[
            str | None, typer.Option(help="Dask scheduler (tcp://host:8786); overrides --workers.")
        ] = None,
        request: Annotated[
            list[str] | None, typer.Option(help="Request id, repeatable (default: all).")
        ] = None,
        param: Annotated[
            list[str] | None, typer.Option(help="Solver parameter KEY=VALUE, repeatable.")
        ] = None,
        max_nodes: Annotated[
            int | None,
            typer.Option(callback=max_nodes_of, help="Cap each request's view at this many nodes."),
        ] = None,
    ) -> None:
        """Solve every request of an instance on Dask, check each result, write them as JSON."""
        from ..io import check_output_file, write_text
        from .batch import BatchSpec, solve_batch
        from .parallel import cluster, dask_runner, warm

        try:
            check_output_file(output, inputs=[file])
            spec = BatchSpec(problem, solver, time_limit, seed, solver_params(param), max_nodes)
            with cluster(workers, scheduler) as client:
                warm(client)
                report = solve_batch(file, spec, request, dask_runner(client))
            write_text(output, _json(report.to_dict()) + "\n")
        except (InputError, UnsupportedError) as exc:
            _one_line(exc)
        where = scheduler or f"{workers} local worker(s)"
        typer.echo(
            f"{len(report.results)} request(s) of {report.instance} on {where}: "
            f"{report.checked} checked, {report.wall:.1f} s; results in {output}"
        )
        for row in report.results:
            value = row.get("objective")
            shown = f"{value:.6g}" if isinstance(value, int | float) else "-"
            typer.echo(
                f"  {row['request']}: {row.get('status')} {shown} "
                f"checked={row['checked']} {row['wall']:.1f} s {row.get('message') or ''}".rstrip()
            )
        if report.checked < len(report.results):
            raise typer.Exit(1)


def _json(data: dict) -> str:
    import json

    return json.dumps(data, indent=1)
