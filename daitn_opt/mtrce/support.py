"""What the exact-solver skeleton needs to know about MTRCE (:class:`MtrceSupport`).

The exact MTRCE backends (``highs``, ``pyomo``, ``cpsat``) share what happens around their
search (:mod:`daitn_opt.exact`): problems decided before any model is built (:meth:`screen`), the
warm start (:meth:`warm_start`: the user's routes in ``options.initial`` or the routes of a
heuristic named by the solver's ``warm_start_solver`` parameter, the better of the two that is
feasible), the objective and the feasibility of index routes, and the result document
(:func:`daitn_opt.mtrce.solution.make_result`). Solutions are *index routes*: a list of at most
``k`` lists of node indices ``[s, ..., e]``.

This module imports no solver: the warm-start heuristic is called by name through the registry.

Example
-------
>>> import numpy as np
>>> from daitn_opt.mtrce.problem import Problem
>>> from daitn_opt.mtrce.milp import HighsParams
>>> from daitn_opt.registry import SolveOptions
>>> xs = np.array([0.0, 1.0, 2.0])
>>> problem = Problem(ids=["s", "a", "b"], travel=np.abs(xs[:, None] - xs[None, :]),
...                   utility=np.array([0.0, 1.0, 2.0]), service=np.zeros(3),
...                   start=0, end=0, deadline=4.0)
>>> support = MtrceSupport()
>>> support.feasible(problem, [[0, 1, 2, 0]]), support.value(problem, [[0, 1, 2, 0]])
(True, 3.0)
>>> given = {"routes": [["s", "b", "a", "s"]]}
>>> options = SolveOptions(time_limit=1.0, params=HighsParams(warm_start_solver=None),
...                        initial=given)
>>> start = support.warm_start(problem, options)
>>> start.solution, start.objective
([[0, 2, 1, 0]], 3.0)
>>> support.screen(problem.replace(utility=np.zeros(3)), "highs") is None
True
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from ..exact import KindSupport, Start
from ..registry import SolveOptions
from ..result import Result, Status, TracePoint
from .check import check
from .problem import Problem
from .solution import make_result, objective, route_cost, schedule, unreachable_end, used_routes

Routes = list[list[int]]


def solver_param(options: SolveOptions, name: str, default: Any = None) -> Any:
    """Parameter ``name`` of the running solver, ``default`` when its parameters lack it.

    The warm-start and sizing helpers serve several solvers whose parameter classes differ.
    """
    return getattr(options.params, name, default)


def feasible_routes(problem: Problem, routes: Sequence[Sequence[int]]) -> bool:
    """Solver-side feasibility of index routes: windows, deadline, budget, mandatory nodes,
    no node twice, and (``min_time``) every customer visited.

    Fast (no id mapping); the independent checker (:meth:`MtrceSupport.feasible`) has the last
    word before a solution is returned.
    """
    seen: set[int] = set()
    if any(not schedule(problem, r)[3] for r in used_routes(problem, routes)):
        return False
    for r in routes:
        inner = r[1:-1]
        if seen.intersection(inner) or len(set(inner)) != len(inner):
            return False
        seen.update(inner)
    if problem.budget is not None and route_cost(problem, routes) > problem.budget + 1e-6:
        return False
    return all(int(m) in seen or m in (problem.start, problem.end) for m in problem.mandatory) and (
        problem.objective != "min_time" or len(seen) == len(problem.customers)
    )


def trivial_result(problem: Problem, solver: str, elapsed: float = 0.0) -> Result:
    """The result of a problem without customers: the only route is ``[s, e]`` (each of the
    ``k`` routes idle), optimal, or infeasible when even that route misses the deadline."""
    route = [problem.start, problem.end]
    unreachable = unreachable_end(problem)  # named before any schedule is computed
    if unreachable is not None or not schedule(problem, route)[3]:
        return make_result(
            problem,
            solver,
            None,
            Status.INFEASIBLE,
            message=unreachable
            or f"the route {problem.ids[problem.start]!r} -> {problem.ids[problem.end]!r} "
            "misses the deadline",
        )
    routes = [route] * problem.k
    value = objective(problem, routes)
    return make_result(
        problem,
        solver,
        routes,
        Status.OPTIMAL,
        bound=value,
        trace=[TracePoint(elapsed, value, value)],
    )


def initial_routes(problem: Problem, options: SolveOptions) -> Routes | None:
    """``options.initial["routes"]`` (node ids) as index routes, None when absent or unreadable."""
    if options.initial is None:
        return None
    ids = {v: i for i, v in enumerate(problem.ids)}
    with contextlib.suppress(KeyError, TypeError, AttributeError):
        return [[ids[v] for v in r] for r in options.initial.get("routes", [])]
    return None


@dataclass
class RouteStart(Start):
    """A warm start of index routes, with what it recorded (``warm_start_seconds``,
    ``warm_start_value``) for the result's stats."""

    stats: dict[str, Any] = field(default_factory=dict)


def start_routes(problem: Problem, options: SolveOptions, seconds: float) -> RouteStart:
    """The best feasible of ``options.initial`` and the warm-start heuristic's routes.

    The heuristic is the solver's ``warm_start_solver`` parameter (default ``"ils"``; None or
    ``""``: none; a name that is no registered solver is an :class:`InputError`); it gets ``seconds`` (or the ``warm_start_time`` parameter), at most 90 % of the
    time left, and runs only when that is more than 10 ms. Every route set is checked with
    :func:`feasible_routes` before it is kept.
    """
    from ..registry import solve as registry_solve
    from ..registry import solvers

    stats: dict[str, Any] = {}
    candidates: list[Routes] = []
    given = initial_routes(problem, options)
    if given is not None:
        candidates.append(given)
    name = solver_param(options, "warm_start_solver", "ils")
    known = solvers("mtrce")["mtrce"]
    if name and name not in known:
        valid = ", ".join(sorted(n for n, spec in known.items() if not spec.exact))
        raise InputError("param.warm_start_solver", name, f"not an mtrce heuristic; valid: {valid}")
    chosen = solver_param(options, "warm_start_time")
    limit = min(float(chosen if chosen is not None else seconds), 0.9 * options.remaining())
    t0 = time.perf_counter()
    if name and limit > 0.01:
        res = registry_solve(problem, name, time_limit=limit, seed=options.seed)
        stats["warm_start_seconds"] = time.perf_counter() - t0
        if res.is_feasible() and res.solution.get("routes"):
            ids = {v: i for i, v in enumerate(problem.ids)}
            candidates.append([[ids[v] for v in r] for r in res.solution["routes"]])
    best, best_cost = None, math.inf
    for routes in candidates:
        if routes and feasible_routes(problem, routes):
            value = objective(problem, routes)
            cost = value if problem.sense == "min" else -value
            if cost < best_cost:
                best, best_cost = routes, cost
    value = None
    if best is not None:
        value = -best_cost if problem.sense == "max" else best_cost
        stats["warm_start_value"] = value
    return RouteStart(best, value, None, time.perf_counter() - t0, stats)


def default_start_seconds(problem: Problem, options: SolveOptions) -> float:
    """Seconds for the warm start of a model that fits the time limit easily:
    ``min(2, 5 % of the limit, 0.03 n)``."""
    return min(2.0, 0.05 * options.time_limit, 0.03 * problem.n)


class MtrceSupport(KindSupport):
    """The MTRCE side of :class:`daitn_opt.exact.ExactSolver` (see the module docstring).

    Notes
    -----
    :meth:`screen` decides, without a model: a view without customers (the idle route, optimal,
    or infeasible when it misses the deadline) and a view whose end cannot be reached from its
    start (infeasible). :meth:`warm_start` gives no bound (``Start.bound`` is None).
    """

    def screen(self, problem: Problem, solver: str) -> Result | None:
        if problem.n == 1 or len(problem.customers) == 0:
            return trivial_result(problem, solver)
        reason = unreachable_end(problem)
        if reason is not None:
            return make_result(problem, solver, None, Status.INFEASIBLE, message=reason)
        return None

    def warm_start(
        self, problem: Problem, options: SolveOptions, seconds: float | None = None
    ) -> RouteStart:
        """:func:`start_routes` with ``seconds`` (default :func:`default_start_seconds`)."""
        if seconds is None:
            seconds = default_start_seconds(problem, options)
        return start_routes(problem, options, seconds)

    def value(self, problem: Problem, solution: Routes) -> float:
        """The reported objective: collected utility, or summed completion times (``min_time``),
        as the checker computes it."""
        return objective(problem, solution)

    def feasible(self, problem: Problem, solution: Routes) -> bool:
        """The independent checker accepts the routes (:func:`daitn_opt.mtrce.check.check`)."""
        try:
            ids = [[problem.ids[int(v)] for v in r] for r in solution]
        except (IndexError, TypeError, ValueError):
            return False
        return check(problem, {"routes": ids}).ok

    def result(self, problem: Problem, solver: str, solution: Routes | None, **fields: Any):
        """:func:`daitn_opt.mtrce.solution.make_result` (``status`` defaults to feasible)."""
        status = fields.pop(
            "status", Status.FEASIBLE if solution is not None else Status.NO_SOLUTION
        )
        return make_result(problem, solver, solution, status, **fields)

    def infeasible_message(self, problem: Problem) -> str:
        return unreachable_end(problem) or "no route satisfies every constraint"


SUPPORT = MtrceSupport()
"""The one instance the MTRCE exact solvers share."""
