"""What the exact-solver skeleton needs to know about T-FAM (:class:`daitn_opt.exact.KindSupport`).

Every exact T-FAM backend (``highs``, ``cpsat``, ``pyomo``) runs in
:class:`daitn_opt.exact.ExactSolver`; this module supplies the kind's part:

- **screen**: batches decided before any search (:func:`.screening.screen`);
- **warm start**: ``options.initial`` when feasible, else the local search's best admission
  (unless the parameter ``warm_start`` is False), and on large batches a Lagrangian upper bound
  seeded with its value (:func:`fallback_bound`): on large batches the MIP may end its time limit
  before its own root bound exists;
- **value**, **feasible** and **result**: a solution is ``choice`` (per request, the global index
  of its chosen plan or -1), scored, checked and turned into a Result by
  :mod:`.solution`; a bound is rounded down to an integer when every plan value is integral, and
  the result of a batch cut short by plan generation claims no proof
  (:func:`.screening.restricted_by_time`).

The parameters every exact backend takes are :class:`ExactParams`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exact import ExactSolver, KindSupport, Run, Start, rounded_bound
from ..params import param
from ..registry import SolveOptions
from ..result import Result, Status
from .bounds import lagrangian_bound
from .problem import Problem
from .screening import infeasible_message, restricted_by_time, screen
from .search import best_heuristic
from .solution import from_solution, is_feasible, make_result, objective_of


@dataclass(frozen=True)
class ExactParams:
    """Parameters every exact T-FAM solver (``highs``, ``cpsat``, ``pyomo``) takes."""

    warm_start: bool = param(
        True, "start from the best heuristic admission (the local search's) when no start is given"
    )
    lagrangian: bool = param(
        True, "on large batches (5,000 plans or more), compute a Lagrangian bound before searching"
    )
    ls_iterations: int = param(30, "iterations of the local search that makes the warm start")


LARGE = 5000
"""Plans from which the exact solvers also compute a Lagrangian bound before searching."""


def fallback_bound(problem: Problem, options: SolveOptions, lower: float) -> float | None:
    """A Lagrangian upper bound for large batches (None for small ones), within 10 % of the time."""
    if problem.n_plans < LARGE or not options.params.lagrangian:
        return None
    budget = min(10.0, 0.1 * options.remaining())
    return lagrangian_bound(problem, lower=lower, iterations=500, time_limit=budget)


def integral_values(problem: Problem) -> bool:
    """Whether every admission's value is an integer (integral plan values)."""
    return bool(np.all(problem.value == np.round(problem.value)))


def choice_of(problem: Problem, chosen: np.ndarray) -> np.ndarray:
    """``choice`` (per request: its chosen plan, -1 refused) of the chosen plan indices."""
    choice = np.full(problem.n_requests, -1, dtype=np.int64)
    choice[problem.plan_request[chosen]] = chosen
    return choice


def start_vector(problem: Problem, choice: np.ndarray) -> np.ndarray:
    """(P,) 0-1 values of the plan variables for ``choice`` (a warm start or hint)."""
    x = np.zeros(problem.n_plans)
    x[choice[choice >= 0]] = 1.0
    return x


class TfamSupport(KindSupport):
    """The T-FAM part of the exact-solver skeleton (see the module docstring)."""

    def screen(self, problem: Problem, solver: str) -> Result | None:
        return screen(problem, solver)

    def warm_start(self, problem: Problem, options: SolveOptions) -> Start:
        choice = None
        if options.initial is not None:
            given = from_solution(problem, options.initial)
            if is_feasible(problem, given):
                choice = given
        if choice is None and options.params.warm_start:
            choice = best_heuristic(problem, options, iterations=options.params.ls_iterations)
        value = None if choice is None else objective_of(problem, choice)
        bound = fallback_bound(problem, options, 0.0 if value is None else value)
        return Start(choice, value, bound)

    def value(self, problem: Problem, solution: np.ndarray) -> float:
        return objective_of(problem, solution)

    def feasible(self, problem: Problem, solution: np.ndarray) -> bool:
        return is_feasible(problem, solution)

    def result(
        self, problem: Problem, solver: str, solution: np.ndarray | None, **fields: Any
    ) -> Result:
        fields["bound"] = rounded_bound(fields.get("bound"), "max", integral_values(problem))
        fields.setdefault("status", Status.FEASIBLE)
        return restricted_by_time(problem, make_result(problem, solver, solution, **fields))

    def infeasible_message(self, problem: Problem) -> str:
        return infeasible_message(problem, 10.0)


SUPPORT = TfamSupport()
"""The one :class:`TfamSupport` every exact T-FAM backend uses."""


class TfamExact(ExactSolver):
    """Base of the exact T-FAM backends: the kind, its support, and the start-up margin.

    A backend names itself in its class statement: ``class CpsatSolver(TfamExact,
    name="cpsat", params=CpsatParams, description="...")``. ``start_up`` is ``(seconds, share
    of the time limit)``: the larger of the two is kept back from the backend's own search for
    its start-up and for reading its solution back.
    """

    kind = "tfam"
    support = SUPPORT
    start_up: tuple[float, float] = (0.1, 0.05)

    def __init_subclass__(cls, *, name: str, params: type, description: str, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls.name, cls.Params, cls.description = name, params, description

    def margin(self, run: Run) -> float:
        """Seconds kept, beyond the skeleton's reserve, for start-up and extraction."""
        least, share = self.start_up
        return max(0.0, max(least, share * run.options.time_limit) - run.reserve)
