"""The QIRCE heuristic solvers: ``nearest``, ``greedy`` and ``ls``.

All three build single-source assignments (one facility per demand; a valid splittable solution
too) on the dense matrices of :mod:`.assignment`: ``nearest`` and ``greedy`` are the
constructions of :mod:`.construction` (``greedy`` with congestion: the queueing-aware insertion
of :mod:`.congestion`), ``ls`` the LP-guided tabu search of :mod:`.local_search`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..params import NoParams, param
from ..registry import SolveOptions, SolverFn, register
from ..result import Result, TracePoint
from .assignment import Dense
from .bounds import reported_bound
from .congestion import insertion
from .construction import greedy_assign, nearest_assign
from .local_search import local_search
from .problem import Problem
from .solution import infeasible_result, internal_objective, make_result, trivial_result


def heuristic(
    name: str, description: str, params: type = NoParams
) -> Callable[[SolverFn], SolverFn]:
    """Register ``fn`` as the qirce heuristic ``name``; a problem decided before any search
    (infeasible, or nothing to route) gets its screening result without calling ``fn``."""

    def decorate(fn: SolverFn) -> SolverFn:
        @functools.wraps(fn)
        def run(problem: Problem, options: SolveOptions) -> Result:
            screened = infeasible_result(problem, name) or trivial_result(problem, name)
            return screened if screened is not None else fn(problem, options)

        register("qirce", name, exact=False, description=description, params=params)(run)
        return run

    return decorate


def _result(problem: Problem, solver: str, g: Dense, assign: np.ndarray | None) -> Result:
    """The result of a single-source assignment (None, incomplete or infeasible: no solution,
    naming the demand left unplaced)."""
    if (
        assign is None
        or (problem.mode == "serve_all" and np.any(assign == g.F))
        or not g.feasible(assign)
    ):
        left = [] if assign is None else np.flatnonzero(assign == g.F).tolist()
        shown = ", ".join(problem.demand_ids[d] for d in left[:5])
        more = f" (+{len(left) - 5})" if len(left) > 5 else ""
        message = f"no feasible assignment found; unplaced demand: {shown or '-'}{more}"
        return make_result(problem, solver, None, message=message)
    x = g.x_of(assign)
    value = problem.reported(internal_objective(problem, x))
    return make_result(problem, solver, x, trace=[TracePoint(0.0, value, None)])


@heuristic("nearest", "each demand to the nearest facility with room (baseline)")
def solve_nearest(problem: Problem, options: SolveOptions) -> Result:
    """Each demand, in input order, to the lowest-latency facility with room."""
    g = Dense(problem)
    return _result(problem, "nearest", g, nearest_assign(g))


@heuristic("greedy", "Martello-Toth regret greedy, best of several desirabilities")
def solve_greedy(problem: Problem, options: SolveOptions) -> Result:
    """Checks the clock: at the time limit (less a reserve to build the result) the best
    complete, feasible assignment found so far is returned, else ``no_solution``."""
    deadline = time.perf_counter() + options.remaining() - max(0.05, 0.05 * options.time_limit)
    g = Dense(problem)
    if problem.congestion != "none":
        assign = insertion(g, deadline, options.seed)
    else:
        assign = greedy_assign(g, deadline=deadline)
    if assign is None and time.perf_counter() >= deadline:
        message = "time limit reached before the greedy placed every demand"
        return make_result(problem, "greedy", None, message=message)
    return _result(problem, "greedy", g, assign)


@dataclass(frozen=True)
class LsParams:
    """Parameters of the ``ls`` solver."""

    budget: float | None = param(None, "seconds of search (default: 85 % of the time limit)")
    max_idle: int | None = param(
        None,
        "tabu iterations without a new best before stopping "
        "(default: 50 per demand, between 2,000 and 20,000)",
    )


@heuristic(
    "ls",
    "LP-guided tabu search: shift/swap with adaptive penalties, close/open facility",
    LsParams,
)
def solve_ls(problem: Problem, options: SolveOptions) -> Result:
    """LP-guided tabu search (parameters: :class:`LsParams`); the LP (or, on large instances,
    Lagrangian) bound it computes is reported, so a solution meeting it is proved optimal."""
    params = options.params
    budget = params.budget
    if budget is None:
        budget = max(0.05, 0.85 * options.remaining())
    max_idle = params.max_idle
    if max_idle is None:
        max_idle = min(20_000, max(2_000, 50 * problem.num_demands))
    trace: list[TracePoint] = []

    def on_best(internal: float) -> None:
        trace.append(TracePoint(options.elapsed(), problem.reported(internal), None))

    x, lb, stats = local_search(problem, budget, options.seed, on_best=on_best, max_idle=max_idle)
    # Integral objectives (single-source, integer data): the bound rounds up.
    bound = reported_bound(problem, lb)
    if x is None:
        return make_result(
            problem,
            "ls",
            None,
            bound=bound,
            trace=trace,
            stats=stats,
            message="no feasible assignment found",
        )
    value = problem.reported(internal_objective(problem, x))
    trace.append(TracePoint(options.elapsed(), value, bound))
    return make_result(problem, "ls", x, bound=bound, trace=trace, stats=stats)
