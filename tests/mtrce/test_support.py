"""Tests of daitn_opt/mtrce/support.py (MtrceSupport, the MTRCE side of the exact-solver
skeleton) and of the MILP solvers that run on the skeleton: screening, warm start, feasibility
by the checker, the result document."""

from __future__ import annotations

import numpy as np
import pytest

from daitn_opt.exact import ExactSolver
from daitn_opt.mtrce import check
from daitn_opt.mtrce.milp import HighsParams
from daitn_opt.mtrce.support import MtrceSupport, feasible_routes, start_routes, trivial_result
from daitn_opt.registry import SolveOptions, get_solver, solve
from daitn_opt.result import Status
from tests.mtrce.hand_instances import infeasible_deadline, line, op5

SUPPORT = MtrceSupport()


def test_screen_answers_a_view_without_customers():
    p = line([0, 2], [0, 0])  # one customer
    alone = line([0], [0])
    result = SUPPORT.screen(alone, "highs")
    assert result is not None and result.status == Status.OPTIMAL
    assert result.solution["routes"] == [["n0", "n0"]]
    assert SUPPORT.screen(p, "highs") is None


def test_screen_names_an_unreachable_end():
    inf = np.inf
    travel = np.array([[0, 1, inf], [1, 0, inf], [inf, inf, 0]], dtype=float)
    p = line([0, 1, 2], [0, 1, 0], end=2).replace(travel=travel)
    result = SUPPORT.screen(p, "highs")
    assert result.status == Status.INFEASIBLE and "unreachable" in result.message


def test_trivial_result_misses_the_deadline():
    p = line([0, 5], [0, 0], end=1, deadline=3.0)
    result = trivial_result(p, "highs")
    assert result.status == Status.INFEASIBLE and "misses the deadline" in result.message


def test_warm_start_keeps_the_better_of_initial_and_heuristic():
    problem, optimum = op5()
    poor = {"routes": [["n0", "n0"]]}
    options = SolveOptions(
        time_limit=5.0, params=HighsParams(warm_start_solver="greedy"), initial=poor
    )
    start = start_routes(problem, options, seconds=1.0)
    assert 0.0 < start.objective <= optimum and feasible_routes(problem, start.solution)
    assert start.stats["warm_start_value"] == start.objective
    # a start the checker refuses (unknown id) is ignored, not an error
    bad = SolveOptions(
        time_limit=5.0, params=HighsParams(warm_start_solver=None), initial={"routes": [["x"]]}
    )
    assert start_routes(problem, bad, seconds=1.0).solution is None


def test_feasible_is_the_checkers_verdict():
    problem, _ = op5()
    tour = [problem.start, *map(int, problem.customers), problem.start]
    assert not check(problem, {"routes": [[problem.ids[v] for v in tour]]}).ok
    assert not SUPPORT.feasible(problem, [tour])  # too long for the deadline
    assert not SUPPORT.feasible(problem, [[0, 99, 0]])  # no such node
    assert SUPPORT.feasible(problem, [[0, 0]])


@pytest.mark.parametrize("solver", ["highs", "pyomo", "coverage-highs", "tag-highs"])
def test_milp_solvers_run_on_the_skeleton(solver):
    fn = get_solver("mtrce", solver).fn
    assert isinstance(getattr(fn, "__self__", None), ExactSolver)


@pytest.mark.parametrize("solver", ["highs", "pyomo"])
def test_infeasible_view_is_screened_or_proved(solver):
    result = solve(infeasible_deadline(), solver, time_limit=10)
    assert result.status == Status.INFEASIBLE and result.solution == {}


def test_model_too_large_for_the_time_returns_the_warm_start_with_the_reason(monkeypatch):
    """A build rate of one column a second: no model fits, the warm start is the answer."""
    from daitn_opt.mtrce import milp_plan

    monkeypatch.setattr(milp_plan, "BUILD_RATE", {"highs": 1.0})
    problem, optimum = op5()
    result = solve(problem, "highs", time_limit=5, warm_start_solver="greedy", warm_start_time=0.5)
    assert result.status == Status.FEASIBLE and 0 < result.objective <= optimum
    assert "stopped after the warm start" in result.message
    assert result.stats["model"] == "sparse" and "columns" not in result.stats
