"""The warm start of the OR-Tools MTRCE solvers: the user's routes or a heuristic's, checked.

:func:`heuristic_start` runs a registered heuristic by name through the registry (this module
imports no solver) and keeps the better of its routes and ``options.initial``; both must pass the
independent checker, since a warm start may be returned as the answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..errors import InputError, UnsupportedError
from ..registry import SolveOptions
from .problem import Problem
from .solution import objective


def routes_from_solution(problem: Problem, solution: dict[str, Any] | None) -> list[list[int]]:
    """``solution["routes"]`` (node ids) as index routes; empty when absent or unreadable."""
    if not solution or "routes" not in solution:
        return []
    position = {node_id: i for i, node_id in enumerate(problem.ids)}
    try:
        return [[position[v] for v in route] for route in solution["routes"]]
    except (KeyError, TypeError):
        return []


def heuristic_start(
    problem: Problem, options: SolveOptions, solver: str | None, time_limit: float
) -> tuple[list[list[int]], str]:
    """Routes of the best warm start: the user's ``initial`` and ``solver``'s solution.

    Returns the index routes (empty when there is none) and where they came from. ``solver``
    None or ``""`` runs no heuristic; a name that is no registered MTRCE solver is an
    :class:`~daitn_opt.errors.InputError` (``param.warm_start_solver``) listing the heuristics.
    """
    from ..registry import solve, solvers
    from .check import check

    known = solvers("mtrce")["mtrce"]
    if solver and solver not in known:
        valid = ", ".join(sorted(n for n, spec in known.items() if not spec.exact))
        raise InputError(
            "param.warm_start_solver", solver, f"not an mtrce heuristic; valid: {valid}"
        )

    best: list[list[int]] = []
    best_cost, source = math.inf, ""
    # A warm start may be returned as the answer, so it must pass the independent checker.
    if options.initial and check(problem, options.initial).ok:
        best = routes_from_solution(problem, options.initial)
        best_cost, source = route_set_cost(problem, best), "initial"
    if solver and time_limit > 0:
        try:
            result = solve(problem, solver, time_limit=time_limit, seed=options.seed)
        except UnsupportedError:
            return best, source
        routes = routes_from_solution(problem, result.solution)
        if (
            result.status.has_solution
            and routes
            and check(problem, result.solution).ok
            and route_set_cost(problem, routes) < best_cost
        ):
            best, source = routes, solver
    return best, source


def route_set_cost(problem: Problem, routes: Sequence[Sequence[int]]) -> float:
    value = objective(problem, routes)
    return value if problem.sense == "min" else -value
