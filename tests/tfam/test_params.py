"""Every T-FAM solver declares typed parameters; an unknown or misspelt one is an InputError."""

from __future__ import annotations

import dataclasses

import pytest

from daitn_opt import InputError, solve
from daitn_opt.registry import solvers

from .helpers import ALL as TFAM
from .helpers import EXACT, knapsack

WARM_STARTED = [
    s
    for s in TFAM
    if "warm_start" in {f.name for f in dataclasses.fields(solvers("tfam")["tfam"][s].params)}
]


@pytest.mark.parametrize("solver", TFAM)
def test_every_solver_declares_a_parameter_dataclass(solver):
    spec = solvers("tfam")["tfam"][solver]
    assert spec.params is not None and dataclasses.is_dataclass(spec.params)
    for f in dataclasses.fields(spec.params):
        assert f.metadata.get("help"), f"{solver}.{f.name} has no help text"


@pytest.mark.parametrize("solver", TFAM)
def test_an_unknown_parameter_is_named(solver):
    with pytest.raises(InputError) as err:
        solve(knapsack(), solver, time_limit=5, no_such_knob=3)
    assert err.value.field == "param" and err.value.value == "no_such_knob"
    assert f"solver {solver}" in str(err.value)


def test_a_misspelt_parameter_lists_the_valid_ones():
    with pytest.raises(InputError) as err:
        solve(knapsack(), "ls", time_limit=5, iteration=5)
    assert err.value.value == "iteration" and "valid: iterations" in str(err.value)


def test_every_exact_solver_takes_warm_start():
    assert set(EXACT) <= set(WARM_STARTED)


@pytest.mark.parametrize("solver", WARM_STARTED)
def test_warm_start_is_a_bool(solver):
    with pytest.raises(InputError) as err:
        solve(knapsack(), solver, time_limit=5, warm_start="greedy")
    assert err.value.field == "param.warm_start"
    assert solve(knapsack(), solver, time_limit=5, warm_start=False).status.value == "optimal"


def test_parameters_reach_the_solver():
    result = solve(knapsack(), "highs", time_limit=5, mip_rel_gap=0.0, ls_iterations=1)
    assert result.status.value == "optimal"
