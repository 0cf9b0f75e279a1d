"""Typed parameters of the MTRCE MILP solvers (``highs``, ``pyomo``, ``coverage-highs``,
``tag-highs``): a misspelt or unknown key is refused before the solver runs, listing the valid
keys; a value of the wrong type is refused too; attribute values reach the solver."""

from __future__ import annotations

import dataclasses

import pytest

from daitn_opt.errors import InputError
from daitn_opt.params import parse_params
from daitn_opt.registry import get_solver, solve
from tests.mtrce.hand_instances import op5

SOLVERS = ("highs", "pyomo", "coverage-highs", "tag-highs")


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_milp_solver_declares_a_parameter_dataclass(solver):
    spec = get_solver("mtrce", solver)
    assert spec.params is not None and dataclasses.is_dataclass(spec.params)
    for f in dataclasses.fields(spec.params):
        assert f.metadata.get("help"), f"{solver}.{f.name} has no help text"


@pytest.mark.parametrize(
    ("solver", "typo", "valid"),
    [
        ("highs", "warm_start", "warm_start_solver"),
        ("highs", "lp_round", "lp_rounds"),
        ("pyomo", "pyomo_solvers", "pyomo_solver"),
    ],
)
def test_unknown_parameter_is_an_input_error_listing_the_valid_ones(solver, typo, valid):
    problem, _ = op5()
    with pytest.raises(InputError, match=f"unknown for solver {solver}; valid: .*{valid}"):
        solve(problem, solver, time_limit=5, **{typo: 1})


@pytest.mark.parametrize("solver", ["coverage-highs", "tag-highs"])
def test_warm_start_is_a_bool_for_the_one_route_milps(solver):
    cls = get_solver("mtrce", solver).params
    assert parse_params(cls, {"warm_start": "false"}, solver=solver).warm_start is False
    with pytest.raises(InputError, match=r"param\.warm_start"):
        parse_params(cls, {"warm_start": "ils"}, solver=solver)
    with pytest.raises(InputError, match="valid: warm_start"):
        parse_params(cls, {"warm_start_solver": "ils"}, solver=solver)


def test_wrong_type_is_refused():
    problem, _ = op5()
    with pytest.raises(InputError, match=r"param\.lp_rounds"):
        solve(problem, "highs", time_limit=5, lp_rounds="many")


def test_parameters_reach_the_highs_solver():
    """No warm-start heuristic and no LP round: HiGHS still proves the hand optimum."""
    problem, optimum = op5()
    result = solve(problem, "highs", time_limit=10, warm_start_solver=None, lp_rounds=0)
    assert result.status.value == "optimal"
    assert result.objective == pytest.approx(optimum)
    assert "warm_start_value" not in result.stats  # no heuristic ran, no start was given
    assert "lp_rounds" not in result.stats or result.stats["lp_rounds"] == 0


@pytest.mark.parametrize("solver", ["highs", "pyomo"])
def test_a_misspelt_warm_start_solver_is_an_input_error(solver):
    problem, _ = op5()
    with pytest.raises(InputError, match=r"param\.warm_start_solver.*valid: .*greedy"):
        solve(problem, solver, time_limit=5, warm_start_solver="gredy")
