"""T-FAM admission heuristics: first-come-first-served, value-density greedy, and local search.

- ``fcfs``: admit requests in arrival order, each with the first of its plans that still fits:
  what a naive admission controller does (``formulations/tfam.md``, Sec. "Heuristics").
- ``greedy``: admit plans in decreasing value density, where a plan's size is its use of each
  resource weighted by that resource's scarcity (expected demand / capacity), in the spirit of
  the primal greedy of Senju and Toyoda (1968) and Chu and Beasley (1997) for the MKP.
- ``ls``: local search from the better of the two: upgrade an admitted request to a better plan,
  add a refused request that fits, drop-add swaps (drop the cheapest conflicting admitted plans to
  admit a more valuable one), and seeded random perturbations (iterated local search).

The construction and the search are :mod:`.search`'s; this module registers them as solvers.
Must-admit requests are placed first by every heuristic. When one cannot be placed, the heuristic
returns no solution (or ``infeasible`` when the capacity certificate proves they cannot all fit).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..params import NoParams, param
from ..registry import SolveOptions, register
from ..result import Result, Status, TracePoint
from .problem import Problem
from .screening import screened
from .search import State, fcfs_choice, greedy_choice, local_search
from .solution import from_solution, is_feasible, make_result, objective_of


def _finish(
    problem: Problem,
    solver: str,
    state: State,
    failed: list[str],
    trace: list[TracePoint],
    stats: dict,
) -> Result:
    if failed:  # (a proved conflict was answered by the screening)
        return make_result(
            problem,
            solver,
            None,
            status=Status.NO_SOLUTION,
            message=f"could not place must-admit requests {failed}",
            stats=stats,
        )
    # Admitting every request with its most valuable plan is an upper bound: reaching it proves
    # optimality without any solver.
    best = np.maximum.reduceat(problem.value, problem.plan_start[:-1]) if problem.n_plans else []
    upper = float(np.sum(best))
    value = objective_of(problem, state.choice)
    status = Status.OPTIMAL if value >= upper - 1e-9 * max(1.0, upper) else Status.FEASIBLE
    return make_result(
        problem,
        solver,
        state.choice,
        status=status,
        bound=upper if status is Status.OPTIMAL else None,
        trace=trace,
        stats=stats,
    )


def _constructed(problem: Problem, solver: str, construct: Callable[[Problem], tuple]) -> Result:
    """The result of one constructive heuristic (``fcfs_choice`` or ``greedy_choice``)."""
    start = time.perf_counter()
    state, failed = construct(problem)[:2]
    trace = [TracePoint(time.perf_counter() - start, objective_of(problem, state.choice), None)]
    stats = {"admitted": int((state.choice >= 0).sum())}
    return _finish(problem, solver, state, failed, trace, stats)


FCFS = "First come, first served (naive baseline)"
GREEDY = "Greedy by scarcity-weighted value density"


@register("tfam", "fcfs", exact=False, description=FCFS, params=NoParams)
@screened
def solve_fcfs(problem: Problem, options: SolveOptions) -> Result:
    return _constructed(problem, "fcfs", fcfs_choice)


@register("tfam", "greedy", exact=False, description=GREEDY, params=NoParams)
@screened
def solve_greedy(problem: Problem, options: SolveOptions) -> Result:
    return _constructed(problem, "greedy", greedy_choice)


# -- local search ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class LsParams:
    """Parameters of the T-FAM local search ``ls``."""

    iterations: int = param(
        50, "rounds without improvement (each followed by a perturbation) before stopping"
    )


@register(
    "tfam",
    "ls",
    exact=False,
    description="Local search (upgrade/add/drop-add swaps, perturbations) from greedy",
    params=LsParams,
)
@screened
def solve_ls(problem: Problem, options: SolveOptions) -> Result:
    initial = None
    if options.initial is not None:
        initial = from_solution(problem, options.initial)
        if not is_feasible(problem, initial):
            initial = None
    best, failed, trace, stats = local_search(
        problem,
        seconds=0.95 * options.remaining(),
        seed=options.seed,
        iterations=options.params.iterations,
        start_choice=initial,
    )
    state = State(problem)
    state.copy_from(best)
    return _finish(problem, "ls", state, failed, trace, stats)
