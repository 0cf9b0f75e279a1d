"""The independent MTRCE checker.

It recomputes route validity and the objective from the problem's arrays and the solution's node
ids alone; it imports no solver and no formulation (only numpy, the problem and the report type),
so that a bug in a model or a heuristic cannot hide itself.

Semantics (the same as :mod:`daitn_opt.mtrce.problem`):

- ``solution["routes"]`` is a list of at most ``k`` routes, each a list of node ids from the start
  id to the end id (for ``start == end``, from the start back to it). A route with no node between
  its two ends is an idle replica: it is not scheduled and adds nothing. When every route is idle,
  the first one is still the model's trip from the start to the end and is scheduled.
- Schedule of a route ``v0 = s, v1, ..., vm = e``: service at ``s`` starts at ``max(0, a[s])``;
  the model arrives at ``v_i`` at ``S_{i-1} + d[v_{i-1}] + t[v_{i-1}, v_i]``, service starts at
  ``S_i = max(arrival, a[v_i])`` and must not start after ``b[v_i]``; the route completes at
  ``S_m + d[e] + verify_time``, which must be ``<= deadline``.
- Budget: the visit cost of every distinct node on the routes (start and end once) plus the travel
  cost of every arc of every scheduled route, at most ``budget``.
- Objective: ``max_utility``: the utility of the distinct nodes on the routes (start and end
  included once); ``min_time``: the sum of the scheduled routes' completion times.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

from ..checking import CheckReport
from .problem import Problem

_TOL = 1e-6
"""Absolute slack (plus the same relative) allowed on time and budget comparisons."""


def _exceeds(value: float, limit: float) -> bool:
    """True when ``value`` is above ``limit`` beyond the rounding tolerance."""
    return value > limit + _TOL * max(1.0, abs(limit))


def _outside(r: int, raw: Any, position: dict[str, int], excluded: dict[str, str]) -> list[str]:
    """Violations of route ``r`` naming its nodes that are not in the problem (with the reason
    when ``excluded`` knows it, else as unknown ids)."""
    outside = [v for v in raw if not isinstance(v, str) or v not in position]
    found = [
        f"route {r}: node {v!r} is not in the request's view: {excluded[v]}"
        for v in outside
        if isinstance(v, str) and v in excluded
    ]
    unknown = [v for v in outside if not isinstance(v, str) or v not in excluded]
    if unknown:
        found.append(f"route {r}: unknown node id(s) {unknown!r}")
    return found


def outside_view(problem: Problem, solution: Any, excluded: dict[str, str]) -> list[str]:
    """Violations for route nodes that exist in the instance but not in the problem's view.

    ``excluded`` maps such node ids to the reason (see :func:`daitn_opt.problems.outside_view`).
    Empty when every route node is in the view (or the routes cannot be read: :func:`check`
    reports that).
    """
    routes = solution.get("routes") if isinstance(solution, dict) else None
    if not isinstance(routes, list | tuple):
        return []
    position = {node_id: i for i, node_id in enumerate(problem.ids)}
    found: list[str] = []
    for r, raw in enumerate(routes, start=1):
        if isinstance(raw, list | tuple):
            found.extend(
                v
                for v in _outside(r, raw, position, excluded)
                if "is not in the request's view" in v
            )
    return found


def check(
    problem: Problem, solution: dict[str, Any], excluded: dict[str, str] | None = None
) -> CheckReport:
    """Check an MTRCE solution against ``problem``.

    Parameters
    ----------
    problem : Problem
        The MTRCE problem.
    solution : dict
        A dict with ``"routes"``: a list of routes, each a list of node ids (other keys, such as
        arrival times, are ignored: everything is recomputed).
    excluded : dict, optional
        Node id -> why it is not in the problem (a data node excluded from the request's view,
        a node of another kind): a route through such a node is reported with the reason rather
        than as an unknown id.

    Returns
    -------
    CheckReport
        The violations found (one readable line each, naming the route and the node) and the
        recomputed objective (None when the routes cannot be read at all).

    Notes
    -----
    O(n + total route length). Independent of every solver: it imports no solver code and
    recomputes the schedule itself (module docstring), with a tolerance of ``1e-6`` (absolute
    plus relative) on times and the budget.

    Examples
    --------
    >>> from daitn_opt.mtrce import Problem, check
    >>> p = Problem(ids=["s", "a", "b"], start=0, end=0, travel=[[0, 2, 3], [2, 0, 2], [3, 2, 0]],
    ...             service=[0, 1, 1], utility=[0, 4, 5], deadline=9)
    >>> check(p, {"routes": [["s", "a", "b", "s"]]})
    CheckReport(objective=9.0, violations=[])
    >>> check(p, {"routes": [["s", "b", "x", "s"]]}).violations
    ["route 1: unknown node id(s) ['x']"]
    """
    if not isinstance(solution, dict) or "routes" not in solution:
        return CheckReport(None, ["solution has no 'routes' list"])
    raw_routes = solution["routes"]
    if not isinstance(raw_routes, list | tuple):
        return CheckReport(
            None, [f"solution 'routes' is a {type(raw_routes).__name__}, not a list"]
        )
    if len(raw_routes) == 0:
        return CheckReport(None, ["solution has no route: the model never reaches the end"])
    violations: list[str] = []
    if len(raw_routes) > problem.k:
        violations.append(f"{len(raw_routes)} routes but at most k = {problem.k} are allowed")
    routes = _read_routes(problem, raw_routes, excluded or {}, violations)
    seen = _distinct(problem, routes, violations)
    if all(idx is None for idx in routes):
        return CheckReport(None, violations)
    scheduled = _scheduled(routes)
    total_completion = sum(_schedule(problem, r, idx, violations) for r, idx in scheduled)
    visited = {problem.start, problem.end} | set(seen)
    if problem.budget is not None:
        _check_budget(problem, visited, scheduled, violations)
    required = set(np.asarray(problem.mandatory, dtype=np.int64).tolist())
    if problem.objective == "min_time":
        required |= set(range(problem.n))
    for v in sorted(required - visited):
        violations.append(f"mandatory node {problem.ids[v]!r} is not visited by any route")
    if problem.objective == "min_time":
        objective = total_completion
    else:
        objective = float(np.asarray(problem.utility, dtype=np.float64)[sorted(visited)].sum())
    return CheckReport(objective, violations)


def _read_routes(
    problem: Problem, raw_routes: Any, excluded: dict[str, str], violations: list[str]
) -> list[list[int] | None]:
    """Routes as node indices; a route with an unknown id or too short is reported and None."""
    position = {node_id: i for i, node_id in enumerate(problem.ids)}
    s, e = problem.start, problem.end
    routes: list[list[int] | None] = []
    for r, raw in enumerate(raw_routes, start=1):
        if not isinstance(raw, list | tuple) or len(raw) < 2:
            violations.append(f"route {r}: must list at least the start and the end, got {raw!r}")
            routes.append(None)
            continue
        outside = _outside(r, raw, position, excluded)
        if outside:
            violations.extend(outside)
            routes.append(None)
            continue
        idx = [position[v] for v in raw]
        if idx[0] != s:
            violations.append(
                f"route {r}: starts at {raw[0]!r}, not at the start {problem.ids[s]!r}"
            )
        if idx[-1] != e:
            violations.append(f"route {r}: ends at {raw[-1]!r}, not at the end {problem.ids[e]!r}")
        routes.append(idx)
    return routes


def _distinct(
    problem: Problem, routes: list[list[int] | None], violations: list[str]
) -> dict[int, int]:
    """No node twice within or across routes (the start and end appear once per route); returns
    node -> the route that visits it."""
    s, e = problem.start, problem.end
    seen: dict[int, int] = {}
    for r, idx in enumerate(routes, start=1):
        if idx is None:
            continue
        for v in idx[1:-1]:
            if v in (s, e):
                violations.append(f"route {r}: passes through the start/end {problem.ids[v]!r}")
            elif v in seen:
                where = "twice" if seen[v] == r else f"also on route {seen[v]}"
                violations.append(f"route {r}: node {problem.ids[v]!r} visited {where}")
            else:
                seen[v] = r
    return seen


def _scheduled(routes: list[list[int] | None]) -> list[tuple[int, list[int]]]:
    """The routes that run, numbered: those with inner nodes; the first readable one if every
    route is idle."""
    scheduled = [(r, idx) for r, idx in enumerate(routes, start=1) if idx and len(idx) > 2]
    if not scheduled:
        first = next(r for r, idx in enumerate(routes, start=1) if idx is not None)
        scheduled = [(first, routes[first - 1])]
    return scheduled


def _schedule(problem: Problem, r: int, idx: list[int], violations: list[str]) -> float:
    """Schedule route ``r`` (module docstring), reporting missed windows, missing links and the
    deadline; returns its completion time (0 when a link is missing)."""
    travel = np.asarray(problem.travel, dtype=np.float64)
    service = np.asarray(problem.service, dtype=np.float64)
    if problem.window_open is not None:
        w_open = np.asarray(problem.window_open, dtype=np.float64)
        w_close = np.asarray(problem.window_close, dtype=np.float64)
    else:
        w_open, w_close = np.zeros(problem.n), np.full(problem.n, np.inf)
    ids = problem.ids
    t = max(0.0, float(w_open[idx[0]]))
    if _exceeds(t, float(w_close[idx[0]])):
        violations.append(
            f"route {r}: service at {ids[idx[0]]!r} cannot start before its window "
            f"closes at {w_close[idx[0]]:g}"
        )
    for prev, node in pairwise(idx):
        leg = float(travel[prev, node])
        if not np.isfinite(leg):
            violations.append(f"route {r}: no connection from {ids[prev]!r} to {ids[node]!r}")
            return 0.0
        arrival = t + float(service[prev]) + leg
        t = max(arrival, float(w_open[node]))
        if _exceeds(t, float(w_close[node])):
            violations.append(
                f"route {r}: arrives at {ids[node]!r} at {arrival:g}, after its window "
                f"closes at {w_close[node]:g}"
            )
    completion = t + float(service[idx[-1]]) + float(problem.verify_time)
    if _exceeds(completion, float(problem.deadline)):
        violations.append(
            f"route {r}: completes at {ids[idx[-1]]!r} at {completion:g}, after the "
            f"deadline {problem.deadline:g}"
        )
    return completion


def _check_budget(
    problem: Problem,
    visited: set[int],
    scheduled: list[tuple[int, list[int]]],
    violations: list[str],
) -> None:
    """Visit cost of the distinct visited nodes plus travel cost of the scheduled routes' arcs."""
    spent = float(np.asarray(problem.visit_cost, dtype=np.float64)[sorted(visited)].sum())
    tcost = np.asarray(problem.travel_cost, dtype=np.float64)
    for _, idx in scheduled:
        spent += float(tcost[idx[:-1], idx[1:]].sum())
    if _exceeds(spent, float(problem.budget)):
        violations.append(f"cost {spent:g} exceeds the budget {problem.budget:g}")
