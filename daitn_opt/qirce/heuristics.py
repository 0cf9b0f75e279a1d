"""The QIRCE heuristic solvers: ``nearest``, ``greedy`` and ``ls``.

All three build single-source assignments (one facility per demand; a valid splittable solution
too) on the dense matrices of :mod:`.assignment`: ``nearest`` and ``greedy`` are the
constructions of :mod:`.construction` (``greedy`` with congestion: the queueing-aware insertion
of :mod:`.congestion`), ``ls`` the LP-guided tabu search of :mod:`.local_search`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..params import NoParams, param
from ..registry import SolveOptions, register
from ..result import Result, Status, TracePoint
from ..tfam.bounds import settled
from .assignment import Dense
from .bounds import internal_bound
from .congestion import insertion
from .construction import greedy_assign, nearest_assign
from .local_search import local_search
from .problem import Problem
from .solution import build_solution, infeasible_result, internal_objective, trivial_result


def _result(
    problem: Problem,
    solver: str,
    g: Dense,
    assign: np.ndarray | None,
    *,
    bound: float | None = None,
    trace: list[TracePoint] | None = None,
    stats: dict | None = None,
    x: np.ndarray | None = None,
) -> Result:

    bad = infeasible_result(problem, solver)
    if bad is not None:
        return bad
    if (
        assign is None
        or (g.p.mode == "serve_all" and np.any(assign == g.F))
        or not g.feasible(assign)
    ):
        left = [] if assign is None else np.flatnonzero(assign == g.F).tolist()
        shown = ", ".join(problem.demand_ids[d] for d in left[:5])
        return Result(
            problem="qirce",
            solver=solver,
            status=Status.NO_SOLUTION,
            sense=problem.sense,
            bound=bound,
            message=f"no feasible assignment found; unplaced demand: {shown or '-'}"
            + (f" (+{len(left) - 5})" if len(left) > 5 else ""),
            trace=trace or [],
            stats=stats or {},
        )
    if x is None:
        x = g.x_of(assign)
    obj = problem.reported(internal_objective(problem, x))
    status = Status.FEASIBLE
    if bound is not None and abs(obj - bound) <= 1e-9 * max(1.0, abs(obj)):
        status = Status.OPTIMAL
    return Result(
        problem="qirce",
        solver=solver,
        status=status,
        sense=problem.sense,
        objective=obj,
        bound=bound,
        solution=build_solution(problem, x),
        trace=trace if trace else [TracePoint(0.0, obj, bound)],
        stats=stats or {},
    )


@register(
    "qirce",
    "nearest",
    exact=False,
    description="each demand to the nearest facility with room (baseline)",
    params=NoParams,
)
@settled
def solve_nearest(problem: Problem, options: SolveOptions) -> Result:
    g = Dense(problem)
    return _result(problem, "nearest", g, nearest_assign(g))


@register(
    "qirce",
    "greedy",
    exact=False,
    description="Martello-Toth regret greedy, best of several desirabilities",
    params=NoParams,
)
@settled
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
        return Result(
            problem="qirce",
            solver="greedy",
            status=Status.NO_SOLUTION,
            sense=problem.sense,
            message="time limit reached before the greedy placed every demand",
        )
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


@register(
    "qirce",
    "ls",
    exact=False,
    description="LP-guided tabu search: shift/swap with adaptive penalties, close/open facility",
    params=LsParams,
)
@settled
def solve_ls(problem: Problem, options: SolveOptions) -> Result:
    """LP-guided tabu search (parameters: :class:`LsParams`)."""

    bad = infeasible_result(problem, "ls") or trivial_result(problem, "ls")
    if bad is not None:
        return bad
    params = options.params
    budget = params.budget
    if budget is None:
        budget = max(0.05, 0.85 * options.remaining())
    trace: list[TracePoint] = []

    def on_best(internal: float) -> None:
        trace.append(TracePoint(options.elapsed(), problem.reported(internal), None))

    max_idle = params.max_idle
    if max_idle is None:
        max_idle = min(20_000, max(2_000, 50 * problem.num_demands))
    x, lb, stats = local_search(problem, budget, options.seed, on_best=on_best, max_idle=max_idle)
    bound = problem.reported(lb) if lb is not None else None
    if x is None:
        return _result(problem, "ls", Dense(problem), None, bound=bound, trace=trace, stats=stats)
    g = Dense(problem)
    # Proven optimal when the objective meets the LP bound (rounded up for integer data).
    obj_int = internal_objective(problem, x)
    if lb is not None:
        # Integral objectives (single-source, integer data): the bound rounds up.
        bound = problem.reported(internal_bound(problem, lb))
    assign = None
    if problem.single_source or np.all((x < 1e-9) | (x > 1 - 1e-9)):
        assign = np.full(g.D, g.F)
        used = np.flatnonzero(x > 0.5)
        assign[problem.arc_demand[used]] = problem.arc_facility[used]
    if assign is not None and g.feasible(assign):
        return _result(problem, "ls", g, assign, bound=bound, trace=trace, stats=stats, x=x)
    obj = problem.reported(obj_int)
    return Result(
        problem="qirce",
        solver="ls",
        status=Status.FEASIBLE,
        sense=problem.sense,
        objective=obj,
        bound=bound,
        solution=build_solution(problem, x),
        trace=[*trace, TracePoint(options.elapsed(), obj, bound)],
        stats=stats,
    )
