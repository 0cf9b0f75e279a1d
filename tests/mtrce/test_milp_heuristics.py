"""HiGHS's sub-MIP heuristics on an orienteering route (``highs``, ``sub_mip_heuristics``): off by
default on one orienteering route, left to HiGHS elsewhere; with them off or on the solver proves
the same optimum on random and Tsiligirides orienteering instances (every route through the
checker)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from daitn_opt.mtrce import check
from daitn_opt.mtrce.milp import _orienteering, build_model
from daitn_opt.registry import solve
from daitn_opt.result import Status
from tests.mtrce.test_milp_rcfix import _random_op, _tsiligirides


def test_only_one_orienteering_route_turns_them_off():
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
