"""MTRCE by the OR-Tools routing library (``pywrapcp``): a heuristic for every family.

The model (``formulations/mtrce.md``, section "OR-Tools routing"): ``k`` vehicles, each from the
start ``s`` to the end ``e`` (``RoutingIndexManager(n, k, [s] * k, [e] * k)``; ``s == e`` allowed).

- Time dimension: the transit of arc ``(i, j)`` is ``service[i] + travel[i, j]`` as integers
  rounded up (:func:`daitn_opt.mtrce.integer_data.integer_times`), slack is waiting, a customer's cumul
  (its service start) lies in its window, the start's cumul is fixed to ``max(0, a[s])`` and the
  end's cumul in ``[a[e], min(b[e], T - d[e] - verify)]``. A route accepted in integers is feasible
  in real arithmetic; infinite travel gets a transit above the horizon, so it is never taken.
- Optional customers (``max_utility``) are disjunctions whose penalty is the utility times a factor
  that makes every node worth more than the detour to it (:func:`_penalty_factor`); the arc cost
  (the same integer transit) guides the search and breaks ties. Mandatory customers have no
  disjunction.
- ``min_time`` (TSP family): every customer mandatory, arc cost = transit; with windows the
  vehicles' spans (which include waiting) are added to the cost.
- Budget: one budget dimension for ``k = 1`` (travel cost of the arc plus the visit cost of its
  head, rounded up). A budget shared by ``k > 1`` routes is not a per-vehicle quantity and is
  refused (see :func:`supports`).

The search is a first solution strategy followed by guided local search until the time limit
(guided local search does not stop by itself). The routing library has no random seed: for a given
time budget the search is deterministic up to where the wall clock cuts it. No bound is reported,
so the status is never ``optimal``. A view whose ``n x n`` matrix would take much of the time
limit gets a heuristic warm start (``ils``) first, and when the matrix alone would take more than
half the time left, that checked warm start is returned with a message saying why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # OR-Tools is imported by the solver function only (it takes about a second)
    from ortools.constraint_solver import pywrapcp

from ..params import param
from ..registry import SolveOptions, register
from ..result import Result, Status, TracePoint
from .certify import route_objective_reason
from .integer_data import UNBOUNDED, IntegerTimes, integer_times, integer_weights
from .problem import Problem
from .reachability import infeasibility_reason
from .solution import make_result, objective, schedule
from .warm_routes import heuristic_start, route_set_cost

MATRIX_RATE = 4e6
"""Transit-matrix entries per second of a free core turned into the routing model (Python ints),
scaled by :func:`daitn_opt.mtrce.milp.slowdown`."""

INT_CAP = 2**62
"""Largest total cost the model may reach (the routing library works in int64)."""


def supports(problem: Problem) -> str | None:
    """None when routing handles ``problem``, else the reason (raised before running)."""
    reason = route_objective_reason(problem)
    if reason is not None:
        return reason
    if problem.budget is not None and problem.k > 1:
        return "a cost budget shared by k > 1 routes is not supported (only k = 1)"
    if problem.k > 1 and not schedule(problem, [problem.start, problem.end])[3]:
        # An unused vehicle still drives start -> end in the time dimension.
        return (
            "k > 1 when the direct trip from the start to the end misses the deadline or the "
            "end's window is not supported"
        )
    return None


def _node_routes(
    routing: pywrapcp.RoutingModel, manager: pywrapcp.RoutingIndexManager, k: int, get
) -> list[list[int]]:
    """Node routes ``[s, ..., e]`` of every vehicle, read with ``get(next_var)``."""
    routes = []
    for v in range(k):
        index = routing.Start(v)
        route = [manager.IndexToNode(index)]
        while not routing.IsEnd(index):
            index = get(routing.NextVar(index))
            route.append(manager.IndexToNode(index))
        routes.append(route)
    return routes


def _keep_used(problem: Problem, routes: list[list[int]]) -> list[list[int]]:
    """Routes with inner nodes (the idle trip when there is none): what the checker schedules."""
    used = [r for r in routes if len(r) > 2]
    return used or [[problem.start, problem.end]]


@dataclass(frozen=True)
class RoutingParams:
    """Parameters of the ``routing`` MTRCE solver (see :func:`solve_routing`)."""

    first_solution: str | None = param(
        None,
        "a FirstSolutionStrategy name (None: PATH_CHEAPEST_ARC for min_time, else "
        "LOCAL_CHEAPEST_INSERTION)",
    )
    metaheuristic: str = param("GUIDED_LOCAL_SEARCH", "a LocalSearchMetaheuristic name")
    warm_start_solver: str | None = param(
        "auto",
        "heuristic whose routes start the search ('auto': ils on large views only; None: none)",
    )
    warm_start_time: float | None = param(
        None, "seconds for the warm-start heuristic (None: chosen from the view's size)"
    )
    time_scale: float | None = param(None, "integer time units per time unit (None: as for cpsat)")
    penalty_factor: float | None = param(
        None,
        "penalty per unit of utility of a dropped node (None: makes every node worth its detour)",
    )


@register(
    "mtrce",
    "routing",
    exact=False,
    description="OR-Tools routing: disjunctions for optional nodes, a time dimension, k vehicles",
    supports=supports,
    params=RoutingParams,
)
def solve_routing(problem: Problem, options: SolveOptions) -> Result:
    """Solve ``problem`` heuristically with the OR-Tools routing library.

    Parameters (``options.params``, :class:`RoutingParams`)
    -------------------------------------------------------
    first_solution
        A ``FirstSolutionStrategy`` name. Default ``"LOCAL_CHEAPEST_INSERTION"`` for
        ``max_utility`` and ``"PATH_CHEAPEST_ARC"`` for ``min_time`` (the better of the two on
        each family, measured).
    metaheuristic
        A ``LocalSearchMetaheuristic`` name. Default ``"GUIDED_LOCAL_SEARCH"``.
    warm_start_solver
        Heuristic solver whose solution starts the search (default ``"auto"``: ``"ils"`` on a view
        whose matrix takes much of the limit, else none); ``options.initial`` is used when given.
    warm_start_time
        Seconds for it (default: 85 % or 40 % of the time left on a large view; on a small view
        the heuristic only runs when this is given).
    time_scale
        Integer time units per time unit (default: as for ``cpsat``).
    """
    params: RoutingParams = options.params
    reason = infeasibility_reason(problem)
    if reason is not None:
        return make_result(
            problem, "routing", None, Status.INFEASIBLE, message=f"infeasible: {reason}"
        )
    hint_routes, hint_source, too_big = _warm_start(problem, options, params)
    if too_big:
        status = Status.FEASIBLE if hint_routes else Status.NO_SOLUTION
        stats = {"hint": hint_source or None}
        return make_result(
            problem, "routing", hint_routes or None, status, stats=stats, message=too_big
        )
    it = integer_times(problem, params.time_scale)
    built = _build(problem, it, params)
    if isinstance(built, str):
        return make_result(problem, "routing", None, Status.INFEASIBLE, message=built)
    first, meta = _strategies(problem, params)
    trace, assignment, code = _search(problem, options, built, hint_routes, first, meta)
    from ortools.constraint_solver import routing_enums_pb2

    status_enum = routing_enums_pb2.RoutingSearchStatus.Value
    stats = {
        "time_scale": it.scale,
        "exact_scaling": it.exact,
        "routing_status": status_enum.Name(code),
        "first_solution": first,
        "metaheuristic": meta,
        "hint": hint_source or None,
        "solutions": len(trace),
    }
    if assignment is None:
        return _nothing_found(problem, code, hint_routes, trace, stats)
    routes = _keep_used(
        problem, _node_routes(built.routing, built.manager, problem.k, assignment.Value)
    )
    if (
        hint_routes
        and route_set_cost(problem, hint_routes) < route_set_cost(problem, routes) - 1e-9
    ):
        routes = hint_routes
        stats["returned"] = "hint"
    # The routing library's ROUTING_OPTIMAL comes with no bound (and is about integer times):
    # without a bound nothing is proved, so the result is feasible.
    scaling = "" if it.exact else f" (times scaled by {it.scale:g} and rounded up)"
    return make_result(
        problem,
        "routing",
        routes,
        Status.FEASIBLE,
        trace=trace,
        stats=stats,
        message=f"guided local search until the time limit; no bound{scaling}",
    )


def _warm_start(
    problem: Problem, options: SolveOptions, params: RoutingParams
) -> tuple[list[list[int]], str, str]:
    """The warm start's routes and source, and why the run stops there ("" when it goes on).

    The routing model takes the full n x n transit matrix (as Python ints) and its first
    solution strategies are quadratic or worse: on rgg-2000 (1,737 nodes) it timed out without a
    solution after 19.7 s of a 3 s limit. A large view gets a heuristic warm start first, and
    when the matrix alone would take more than half the time left, that warm start is the
    answer (with a message saying so).
    """
    from .milp import slowdown

    n = problem.n
    build_seconds = n * n * slowdown() / MATRIX_RATE
    remaining = options.remaining()
    large = build_seconds > 0.05 * remaining
    hint_name = params.warm_start_solver
    if hint_name == "auto":
        hint_name = "ils" if large else None
    hint_time = params.warm_start_time
    if hint_time is None:
        hint_time = (0.85 if build_seconds > 0.3 * remaining else 0.4) * remaining if large else 0.0
    routes, source = heuristic_start(
        problem, options, hint_name, min(hint_time, 0.9 * options.remaining())
    )
    why = ""
    if build_seconds > 0.5 * options.remaining():
        why = (
            f"stopped after the warm start: the routing model's {n}x{n} matrix would take "
            f"about {build_seconds:.1f} s of the {options.remaining():.1f} s left"
        )
    return routes, source, why


@dataclass
class _RoutingModel:
    """The routing model of one run: the index manager, the model and its time horizon."""

    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    horizon: int


def _build(problem: Problem, it: IntegerTimes, params: RoutingParams) -> _RoutingModel | str:
    """The routing model (time dimension, windows, budget, disjunctions), or why the problem is
    infeasible (a mandatory node whose window is empty in integer time)."""
    from ortools.constraint_solver import pywrapcp

    n, k, s, e = problem.n, problem.k, problem.start, problem.end
    limited = it.end_limit < UNBOUNDED
    finite_transit = np.where(it.finite, it.transit, 0)
    horizon = (
        int(it.end_limit)
        if limited
        else int(it.start + finite_transit.max(axis=1).sum() + it.end_tail + 1)
    )
    # Arcs that do not exist cost more than the horizon, so no route can take them.
    transit = np.where(it.finite, it.transit, horizon + 1).astype(np.int64)
    np.fill_diagonal(transit, 0)
    manager = pywrapcp.RoutingIndexManager(n, k, [s] * k, [e] * k)
    routing = pywrapcp.RoutingModel(manager)
    transit_cb = routing.RegisterTransitMatrix(transit.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(transit_cb)
    routing.AddDimension(transit_cb, horizon, horizon, False, "time")
    built = _RoutingModel(manager, routing, horizon)
    mandatory = set(np.asarray(problem.mandatory, dtype=np.int64).tolist())
    if problem.objective == "min_time":
        mandatory |= set(problem.customers.tolist())
    closed = _windows(problem, it, built, mandatory)
    if isinstance(closed, str):
        return closed
    if problem.budget is not None:
        _add_budget(problem, routing, manager)
    for c in closed:
        routing.AddDisjunction([manager.NodeToIndex(c)], 0)
        routing.solver().Add(routing.ActiveVar(manager.NodeToIndex(c)) == 0)
    if problem.objective == "max_utility":
        util, _ = integer_weights(np.maximum(np.asarray(problem.utility, dtype=np.float64), 0))
        factor = _penalty_factor(util, transit[it.finite], params.penalty_factor)
        for c in problem.customers.tolist():
            if c not in mandatory and c not in closed:
                routing.AddDisjunction([manager.NodeToIndex(c)], int(util[c]) * factor)
    # min_time: every customer is mandatory, i.e. has no disjunction.
    return built


def _windows(
    problem: Problem, it: IntegerTimes, built: _RoutingModel, mandatory: set[int]
) -> list[int] | str:
    """Each customer's service start in its window, the start fixed and the end's arrival
    bounded; returns the customers whose window is empty in integer time (never visited), or
    why the problem is infeasible when one of them is mandatory."""
    manager, routing, horizon = built.manager, built.routing, built.horizon
    time_dim = routing.GetDimensionOrDie("time")
    closed: list[int] = []
    for c in problem.customers.tolist():
        lo, hi = int(it.open[c]), min(int(it.close[c]), horizon)
        if lo > hi:
            # The window is empty in integer time (or closes before the start): never visit it.
            if c in mandatory:
                return f"infeasible: mandatory node {problem.ids[c]!r} has an empty window"
            closed.append(c)
            continue
        time_dim.CumulVar(manager.NodeToIndex(c)).SetRange(lo, hi)
    end_lo = min(int(it.open[problem.end]), int(it.end_limit))
    for v in range(problem.k):
        time_dim.CumulVar(routing.Start(v)).SetValue(int(it.start))
        time_dim.CumulVar(routing.End(v)).SetRange(end_lo, int(it.end_limit))
    if problem.has_windows and problem.objective == "min_time":
        time_dim.SetSpanCostCoefficientForAllVehicles(1)
    return closed


def _strategies(problem: Problem, params: RoutingParams) -> tuple[str, str]:
    """The first-solution strategy and the metaheuristic (names)."""
    # Measured at 3 s: for OP local cheapest insertion starts far better (Chao 64 budget 45: 792
    # vs 702; Tsiligirides 3 budget 60: 550 vs 450); for the TSP the cheapest arc path does
    # (kroA100: 21462 vs 22676).
    default_first = (
        "PATH_CHEAPEST_ARC" if problem.objective == "min_time" else "LOCAL_CHEAPEST_INSERTION"
    )
    return params.first_solution or default_first, params.metaheuristic


def _search(
    problem: Problem,
    options: SolveOptions,
    built: _RoutingModel,
    hint_routes: list[list[int]],
    first: str,
    meta: str,
) -> tuple[list[TracePoint], Any, int]:
    """Run the search until the time limit (from the warm start when there is one); returns the
    trace of improving solutions, the final assignment (None: nothing found) and the status."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    manager, routing, k = built.manager, built.routing, problem.k
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, first)
    search.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic, meta)
    trace: list[TracePoint] = []
    best: dict[str, object] = {"cost": math.inf}

    def on_solution() -> None:
        cost = routing.CostVar().Max()
        if cost >= best["cost"]:
            return
        best["cost"] = cost
        routes = _keep_used(problem, _node_routes(routing, manager, k, lambda var: var.Value()))
        value = objective(problem, routes)
        trace.append(TracePoint(options.elapsed(), value, None))
        if options.callback is not None:
            options.callback("incumbent", {"objective": value, "bound": None})

    routing.AddAtSolutionCallback(on_solution)
    search.time_limit.FromMilliseconds(max(10, int(1000 * options.remaining())))
    initial = None
    if hint_routes:
        inner = [[manager.NodeToIndex(v) for v in r[1:-1]] for r in hint_routes if len(r) > 2]
        inner += [[] for _ in range(k - len(inner))]
        routing.CloseModelWithParameters(search)
        initial = routing.ReadAssignmentFromRoutes(inner, True)
    assignment = (
        routing.SolveFromAssignmentWithParameters(initial, search)
        if initial is not None
        else routing.SolveWithParameters(search)
    )
    return trace, assignment, routing.status()


def _nothing_found(
    problem: Problem,
    code: int,
    hint_routes: list[list[int]],
    trace: list[TracePoint],
    stats: dict[str, Any],
) -> Result:
    """The result of a search that returned no assignment: the warm start when there is one."""
    from ortools.constraint_solver import routing_enums_pb2

    status_enum = routing_enums_pb2.RoutingSearchStatus.Value
    if hint_routes:
        stats["returned"] = "hint"
        return make_result(
            problem,
            "routing",
            hint_routes,
            Status.FEASIBLE,
            trace=trace,
            stats=stats,
            message=f"the routing search found nothing ({status_enum.Name(code)}); the warm start",
        )
    status = Status.INFEASIBLE if code == status_enum.ROUTING_INFEASIBLE else Status.NO_SOLUTION
    if code == status_enum.ROUTING_INVALID:
        status = Status.ERROR
    message = {
        Status.INFEASIBLE: "infeasible: the routing library proved that no routes fit",
        Status.NO_SOLUTION: f"no solution found ({status_enum.Name(code)})",
        Status.ERROR: "the routing model is invalid",
    }[status]
    return make_result(problem, "routing", None, status, stats=stats, message=message)


def _penalty_factor(util: np.ndarray, arc_costs: np.ndarray, given: float | None) -> int:
    """Penalty per unit of (integer) utility.

    Dropping a node saves at most two arcs, so ``2 * max arc / min positive utility + 1`` makes
    every node worth more than its detour, while keeping the penalties on the scale of the arc
    costs that guided local search works with (a strict lexicographic factor would dwarf them).
    """
    if given is not None:
        return max(1, int(given))
    positive = util[util > 0]
    if positive.size == 0 or arc_costs.size == 0:
        return 1
    factor = int(np.ceil(2 * float(arc_costs.max()) / float(positive.min()))) + 1
    return max(1, min(factor, INT_CAP // max(1, int(util.sum()))))


def _add_budget(
    problem: Problem, routing: pywrapcp.RoutingModel, manager: pywrapcp.RoutingIndexManager
) -> None:
    """Budget dimension (``k = 1``): travel cost of each arc plus the visit cost of its head."""
    s, e = problem.start, problem.end
    visit = np.asarray(problem.visit_cost, dtype=np.float64)
    tcost = np.asarray(problem.travel_cost, dtype=np.float64)
    head_visit = np.where(np.arange(problem.n) == e, 0.0, visit)  # e is paid up front
    arc = tcost + head_visit[None, :]
    values = np.concatenate([visit, tcost[np.isfinite(tcost)], [problem.budget]])
    factor = 1.0 if np.allclose(values, np.round(values)) else 1e6
    fixed = visit[s] + (visit[e] if e != s else 0.0)
    cap = int(np.floor(factor * (problem.budget - fixed) + 1e-9))
    cost = np.where(
        np.isfinite(arc), np.ceil(factor * np.where(np.isfinite(arc), arc, 0) - 1e-9), cap + 1
    )
    np.fill_diagonal(cost, 0)
    cb = routing.RegisterTransitMatrix(cost.astype(np.int64).tolist())
    routing.AddDimension(cb, 0, max(cap, 0), True, "budget")
