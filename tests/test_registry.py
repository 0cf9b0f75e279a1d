"""daitn_opt.registry: registration, lookup, the limits solve() accepts, and the result contract
it enforces on every solver's result (a third party's included)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from daitn_opt.errors import InputError, UnsupportedError
from daitn_opt.kinds import BUILTIN_KINDS
from daitn_opt.registry import _REGISTRY as REGISTRY
from daitn_opt.registry import (
    SolveOptions,
    check_limits,
    get_solver,
    problem_sense,
    register,
    solve,
    solvers,
)
from daitn_opt.result import Result, Status

KIND = "registry-test"


@dataclass(frozen=True)
class Toy:
    """A problem kind of this test only; ``sense`` is what the contract reads."""

    kind: ClassVar[str] = KIND
    sense: str = "min"
    answer: tuple = ()


@pytest.fixture
def toy():
    """Register solvers for the toy kind: ``answer`` is the (status, objective, bound) returned."""

    def returning(problem, options):
        status, objective, bound = problem.answer
        return Result(KIND, "x", Status(status), "max", objective, bound, message="")

    register(KIND, "exact", exact=True, description="returns problem.answer")(returning)
    register(KIND, "heuristic", exact=False, description="returns problem.answer")(returning)
    yield
    REGISTRY.pop(KIND, None)


def test_the_built_in_kinds_all_have_exact_solvers_and_heuristics():
    registered = solvers()
    assert set(BUILTIN_KINDS) <= set(registered)
    for kind in BUILTIN_KINDS:
        kinds = {spec.exact for spec in registered[kind].values()}
        assert kinds == {True, False}, kind
        for name, spec in registered[kind].items():
            assert (spec.problem, spec.name) == (kind, name) and spec.description


def test_unknown_kind_and_solver_are_input_errors_listing_the_known_ones():
    with pytest.raises(InputError, match="problem") as err:
        solvers("nope")
    assert "mtrce" in str(err.value)
    with pytest.raises(InputError, match="solver = 'nope'") as err:
        get_solver("mtrce", "nope")
    assert "greedy" in str(err.value)


def test_a_non_problem_is_refused():
    with pytest.raises(InputError, match="problem"):
        solve(object(), "greedy")


@pytest.mark.parametrize(
    ("field", "kw"),
    [
        ("time_limit", {"time_limit": 0}),
        ("time_limit", {"time_limit": -1.0}),
        ("time_limit", {"time_limit": math.nan}),
        ("time_limit", {"time_limit": math.inf}),
        ("time_limit", {"time_limit": "3"}),
        ("time_limit", {"time_limit": True}),
        ("seed", {"seed": -1}),
        ("seed", {"seed": 2**31}),
        ("seed", {"seed": 1.5}),
        ("seed", {"seed": "1"}),
        ("seed", {"seed": False}),
        ("threads", {"threads": 0}),
        ("threads", {"threads": -3}),
        ("threads", {"threads": 2.0}),
        ("threads", {"threads": None}),
    ],
)
def test_bad_limits_are_input_errors_naming_the_field(field, kw, toy):
    args = {"time_limit": 1.0, "seed": 0, "threads": 1, **kw}
    with pytest.raises(InputError) as err:
        check_limits(args["time_limit"], args["seed"], args["threads"])
    assert err.value.field == field
    with pytest.raises(InputError) as err:  # solve() checks them before running anything
        solve(Toy(answer=("feasible", 1.0, None)), "exact", **kw)
    assert err.value.field == field and str(err.value).startswith(f"{field} = ")


def test_good_limits_are_normalised():
    assert check_limits(3, np.int64(2**31 - 1), np.int32(4)) == (3.0, 2**31 - 1, 4)
    assert check_limits(0.5, 0, 1) == (0.5, 0, 1)


def test_solve_stamps_runtime_seed_limit_and_names(toy):
    result = solve(Toy(answer=("feasible", 5.0, 4.0)), "exact", time_limit=2, seed=9)
    assert (result.problem, result.solver, result.seed, result.time_limit) == (
        KIND,
        "exact",
        9,
        2.0,
    )
    assert 0 <= result.runtime < 2
    assert result.sense == "min"  # the problem's, not the solver's
    assert result.gap == pytest.approx(0.2)


def test_a_bound_on_the_wrong_side_is_dropped_and_recorded_for_every_solver(toy):
    # The case of issue 10: minimising, objective 26524, bound 26525, said "feasible".
    for name in ("exact", "heuristic"):
        result = solve(Toy(answer=("feasible", 26524.0, 26525.0)), name)
        assert (result.status, result.bound, result.gap) == (Status.FEASIBLE, None, None)
        assert result.contract_violations and "wrong side" in result.message


def test_a_bound_within_rounding_of_the_objective_proves_optimality(toy):
    result = solve(Toy(answer=("feasible", 26524.0, 26524.0 + 1e-3)), "exact")
    assert (result.status, result.bound, result.gap) == (Status.OPTIMAL, 26524.0, 0.0)
    assert result.contract_violations == []


def test_optimal_is_kept_only_with_a_closed_gap(toy):
    wide = solve(Toy(answer=("optimal", 100.0, 90.0)), "exact")
    assert wide.status is Status.FEASIBLE and wide.gap == pytest.approx(0.1)
    unproved = solve(Toy(answer=("optimal", 100.0, None)), "heuristic")
    assert unproved.status is Status.FEASIBLE
    trusted = solve(Toy(answer=("optimal", 100.0, None)), "exact")
    assert (trusted.status, trusted.bound, trusted.gap) == (Status.OPTIMAL, 100.0, 0.0)


def test_the_contract_reads_the_reported_sense():
    import numpy as np

    from daitn_opt.qirce import Problem as Qirce

    admit = Qirce(demand_ids=["d"], facility_ids=["f"], model_ids=["m"], demand_model=[0],
                  rate=[1.0], value=[1.0], slo_ms=[50.0], model_memory=[0.0],
                  facility_memory=[np.inf], capacity=[1.0], open_cost=[0.0], arc_demand=[0],
                  arc_facility=[0], arc_cost=[3.0], arc_load=[1.0], arc_latency=[5.0],
                  mode="admit")  # fmt: skip
    assert (admit.cost_sense, problem_sense(admit)) == ("min", "max")
    assert problem_sense(Toy()) == "min"
    assert problem_sense(object()) is None


def test_a_crashing_or_misbehaving_solver_gives_an_error_result(toy):
    @register(KIND, "crash", exact=False, description="raises")
    def _crash(problem, options):
        raise RuntimeError("boom")

    @register(KIND, "wrong-type", exact=False, description="returns a dict")
    def _wrong(problem, options):
        return {"status": "optimal"}

    crashed = solve(Toy(), "crash")
    assert crashed.status is Status.ERROR and crashed.message == "RuntimeError: boom"
    wrong = solve(Toy(), "wrong-type")
    assert wrong.status is Status.ERROR and "dict" in wrong.message


def test_input_and_unsupported_errors_of_a_solver_propagate(toy):
    @register(KIND, "picky", exact=True, description="refuses", supports=lambda p: "never")
    def _picky(problem, options):
        raise AssertionError("not called")

    @register(KIND, "strict", exact=True, description="bad input")
    def _strict(problem, options):
        raise InputError("x", 1, "bad")

    with pytest.raises(UnsupportedError, match=r"^picky: never$"):
        solve(Toy(), "picky")
    with pytest.raises(InputError, match="x = 1: bad"):
        solve(Toy(), "strict")


def test_solve_options_measure_the_time_left():
    options = SolveOptions(time_limit=5.0)
    assert 0.0 <= options.elapsed() < 1.0
    assert 4.0 < options.remaining() <= 5.0
    assert SolveOptions(time_limit=0.0).remaining() == 0.0


def test_parameters_reach_the_solver_typed_and_unknown_ones_are_refused(toy):
    from daitn_opt.params import param

    @dataclass(frozen=True)
    class EchoParams:
        rounds: int = param(3, "how many")

    seen = []

    @register(KIND, "echo", exact=False, description="records its params", params=EchoParams)
    def _echo(problem, options):
        seen.append(options.params)
        return Result(KIND, "echo", Status.FEASIBLE, "min", 1.0)

    solve(Toy(), "echo")
    solve(Toy(), "echo", rounds="7")  # text, as the command line passes it
    assert seen == [EchoParams(3), EchoParams(7)]
    with pytest.raises(InputError, match="param = 'round': unknown for solver echo; valid: rounds"):
        solve(Toy(), "echo", round=1)
    with pytest.raises(InputError, match=r"param\.rounds"):
        solve(Toy(), "echo", rounds=1.5)


def test_a_plugin_module_registers_solvers(plugin_modules):
    """``DAITN_OPT_SOLVER_MODULES`` names modules imported before the kinds load."""
    assert "toy-enum" not in solvers("tfam")["tfam"]
    plugin_modules("tests.plugins.toy_solver")
    assert solvers("tfam")["tfam"]["toy-enum"].exact


def test_the_plugin_fixture_leaves_the_registry_as_it_found_it():
    assert "toy-enum" not in solvers("tfam")["tfam"]
    assert "knapsack-lite" not in solvers()
