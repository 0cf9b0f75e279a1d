"""Typed parameters of the MTRCE solvers (issue 11, item 3): every registered solver declares a
parameter class, an unknown or misspelt key is an InputError listing the valid ones, and the
values reach the solver as attributes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from daitn_opt import registry
from daitn_opt.errors import InputError
from daitn_opt.mtrce import Problem
from daitn_opt.params import parse_params

from .hand_instances import op5


def _mtrce_solvers() -> dict[str, registry.SolverSpec]:
    return registry.solvers("mtrce")["mtrce"]


@pytest.mark.parametrize("name", sorted(_mtrce_solvers()))
def test_every_solver_declares_a_parameter_class(name):
    spec = _mtrce_solvers()[name]
    assert spec.params is not None, f"{name} registered without params="
    assert dataclasses.is_dataclass(spec.params)
    for f in dataclasses.fields(spec.params):
        assert f.metadata.get("help"), f"{name}.{f.name} has no help text"


@pytest.mark.parametrize("name", sorted(_mtrce_solvers()))
def test_a_misspelt_parameter_is_refused_naming_the_valid_ones(name):
    problem, _ = op5()
    spec = _mtrce_solvers()[name]
    valid = [f.name for f in dataclasses.fields(spec.params)]
    with pytest.raises(InputError) as exc:
        if spec.supports is None or spec.supports(problem) is None:
            registry.solve(problem, name, time_limit=1, no_such_param=3)
        else:  # a coverage or TAG solver: the parameters alone (solve would refuse op5 first)
            parse_params(spec.params, {"no_such_param": 3}, solver=name)
    assert exc.value.field == "param"
    assert "no_such_param" in str(exc.value)
    for key in valid:
        assert key in str(exc.value)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("cpsat", {"warm_start_solver": None, "workers": 1}),
        ("routing", {"warm_start_solver": None, "metaheuristic": "GUIDED_LOCAL_SEARCH"}),
        ("ils", {"iterations": 5, "patience": 3, "tabu": False}),
        ("aats", {"hops": 1, "degree": 2}),
    ],
)
def test_declared_parameters_are_accepted(name, params):
    problem, optimum = op5()
    result = registry.solve(problem, name, time_limit=3, seed=0, **params)
    assert result.is_feasible() and result.objective <= optimum + 1e-9


def test_the_old_hint_name_is_refused_for_cpsat():
    problem, _ = op5()
    with pytest.raises(InputError, match="warm_start_solver"):
        registry.solve(problem, "cpsat", time_limit=1, hint=None)


def test_a_wrong_type_names_the_parameter():
    problem, _ = op5()
    with pytest.raises(InputError) as exc:
        registry.solve(problem, "ils", time_limit=1, iterations="many")
    assert exc.value.field == "param.iterations"


def test_ils_iterations_bound_the_kicks():
    x = np.linspace(0, 10, 12)
    problem = Problem(
        ids=[f"n{i}" for i in range(12)],
        start=0,
        end=0,
        travel=np.abs(x[:, None] - x[None, :]),
        service=np.zeros(12),
        utility=np.arange(12.0),
        deadline=12.0,
    )
    result = registry.solve(problem, "ils", time_limit=5, seed=0, iterations=3, restarts=False)
    assert result.stats["iterations"] <= 3


@pytest.mark.parametrize("name", ["cpsat", "routing"])
def test_an_unknown_warm_start_solver_is_refused(name):
    problem, _ = op5()
    with pytest.raises(InputError) as exc:
        registry.solve(problem, name, time_limit=2, warm_start_solver="isl", warm_start_time=0.5)
    assert exc.value.field == "param.warm_start_solver" and "ils" in str(exc.value)
