"""The registered ``kas`` MTRCE solver: domains from travel times, a checked stitched route."""

from __future__ import annotations

import pytest

import daitn_opt
from daitn_opt import mtrce
from daitn_opt.drrt.generators import generate
from daitn_opt.errors import InputError
from daitn_opt.kas.solver import travel_domains


@pytest.fixture(scope="module")
def problem():
    return mtrce.from_instance(generate("rgg", nodes=300, seed=4, requests=1))


def test_kas_returns_a_route_the_checker_accepts(problem):
    result = daitn_opt.solve(problem, "kas", time_limit=4, seed=1, domains=4, leg_solver="greedy")
    assert result.status.value == "feasible" and result.objective > 0
    assert mtrce.check(problem, result.solution).ok
    assert result.stats["domains"] == 4 and result.stats["checked"]


def test_every_node_but_the_ends_gets_one_of_the_domains(problem):
    domain_of = travel_domains(problem, 6, seed=0)
    inside = set(problem.ids) - {problem.ids[problem.start], problem.ids[problem.end]}
    assert set(domain_of) == inside and set(domain_of.values()) == set(range(6))
    assert travel_domains(problem, 6, seed=0) == domain_of  # seeded


def test_bad_parameters_are_named(problem):
    with pytest.raises(InputError, match="domains"):
        daitn_opt.solve(problem, "kas", time_limit=2, domains=0)
    with pytest.raises(
        InputError, match="valid: domains, leg_iterations, leg_solver, levels, scheduler, workers"
    ):
        daitn_opt.solve(problem, "kas", time_limit=2, domain=3)
    with pytest.raises(InputError, match="workers"):
        daitn_opt.solve(problem, "kas", time_limit=2, workers=-1)


def test_fixed_iterations_per_leg_give_the_same_route_twice(problem):
    runs = [
        daitn_opt.solve(problem, "kas", time_limit=30, seed=2, domains=3, leg_iterations=20)
        for _ in range(2)
    ]
    assert runs[0].solution["routes"] == runs[1].solution["routes"]
    assert runs[0].stats["checked"]


@pytest.mark.slow
def test_legs_on_a_local_dask_cluster_give_the_route_of_the_legs_in_order(problem):
    # Greedy legs are deterministic: one worker or two, the same legs give the same route.
    options = dict(time_limit=20, seed=1, domains=4, leg_solver="greedy")
    on_dask = daitn_opt.solve(problem, "kas", workers=2, **options)
    assert on_dask.status.value == "feasible" and on_dask.stats["checked"]
    assert mtrce.check(problem, on_dask.solution).ok
    again = daitn_opt.solve(problem, "kas", workers=1, **options)
    assert again.solution["routes"] == on_dask.solution["routes"]


@pytest.mark.parametrize(
    ("objective", "named"),
    [("max_coverage", "coverage-ils"), ("min_expected_time_to_target", "anytime-ils")],
)
def test_kas_refuses_outcome_objectives_and_names_the_solvers_that_model_them(
    healthcare_small, objective, named
) -> None:
    from daitn_opt.errors import UnsupportedError
    from daitn_opt.mtrce import from_instance
    from daitn_opt.registry import solve

    problem = from_instance(healthcare_small).replace(objective=objective)
    with pytest.raises(UnsupportedError, match=named):
        solve(problem, "kas", time_limit=2)
