"""``explain`` as a command (registered on a bare Typer app, as the CLI will do) and its one-line
errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from daitn_opt.pages.commands import register
from daitn_opt.result import Result

from .conftest import SMALL, Dom


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def _noop() -> None:  # a second command, so that typer keeps "explain" as a subcommand
        """Nothing."""

    return app


def invoke(app: typer.Typer, *args: str | Path) -> object:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture
def route_file(route_result: Result, tmp_path: Path) -> Path:
    path = tmp_path / "route.json"
    path.write_text(route_result.to_json(), encoding="utf-8")
    return path


def test_explain_writes_a_page(app: typer.Typer, route_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    result = invoke(app, "explain", SMALL, route_file, "-o", out)
    assert result.exit_code == 0, result.output
    dom = Dom(out.read_text(encoding="utf-8"))
    assert len(dom.select("route", "path")) == 1


def test_explain_with_a_replay_file(app: typer.Typer, route_file: Path, tmp_path: Path) -> None:
    replay = tmp_path / "replay-sequential.json"
    replay.write_text(
        json.dumps(
            {
                "label": "static",
                "mode": "sequential",
                "summary": {},
                "trace": [{"time": 1.0, "node": "h02", "accuracy": 0.8}],
            }
        )
    )
    out = tmp_path / "page.html"
    result = invoke(app, "explain", SMALL, route_file, "-o", out, "--replay", replay)
    assert result.exit_code == 0, result.output
    assert len(Dom(out.read_text(encoding="utf-8")).select("replay", "svg")) == 1


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("instance as solution", "solution"),
        ("missing solution", "file"),
        ("other request", "--request"),
        ("bad replay", "--replay"),
        ("output is a folder", "--output"),
        ("output overwrites the instance", "--output"),
        ("bad status", "status"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    app: typer.Typer, route_file: Path, tmp_path: Path, case: str, field: str
) -> None:
    out = tmp_path / "page.html"
    solution, extra = route_file, []
    if case == "instance as solution":
        solution = SMALL
    elif case == "missing solution":
        solution = tmp_path / "nothing.json"
    elif case == "other request":
        extra = ["--request", "r2"]
    elif case == "bad replay":
        bad = tmp_path / "replay.json"
        bad.write_text('{"accuracy": 1}')
        extra = ["--replay", str(bad)]
    elif case == "output is a folder":
        out = tmp_path
    elif case == "output overwrites the instance":
        out = SMALL
    elif case == "bad status":
        doc = json.loads(route_file.read_text())
        doc["status"] = "splendid"
        solution = tmp_path / "bad.json"
        solution.write_text(json.dumps(doc))
    result = invoke(app, "explain", SMALL, solution, "-o", out, *extra)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert field in lines[0], lines[0]
    assert out in (tmp_path, SMALL) or not out.exists()  # nothing written on bad input
