"""Every registered MTRCE solver, through the independent checker, on hand-checkable instances.

The solver list comes from the registry, so solvers added later are covered automatically. A
solver is skipped on an instance only when it refuses the variant with ``UnsupportedError``.
Exact solvers must reach the optimum each instance's docstring derives
(:mod:`tests.mtrce.hand_instances`); every solver's objective must equal the checker's.
"""

from __future__ import annotations

import pytest

from daitn_opt.errors import InputError, UnsupportedError
from daitn_opt.mtrce import check
from daitn_opt.registry import solve, solvers
from daitn_opt.result import Status
from tests.mtrce.hand_instances import INFEASIBLE, SOLVABLE

SOLVERS = sorted(solvers("mtrce")["mtrce"])
SPECS = solvers("mtrce")["mtrce"]


def _solve(problem, name, **kw):
    # Exact solvers get room to prove; metaheuristics that run to the limit (routing) get 2 s.
    limit = 20.0 if SPECS[name].exact else 2.0
    try:
        return solve(problem, name, time_limit=limit, seed=3, **kw)
    except UnsupportedError as exc:
        assert str(exc).startswith(f"{name}: "), "an UnsupportedError must start with the name"
        pytest.skip(str(exc))


def test_the_heuristics_and_aats_are_registered():
    assert {"random", "nearest", "greedy", "ils", "aats"} <= set(SOLVERS)


@pytest.mark.parametrize("instance", sorted(SOLVABLE))
@pytest.mark.parametrize("name", SOLVERS)
def test_solver_output_passes_the_checker(name, instance):
    problem, optimum = SOLVABLE[instance]()
    result = _solve(problem, name)
    assert result.status in (Status.OPTIMAL, Status.FEASIBLE), result.message
    report = check(problem, result.solution)
    assert report.ok, report.violations
    assert result.objective == pytest.approx(report.objective, abs=1e-6)
    assert result.sense == problem.sense
    if problem.sense == "max":
        assert result.objective <= optimum + 1e-6
    else:
        assert result.objective >= optimum - 1e-6
    if SPECS[name].exact:
        assert result.objective == pytest.approx(optimum, abs=1e-6)
        assert result.status == Status.OPTIMAL
    if name == "ils":  # the local search is expected to find these optima
        assert result.objective == pytest.approx(optimum, abs=1e-6)


@pytest.mark.parametrize("instance", sorted(INFEASIBLE))
@pytest.mark.parametrize("name", SOLVERS)
def test_infeasible_instances_say_so(name, instance):
    problem = INFEASIBLE[instance]()
    result = _solve(problem, name)
    assert result.status == Status.INFEASIBLE, (result.status, result.message)
    assert result.message and "\n" not in result.message
    assert result.solution == {} or not result.solution.get("routes")


@pytest.mark.parametrize("name", [n for n in SOLVERS if not SPECS[n].exact])
def test_heuristics_are_deterministic_for_a_seed(name):
    problem, _ = SOLVABLE["top6"]()
    a = _solve(problem, name)
    b = _solve(problem, name)
    assert a.solution["routes"] == b.solution["routes"]
    assert a.objective == b.objective


def test_unknown_solver_lists_the_registered_ones():
    problem, _ = SOLVABLE["op5"]()
    with pytest.raises(InputError) as err:
        solve(problem, "no-such-solver")
    message = str(err.value)
    assert "no-such-solver" in message
    for name in SOLVERS:
        assert name in message
