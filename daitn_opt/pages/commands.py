"""The pages' command-line pieces, for ``daitn_opt.cli`` to wire in.

- :func:`report_html` is what ``daitn-opt report --html FILE`` calls: the store's page.
- :func:`register` adds ``daitn-opt explain FILE SOLUTION -o page.html [--request ID]
  [--replay REPLAY.json]`` to a Typer app.

Bad input (a missing store, an instance given as the solution, a solution of another instance,
an output that cannot be written) raises :class:`~daitn_opt.errors.InputError` naming the field;
the application's command group turns it into one line and exit code 2. The command here also
does that itself when registered on a plain ``typer.Typer()`` (as the tests do), so that it
behaves the same wherever it is mounted. Nothing here prints except that one line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError, UnsupportedError


def report_html(db: Path, output: Path) -> Path:
    """Write the HTML report of results store ``db`` to the file ``output``; return its path.

    Raises
    ------
    InputError
        ``--db`` is missing, not a store or empty; ``--html`` cannot be written.
    """
    from ..bench.store import ResultsStore
    from ..io import check_output_file, write_text
    from .report_page import report_page

    db, output = Path(db), Path(output)
    if not db.is_file():
        reason = "is a directory, not a results store" if db.is_dir() else "no such results store"
        raise InputError("--db", str(db), reason)
    check_output_file(output, "--html", inputs=[db])
    with ResultsStore(db, readonly=True) as store:
        rows = store.rows()
    if not rows:
        raise InputError("--db", str(db), "holds no runs")
    return write_text(output, report_page(rows, source=str(db)), "--html")


def _one_line(exc: Exception) -> None:
    message = " ".join(str(exc).split())
    sys.stderr.write(f"error: {message}\n")
    raise SystemExit(2)


def register(app: typer.Typer) -> None:
    """Add the ``explain`` command to ``app``."""

    @app.command("explain")
    def explain(
        file: Annotated[Path, typer.Argument(help="Instance file.")],
        solution: Annotated[
            Path, typer.Argument(help="Result JSON as `solve --json` writes it (or a solution).")
        ],
        output: Annotated[Path, typer.Option("-o", "--output", help="The HTML page to write.")],
        request: Annotated[
            str | None, typer.Option(help="Request id (default: the solution's, else the first).")
        ] = None,
        replay: Annotated[
            Path | None,
            typer.Option(help="Replay outcome JSON (`replay --out-dir`): adds its curve."),
        ] = None,
    ) -> None:
        """Write one self-contained HTML page explaining a decision: map, view, routes,
        schedule, objective and bound (T-FAM: admissions and binding reasons; QIRCE:
        placements and latency against SLO), and the replay's accuracy curve."""
        from .explain_page import explain_files

        try:
            explain_files(file, solution, output, request=request, replay=replay)
        except (InputError, UnsupportedError) as exc:
            _one_line(exc)
