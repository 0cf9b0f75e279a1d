"""The CP-SAT model of MTRCE (``formulations/mtrce.md``, section "CP-SAT"), and reading it back.

:func:`build_model` merges the start and the end into one depot node (model node 0) and keeps one
node per customer; arc literals form one circuit (``k = 1``) or up to ``k`` circuits through the
depot; a self-loop on a customer skips it. Times are integers (:mod:`.integer_data`). Also here:
:func:`decode_routes` (routes from arc values), :func:`add_hint` (a warm start as a complete hint),
:func:`add_no_good` (cut a route set off) and :func:`real_bound` (CP-SAT's bound in the problem's
units).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # OR-Tools takes about a second to import: only the solver functions load it
    from ortools.sat.python import cp_model

from .integer_data import (
    UNBOUNDED,
    IntegerTimes,
    ceil_units,
    floor_units,
    integer_weights,
    is_integral,
    is_late,
    relax_slack,
)
from .optw_pairs import window_pairs
from .problem import Problem
from .reachability import dijkstra
from .solution import schedule, windows


@dataclass
class CpsatModel:
    """A built CP-SAT model and what is needed to read routes back."""

    model: cp_model.CpModel
    nodes: np.ndarray
    """Model node -> problem index (model node 0 is the depot D = start/end)."""
    tails: np.ndarray
    heads: np.ndarray
    arc_vars: list[cp_model.IntVar]
    skip: dict[int, cp_model.IntVar]
    times: dict[int, cp_model.IntVar]
    completions: dict[int, cp_model.IntVar]
    objective_scale: float
    """Real objective = CP objective / objective_scale (approximately, for real data)."""
    utility_error: float
    """Sum of |rounding errors| of the integer utilities (0 for integer utilities)."""
    _arc_index: dict[tuple[int, int], int] | None = None

    def arc_index(self) -> dict[tuple[int, int], int]:
        """``(tail, head)`` model nodes -> position in ``arc_vars``."""
        if self._arc_index is None:
            pairs = zip(self.tails.tolist(), self.heads.tolist(), strict=True)
            self._arc_index = {pair: k for k, pair in enumerate(pairs)}
        return self._arc_index


def _model_transit(problem: Problem, it: IntegerTimes, nodes: np.ndarray) -> np.ndarray:
    """Integer transit between model nodes: out of D uses row ``s``, into D column ``e``.

    The depot's self-arc (the idle trip) gets 0: it is only allowed when the idle trip is feasible
    in real arithmetic (checked separately), and its time never adds to a route.
    """
    src, dst = nodes.copy(), nodes.copy()
    dst[0] = problem.end
    transit = it.transit[np.ix_(src, dst)]
    transit[0, 0] = 0
    return transit


@dataclass
class _Arcs:
    """The model's nodes and the arcs it may use, with each node's integer time window.

    Model node 0 is the depot (start and end merged); ``tails``/``heads`` list the usable arcs
    (``(0, 0)`` is the idle trip); ``earliest``/``latest`` bound each node's service start from
    shortest paths, and an ``unreachable`` customer cannot fit between the start and the end.
    """

    nodes: np.ndarray
    transit: np.ndarray
    tails: np.ndarray
    heads: np.ndarray
    earliest: np.ndarray
    latest: np.ndarray
    unreachable: np.ndarray
    limited: bool

    @property
    def m(self) -> int:
        return len(self.nodes)

    @property
    def arc_transit(self) -> np.ndarray:
        return self.transit[self.tails, self.heads]


def _candidate_mask(
    problem: Problem, nodes: np.ndarray, candidates: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """The sparse model's arcs: only the candidate arcs (problem indices -> model nodes)."""
    s, e, m = problem.start, problem.end, len(nodes)
    where = np.full(problem.n, -1, dtype=np.int64)
    where[nodes] = np.arange(m)
    where[e] = 0
    ci, cj = where[candidates[0]], where[candidates[1]]
    keep = (ci >= 0) & (cj >= 0)
    if s != e:  # nothing leaves the end or enters the start
        keep &= (candidates[0] != e) & (candidates[1] != s)
    allowed = np.zeros((m, m), dtype=bool)
    allowed[ci[keep], cj[keep]] = True
    return allowed


def _arcs(
    problem: Problem, it: IntegerTimes, candidates: tuple[np.ndarray, np.ndarray] | None
) -> _Arcs:
    """The usable arcs: finite, among the candidates, and fitting the nodes' time windows."""
    s, e = problem.start, problem.end
    nodes = np.concatenate([[s], problem.customers]).astype(np.int64)
    m = len(nodes)
    transit = _model_transit(problem, it, nodes)
    # the idle trip as the solutions are judged: exactly (restriction), or with the checker's
    # tolerance (relaxation: it must admit whatever the checker accepts)
    idle_ok = bool(schedule(problem, [s, e])[3]) if it.up else not is_late(problem, [s, e])
    arc_ok = transit >= 0
    if candidates is not None:
        arc_ok &= _candidate_mask(problem, nodes, candidates)
    np.fill_diagonal(arc_ok, False)
    arc_ok[0, 0] = idle_ok
    limited = it.end_limit < UNBOUNDED

    # Earliest integer start and latest integer start per customer from shortest paths; a
    # customer that cannot fit between the start and the end is skipped (fixed, not searched).
    usable = np.where(arc_ok, transit, -1) if candidates is not None else transit
    weights = np.where(usable >= 0, usable.astype(np.float64), np.inf)
    np.fill_diagonal(weights, np.inf)
    dist_from = np.ceil(dijkstra(lambda u: weights[u], m, 0) - 1e-6)
    weights_in = np.ascontiguousarray(weights.T)  # rows of the transpose: fast column reads
    dist_to = np.ceil(dijkstra(lambda u: weights_in[u], m, 0) - 1e-6)
    earliest = np.maximum(it.open[nodes], it.start + dist_from)
    latest = np.minimum(it.close[nodes], it.end_limit - dist_to if limited else UNBOUNDED)
    latest = np.where(np.isfinite(latest), latest, -1)
    unreachable = ~np.isfinite(dist_from) | (earliest > latest)
    unreachable[0] = False
    # Arcs into or out of an unreachable customer can never be used, nor can an arc that even
    # from its tail's earliest start arrives after its head's latest start (or L at the end).
    arc_ok[unreachable, :] = False
    arc_ok[:, unreachable] = False
    earliest[0] = it.start
    latest[0] = it.end_limit
    arc_ok &= earliest[:, None] + transit <= latest[None, :]
    arc_ok[0, 0] = idle_ok
    tails, heads = np.nonzero(arc_ok)
    return _Arcs(nodes, transit, tails, heads, earliest, latest, unreachable, limited)


def _route_constraints(
    model: cp_model.CpModel, problem: Problem, arcs: _Arcs, arc_vars: list
) -> tuple[dict[int, cp_model.IntVar], cp_model.IntVar | None]:
    """Skip literals of the optional customers and the circuit(s); returns ``(skip, idle)``
    (``idle``: the depot's self-arc, the idle trip, None when it is not allowed)."""
    nodes, m, unreachable = arcs.nodes, arcs.m, arcs.unreachable
    mandatory = set(np.asarray(problem.mandatory, dtype=np.int64).tolist())
    if problem.objective == "min_time":
        mandatory |= set(problem.customers.tolist())
    skip: dict[int, cp_model.IntVar] = {}
    for c in range(1, m):
        if int(nodes[c]) in mandatory:
            continue
        skip[c] = model.new_bool_var(f"skip{c}")
        if unreachable[c]:
            model.add(skip[c] == 1)
    circuit = list(zip(arcs.tails.tolist(), arcs.heads.tolist(), arc_vars, strict=True))
    circuit += [(c, c, lit) for c, lit in skip.items()]
    idle = next((lit for i, j, lit in circuit if i == j == 0), None)
    out_of_depot = [lit for i, j, lit in circuit if i == 0 and j != 0]
    if np.any(unreachable[1:] & ~np.isin(np.arange(1, m), list(skip))) or (
        idle is None and not out_of_depot
    ):
        # A mandatory customer cannot fit (after rounding) or no route can leave the start:
        # state the infeasibility plainly (route constraints reject nodes without arcs).
        model.add_bool_or([])
    elif not out_of_depot:
        model.add(idle == 1)
        for lit in skip.values():
            model.add(lit == 1)
    elif problem.k == 1:
        if idle is not None:
            # A self-loop on D takes the depot off the circuit, but add_circuit would still let
            # the customers form a circuit of their own: the idle trip must skip every customer.
            if len(skip) < m - 1:
                model.add(idle == 0)
            for lit in skip.values():
                model.add_implication(idle, lit)
        model.add_circuit(circuit)
    else:
        model.add_multiple_circuit([(i, j, lit) for i, j, lit in circuit if not (i == j == 0)])
        model.add(sum(out_of_depot) <= problem.k)
        if idle is not None:
            # The idle trip is chosen exactly when no route leaves the depot.
            model.add(sum(out_of_depot) == 0).only_enforce_if(idle)
            model.add(sum(out_of_depot) >= 1).only_enforce_if(idle.Not())
        else:
            model.add(sum(out_of_depot) >= 1)
    return skip, idle


def _time_constraints(
    model: cp_model.CpModel, problem: Problem, it: IntegerTimes, arcs: _Arcs, arc_vars: list
) -> tuple[dict[int, cp_model.IntVar], dict[int, int]]:
    """The deadline on the summed transit and, with windows (or ``k > 1`` and a deadline), a
    service-start variable per customer propagated along the chosen arcs. Returns the time
    variables and the upper end of each one's domain (``proto.domain[-1]`` reads 0 in OR-Tools
    9.15: the repeated field ignores negative indices)."""
    from ortools.sat.python import cp_model

    tail_list, head_list = arcs.tails.tolist(), arcs.heads.tolist()
    arc_transit = arcs.arc_transit
    limited, unreachable = arcs.limited, arcs.unreachable
    route_budget = it.end_limit - it.start
    """Summed integer transit one route may use (meaningful when ``limited``)."""
    need_times = problem.has_windows or (limited and problem.k > 1)
    times: dict[int, cp_model.IntVar] = {}
    latest_time: dict[int, int] = {}
    if limited:
        # k = 1 without windows: this alone is the deadline; otherwise a redundant cut.
        model.add(
            cp_model.LinearExpr.weighted_sum(arc_vars, arc_transit.tolist())
            <= problem.k * route_budget
        )
    if not need_times:
        return times, latest_time
    horizon = (
        int(it.end_limit)
        if limited
        else int(it.start + np.maximum(arcs.transit, 0).max(axis=1).sum())
    )
    for c in range(1, arcs.m):
        lo = int(arcs.earliest[c]) if not unreachable[c] else 0
        hi = min(int(arcs.latest[c]), horizon) if not unreachable[c] else 0
        times[c] = model.new_int_var(lo, max(lo, hi), f"t{c}")
        latest_time[c] = max(lo, hi)
    for lit, i, j, w in zip(arc_vars, tail_list, head_list, arc_transit.tolist(), strict=True):
        if i == 0 and j == 0:
            continue
        if i == 0:
            model.add(times[j] >= it.start + w).only_enforce_if(lit)
        elif j == 0:
            if limited:
                model.add(times[i] + w <= it.end_limit).only_enforce_if(lit)
        else:
            model.add(times[j] >= times[i] + w).only_enforce_if(lit)
    return times, latest_time


def _min_time_objective(
    model: cp_model.CpModel,
    problem: Problem,
    it: IntegerTimes,
    arcs: _Arcs,
    arc_vars: list,
    idle: cp_model.IntVar | None,
    times: dict[int, cp_model.IntVar],
    latest_time: dict[int, int],
) -> tuple[float, dict[int, cp_model.IntVar]]:
    """Minimise the summed completion times; returns the objective's scale and the completion
    variables (with windows)."""
    from ortools.sat.python import cp_model

    objective_scale = it.scale
    completions: dict[int, cp_model.IntVar] = {}
    idle_time = _idle_completion(problem, it)
    idle_term = idle_time * idle if idle is not None else 0
    arc_transit = arcs.arc_transit.tolist()
    into_depot = [
        (lit, i, w)
        for lit, i, j, w in zip(
            arc_vars, arcs.tails.tolist(), arcs.heads.tolist(), arc_transit, strict=True
        )
        if j == 0 and i != 0
    ]
    used = sum(lit for lit, _, _ in into_depot)
    if problem.has_windows:
        # A used route completes at max(arrival at e, a[e]) + d[e] + verify.
        a_e = int(it.open[problem.end])
        terms = []
        for lit, i, w in into_depot:
            hi = max(latest_time[i] + w, a_e)
            done = model.new_int_var(0, hi, f"c{i}")
            model.add(done >= times[i] + w).only_enforce_if(lit)
            model.add(done >= a_e).only_enforce_if(lit)
            model.add(done == 0).only_enforce_if(lit.Not())
            completions[i] = done
            terms.append(done)
        obj = sum(terms) + it.end_tail * used + idle_term
    elif not it.up:
        # A relaxation without windows: the objective needs no time variable, so it gets its
        # own finer units (every term rounded down: a lower bound on the real completion
        # times, within (arcs) / objective_scale of them, far below the gap tolerance).
        objective_scale, arc_obj, const, idle_obj = _fine_objective(
            problem, arcs.nodes, arcs.tails, arcs.heads
        )
        obj = cp_model.LinearExpr.weighted_sum(arc_vars, arc_obj.tolist())
        obj += const * used
        if idle is not None:
            obj += idle_obj * idle
    else:
        # Without windows a used route completes at start + its arcs' transit + d[e] + verify.
        obj = cp_model.LinearExpr.weighted_sum(arc_vars, arc_transit)
        obj += (it.start + it.end_tail) * used + idle_term
    model.minimize(obj)
    return objective_scale, completions


def _utility_objective(
    model: cp_model.CpModel, problem: Problem, arcs: _Arcs, skip: dict[int, cp_model.IntVar]
) -> tuple[float, float]:
    """Maximise the utility collected (integer weights); returns the objective's scale and the
    summed rounding error of the integer utilities."""
    from ortools.sat.python import cp_model

    s, e, nodes = problem.start, problem.end, arcs.nodes
    utility = np.asarray(problem.utility, dtype=np.float64)
    util, objective_scale = integer_weights(utility)
    utility_error = float(np.abs(util / objective_scale - utility).sum())
    fixed = int(util[s]) + (int(util[e]) if e != s else 0)
    fixed += sum(int(util[nodes[c]]) for c in range(1, arcs.m) if c not in skip)
    weights = [int(util[nodes[c]]) for c in skip]
    obj = fixed + sum(weights) - cp_model.LinearExpr.weighted_sum(list(skip.values()), weights)
    model.maximize(obj)
    return objective_scale, utility_error


def build_model(
    problem: Problem,
    it: IntegerTimes,
    candidates: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    pairs: bool = False,
) -> CpsatModel:
    """The CP-SAT model of ``problem`` with integer times ``it`` (formulations/mtrce.md).

    ``candidates`` (``(tails, heads)`` of problem indices, :func:`daitn_opt.mtrce.milp.candidate_arcs`)
    restricts the arcs to those: the sparse model, a restriction of the problem. ``pairs``: with
    one route and windows, state which customers the windows keep apart or in order
    (:mod:`.optw_pairs`).
    """
    from ortools.sat.python import cp_model

    arcs = _arcs(problem, it, candidates)
    model = cp_model.CpModel()
    arc_vars = [
        model.new_bool_var(f"x{i}_{j}")
        for i, j in zip(arcs.tails.tolist(), arcs.heads.tolist(), strict=True)
    ]
    skip, idle = _route_constraints(model, problem, arcs, arc_vars)
    times, latest_time = _time_constraints(model, problem, it, arcs, arc_vars)
    if pairs and times and problem.k == 1:
        _window_pairs(model, arcs, skip, times)
    if problem.budget is not None:
        _add_budget(problem, model, arcs.nodes, arcs.tails, arcs.heads, arc_vars, skip, up=it.up)
    utility_error = 0.0
    completions: dict[int, cp_model.IntVar] = {}
    if problem.objective == "min_time":
        objective_scale, completions = _min_time_objective(
            model, problem, it, arcs, arc_vars, idle, times, latest_time
        )
    else:
        objective_scale, utility_error = _utility_objective(model, problem, arcs, skip)
    return CpsatModel(
        model=model,
        nodes=arcs.nodes,
        tails=arcs.tails,
        heads=arcs.heads,
        arc_vars=arc_vars,
        skip=skip,
        times=times,
        completions=completions,
        objective_scale=objective_scale,
        utility_error=utility_error,
    )


def _window_pairs(
    model: cp_model.CpModel,
    arcs: _Arcs,
    skip: dict[int, cp_model.IntVar],
    times: dict[int, cp_model.IntVar],
) -> None:
    """One route: customers the windows keep apart are never both visited; those they keep in
    order start at least the shortest transit apart when both are (:mod:`.optw_pairs`)."""
    active = np.zeros(arcs.m, dtype=bool)
    active[1:] = ~arcs.unreachable[1:]
    found = window_pairs(arcs.transit, arcs.earliest, arcs.latest, active)

    def visit(c: int) -> list:
        return [skip[c].Not()] if c in skip else []  # a mandatory customer is always visited

    for i, j in found.apart.tolist():
        # at least one skipped (an empty clause when both are mandatory: no route exists)
        model.add_bool_or([skip[c] for c in (i, j) if c in skip])
    for (i, j), gap in zip(found.ordered.tolist(), found.gap.tolist(), strict=True):
        model.add(times[j] >= times[i] + int(gap)).only_enforce_if(visit(i) + visit(j))


def _add_budget(
    problem: Problem,
    model: cp_model.CpModel,
    nodes: np.ndarray,
    tails: np.ndarray,
    heads: np.ndarray,
    arc_vars: list[cp_model.IntVar],
    skip: dict[int, cp_model.IntVar],
    up: bool = True,
) -> None:
    """Visit cost of the visited nodes + travel cost of the used arcs <= budget (costs rounded up
    and the budget down; ``up=False``: costs down and the budget plus the checker's tolerance
    down, a relaxation like :func:`integer_times`'s).

    The depot's self-arc (idle trip) carries ``travel_cost[s, e]``, which the checker counts when
    every route is idle.
    """
    from ortools.sat.python import cp_model

    s, e = problem.start, problem.end
    visit_cost = np.asarray(problem.visit_cost, dtype=np.float64)
    src, dst = nodes.copy(), nodes.copy()
    dst[0] = e
    tc = np.asarray(problem.travel_cost, dtype=np.float64)[np.ix_(src, dst)]
    arc_tc = tc[tails, heads]
    finite_tc = np.where(np.isfinite(arc_tc), arc_tc, 0)
    exact = is_integral(np.concatenate([visit_cost, finite_tc, [problem.budget]]))
    factor = 1.0 if exact else 1e6
    up = up or exact
    cost_round = ceil_units if up else np.floor
    arc_cost = cost_round(factor * finite_tc).astype(np.int64)
    for idx in np.flatnonzero(~np.isfinite(arc_tc)).tolist():
        model.add(arc_vars[idx] == 0)  # an arc of infinite cost never fits the budget
    visit_int = cost_round(factor * visit_cost[nodes]).astype(np.int64)
    fixed = visit_cost[s] + (visit_cost[e] if e != s else 0.0)
    fixed += float(sum(visit_cost[nodes[c]] for c in range(1, len(nodes)) if c not in skip))
    weights = [int(visit_int[c]) for c in skip]
    expr = cp_model.LinearExpr.weighted_sum(arc_vars, arc_cost.tolist()) + sum(weights)
    expr -= cp_model.LinearExpr.weighted_sum(list(skip.values()), weights)
    budget = float(problem.budget) + (0.0 if up else relax_slack(float(problem.budget)))
    model.add(expr <= int(floor_units(factor * (budget - fixed))))


FINE_UNITS = 1e12
"""Largest summed objective, in integer units, of the fine min-time objective."""


def _fine_objective(
    problem: Problem, nodes: np.ndarray, tails: np.ndarray, heads: np.ndarray
) -> tuple[float, np.ndarray, int, int]:
    """Min-time objective of a relaxation without windows in units of ``1 / factor``, every term
    rounded down: ``(factor, arc coefficients, per-route constant, idle trip)``.

    A used route completes at ``max(0, a[s]) + sum(d[i] + t[i, j]) + d[e] + verify`` (no
    waiting without windows), so the objective is linear in the arcs and each coefficient is a
    lower bound of its term in real arithmetic.
    """
    service = np.asarray(problem.service, dtype=np.float64)
    travel = np.asarray(problem.travel, dtype=np.float64)
    src, dst = nodes[tails], nodes[heads].copy()
    dst[heads == 0] = problem.end
    arc = service[src] + travel[src, dst]
    arc = np.where(np.isfinite(arc), arc, 0.0)
    a, _ = windows(problem)
    const = max(0.0, float(a[problem.start])) + float(service[problem.end])
    const += float(problem.verify_time)
    idle = schedule(problem, [problem.start, problem.end])[2]
    idle = float(idle) if np.isfinite(idle) else 0.0
    rows = np.zeros(len(nodes))
    np.maximum.at(rows, tails, np.abs(arc))
    total = max(float(rows.sum()) + const * max(1, problem.k) + abs(idle), 1.0)
    factor = float(10 ** int(np.clip(math.floor(math.log10(FINE_UNITS / total)), 0, 9)))
    return (
        factor,
        np.floor(factor * arc).astype(np.int64),
        int(np.floor(factor * const)),
        int(np.floor(factor * idle)),
    )


def _idle_completion(problem: Problem, it: IntegerTimes) -> int:
    """Scaled completion time of the idle trip ``[s, e]`` (rounded up, or down for a relaxation;
    0 if it is infeasible)."""
    done = schedule(problem, [problem.start, problem.end])[2]
    if not np.isfinite(done):
        return 0
    return int(ceil_units(it.scale * done)) if it.up else int(np.floor(it.scale * done))


def decode_routes(problem: Problem, built: CpsatModel, arc_values: np.ndarray) -> list[list[int]]:
    """Index routes ``[s, ..., e]`` from the arc values of a solution (the idle trip if none)."""
    chosen = arc_values > 0
    tails, heads = built.tails[chosen].tolist(), built.heads[chosen].tolist()
    succ = dict(zip(tails, heads, strict=True))
    routes = []
    for first in sorted(j for i, j in zip(tails, heads, strict=True) if i == 0 and j != 0):
        route, node = [problem.start], first
        while node != 0:
            route.append(int(built.nodes[node]))
            node = succ[node]
        routes.append([*route, problem.end])
    return routes or [[problem.start, problem.end]]


def real_bound(problem: Problem, built: CpsatModel, raw: float) -> float | None:
    """The CP-SAT bound in the objective's units (see module docstring for real data)."""
    if not math.isfinite(raw):
        return None
    if problem.sense == "max":
        # Integer utilities are exact; otherwise add every rounding error to stay an upper bound.
        return math.floor(raw + 1e-9) / built.objective_scale + built.utility_error
    return raw / built.objective_scale


def add_no_good(
    built: CpsatModel, problem: Problem, routes: list[list[int]], which: list[int]
) -> None:
    """Forbid using together every arc of the routes at positions ``which`` (all arcs of all
    routes when ``which`` is empty: the whole solution, for a budget violation)."""
    lookup = built.arc_index()
    model_of = {int(p): c for c, p in enumerate(built.nodes)}
    model_of[problem.end] = 0
    model_of[problem.start] = 0
    chosen = which or list(range(len(routes)))
    lits = []
    for k in chosen:
        path = [model_of[int(v)] for v in routes[k]]
        if len(path) == 2:
            path = [0, 0]  # the idle trip: the depot's self-arc
        lits += [built.arc_vars[lookup[(i, j)]] for i, j in itertools.pairwise(path)]
    if lits:
        built.model.add_bool_or([lit.Not() for lit in lits])


def add_hint(
    problem: Problem, built: CpsatModel, it: IntegerTimes, routes: list[list[int]]
) -> None:
    """Hint every arc, skip, time and completion variable from index routes."""
    model_of = {int(p): c for c, p in enumerate(built.nodes)}
    model_of[problem.end] = 0
    used: set[tuple[int, int]] = set()
    visited: set[int] = set()
    start_t: dict[int, int] = {}
    done: dict[int, int] = {}
    inner = [r for r in routes if len(r) > 2]
    for r in inner:
        path = [0] + [model_of[v] for v in r[1:-1]] + [0]
        t = it.start
        for i, j in itertools.pairwise(path):
            used.add((i, j))
            if j != 0:
                visited.add(j)
                t = max(
                    t + int(it.transit[built.nodes[i], built.nodes[j]]),
                    int(it.open[built.nodes[j]]),
                )
                start_t[j] = t
            else:
                done[i] = max(
                    t + int(it.transit[built.nodes[i], problem.end]), int(it.open[problem.end])
                )
    if not inner:
        used.add((0, 0))
    for lit, i, j in zip(built.arc_vars, built.tails.tolist(), built.heads.tolist(), strict=True):
        built.model.add_hint(lit, (i, j) in used)
    for c, lit in built.skip.items():
        built.model.add_hint(lit, c not in visited)
    # A complete hint (every variable) is checked by CP-SAT as a first solution as it stands;
    # unvisited nodes take the lowest time of their domain.
    for c, var in built.times.items():
        built.model.add_hint(var, start_t.get(c, int(var.proto.domain[0])))
    for c, var in built.completions.items():
        built.model.add_hint(var, done.get(c, 0))
