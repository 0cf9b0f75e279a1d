"""daitn_opt.exact: what the exact-solver skeleton decides for every backend.

A toy kind (pick one item of greatest value; the warm start and the backend are scripted per
test) drives the skeleton through each of its paths: screening, the warm start kept or beaten,
a backend solution that fails the feasibility test, a proof, infeasibility, running out of time,
and the tighter of two bounds. The last tests run the plug-in solver of
``tests/plugins/toy_solver.py`` (T-FAM, registered through ``DAITN_OPT_SOLVER_MODULES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

import daitn_opt
from daitn_opt.exact import (
    ExactSolver,
    KindSupport,
    Outcome,
    OutOfTime,
    Run,
    Start,
    register_exact,
    tighter,
)
from daitn_opt.params import param
from daitn_opt.registry import _REGISTRY, SolveOptions
from daitn_opt.result import Result, Status

KIND = "skeleton-test"


@dataclass(frozen=True)
class Items:
    """Choose one item; ``start`` is the warm start's (index, bound) and ``backend`` the
    outcome the backend returns (or "late" to run out of time)."""

    kind: ClassVar[str] = KIND
    sense: ClassVar[str] = "max"
    values: tuple = (3.0, 5.0, 4.0)
    start: tuple | None = None
    backend: Any = None
    screened: bool = False


class ItemsSupport(KindSupport):
    def screen(self, problem, solver):
        if problem.screened:
            return self.result(problem, solver, None, status=Status.INFEASIBLE, message="nothing")
        return None

    def warm_start(self, problem, options):
        if problem.start is None:
            return Start()
        index, bound = problem.start
        return Start(index, self.value(problem, index), bound)

    def value(self, problem, solution):
        return float(problem.values[solution])

    def feasible(self, problem, solution):
        return 0 <= solution < len(problem.values)

    def result(self, problem, solver, solution, **fields):
        objective = None if solution is None else self.value(problem, solution)
        fields.setdefault("status", Status.FEASIBLE)
        solution_doc = {} if solution is None else {"item": solution}
        return Result(
            KIND, solver, sense="max", objective=objective, solution=solution_doc, **fields
        )


@dataclass(frozen=True)
class ScriptParams:
    label: str = param("script", "a parameter the backend records, to show it arrives")


@register_exact
class Scripted(ExactSolver):
    kind = KIND
    name = "scripted"
    description = "returns problem.backend"
    support = ItemsSupport()
    Params = ScriptParams

    def build(self, run: Run) -> Any:
        run.stats["label"] = run.params.label
        return run.problem.backend

    def run(self, run: Run, model: Any) -> Any:
        if model == "late":
            raise OutOfTime("time limit reached while searching")
        return model

    def extract(self, run: Run, model: Any, raw: Any) -> Outcome:
        return raw


@pytest.fixture(autouse=True, scope="module")
def _forget_the_toy_kind():
    yield
    _REGISTRY.pop(KIND, None)


def solve(problem: Items, **params: Any) -> Result:
    return daitn_opt.solve(problem, "scripted", time_limit=2, **params)


def test_a_screened_problem_is_answered_before_any_search():
    result = solve(Items(screened=True, backend="late"))
    assert result.status is Status.INFEASIBLE and result.message == "nothing"


def test_a_proof_makes_the_backend_solution_optimal_and_params_reach_the_backend():
    result = solve(Items(start=(0, None), backend=Outcome(solution=1, proved=True)), label="x")
    assert (result.status, result.objective, result.bound) == (Status.OPTIMAL, 5.0, 5.0)
    assert result.solution == {"item": 1}
    assert result.stats["label"] == "x" and result.stats["warm_start"] == 3.0


def test_the_warm_start_is_kept_when_it_is_better_than_the_backend_solution():
    result = solve(Items(start=(1, None), backend=Outcome(solution=0, bound=6.0)))
    assert (result.status, result.objective, result.bound) == (Status.FEASIBLE, 5.0, 6.0)
    assert result.gap == pytest.approx(1 / 5)


def test_a_backend_solution_failing_the_feasibility_test_is_dropped():
    result = solve(Items(start=(0, None), backend=Outcome(solution=9, bound=5.0)))
    assert result.objective == 3.0 and result.stats["backend_solution_rejected"]


def test_running_out_of_time_returns_the_warm_start_with_its_bound_and_the_reason():
    result = solve(Items(start=(2, 4.5), backend="late"))
    assert (result.status, result.objective, result.bound) == (Status.FEASIBLE, 4.0, 4.5)
    assert result.message == "time limit reached while searching; returning the warm start"


def test_running_out_of_time_without_a_warm_start_is_no_solution():
    result = solve(Items(backend="late"))
    assert result.status is Status.NO_SOLUTION and result.objective is None


def test_proved_infeasibility_without_a_warm_start_is_infeasible():
    result = solve(Items(backend=Outcome(infeasible=True)))
    assert result.status is Status.INFEASIBLE
    assert result.message == "the model is infeasible"


def test_a_claim_of_infeasibility_against_a_feasible_warm_start_is_recorded_not_believed():
    result = solve(Items(start=(0, None), backend=Outcome(infeasible=True)))
    assert result.status is Status.FEASIBLE and result.objective == 3.0
    assert result.stats["backend_claimed_infeasible"]


def test_the_tighter_bound_of_backend_and_warm_start_is_kept():
    result = solve(Items(start=(1, 5.0), backend=Outcome(solution=1, bound=7.0)))
    assert (result.status, result.bound) == (Status.OPTIMAL, 5.0)


@pytest.mark.parametrize(
    ("sense", "bounds", "expected"),
    [("max", (3.0, None, 2.0), 2.0), ("min", (3.0, 2.0), 3.0), ("max", (None,), None)],
)
def test_tighter(sense, bounds, expected):
    assert tighter(sense, *bounds) == expected


def test_a_run_knows_its_time_left():
    run = Run(Items(), SolveOptions(time_limit=5), Start(), deadline=0.0, reserve=0.1)
    assert run.remaining() == 0.0
    with pytest.raises(OutOfTime, match="no time left to build"):
        run.need(1.0, "build")


# -- the plug-in solver (tests/plugins/toy_solver.py) ------------------------------------------
@pytest.fixture
def toy_enum(plugin_modules):
    plugin_modules("tests.plugins.toy_solver")


def test_the_plugin_solver_proves_the_optimum_of_small_batches(toy_enum):
    from tests.tfam import helpers

    for problem, optimum in [
        (helpers.knapsack(), 18.0),
        (helpers.knapsack(must=(0,)), 17.0),
        (p := helpers.random_problem(3, requests=6), helpers.brute_force(p)),
    ]:
        result = daitn_opt.solve(problem, "toy-enum", time_limit=5)
        assert result.status is Status.OPTIMAL and result.objective == pytest.approx(optimum)


def test_the_plugin_solver_declares_its_parameters(toy_enum):
    from tests.tfam import helpers

    spec = daitn_opt.solvers("tfam")["tfam"]["toy-enum"]
    assert spec.exact and "max_nodes" in {f.name for f in spec.params.__dataclass_fields__.values()}
    problem = helpers.random_problem(3, requests=6)
    cut = daitn_opt.solve(problem, "toy-enum", time_limit=5, max_nodes=1, warm_start=False)
    assert cut.status is Status.NO_SOLUTION and "after 1 nodes" in cut.message
    with pytest.raises(daitn_opt.InputError, match="max_nodes"):
        daitn_opt.solve(problem, "toy-enum", max_node=1)
