"""Status and bound tell one story (issue 10, item 1), and relabelling changes nothing.

Every T-FAM solver's result goes through :func:`daitn_opt.result.enforce_contract`: the bound sits
on the correct side of the incumbent (maximising: bound >= objective) and ``optimal`` is
reported exactly when the relative gap is at most 1e-6. Renumbering and reordering requests,
plans and resources never changes an exact solver's optimal value or status.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from daitn_opt import solve
from daitn_opt.drrt.converters import convert
from daitn_opt.exact import rounded_bound
from daitn_opt.result import Result, Status, enforce_contract
from daitn_opt.result import contract_breach as contract_violation
from daitn_opt.tfam import build, check, from_instance

from .helpers import ALL, EXACT, brute_force, random_problem
from .permute import relabel

MKNAP = Path(__file__).resolve().parents[2] / "instances" / "classic" / "mknap"


def assert_consistent(result: Result) -> None:
    """The reporting contract every solver keeps."""
    assert contract_violation(result) is None, result.summary()


def _result(status, objective, bound, sense="max"):
    return Result(
        problem="x", solver="s", status=status, sense=sense, objective=objective, bound=bound
    )


def settle(result: Result, exact: bool = False) -> Result:
    """The contract as :func:`daitn_opt.solve` enforces it on a T-FAM result."""
    enforce_contract(result, sense=result.sense, exact=exact)
    return result


def test_the_contract_makes_status_and_bound_agree():
    # A bound equal to the incumbent proves optimality, whatever the solver said.
    assert settle(_result("feasible", 26524.0, 26524.0, "min")).status is Status.OPTIMAL
    # A bound crossing the incumbent by the solver's tolerance is the incumbent: optimal.
    r = settle(_result("feasible", 100.0, 100.00001, "min"))
    assert r.status is Status.OPTIMAL and r.bound == 100.0 and r.gap == 0.0
    # A bound crossing it by more cannot be trusted: dropped, not optimal.
    r = settle(_result("feasible", 26524.0, 26525.0, "min"))
    assert r.status is Status.FEASIBLE and r.bound is None and "26525" in r.message
    r = settle(_result("optimal", 10.0, 9.0, "max"))
    assert r.status is Status.FEASIBLE and r.bound is None
    # "Optimal" at a solver's gap tolerance above 1e-6 is only feasible.
    r = settle(_result("optimal", 100.0, 100.01, "max"))
    assert r.status is Status.FEASIBLE and r.gap == pytest.approx(1e-4)
    # Optimal without any bound is not proved.
    assert settle(_result("optimal", 5.0, None)).status is Status.FEASIBLE
    # Infinite bounds prove nothing.
    assert settle(_result("feasible", 5.0, float("inf"))).status is Status.FEASIBLE


def test_integral_bounds_round_towards_the_incumbent_only():
    assert rounded_bound(41.9999999999, "max", True) == 42.0
    assert rounded_bound(42.5, "max", True) == 42.0
    assert rounded_bound(26524.2, "min", True) == 26525.0
    assert rounded_bound(26524.0000000001, "min", True) == 26524.0
    assert rounded_bound(42.5, "max", False) == 42.5
    assert rounded_bound(float("-inf"), "min", True) is None


@pytest.mark.parametrize("solver", ALL)
@pytest.mark.parametrize("seed", range(4))
def test_every_solver_keeps_the_contract_on_random_batches(solver, seed):
    problem = random_problem(seed, requests=6, resources=3, max_plans=3)
    result = solve(problem, solver, time_limit=10, seed=seed)
    assert_consistent(result)
    if solver in EXACT:
        assert result.status is Status.OPTIMAL
        assert result.objective == pytest.approx(brute_force(problem))


@pytest.mark.parametrize("solver", EXACT)
@pytest.mark.parametrize("index", [1, 2, 4])
def test_relabelled_mknap_copies_have_the_same_optimum_and_status(solver, index):
    """mknap1 instances and two renumbered/reordered copies: same optimal value, status."""
    base = from_instance(convert("mknap", MKNAP / "mknap1.txt", index=index))
    results = [solve(p, solver, time_limit=20) for p in (base, relabel(base, 1), relabel(base, 2))]
    for result in results:
        assert_consistent(result)
    assert {r.status for r in results} == {Status.OPTIMAL}
    assert len({round(r.objective, 6) for r in results}) == 1


@pytest.mark.parametrize("solver", EXACT)
def test_fractional_values_still_give_a_valid_bound_and_a_proof(solver):
    """Plan values with many decimals (as generated plans have): CP-SAT rounds them up, so its
    bound stays valid and optimality is proved within 1e-6 (it used to report no bound)."""
    rng = np.random.default_rng(3)
    base = random_problem(5, requests=8, resources=3, max_plans=2)
    values = base.value * (1 + rng.random(base.n_plans) / 7)  # not a multiple of 1e-6
    problem = build(
        base.request_ids,
        base.plan_request,
        values,
        base.use,
        base.capacity,
    )
    result = solve(problem, solver, time_limit=10)
    assert_consistent(result)
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(brute_force(problem), rel=1e-9)
    assert check(problem, result.solution).ok


@pytest.mark.parametrize("solver", EXACT)
def test_a_time_limited_run_keeps_the_contract(solver):
    """mknapcb1 (100 items, 5 constraints) cut short: feasible, bound above the incumbent."""
    problem = from_instance(convert("mknap", MKNAP / "mknapcb1.txt", index=1))
    result = solve(problem, solver, time_limit=1.0)
    assert result.status.has_solution
    assert_consistent(result)
    assert check(problem, result.solution).ok
