"""HiGHS's sub-MIP heuristics on an orienteering route (``highs``, ``sub_mip_heuristics``): they
can be turned off on one orienteering route only, left to HiGHS elsewhere; with them off or on
the solver proves the same optimum on random and Tsiligirides orienteering instances (every
route through the checker). The best integer solutions of each round are repaired into routes
(:func:`daitn_opt.mtrce.milp_cuts._repair_best`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from daitn_opt.mtrce import check
from daitn_opt.mtrce.milp import HighsParams, _orienteering, build_model
from daitn_opt.mtrce.milp_columns import column_values
from daitn_opt.mtrce.milp_cuts import CutRun, _repair_best
from daitn_opt.registry import SolveOptions, solve
from daitn_opt.result import Status
from tests.mtrce.test_milp_rcfix import _random_op, _tsiligirides


def test_only_one_orienteering_route_can_turn_them_off():
    op = _random_op(0)
    assert _orienteering(build_model(op))
    tsp = dataclasses.replace(op, objective="min_time")
    assert not _orienteering(build_model(tsp))


CASES = [
    pytest.param(lambda: _tsiligirides(15), id="tsiligirides1-15"),
    *(pytest.param(lambda s=s: _random_op(s, path=s % 2 == 1), id=f"random-{s}") for s in range(6)),
]


@pytest.mark.parametrize("make", CASES)
def test_the_same_optimum_with_and_without_them(make):
    problem = make()
    values = []
    for on in (True, False):
        result = solve(problem, "highs", time_limit=60, seed=0, sub_mip_heuristics=on)
        assert result.status == Status.OPTIMAL and check(problem, result.solution).ok
        values.append(result.objective)
    assert values[0] == pytest.approx(values[1])
    assert np.isfinite(values[0])


def test_the_subtours_of_a_node_solution_are_repaired_into_a_better_route():
    """An integer point holding a route and a separate triangle of customers the route can still
    afford: its repair offers a feasible route worth more than the route alone."""
    problem = _random_op(2)
    optimum = solve(problem, "highs", time_limit=60, seed=0)
    ids = {v: i for i, v in enumerate(problem.ids)}
    route = [ids[v] for v in optimum.solution["routes"][0]]
    inner = route[1:-1]
    assert len(inner) >= 5
    a, b, c = inner[:3]
    rest = [route[0], *inner[3:], route[-1]]  # the optimum without a, b, c: still feasible
    model = build_model(problem)
    x = column_values(model, [rest])
    for i, j in ((a, b), (b, c), (c, a)):
        x[model.edge_id[i, j]] = 1.0
    x[model.y_col[[a, b, c]]] = 1.0
    run = CutRun(model, SolveOptions(time_limit=10.0, params=HighsParams()))
    assert run.offer([rest])
    alone = run.best_value
    _repair_best(run, [x], None)
    assert run.best_value > alone
    assert check(problem, {"routes": [[problem.ids[i] for i in r] for r in run.best]}).ok
