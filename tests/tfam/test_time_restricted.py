"""A T-FAM batch cut short by plan generation's time limit claims no optimality (issue 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from daitn_opt import tfam
from daitn_opt.drrt.instance import load_instance
from daitn_opt.registry import solve, solvers
from daitn_opt.result import Status

INSTANCE = Path(__file__).resolve().parents[2] / "instances" / "healthcare-small.json"


@pytest.mark.parametrize("solver", sorted(solvers("tfam")["tfam"]))
def test_requests_left_out_by_the_time_limit_withdraw_the_proof(solver):
    """With no time to plan, every request is left out 'by the time limit'; a solver may still
    answer (nothing admitted) but must not call the restricted batch optimal, nor give its
    bound as the instance's."""
    problem = tfam.from_instance(load_instance(INSTANCE), time_limit=1e-9)
    assert problem.unplannable and all("time limit" in why for why in problem.unplannable.values())
    result = solve(problem, solver, time_limit=5)
    assert result.status is Status.FEASIBLE, result.summary()
    assert result.bound is None and result.gap is None
    assert "not planned within the time limit" in result.message


def test_a_fully_planned_batch_keeps_its_proof():
    problem = tfam.from_instance(load_instance(INSTANCE))
    result = solve(problem, "highs", time_limit=30)
    assert result.status is Status.OPTIMAL, result.summary()
    assert "restricted" not in (result.message or "")
