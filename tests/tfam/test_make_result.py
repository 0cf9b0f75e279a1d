"""make_result clamps a bound that crosses the objective only within the bound tolerance."""

from __future__ import annotations

import numpy as np

from daitn_opt.result import CONTRACT_STATS, Status, bound_tolerance, enforce_contract
from daitn_opt.tfam import make_result
from tests.tfam.helpers import knapsack


def _choice(problem):
    """Items 1, 2, 3 admitted (global plan index per request, -1 refused): value 18."""
    return np.array([-1, 1, 2, 3])


def test_bound_within_tolerance_is_clamped_to_objective():
    problem = knapsack()
    choice = _choice(problem)
    res = make_result(problem, "t", choice, status=Status.FEASIBLE, bound=18.0 - 1e-9)
    assert res.objective == 18.0
    assert res.bound == 18.0


def test_bound_far_below_objective_is_not_hidden():
    problem = knapsack()
    res = make_result(problem, "t", _choice(problem), status=Status.FEASIBLE, bound=10.0)
    assert res.objective == 18.0
    assert res.bound == 10.0  # left as given: a wrong bound stays visible
    assert 18.0 - res.bound > bound_tolerance(18.0)
    enforce_contract(res, sense="max", exact=True)  # what solve() does with every result
    assert res.bound is None
    assert "bound 10 on the wrong side" in res.stats[CONTRACT_STATS]["violations"][0]
    assert res.status is Status.FEASIBLE
