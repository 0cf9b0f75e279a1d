"""Solver parameters on the command line: ``solve --param KEY=VALUE`` and what ``solvers`` shows.

Values are text; the solver's parameter class converts them to the declared type
(:func:`daitn_opt.params.parse_params`). An unknown key, a value of the wrong type or an item
that is not ``KEY=VALUE`` is one line and exit code 2, before the instance is read.
"""

from __future__ import annotations

import json
import re

import pytest

from daitn_opt.params import describe
from daitn_opt.registry import solvers
from tests.conftest import SMALL, assert_input_error, run_cli


def solve_json(*args: str) -> dict:
    result = run_cli("solve", SMALL, "--json", "--time-limit", "5", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("iterations", [1, 7])
def test_a_parameter_reaches_the_solver(iterations):
    """tfam's ls perturbs once per round without improvement and stops after ``iterations``."""
    doc = solve_json("--problem", "tfam", "--solver", "ls", "--param", f"iterations={iterations}")
    assert doc["solver"] == "ls" and doc["status"] in ("optimal", "feasible")
    assert doc["stats"]["moves"]["perturb"] == iterations


@pytest.mark.parametrize(
    ("params", "words"),
    [
        (["iteration=5"], ("param = 'iteration'", "unknown for solver ls", "valid: iterations")),
        (["iterations=many"], ("param.iterations = 'many'", "expected int")),
        (["iterations"], ("--param = 'iterations'", "expected KEY=VALUE")),
        (["=3"], ("--param = '=3'", "expected KEY=VALUE")),
        (["iterations=1", "iterations=2"], ("iterations given twice",)),
    ],
)
def test_bad_parameters_are_one_line_and_exit_2(params, words, tmp_path):
    missing = tmp_path / "not-read.json"  # the parameters are checked before the instance
    args = [x for p in params for x in ("--param", p)]
    result = run_cli("solve", missing, "--problem", "tfam", "--solver", "ls", *args)
    assert_input_error(result, *words)


def test_a_parameter_of_the_default_solver_is_checked_by_it():
    result = run_cli("solve", SMALL, "--problem", "qirce", "--param", "nope=1")
    assert_input_error(result, "param = 'nope'", "unknown for solver ls")


def test_solvers_shows_every_parameter_with_type_default_and_meaning():
    result = run_cli("solvers", "--params", env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.stderr
    assert "parameters" in result.stdout.splitlines()[2]
    for kind, registered in solvers().items():
        for name, spec in registered.items():
            for info in describe(spec.params) if spec.params is not None else []:
                assert f"{info.name}: {info.type} = " in result.stdout, (kind, name, info.name)


def test_one_solver_is_shown_with_its_parameters_one_per_line():
    result = run_cli("solvers", "--problem", "tfam", "--solver", "ls")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("tfam ls (default), heuristic: ")
    assert lines[1] == "  parameters (solve --param KEY=VALUE):"
    assert re.match(r"    iterations: int = \d+  \S", lines[2])


def test_an_unknown_solver_lists_the_registered_ones():
    assert_input_error(run_cli("solvers", "--solver", "nope"), "--solver = 'nope'", "greedy")


def test_a_solver_without_a_parameter_class_says_so():
    """Transitional: a solver registered without ``params=`` receives a plain dict."""
    from types import SimpleNamespace

    from daitn_opt.cli_render import parameter_lines
    from daitn_opt.params import NoParams

    assert parameter_lines(SimpleNamespace(params=None)) == ["parameters not declared"]
    assert parameter_lines(SimpleNamespace(params=NoParams)) == ["no parameters"]
