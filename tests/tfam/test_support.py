"""The T-FAM part of the exact-solver skeleton (:mod:`daitn_opt.tfam.support`, ``screening``).

A new exact T-FAM backend is one :class:`~daitn_opt.tfam.support.TfamExact` subclass with
``build``/``run``/``extract`` and a parameter dataclass; these tests drive toy backends through
the skeleton (unregistered, so the registry the other tests follow is not touched).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest

from daitn_opt.exact import Outcome, OutOfTime
from daitn_opt.params import param
from daitn_opt.registry import SolveOptions
from daitn_opt.result import Status
from daitn_opt.tfam import check
from daitn_opt.tfam.plans import OUT_OF_TIME
from daitn_opt.tfam.screening import restricted_by_time, screen
from daitn_opt.tfam.support import ExactParams, TfamExact, choice_of

from .helpers import brute_force, knapsack, random_problem


@dataclass(frozen=True)
class EnumerateParams(ExactParams):
    """Parameters of the toy backend."""

    fail: str = param("", "'build': run out of time while building; 'infeasible': claim so")


class Enumerate(
    TfamExact, name="enumerate", params=EnumerateParams, description="every choice, tried"
):
    """A toy exact backend: every combination of plans is tried."""

    def build(self, run):
        if run.params.fail == "build":
            raise OutOfTime("time limit reached while enumerating")
        p = run.problem
        return [
            ([] if p.must_admit[r] else [-1]) + list(p.plans_of(r)) for r in range(p.n_requests)
        ]

    def run(self, run, model):
        best, best_value = None, -1.0
        for combo in itertools.product(*model):
            choice = np.array(combo, dtype=np.int64)
            if self.support.feasible(run.problem, choice):
                value = self.support.value(run.problem, choice)
                if value > best_value:
                    best, best_value = choice, value
        return best

    def extract(self, run, model, raw):
        if run.params.fail == "infeasible":
            return Outcome(infeasible=True, message="claimed infeasible")
        if raw is None:
            return Outcome(infeasible=True)
        return Outcome(solution=raw, proved=True)


def _solve(problem, **params):
    options = SolveOptions(time_limit=5.0, params=EnumerateParams(**params))
    return Enumerate().solve(problem, options)


@pytest.mark.parametrize("seed", range(4))
def test_a_toy_backend_in_the_skeleton_proves_the_optimum(seed):
    problem = random_problem(seed)
    result = _solve(problem, warm_start=False)
    assert result.status is Status.OPTIMAL and result.solver == "enumerate"
    assert result.objective == pytest.approx(brute_force(problem))
    assert check(problem, result.solution).compare_objective(result.objective).ok


def test_out_of_time_returns_the_warm_start_with_the_reason():
    result = _solve(knapsack(), fail="build")
    assert result.status.has_solution and result.objective >= 15.0  # the local search's
    assert result.message == "time limit reached while enumerating; returning the warm start"
    assert _solve(knapsack(), fail="build", warm_start=False).status is Status.NO_SOLUTION


def test_a_given_start_is_used_when_feasible():
    options = SolveOptions(
        time_limit=5.0,
        initial={"admitted": {"i1": 0, "i2": 0, "i3": 0}},
        params=EnumerateParams(fail="build", warm_start=False),
    )
    result = Enumerate().solve(knapsack(), options)
    assert result.objective == 18.0 and result.solution["admitted"] == {"i1": 0, "i2": 0, "i3": 0}


def test_a_backend_claim_of_infeasibility_does_not_override_a_feasible_start():
    result = _solve(knapsack(), fail="infeasible")
    assert result.status.has_solution
    assert result.stats.get("backend_claimed_infeasible") is True
    refuted = _solve(knapsack(), fail="infeasible", warm_start=False)
    assert refuted.status is Status.INFEASIBLE and refuted.message == "claimed infeasible"


def test_screening_decides_before_any_search():
    assert screen(knapsack(), "x") is None
    conflict = screen(knapsack(must=(0, 1, 2)), "x")
    assert conflict.status is Status.INFEASIBLE and "i0" in conflict.message
    assert _solve(knapsack(must=(0, 1, 2))).status is Status.INFEASIBLE
    no_plan = knapsack().replace(infeasible="must-admit request 'q' cannot be planned")
    assert screen(no_plan, "x").message == "must-admit request 'q' cannot be planned"


def test_a_restricted_batch_claims_no_proof():
    problem = knapsack().replace(unplannable={"late": f"not planned: {OUT_OF_TIME}"})
    result = _solve(problem, warm_start=False)
    assert result.status is Status.FEASIBLE and result.bound is None
    assert result.stats["restricted_bound"] == 18.0
    assert "1 request(s) not planned within the time limit (late)" in result.message
    refused = knapsack().replace(unplannable={"other": "no plan meets the target"})
    assert restricted_by_time(refused, _solve(refused)).status is Status.OPTIMAL


def test_choice_of_maps_plans_to_their_requests():
    problem = random_problem(1, requests=4, max_plans=3)
    last = problem.plan_start[1:] - 1
    assert choice_of(problem, last[[0, 2]]).tolist() == [last[0], -1, last[2], -1]
