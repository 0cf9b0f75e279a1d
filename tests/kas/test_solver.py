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
    with pytest.raises(InputError, match="valid: domains, leg_solver, levels"):
        daitn_opt.solve(problem, "kas", time_limit=2, domain=3)
