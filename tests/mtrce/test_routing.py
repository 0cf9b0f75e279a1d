"""The ``routing`` MTRCE solver (OR-Tools routing library): checker-valid, finds small optima.

The hand instances and their derivations are those of ``test_cpsat.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from daitn_opt.errors import UnsupportedError
from daitn_opt.mtrce import check
from daitn_opt.registry import solve
from daitn_opt.result import Status

from .test_cpsat import HAND, assert_valid, brute_force, op5, op_path5, random_problem, top6


@pytest.mark.parametrize("name", sorted(HAND))
def test_hand_instances_reach_the_optimum(name):
    """Guided local search finds the derived optimum of every hand instance in 1 s."""
    problem, optimum = HAND[name]()
    result = solve(problem, "routing", time_limit=1)
    assert_valid(problem, result)
    assert result.status == Status.FEASIBLE
    assert result.bound is None
    assert result.objective == pytest.approx(optimum)
    assert result.trace and result.trace[-1].incumbent == pytest.approx(optimum)


@pytest.mark.parametrize("seed", range(0, 12, 3))
def test_random_tiny_instances_valid_and_optimal(seed):
    """On 6-node random instances (k, windows, s != e, real times) it reaches the brute force."""
    problem = random_problem(seed)
    result = solve(problem, "routing", time_limit=1)
    assert_valid(problem, result)
    assert result.objective == pytest.approx(brute_force(problem))


def test_budget_with_one_route():
    """op5 with budget 8 (see test_cpsat.test_budget_constraint_is_respected): optimum 7."""
    problem, _ = op5()
    problem = problem.replace(
        budget=8.0, visit_cost=np.array([0, 1, 1, 1, 1.0]), travel_cost=problem.travel.copy()
    )
    result = solve(problem, "routing", time_limit=1)
    assert_valid(problem, result)
    assert result.objective == pytest.approx(7.0)


def test_shared_budget_with_k_routes_is_refused_before_running():
    """A budget over k = 2 routes is not a per-vehicle dimension: UnsupportedError, by name."""
    problem, _ = top6(2)
    problem = problem.replace(
        budget=10.0, visit_cost=np.ones(problem.n), travel_cost=problem.travel.copy()
    )
    calls = []
    with pytest.raises(UnsupportedError, match=r"^routing: a cost budget shared by k > 1"):
        solve(problem, "routing", time_limit=1, callback=lambda *a: calls.append(a))
    assert calls == []


def test_infeasible_deadline():
    """A deadline below the start-to-end trip: status infeasible with the reason."""
    problem, _ = op_path5()
    result = solve(problem.replace(deadline=3.0), "routing", time_limit=1)
    assert result.status == Status.INFEASIBLE
    assert "deadline" in result.message


def test_initial_solution_starts_the_search():
    """A feasible initial solution is read in; the result is still checker-valid and optimal."""
    problem, optimum = op5()
    result = solve(problem, "routing", time_limit=1, initial={"routes": [["n0", "n1", "n0"]]})
    assert result.stats["hint"] == "initial"
    assert check(problem, result.solution).ok
    assert result.objective == pytest.approx(optimum)
