"""Typed solver parameters of every registered QIRCE solver (issue 11, item 3).

Driven by the registry: a solver registered later is checked without editing this file.
"""

from __future__ import annotations

import dataclasses

import pytest

from daitn_opt.errors import InputError
from daitn_opt.params import describe
from daitn_opt.qirce import from_instance
from daitn_opt.registry import solve, solvers

from .hand_instances import tiny

SPECS = solvers("qirce")["qirce"]


@pytest.fixture(scope="module")
def problem():
    return from_instance(tiny(single_source=True))


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_solver_declares_a_frozen_parameter_dataclass(name):
    cls = SPECS[name].params
    assert cls is not None and dataclasses.is_dataclass(cls), name
    assert cls.__dataclass_params__.frozen, name
    for info in describe(cls):
        assert info.help, f"{name}.{info.name} has no help text"
        assert info.name not in ("time_limit", "seed", "threads"), "those are SolveOptions"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_an_unknown_parameter_is_an_input_error_listing_the_valid_ones(problem, name):
    valid = [f.name for f in dataclasses.fields(SPECS[name].params)]
    with pytest.raises(InputError) as err:
        solve(problem, name, time_limit=1, no_such_parameter=1)
    assert err.value.field == "param" and "no_such_parameter" in str(err.value)
    for key in valid:
        assert key in str(err.value)


@pytest.mark.parametrize("name", sorted(n for n, s in SPECS.items() if s.exact))
def test_a_misspelt_warm_start_is_refused_before_the_solver_runs(problem, name):
    """``warm_start: bool`` means the same in every exact solver; ``warmstart`` is no key."""
    assert "warm_start" in {f.name for f in dataclasses.fields(SPECS[name].params)}
    with pytest.raises(InputError, match=r"warmstart.*valid: .*warm_start"):
        solve(problem, name, time_limit=1, warmstart=False)
    with pytest.raises(InputError) as err:
        solve(problem, name, time_limit=1, warm_start="perhaps")
    assert err.value.field == "param.warm_start"


def test_parameters_reach_the_solver(problem):
    """Attribute access inside the solvers: values given are the values used."""
    cold = solve(problem, "highs", time_limit=5, warm_start=False)
    assert cold.stats["warm_start"] is None and cold.status.value == "optimal"
    warm = solve(problem, "highs", time_limit=5, linking="aggregated", mip_rel_gap=0.0)
    assert warm.objective == pytest.approx(cold.objective)
    with pytest.raises(InputError, match=r"param\.linking"):
        solve(problem, "highs", time_limit=1, linking="weak")
    ls = solve(problem, "ls", time_limit=5, budget=0.2, max_idle=10)
    assert ls.objective == pytest.approx(cold.objective)
