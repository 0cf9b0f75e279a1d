"""Practice baselines for MTRCE routes: a fixed cyclic order and key-first appends.

These are not optimisers. They build the routes that practitioners use without a planner, so that
the evidence run (``daitn-opt paper outcomes``) can compare the planned routes with them:

- :func:`cyclic_route`: a fixed cyclic order over every eligible node (cyclic / sequential
  federated learning visits all clients in a fixed order). Under a deadline the cycle is
  **truncated**: nodes are appended in the cyclic order and the route stops at the first node that
  no longer fits (deadline, time window or budget). :func:`cycle_completion` gives the time the
  whole cycle would take, so that a caller can state whether it could have met the deadline.
- :func:`key_first_route`: a greedy append by a key (highest quality first, most data first):
  nodes in decreasing key order, each appended at the end of the route while the route stays
  feasible; nodes that do not fit are skipped.

Both return node indices of ``problem`` (start first, end last); feasibility is the same as the
heuristics' (:class:`~daitn_opt.mtrce.plan.RouteTimes` plus the budget). Only single-route
problems (``k == 1``) are supported.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from .plan import Arrays, RouteTimes
from .problem import Problem

BASELINE_ORDERS = ("cyclic", "quality-first", "data-first")


def _cost(arr: Arrays, route: Sequence[int]) -> float:
    r = np.asarray(route, dtype=np.int64)
    return float(arr.vc[r[1:-1]].sum() + arr.tc[r[:-1], r[1:]].sum())


def route_fits(arr: Arrays, route: Sequence[int]) -> bool:
    """Whether ``route`` (start ... end) meets windows, deadline and budget."""
    if not RouteTimes(arr, list(route)).feasible:
        return False
    return not arr.has_budget or _cost(arr, route) <= arr.budget + 1e-9


def _check(problem: Problem) -> Arrays:
    if problem.k != 1:
        raise InputError("k", problem.k, "the practice baselines build one route")
    return Arrays.of(problem)


def _customers(problem: Problem) -> list[int]:
    return [int(i) for i in problem.customers if problem.utility[i] > 0]


def cyclic_route(problem: Problem, order: Sequence[int] | None = None) -> list[int]:
    """The cyclic order over every eligible node, truncated at the first node that does not fit.

    ``order``: the cyclic order (node indices); default: the problem's node order.
    """
    arr = _check(problem)
    cycle = _customers(problem) if order is None else [int(i) for i in order]
    route = [problem.start, problem.end]
    for node in cycle:
        cand = [*route[:-1], node, problem.end]
        if not route_fits(arr, cand):
            break
        route = cand
    return route


def cycle_completion(problem: Problem, order: Sequence[int] | None = None) -> float:
    """Completion time (arrival at the end plus verification) of the whole, untruncated cycle."""
    arr = _check(problem)
    cycle = _customers(problem) if order is None else [int(i) for i in order]
    return float(RouteTimes(arr, [problem.start, *cycle, problem.end]).completion)


def key_first_route(problem: Problem, key: Sequence[float] | np.ndarray) -> list[int]:
    """Append nodes in decreasing ``key`` (one value per problem node) while the route fits.

    Ties are broken by node index. A node that does not fit is skipped and the next one tried.
    """
    arr = _check(problem)
    key = np.asarray(key, dtype=np.float64)
    if key.shape != (problem.n,):
        raise InputError("key", key.shape, f"expected one value per node ({problem.n})")
    route = [problem.start, problem.end]
    for node in sorted(_customers(problem), key=lambda i: (-key[i], i)):
        cand = [*route[:-1], node, problem.end]
        if route_fits(arr, cand):
            route = cand
    return route


__all__ = [
    "BASELINE_ORDERS",
    "cycle_completion",
    "cyclic_route",
    "key_first_route",
    "route_fits",
]
