"""Solver-side helpers shared by every MTRCE solver: schedule a route, score routes, build a Result.

The one route schedule of the package (and of T-FAM's route plans) is :func:`route_schedule`.

Routes here are lists of node *indices* that include the start and the end (``[s, ..., e]``).
This is solver code; the independent checker (:mod:`daitn_opt.mtrce.check`) deliberately shares
nothing with it. The semantics are those of :mod:`daitn_opt.mtrce.problem`: service at the start
begins at ``max(0, a[s])``, service at a node begins at ``max(arrival, a[i])`` and not after
``b[i]``, a route completes at ``S(e) + d[e] + verify_time <= deadline``; a route with no inner
node is an idle replica and is only scheduled when every route is idle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ..result import Result, Status, TracePoint
from .problem import Problem

EPS = 1e-6
"""Tolerance of time comparisons (the checker allows the same)."""


def windows(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """``(open, close)`` arrays; ``(0, inf)`` everywhere when the problem has no windows."""
    if problem.window_open is None:
        return np.zeros(problem.n), np.full(problem.n, np.inf)
    return (
        np.asarray(problem.window_open, dtype=np.float64),
        np.asarray(problem.window_close, dtype=np.float64),
    )


class RouteSchedule(NamedTuple):
    """The earliest-start timetable of one route, per position of ``[s, ..., e]``.

    Attributes
    ----------
    arrival
        When the model reaches the node (0 at the start).
    wait
        Idle time before training starts (``start - arrival``: an early arrival waits for the
        window to open).
    start
        When training (service) starts: ``max(arrival, window_open)``.
    departure
        When the model leaves: ``start + service``.
    completion
        Departure from the end node plus ``verify_time`` (inf when a leg is impossible).
    feasible
        Every leg finite, every service start within its window, and ``completion <= deadline``.
    """

    arrival: np.ndarray
    wait: np.ndarray
    start: np.ndarray
    departure: np.ndarray
    completion: float
    feasible: bool


def route_schedule(problem: Problem, route_idx: Sequence[int]) -> RouteSchedule:
    """Arrival, wait, start of training and departure at every node of one route.

    The one schedule of MTRCE's semantics (:mod:`daitn_opt.mtrce.problem`): the model is at the
    start at time 0, training at a node starts at ``max(arrival, window_open)``, the model leaves
    after ``service`` and travels ``travel[i, j]``; the route completes when the end node's
    training and the verification are done.

    Parameters
    ----------
    problem : Problem
        Any object with MTRCE's arrays (``n``, ``travel``, ``service``, ``window_open``,
        ``window_close``, ``verify_time``, ``deadline``).
    route_idx : sequence of int
        Node indices ``[s, ..., e]``, start and end included.

    Returns
    -------
    RouteSchedule
        Per-position ``arrival``, ``wait``, ``start``, ``departure`` arrays, the ``completion``
        time and whether the route is ``feasible`` (windows, finite legs, deadline; the budget
        and the node-disjointness of several routes are not judged here).

    Notes
    -----
    O(len(route)). Times are compared with a tolerance of ``EPS`` (the checker's).

    Examples
    --------
    >>> from daitn_opt.mtrce import Problem
    >>> from daitn_opt.mtrce.solution import route_schedule
    >>> p = Problem(ids=["s", "a", "e"], start=0, end=2, travel=[[0, 2, 9], [2, 0, 3], [9, 3, 0]],
    ...             service=[0, 4, 0], utility=[0, 1, 0], window_open=[0, 5, 0],
    ...             window_close=[99, 99, 99], deadline=20)
    >>> sch = route_schedule(p, [0, 1, 2])
    >>> sch.arrival.tolist(), sch.wait.tolist(), sch.start.tolist(), sch.departure.tolist()
    ([0.0, 2.0, 12.0], [0.0, 3.0, 0.0], [0.0, 5.0, 12.0], [0.0, 9.0, 12.0])
    >>> sch.completion, sch.feasible
    (12.0, True)
    """
    route = np.asarray(route_idx, dtype=np.int64)
    a, b = windows(problem)
    service = np.asarray(problem.service, dtype=np.float64)
    m = len(route)
    arrivals = np.zeros(m)
    starts = np.zeros(m)
    feasible = True
    t = max(0.0, float(a[route[0]]))
    starts[0] = t
    if t > b[route[0]] + EPS:
        feasible = False
    for p in range(1, m):
        prev, node = route[p - 1], route[p]
        arrival = t + service[prev] + problem.travel[prev, node]
        arrivals[p] = arrival
        t = max(float(arrival), float(a[node]))
        starts[p] = t
        if not np.isfinite(arrival) or t > b[node] + EPS:
            feasible = False
    departures = starts + service[route]
    completion = float(departures[-1] + problem.verify_time) if m else 0.0
    if not np.isfinite(completion) or completion > problem.deadline + EPS:
        feasible = False
    return RouteSchedule(arrivals, starts - arrivals, starts, departures, completion, feasible)


def schedule(
    problem: Problem, route_idx: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """``(arrivals, service_starts, completion, feasible)`` of :func:`route_schedule`."""
    sch = route_schedule(problem, route_idx)
    return sch.arrival, sch.start, sch.completion, sch.feasible


def used_routes(problem: Problem, routes_idx: Sequence[Sequence[int]]) -> list[Sequence[int]]:
    """Routes that run: those with inner nodes, or the first route when every route is idle."""
    used = [r for r in routes_idx if len(r) > 2]
    if not used and routes_idx:
        used = [routes_idx[0]]
    return used


def visited(problem: Problem, routes_idx: Sequence[Sequence[int]]) -> np.ndarray:
    """Sorted distinct node indices on the routes (start and end included)."""
    nodes = {problem.start, problem.end}
    for r in routes_idx:
        nodes.update(int(v) for v in r)
    return np.asarray(sorted(nodes), dtype=np.int64)


def route_cost(problem: Problem, routes_idx: Sequence[Sequence[int]]) -> float:
    """Visit cost of the distinct visited nodes plus travel cost of the used routes' arcs."""
    if problem.budget is None:
        return 0.0
    cost = float(np.asarray(problem.visit_cost)[visited(problem, routes_idx)].sum())
    for r in used_routes(problem, routes_idx):
        arr = np.asarray(r, dtype=np.int64)
        cost += float(problem.travel_cost[arr[:-1], arr[1:]].sum())
    return cost


def objective(problem: Problem, routes_idx: Sequence[Sequence[int]]) -> float:
    """Objective of index routes: collected utility, or summed completion times (``min_time``)."""
    if problem.objective == "min_time":
        return float(sum(schedule(problem, r)[2] for r in used_routes(problem, routes_idx)))
    return float(problem.utility[visited(problem, routes_idx)].sum())


def unreachable_end(problem: Problem) -> str | None:
    """Why no route can exist when the end cannot be reached from the start at all, else None.

    Reachability over the finite arcs of ``travel`` (a breadth-first search, only run when the
    direct arc is missing), so that "unreachable" is not reported as "misses the deadline".
    """
    s, e = problem.start, problem.end
    travel = np.asarray(problem.travel, dtype=np.float64)
    if s == e or np.isfinite(travel[s, e]):
        return None
    arcs = np.isfinite(travel)
    seen = np.zeros(problem.n, dtype=bool)
    seen[s] = True
    frontier = np.array([s])
    while len(frontier):
        nxt = arcs[frontier].any(axis=0) & ~seen
        if nxt[e]:
            return None
        seen |= nxt
        frontier = np.flatnonzero(nxt)
    return (
        f"the end {problem.ids[e]!r} is unreachable from the start {problem.ids[s]!r} "
        "(no path over links that are up)"
    )


def make_result(
    problem: Problem,
    solver: str,
    routes_idx: Sequence[Sequence[int]] | None,
    status: Status | str,
    bound: float | None = None,
    trace: list[TracePoint] | None = None,
    stats: dict[str, Any] | None = None,
    message: str = "",
) -> Result:
    """A :class:`Result` whose solution lists the routes as node ids with their schedules.

    Parameters
    ----------
    routes_idx
        Index routes ``[s, ..., e]`` (at most ``k``); None when there is no solution.
    status
        How the run ended; the objective is only filled when it has a solution.
    bound
        Best proved bound, in the objective's units and sense.
    trace, stats, message
        The anytime trace, solver statistics and a one-line message.

    Returns
    -------
    Result
        ``solution`` holds ``routes`` (node ids), ``arrivals``, ``service_starts`` and
        ``completion`` per route (:func:`route_schedule`); ``objective`` is recomputed from the
        routes (collected utility, or summed completion times). An infeasible or empty result
        whose end is unreachable says so in ``message``.

    Examples
    --------
    >>> from daitn_opt.mtrce import Problem, make_result
    >>> p = Problem(ids=["s", "a", "e"], start=0, end=2, travel=[[0, 2, 9], [2, 0, 3], [9, 3, 0]],
    ...             service=[0, 1, 0], utility=[0, 5, 0], deadline=10)
    >>> r = make_result(p, "by-hand", [[0, 1, 2]], "feasible")
    >>> r.objective, r.solution["routes"], r.solution["completion"]
    (5.0, [['s', 'a', 'e']], [6.0])
    """
    status = Status(status)
    if status in (Status.INFEASIBLE, Status.NO_SOLUTION):
        # The heuristics and HiGHS name an unreachable end themselves; CP-SAT's, routing's,
        # AATS's and Pyomo's reasons test the deadline only, so the check stays here for them.
        message = unreachable_end(problem) or message
    solution: dict[str, Any] = {}
    value: float | None = None
    if routes_idx is not None and status.has_solution:
        routes = [list(map(int, r)) for r in routes_idx]
        arrivals, starts, completions = [], [], []
        for r in routes:
            arr, st, done, _ = schedule(problem, r)
            arrivals.append(arr.tolist())
            starts.append(st.tolist())
            completions.append(done)
        solution = {
            "routes": [[problem.ids[v] for v in r] for r in routes],
            "arrivals": arrivals,
            "service_starts": starts,
            "completion": completions,
        }
        value = objective(problem, routes)
    return Result.of(
        problem,
        solver,
        status,
        objective=value,
        bound=bound,
        solution=solution,
        stats=stats,
        trace=trace,
        message=message,
    )
