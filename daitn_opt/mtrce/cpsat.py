"""MTRCE by OR-Tools CP-SAT: circuit constraints with optional nodes and integer time variables.

The model (``formulations/mtrce.md``, section "CP-SAT") merges the start ``s`` and the end ``e``
into one depot node ``D`` and keeps one node per customer (every node other than ``s`` and
``e``). An arc literal ``x[i, j]`` says the route goes from i to j; a self-loop literal on a
customer says it is skipped (mandatory customers have none). For ``k = 1`` the arcs form one
circuit (``add_circuit``; a self-loop on ``D`` is the idle trip straight from ``s`` to ``e``); for
``k > 1`` they form up to ``k`` circuits through ``D`` (``add_multiple_circuit``).

Times are integers in units of ``1 / scale`` (:class:`IntegerTimes`); for integer data the scale
is 1 (for data with at most four decimals, the matching power of ten) and the model is exact. For
real data the dense model rounds every arc's travel plus service *down* and every limit (plus the
checker's tolerance) *down*: a **relaxation**, which admits every route feasible in real
arithmetic, so its bound and a proof of its infeasibility hold for the problem. Its solutions are
checked in real arithmetic (:func:`true_violations`): only feasible ones become incumbents; when
its proved optimum is feasible, that is a proof of optimality; when it is not, it is cut off (a
no-good on its arcs) and the relaxation solved again (:func:`_solve_relaxation`). The sparse
model, a restriction anyway, rounds the other way (transit up, limits down) so that its routes
are feasible. The reported objective is always recomputed from the real arrays.

Without windows and with one route the deadline is one linear constraint on the summed arc times
(strong in the LP relaxation); with windows, or with ``k > 1`` and a deadline, each customer has a
service-start variable propagated along the chosen arcs.
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # OR-Tools takes about a second to import: only the solver functions load it
    from ortools.sat.python import cp_model

from ..errors import UnsupportedError
from ..params import param
from ..registry import SolveOptions, register
from ..result import Result, Status, TracePoint
from .certify import route_objective_reason, settle
from .problem import Problem
from .solution import make_result, objective, schedule, windows

TARGET_RESOLUTION = 1e8
"""Auto scale: the largest power of ten (at most 1e6) that keeps the horizon below this."""

DENSE_RATE = 1e7
"""Entries of ``n x n`` integer-time arrays prepared per second on a free core (integer_times,
arc filter; 2.3e6 at load 8 on rgg-2000), scaled by :func:`daitn_opt.mtrce.milp.slowdown`."""

MAX_DENSE_BYTES = 4e9
"""Memory the integer-time matrices may take (about 40 n^2 bytes): beyond, only the warm start."""

RELAX_TOL = 1e-6
"""The independent checker's tolerance on times and budgets (relative to ``max(1, |limit|)``)."""

MAX_CUTS_PER_SOLVE = 64
"""Solutions of a relaxation that fail in real arithmetic kept per solve, each cut off next."""

UNBOUNDED = 2**40
"""Stand-in for an infinite integer limit (far below CP-SAT's int64 range)."""


# --- integer data ------------------------------------------------------------------------------
def _is_integral(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return bool(np.all(np.abs(finite - np.round(finite)) <= 1e-9))


def _ceil(x: np.ndarray | float) -> np.ndarray:
    # Subtract a hair before ceil so that 3.0000000000004 (float noise on integer data) stays 3.
    return np.ceil(np.asarray(x, dtype=np.float64) - 1e-9)


def _floor(x: np.ndarray | float) -> np.ndarray:
    return np.floor(np.asarray(x, dtype=np.float64) + 1e-9)


@dataclass(frozen=True)
class IntegerTimes:
    """The problem's times as integers in units of ``1 / scale``, rounded one way.

    Rounded up (``up``, a restriction): ``transit[i, j] = ceil(scale * (service[i] +
    travel[i, j]))`` (-1 where travel is infinite), ``open = ceil(scale * a)``, ``close =
    floor(scale * b)``, ``start = ceil(scale * max(0, a[s]))`` (service start at ``s``),
    ``end_limit = floor(scale * min(b[e], T - d[e] - verify))`` (latest arrival at ``e``) and
    ``end_tail = ceil(scale * (d[e] + verify))``. By induction along a route, ``scale *`` the
    real service start at every node is at most the integer one, so an accepted route is
    feasible in real arithmetic; a route whose slack is below about (arcs on it) / scale can be
    missed.

    Rounded down (``up`` False, a relaxation): transit, openings, the start and the tail
    rounded down, each limit ``L`` replaced by ``floor(scale * (L + 2e-6 max(1, |L|)))`` (twice
    the checker's tolerance). By the same induction the integer service start is at most
    ``scale *`` the real one, so every route the checker accepts is accepted; the model may also
    accept routes infeasible in real arithmetic, by up to about (arcs) / scale.

    With integer data ``scale == 1`` (with at most four decimals, the matching power of ten),
    nothing is rounded (``exact``) and both directions are the same model.
    """

    scale: float
    exact: bool
    transit: np.ndarray
    open: np.ndarray
    close: np.ndarray
    start: int
    end_limit: int
    end_tail: int
    up: bool = True
    """Rounded for safety (a restriction); False: rounded the other way (a relaxation)."""

    @property
    def finite(self) -> np.ndarray:
        return self.transit >= 0


def _slack(limit: float) -> float:
    """How far the relaxation lets a limit be exceeded: twice the checker's tolerance
    (``1e-6 * max(1, |limit|)``, :mod:`daitn_opt.mtrce.check`), the second half for
    floating-point error in the sums, so that every route the checker accepts stays feasible."""
    return 2.0 * RELAX_TOL * max(1.0, abs(limit))


def integer_times(problem: Problem, scale: float | None = None, up: bool = True) -> IntegerTimes:
    """Scale and round the problem's times (see :class:`IntegerTimes`).

    ``scale`` None picks the smallest power of ten (up to 1e4) that makes the data integer, else
    the largest power of ten up to 1e6 that keeps the horizon at most :data:`TARGET_RESOLUTION`
    units. ``up`` (default) rounds transit up and limits down (a restriction of the problem);
    ``up=False`` rounds transit, openings and the start down and limits (plus the checker's
    tolerance, :func:`_slack`) down, a relaxation: by induction along a route the integer
    service start at every node is at most ``scale`` times the real one, so every route
    feasible in real arithmetic (within the checker's tolerance) is accepted. For exact data
    both directions give the same integers.
    """
    a, b = windows(problem)
    travel = np.asarray(problem.travel, dtype=np.float64)
    service = np.asarray(problem.service, dtype=np.float64)
    s, e = problem.start, problem.end
    start_real = max(0.0, float(a[s]))
    deadline = float(problem.deadline)
    tail_real = float(service[e]) + float(problem.verify_time)
    end_real = min(float(b[e]), deadline - tail_real)
    values = np.concatenate(
        [
            travel.ravel(),
            service,
            a,
            b,
            [float(problem.deadline), float(problem.verify_time)],
        ]
    )
    # A sample rules out most scales at once; only a scale the sample passes is checked in full
    # (the full check is 5 passes over n^2 values: 1.3 s on rgg-2000).
    sample = values[:: max(1, len(values) // 4096)]
    decimals = next(
        (d for d in range(5) if _is_integral(sample * 10.0**d) and _is_integral(values * 10.0**d)),
        None,
    )
    exact = decimals is not None
    if scale is None:
        if exact:
            # Integer data, or data with at most 4 decimals (e.g. distances cut to 0.1): exact.
            scale = float(10**decimals)
        else:
            finite_travel = np.where(np.isfinite(travel), travel, 0.0)
            horizon = end_real if math.isfinite(end_real) else 0.0
            horizon = max(horizon, float(finite_travel.max(axis=1).sum() + service.sum()), 1.0)
            scale = float(
                10 ** int(np.clip(math.floor(math.log10(TARGET_RESOLUTION / horizon)), 0, 6))
            )
    exact = exact and float(scale).is_integer() and _is_integral(values * scale)
    if up or exact:
        lower, upper = _ceil, _floor  # round transit up, limits down (no-op for exact data)
        close_real, end_lim = b, end_real
    else:
        lower, upper = np.floor, _floor  # transit and openings down, limits (+ slack) down
        slack_b = 2.0 * RELAX_TOL * np.maximum(1.0, np.abs(np.where(np.isfinite(b), b, 0.0)))
        close_real = b + slack_b
        end_lim = min(float(b[e]) + _slack(float(b[e])), deadline + _slack(deadline) - tail_real)
    with np.errstate(invalid="ignore"):
        transit = lower(scale * (service[:, None] + travel))
    transit = np.where(np.isfinite(transit), transit, -1).astype(np.int64)
    np.fill_diagonal(transit, -1)
    open_ = lower(scale * a).astype(np.int64)
    finite_b = np.isfinite(close_real)
    close = np.where(finite_b, upper(scale * np.where(finite_b, close_real, 0)), UNBOUNDED)
    end_limit = int(upper(scale * end_lim)) if math.isfinite(end_lim) else UNBOUNDED
    return IntegerTimes(
        scale=float(scale),
        exact=exact,
        transit=transit,
        open=open_,
        close=close.astype(np.int64),
        start=int(lower(scale * start_real)),
        end_limit=min(end_limit, UNBOUNDED),
        end_tail=int(lower(scale * tail_real)),
        up=up or exact,
    )


def integer_weights(values: np.ndarray, max_total: float = 1e12) -> tuple[np.ndarray, float]:
    """Integer weights ``round(values * factor)`` and the factor (1 for integer data)."""
    values = np.asarray(values, dtype=np.float64)
    if _is_integral(values):
        return np.round(values).astype(np.int64), 1.0
    total = max(float(np.abs(values).sum()), 1e-12)
    factor = float(10 ** int(np.clip(math.floor(math.log10(max_total / total)), 0, 6)))
    return np.round(values * factor).astype(np.int64), factor


# --- infeasibility proofs shared with the routing solver ---------------------------------------
def dijkstra(weights_of, n: int, source: int, target: int | None = None) -> np.ndarray:
    """Shortest distances from ``source`` on a dense graph given row by row (exact for every
    node when ``target`` is None, else at least for ``target``: the search stops there).

    ``weights_of(u)`` returns the ``n`` weights of the arcs leaving ``u`` (``inf``: no arc; zero
    weights are arcs). O(n^2) time and O(n) memory: the graph is never materialised, so a
    10,000-node view costs two passes over its matrix, not a 10^8-entry sparse copy.
    """
    dist = np.full(n, np.inf)
    dist[source] = 0.0
    done = np.zeros(n, dtype=bool)
    frontier = dist.copy()
    for _ in range(n):
        u = int(np.argmin(frontier))
        if not np.isfinite(frontier[u]):
            break
        done[u] = True
        if u == target:
            break
        frontier[u] = np.inf
        cand = dist[u] + np.asarray(weights_of(u), dtype=np.float64)
        better = (cand < dist) & ~done
        dist[better] = cand[better]
        frontier[better] = cand[better]
    return dist


def infeasibility_reason(problem: Problem) -> str | None:
    """A one-line proof that no route can exist, or None when none is found.

    Uses shortest paths over ``service[i] + travel[i, j]`` (a lower bound on any route's time
    between two nodes, since waiting only adds): the deadline against the fastest trip from the
    start to the end, and every mandatory node against its window and the deadline.
    """
    a, b = windows(problem)
    s, e = problem.start, problem.end
    service = np.asarray(problem.service, dtype=np.float64)
    start = max(0.0, float(a[s]))
    if start > b[s] + 1e-9:
        return f"the start {problem.ids[s]!r} closes at {b[s]:g}, before time 0"
    travel = problem.travel
    n = problem.n
    required = set(np.asarray(problem.mandatory, dtype=np.int64).tolist())
    if problem.objective == "min_time":
        required |= set(problem.customers.tolist())
    required -= {s, e}
    # shortest times over service[i] + travel[i, j] from s (until e when no node is mandatory)
    # and, for mandatory nodes only, to e: O(n^2) passes over the matrix, no n x n temporaries
    from_s = dijkstra(lambda u: service[u] + travel[u], n, s, None if required else e)
    to_e = dijkstra(lambda u: service + travel[:, u], n, e) if required else np.zeros(n)
    tail = float(service[e]) + float(problem.verify_time)
    latest_e = min(float(b[e]), float(problem.deadline) - tail)

    def finish(arrival_e: float) -> float:
        return max(arrival_e, float(a[e]))

    fastest = start + from_s[e] if s != e else start + service[s]
    if s == e:
        # A tour must leave and come back; the idle trip [s, s] is the fastest route of all.
        fastest = start + service[s] + float(problem.travel[s, s])
    if not np.isfinite(fastest):
        return f"the end {problem.ids[e]!r} cannot be reached from the start {problem.ids[s]!r}"
    if finish(fastest) > latest_e + 1e-9:
        return (
            f"the deadline {problem.deadline:g} is shorter than the fastest trip from "
            f"{problem.ids[s]!r} to {problem.ids[e]!r} ({finish(fastest) + tail:g} incl. "
            "service and verification)"
        )
    for m in sorted(required):
        arrival = start + from_s[m]
        if not np.isfinite(arrival) or not np.isfinite(to_e[m]):
            return f"mandatory node {problem.ids[m]!r} is not connected to the start and end"
        begin = max(arrival, float(a[m]))
        if begin > b[m] + 1e-9:
            return (
                f"mandatory node {problem.ids[m]!r} cannot be reached (earliest {arrival:g}) "
                f"before its window closes at {b[m]:g}"
            )
        if finish(begin + to_e[m]) > latest_e + 1e-9:
            return (
                f"mandatory node {problem.ids[m]!r} cannot be visited and the end reached "
                f"before the deadline {problem.deadline:g}"
            )
    return None


# --- warm start --------------------------------------------------------------------------------
def _routes_from_solution(problem: Problem, solution: dict[str, Any] | None) -> list[list[int]]:
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

    Returns the index routes (empty when there is none) and where they came from.
    """
    from ..registry import solve, solvers
    from .check import check

    best: list[list[int]] = []
    best_cost, source = math.inf, ""
    # A warm start may be returned as the answer, so it must pass the independent checker.
    if options.initial and check(problem, options.initial).ok:
        best = _routes_from_solution(problem, options.initial)
        best_cost, source = _cost(problem, best), "initial"
    if solver and time_limit > 0 and solver in solvers("mtrce")["mtrce"]:
        try:
            result = solve(problem, solver, time_limit=time_limit, seed=options.seed)
        except UnsupportedError:
            return best, source
        routes = _routes_from_solution(problem, result.solution)
        if (
            result.status.has_solution
            and routes
            and check(problem, result.solution).ok
            and _cost(problem, routes) < best_cost
        ):
            best, source = routes, solver
    return best, source


def _cost(problem: Problem, routes: Sequence[Sequence[int]]) -> float:
    value = objective(problem, routes)
    return value if problem.sense == "min" else -value


# --- the model ---------------------------------------------------------------------------------
@dataclass
class _Model:
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


def build_model(
    problem: Problem, it: IntegerTimes, candidates: tuple[np.ndarray, np.ndarray] | None = None
) -> _Model:
    """The CP-SAT model of ``problem`` with integer times ``it`` (formulations/mtrce.md).

    ``candidates`` (``(tails, heads)`` of problem indices, :func:`daitn_opt.mtrce.milp.candidate_arcs`)
    restricts the arcs to those: the sparse model, a restriction of the problem.
    """
    s, e = problem.start, problem.end
    customers = problem.customers
    nodes = np.concatenate([[s], customers]).astype(np.int64)
    m = len(nodes)
    transit = _model_transit(problem, it, nodes)
    # the idle trip as the solutions are judged: exactly (restriction), or with the checker's
    # tolerance (relaxation: it must admit whatever the checker accepts)
    idle_ok = bool(schedule(problem, [s, e])[3]) if it.up else not _late(problem, [s, e])
    arc_ok = transit >= 0
    if candidates is not None:
        # the sparse model: only the candidate arcs (problem indices -> model nodes)
        where = np.full(problem.n, -1, dtype=np.int64)
        where[nodes] = np.arange(m)
        where[e] = 0
        ci, cj = where[candidates[0]], where[candidates[1]]
        keep = (ci >= 0) & (cj >= 0)
        if s != e:  # nothing leaves the end or enters the start
            keep &= (candidates[0] != e) & (candidates[1] != s)
        allowed = np.zeros((m, m), dtype=bool)
        allowed[ci[keep], cj[keep]] = True
        arc_ok &= allowed
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
    tail_list, head_list = tails.tolist(), heads.tolist()
    arc_transit = transit[tails, heads]

    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    arc_vars = [model.new_bool_var(f"x{i}_{j}") for i, j in zip(tail_list, head_list, strict=True)]
    mandatory = set(np.asarray(problem.mandatory, dtype=np.int64).tolist())
    if problem.objective == "min_time":
        mandatory |= set(customers.tolist())
    skip: dict[int, cp_model.IntVar] = {}
    for c in range(1, m):
        if int(nodes[c]) in mandatory:
            continue
        skip[c] = model.new_bool_var(f"skip{c}")
        if unreachable[c]:
            model.add(skip[c] == 1)
    circuit = list(zip(tail_list, head_list, arc_vars, strict=True))
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

    route_budget = it.end_limit - it.start
    """Summed integer transit one route may use (meaningful when ``limited``)."""
    need_times = problem.has_windows or (limited and problem.k > 1)
    times: dict[int, cp_model.IntVar] = {}
    latest_time: dict[int, int] = {}
    """Upper end of each time variable's domain (``proto.domain[-1]`` reads 0 in OR-Tools 9.15:
    the repeated field ignores negative indices)."""
    if limited:
        # k = 1 without windows: this alone is the deadline; otherwise a redundant cut.
        model.add(
            cp_model.LinearExpr.weighted_sum(arc_vars, arc_transit.tolist())
            <= problem.k * route_budget
        )
    if need_times:
        horizon = (
            int(it.end_limit)
            if limited
            else int(it.start + np.maximum(transit, 0).max(axis=1).sum())
        )
        for c in range(1, m):
            lo = int(earliest[c]) if not unreachable[c] else 0
            hi = min(int(latest[c]), horizon) if not unreachable[c] else 0
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

    if problem.budget is not None:
        _add_budget(problem, model, nodes, tails, heads, arc_vars, skip, up=it.up)

    utility_error = 0.0
    completions: dict[int, cp_model.IntVar] = {}
    if problem.objective == "min_time":
        objective_scale = it.scale
        idle_time = _idle_completion(problem, it)
        idle_term = idle_time * idle if idle is not None else 0
        into_depot = [
            (lit, i, w)
            for lit, i, j, w in zip(
                arc_vars, tail_list, head_list, arc_transit.tolist(), strict=True
            )
            if j == 0 and i != 0
        ]
        if problem.has_windows:
            # A used route completes at max(arrival at e, a[e]) + d[e] + verify.
            a_e = int(it.open[e])
            terms = []
            for lit, i, w in into_depot:
                hi = max(latest_time[i] + w, a_e)
                done = model.new_int_var(0, hi, f"c{i}")
                model.add(done >= times[i] + w).only_enforce_if(lit)
                model.add(done >= a_e).only_enforce_if(lit)
                model.add(done == 0).only_enforce_if(lit.Not())
                completions[i] = done
                terms.append(done)
            obj = sum(terms) + it.end_tail * sum(lit for lit, _, _ in into_depot) + idle_term
        elif not it.up:
            # A relaxation without windows: the objective needs no time variable, so it gets its
            # own finer units (every term rounded down: a lower bound on the real completion
            # times, within (arcs) / objective_scale of them, far below the gap tolerance).
            objective_scale, arc_obj, const, idle_obj = _fine_objective(
                problem, nodes, tails, heads
            )
            obj = cp_model.LinearExpr.weighted_sum(arc_vars, arc_obj.tolist())
            obj += const * sum(lit for lit, _, _ in into_depot)
            if idle is not None:
                obj += idle_obj * idle
        else:
            # Without windows a used route completes at start + its arcs' transit + d[e] + verify.
            obj = cp_model.LinearExpr.weighted_sum(arc_vars, arc_transit.tolist())
            obj += (it.start + it.end_tail) * sum(lit for lit, _, _ in into_depot) + idle_term
        model.minimize(obj)
    else:
        util, objective_scale = integer_weights(np.asarray(problem.utility, dtype=np.float64))
        utility_error = float(
            np.abs(util / objective_scale - np.asarray(problem.utility, dtype=np.float64)).sum()
        )
        fixed = int(util[s]) + (int(util[e]) if e != s else 0)
        fixed += sum(int(util[nodes[c]]) for c in range(1, m) if c not in skip)
        weights = [int(util[nodes[c]]) for c in skip]
        obj = fixed + sum(weights) - cp_model.LinearExpr.weighted_sum(list(skip.values()), weights)
        model.maximize(obj)
    return _Model(
        model=model,
        nodes=nodes,
        tails=tails,
        heads=heads,
        arc_vars=arc_vars,
        skip=skip,
        times=times,
        completions=completions,
        objective_scale=objective_scale,
        utility_error=utility_error,
    )


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
    exact = _is_integral(np.concatenate([visit_cost, finite_tc, [problem.budget]]))
    factor = 1.0 if exact else 1e6
    up = up or exact
    cost_round = _ceil if up else np.floor
    arc_cost = cost_round(factor * finite_tc).astype(np.int64)
    for idx in np.flatnonzero(~np.isfinite(arc_tc)).tolist():
        model.add(arc_vars[idx] == 0)  # an arc of infinite cost never fits the budget
    visit_int = cost_round(factor * visit_cost[nodes]).astype(np.int64)
    fixed = visit_cost[s] + (visit_cost[e] if e != s else 0.0)
    fixed += float(sum(visit_cost[nodes[c]] for c in range(1, len(nodes)) if c not in skip))
    weights = [int(visit_int[c]) for c in skip]
    expr = cp_model.LinearExpr.weighted_sum(arc_vars, arc_cost.tolist()) + sum(weights)
    expr -= cp_model.LinearExpr.weighted_sum(list(skip.values()), weights)
    budget = float(problem.budget) + (0.0 if up else _slack(float(problem.budget)))
    model.add(expr <= int(_floor(factor * (budget - fixed))))


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
    return int(_ceil(it.scale * done)) if it.up else int(np.floor(it.scale * done))


def decode_routes(problem: Problem, built: _Model, arc_values: np.ndarray) -> list[list[int]]:
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


@dataclass
class _Incumbent:
    """The best routes of a run over all its CP-SAT solves, and the anytime trace."""

    trace: list[TracePoint]
    best: float = math.inf
    """Cost (objective, negated when maximising) of the best routes, the warm start's at first."""
    routes: list[list[int]] | None = None
    """The best routes found by CP-SAT (None while nothing beat the warm start)."""


def _late(problem: Problem, route: Sequence[int]) -> bool:
    """The route misses a window, a leg or the deadline beyond the checker's tolerance
    (:data:`RELAX_TOL` relative to ``max(1, |limit|)``), on the schedule of
    :func:`daitn_opt.mtrce.solution.schedule`."""
    _, starts, completion, _ = schedule(problem, route)
    _, b = windows(problem)
    close = b[np.asarray(route, dtype=np.int64)]
    tol = RELAX_TOL * np.maximum(1.0, np.abs(np.where(np.isfinite(close), close, 0.0)))
    deadline = float(problem.deadline)
    return bool(
        not np.all(np.isfinite(starts))
        or np.any(starts > close + tol)
        or not math.isfinite(completion)
        or completion > deadline + RELAX_TOL * max(1.0, abs(deadline))
    )


def true_violations(problem: Problem, routes: Sequence[Sequence[int]]) -> tuple[list[int], bool]:
    """Where index routes break the problem in real arithmetic, with the independent checker's
    tolerance (so that the relaxation, which admits every route the checker accepts, is only
    cut where the checker would refuse): the positions of the routes that miss a window, a leg
    or the deadline (:func:`_late`), and whether the budget is exceeded."""
    from .solution import route_cost

    # the routes that run (as in used_routes): those with inner nodes, else the first idle one
    used = [k for k, r in enumerate(routes) if len(r) > 2] or ([0] if routes else [])
    late = [k for k in used if _late(problem, routes[k])]
    over = False
    if problem.budget is not None:
        budget = float(problem.budget)
        over = route_cost(problem, routes) > budget + RELAX_TOL * max(1.0, abs(budget))
    return late, over


def _recorder(
    problem: Problem,
    built: _Model,
    options: SolveOptions,
    state: _Incumbent,
    *,
    verify: bool = False,
    bound_valid: bool = True,
):
    """A :class:`_Recorder` (its base class lives in OR-Tools, imported on first use).

    ``verify``: the model is a relaxation, so each solution is first evaluated in real
    arithmetic (:func:`true_violations`); only feasible ones become incumbents, the others are
    kept (``rejected``) for no-good cuts. ``bound_valid``: CP-SAT's bound is a bound of the
    problem (not of a restriction) and goes into the trace.
    """
    return _recorder_class()(problem, built, options, state, verify, bound_valid)


@functools.cache
def _recorder_class():
    from ortools.sat.python import cp_model

    class _Recorder(cp_model.CpSolverSolutionCallback):
        """Records the anytime trace and the best routes (decoded from the raw solution vector)."""

        def __init__(self, problem, built, options, state, verify, bound_valid) -> None:
            super().__init__()
            self.problem, self.built, self.options = problem, built, options
            self.state, self.verify, self.bound_valid = state, verify, bound_valid
            self.index = np.asarray([v.index for v in built.arc_vars], dtype=np.int64)
            self.last: list[list[int]] | None = None
            """Routes of CP-SAT's latest (so, at the end, its final) solution."""
            self.rejected: list[tuple[list[list[int]], list[int], bool]] = []
            """Solutions infeasible in real arithmetic: (routes, late routes, over budget)."""

        def on_solution_callback(self) -> None:
            values = np.asarray(self.response_proto.solution, dtype=np.int64)
            routes = decode_routes(self.problem, self.built, values[self.index])
            self.last = routes
            if self.verify:
                late, over = true_violations(self.problem, routes)
                if late or over:
                    if len(self.rejected) < MAX_CUTS_PER_SOLVE:
                        self.rejected.append((routes, late, over))
                    return
            cost = _cost(self.problem, routes)
            state = self.state
            if cost >= state.best - 1e-9:
                return  # the trace is of the incumbent: keep only improvements (on the warm start too)
            state.best, state.routes = cost, routes
            bound = (
                _real_bound(self.problem, self.built, self.best_objective_bound)
                if self.bound_valid
                else None
            )
            incumbent = cost if self.problem.sense == "min" else -cost
            state.trace.append(TracePoint(self.options.elapsed(), incumbent, bound))
            if self.options.callback is not None:
                self.options.callback("incumbent", {"objective": incumbent, "bound": bound})

    return _Recorder


def _real_bound(problem: Problem, built: _Model, raw: float) -> float | None:
    """The CP-SAT bound in the objective's units (see module docstring for real data)."""
    if not math.isfinite(raw):
        return None
    if problem.sense == "max":
        # Integer utilities are exact; otherwise add every rounding error to stay an upper bound.
        return math.floor(raw + 1e-9) / built.objective_scale + built.utility_error
    return raw / built.objective_scale


# --- the solver ---------------------------------------------------------------------------------
def _status_of(code: int) -> Status:
    """The :class:`Status` of a CP-SAT status code."""
    from ortools.sat.python import cp_model

    return {
        cp_model.OPTIMAL: Status.OPTIMAL,
        cp_model.FEASIBLE: Status.FEASIBLE,
        cp_model.INFEASIBLE: Status.INFEASIBLE,
        cp_model.UNKNOWN: Status.NO_SOLUTION,
        cp_model.MODEL_INVALID: Status.ERROR,
    }.get(code, Status.ERROR)


@dataclass(frozen=True)
class CpsatParams:
    """Parameters of the ``cpsat`` MTRCE solver (see :func:`solve_cpsat`)."""

    workers: int | None = param(
        None,
        "CP-SAT workers (None: 8, or 1 when deterministic; 8 is much stronger, even on 2 cores)",
    )
    deterministic: bool = param(
        False, "interleaved search: the same seed gives the same search whatever the load"
    )
    deterministic_time: float | None = param(None, "CP-SAT's max_deterministic_time (None: none)")
    warm_start_solver: str | None = param(
        "auto",
        "heuristic whose routes hint CP-SAT ('auto': ils, greedy when deterministic; None: none)",
    )
    warm_start_time: float | None = param(
        None,
        "seconds for the warm-start heuristic (None: min(1, 10% of the limit), more on large views)",
    )
    time_scale: float | None = param(
        None, "integer time units per time unit (None: 1 for integer data, else automatic)"
    )
    probing: bool = param(False, "keep CP-SAT's presolve probing on a model with time variables")
    sparse: bool | None = param(
        None, "force the sparse candidate-arc model (True) or the dense one (False)"
    )
    neighbours: int | None = param(None, "nearest neighbours per node in a sparse model")

    @property
    def warm_start(self) -> str | None:
        """The warm-start heuristic ``'auto'`` stands for."""
        if self.warm_start_solver == "auto":
            return "greedy" if self.deterministic else "ils"
        return self.warm_start_solver or None

    def warm_start_seconds(self, default: float) -> float:
        """``warm_start_time``, or ``default`` when it is not given."""
        return default if self.warm_start_time is None else float(self.warm_start_time)

    @property
    def worker_count(self) -> int:
        """``workers``, or its default (1 when deterministic, else 8)."""
        return (1 if self.deterministic else 8) if self.workers is None else self.workers


@register(
    "mtrce",
    "cpsat",
    exact=True,
    description="OR-Tools CP-SAT: circuit constraints, optional nodes, integer time variables",
    supports=route_objective_reason,
    params=CpsatParams,
)
def solve_cpsat(problem: Problem, options: SolveOptions) -> Result:
    """Solve ``problem`` exactly with CP-SAT (anytime; returns the incumbent at the limit).

    The limit covers the warm start, the model build and the search. A view whose dense model (a
    Boolean per arc) would take more than 30 % of the time left to build gets the sparse model on
    candidate arcs (:func:`daitn_opt.mtrce.milp.candidate_arcs`); it is a restriction of the
    problem, so its result is ``feasible`` and its bound is reported only as
    ``stats["restricted_bound"]``. When even the sparse model does not fit, or the ``n x n``
    integer times would exceed 4 GB, the checked warm start is returned with a message saying
    why. Real (non-integral) times on the dense model are rounded down, a relaxation solved
    until its optimum is feasible in real arithmetic (:func:`_solve_relaxation`;
    ``stats["rounding"]``, ``stats["relaxation"]`` with the cuts and the bound of each solve).

    Parameters (``options.params``, :class:`CpsatParams`)
    -----------------------------------------------------
    workers
        CP-SAT workers (``num_workers``). Default 8: CP-SAT's portfolio is much stronger at 8
        workers than at 2, even on 2 cores.
    deterministic
        Default False. When True, CP-SAT interleaves its subsolvers in batches
        (``interleave_search``), so the same seed gives the same search whatever the machine's
        load; ``workers`` then defaults to 1 (measured here on a 14-node OP: 1.1 s with one
        interleaved worker, 14 s with four). A run that ends by proof or by
        ``deterministic_time`` is reproducible; one cut by the wall-clock limit is not, so give a
        deterministic time below the wall-clock limit when a run may not finish. The warm start
        then defaults to the deterministic ``greedy`` construction.
    deterministic_time
        ``max_deterministic_time`` (default: none).
    warm_start_solver
        Heuristic solver whose solution warm-starts CP-SAT via ``add_hint`` (default ``"auto"``:
        ``"ils"``, ``"greedy"`` in deterministic mode; None disables); ``options.initial`` is used
        too.
    warm_start_time
        Seconds given to the warm-start heuristic. Default ``min(1, 10% of the time limit)``.
    time_scale
        Integer time units per time unit (default: 1 for integer data, else automatic).
    """
    params: CpsatParams = options.params
    deterministic, workers = params.deterministic, params.worker_count
    hint_solver = params.warm_start
    hint_time = params.warm_start_seconds(min(1.0, 0.1 * options.time_limit))

    reason = infeasibility_reason(problem)
    if reason is not None:
        return make_result(
            problem, "cpsat", None, Status.INFEASIBLE, message=f"infeasible: {reason}"
        )

    from .milp import candidate_arcs, plan_for, slowdown

    # Size first: the dense model has a Boolean per arc (3 M on rgg-2000: 105 s, 2.9 GB), so a
    # view whose dense model does not fit 30 % of the time left gets the sparse model; the
    # integer-time matrices are n x n whatever the model (about 40 n^2 bytes while built).
    n = problem.n
    plan = plan_for(problem, options, "cpsat")
    plan_seconds = plan.seconds + n * n * slowdown() / DENSE_RATE
    too_big = 40.0 * n * n > MAX_DENSE_BYTES
    remaining = options.remaining()
    if too_big or plan_seconds > 0.6 * remaining:
        hint_time = params.warm_start_seconds(0.85 * remaining)
    elif plan.sparse:
        hint_time = params.warm_start_seconds(0.45 * remaining)
    hint_routes, hint_source = heuristic_start(
        problem, options, hint_solver, min(hint_time, 0.9 * options.remaining())
    )
    pre_stats: dict[str, Any] = {
        "model": "sparse" if plan.sparse else "dense",
        "hint": hint_source or None,
        "hint_objective": objective(problem, hint_routes) if hint_routes else None,
    }
    remaining = options.remaining()
    if too_big or plan_seconds > 0.8 * remaining:
        why = (
            f"stopped after the warm start: the integer-time matrices of {n} nodes would need "
            f"about {40.0 * n * n / 1e9:.1f} GB"
            if too_big
            else f"stopped after the warm start: the {pre_stats['model']} model "
            f"({plan.columns:,} arcs, about {plan_seconds:.1f} s to build) does not fit the "
            f"{remaining:.1f} s left"
        )
        status = Status.FEASIBLE if hint_routes else Status.NO_SOLUTION
        return make_result(
            problem, "cpsat", hint_routes or None, status, stats=pre_stats, message=why
        )
    t0 = time.perf_counter()
    # Inexact times on the dense model: round them down (a relaxation, whose bound and proof of
    # infeasibility hold for the problem) and check its routes in real arithmetic. On the sparse
    # model (a restriction anyway) round them up, so that its routes are feasible.
    it = integer_times(problem, params.time_scale, up=plan.sparse)
    relax = not it.exact and not plan.sparse
    candidates = candidate_arcs(problem, plan.neighbours, hint_routes) if plan.sparse else None
    left = options.remaining()
    if left < 0.5 * plan.columns / (40_000.0 / slowdown()):
        # the preparation ran slower than estimated: the model would not be built in time
        status = Status.FEASIBLE if hint_routes else Status.NO_SOLUTION
        why = f"stopped after the warm start: {left:.1f} s left, too few to build the model"
        return make_result(
            problem, "cpsat", hint_routes or None, status, stats=pre_stats, message=why
        )
    built = build_model(problem, it, candidates)
    build_time = time.perf_counter() - t0

    state = _Incumbent(trace=[])
    if hint_routes:
        _add_hint(problem, built, it, hint_routes)
        # The warm start is the first incumbent; CP-SAT's solutions count from when they beat it.
        state.best = _cost(problem, hint_routes)
        state.trace.append(
            TracePoint(
                options.elapsed(), -state.best if problem.sense == "max" else state.best, None
            )
        )
    search = _Search(problem, options, state, hint_routes)
    stats: dict[str, Any] = {
        **pre_stats,
        "time_scale": it.scale,
        "exact_scaling": it.exact,
        "rounding": "exact" if it.exact else ("down (relaxation)" if relax else "up"),
        "arcs": len(built.arc_vars),
        "time_variables": len(built.times),
        "build_time": build_time,
        "workers": workers,
        "deterministic": deterministic,
    }
    if relax:
        status, bound, routes, note = _solve_relaxation(search, built, it, build_time, stats)
        while _finer_pays(problem, status, routes, bound, it, options, build_time):
            # Completion times in units of 1 / scale (min_time with windows): the relaxation's
            # proved optimum is feasible but the rounding leaves a gap above the tolerance.
            # Solve it again in units 100 times finer; every bound is the problem's.
            t0 = time.perf_counter()
            it = integer_times(problem, it.scale * FINER, up=False)
            built = build_model(problem, it)
            build_time = time.perf_counter() - t0
            search.hint_routes = _cheapest(problem, state.routes, hint_routes)
            if search.hint_routes:
                _add_hint(problem, built, it, search.hint_routes)
            stats["time_scale"], stats["refined"] = it.scale, stats.get("refined", 0) + 1
            again, finer, found, note = _solve_relaxation(search, built, it, build_time, stats)
            if finer is not None:
                bound = finer if bound is None else max(bound, finer)
            routes = found or routes
            status = again if again == Status.OPTIMAL else Status.FEASIBLE
        if status == Status.OPTIMAL and not _closed(problem, routes, bound):
            status = Status.FEASIBLE
            note = "; ".join(
                m
                for m in (
                    note,
                    "the relaxation's optimum is feasible, but completion times in units of "
                    f"1/{it.scale:g} leave a gap above the tolerance",
                )
                if m
            )
        restricted = ""
        claimed = status
    else:
        status, bound, routes, claimed, restricted = _solve_model(search, built, it, plan, stats)
        note = ""
    stats.update(search.stats())
    value = objective(problem, routes) if status.has_solution and routes else None
    status, bound, settle_note = settle(problem.sense, value, bound, status)
    note = "; ".join(m for m in (note, settle_note) if m)
    messages = {
        Status.OPTIMAL: "proved optimal by CP-SAT"
        + (
            " (times rounded down: a relaxation whose optimal routes are feasible in real "
            "arithmetic)"
            if relax
            else ""
        ),
        Status.FEASIBLE: "proved optimal for the restricted model only"
        if claimed == Status.OPTIMAL and restricted
        else "not proved optimal within the limit",
        Status.INFEASIBLE: "infeasible: CP-SAT proved that no set of routes meets the deadline, "
        "windows, budget and mandatory nodes",
        Status.NO_SOLUTION: "no solution found within the time limit"
        if claimed != Status.INFEASIBLE
        else "the restricted model is infeasible; nothing proved about the problem",
        Status.ERROR: f"CP-SAT returned {stats.get('cp_status')}",
    }
    message = "; ".join(m for m in (messages[status], restricted, note) if m)
    return make_result(
        problem,
        "cpsat",
        routes if status.has_solution else None,
        status,
        bound=bound,
        trace=state.trace,
        stats=stats,
        message=message,
    )


FINER = 100.0
"""Factor by which the relaxation's time units are refined when its rounding leaves a gap."""

MAX_SCALE = 1e10
"""Finest time units (per time unit) of a refined relaxation (its times also stay below a
quarter of :data:`UNBOUNDED`)."""


def _cheapest(problem: Problem, *candidates: list[list[int]] | None) -> list[list[int]] | None:
    """The candidate route set of least cost (None when all are None or empty)."""
    present = [c for c in candidates if c]
    return min(present, key=lambda r: _cost(problem, r)) if present else None


def _finer_pays(
    problem: Problem,
    status: Status,
    routes: list[list[int]] | None,
    bound: float | None,
    it: IntegerTimes,
    options: SolveOptions,
    build_time: float,
) -> bool:
    """A proved relaxation of ``min_time`` with windows whose gap exceeds the tolerance, which
    finer time units could close within the time left."""
    if status != Status.OPTIMAL or problem.objective != "min_time" or not problem.has_windows:
        return False
    # the finer times must stay well below the stand-in for "no limit"
    close = it.close[it.close < UNBOUNDED]
    largest = max(
        it.end_limit if it.end_limit < UNBOUNDED else 0,
        int(close.max()) if close.size else 0,
        int(np.maximum(it.transit, 0).max(axis=1).sum()),
    )
    return (
        not _closed(problem, routes, bound)
        and it.scale * FINER <= MAX_SCALE
        and largest * FINER < UNBOUNDED / 4
        and options.remaining() > 4 * build_time + 0.2
    )


def _closed(problem: Problem, routes: list[list[int]] | None, bound: float | None) -> bool:
    """The routes' objective is within the gap tolerance of ``bound``."""
    from ..result import relative_gap
    from .certify import GAP_TOL

    if not routes or bound is None:
        return False
    gap = relative_gap(objective(problem, routes), bound)
    return gap is not None and gap <= GAP_TOL


class _Search:
    """Runs CP-SAT solves under one time limit and keeps their statistics."""

    def __init__(
        self,
        problem: Problem,
        options: SolveOptions,
        state: _Incumbent,
        hint_routes: list[list[int]],
    ) -> None:
        params: CpsatParams = options.params
        self.problem, self.options, self.state, self.hint_routes = (
            problem,
            options,
            state,
            hint_routes,
        )
        self.deterministic, self.workers = params.deterministic, params.worker_count
        self.probing = params.probing
        self.runs: list[dict[str, Any]] = []

    def solve(
        self,
        built: _Model,
        *,
        verify: bool = False,
        bound_valid: bool = True,
        limit: float | None = None,
    ) -> tuple[Status, Any, Any]:
        """One CP-SAT solve of ``built`` within the time left (or ``limit``): the status, the
        solver and the recorder."""
        from ortools.sat.python import cp_model

        options, params = self.options, self.options.params
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = self.workers
        solver.parameters.random_seed = int(options.seed)
        left = options.remaining() if limit is None else min(limit, options.remaining())
        solver.parameters.max_time_in_seconds = max(0.01, left)
        if built.times and not self.probing:
            # Measured: with time variables presolve probing alone took over 10 s on a
            # 100-customer OPTW (Solomon c101) and nothing was found in 20 s; without it c101
            # and r101 are proved optimal. Without time variables (OP, TSP) probing pays.
            solver.parameters.cp_model_probing_level = 0
        if self.deterministic:
            solver.parameters.interleave_search = True
            if params.deterministic_time is not None:
                solver.parameters.max_deterministic_time = float(params.deterministic_time)
        recorder = _recorder(
            self.problem, built, options, self.state, verify=verify, bound_valid=bound_valid
        )
        code = solver.solve(built.model, recorder)
        self.runs.append(
            {
                "cp_status": solver.status_name(code),
                "conflicts": solver.num_conflicts,
                "branches": solver.num_branches,
                "wall_time": solver.wall_time,
                "deterministic_time": getattr(solver, "deterministic_time", None),
            }
        )
        return _status_of(code), solver, recorder

    def stats(self) -> dict[str, Any]:
        """Totals over the solves (the CP-SAT status of the last one)."""
        if not self.runs:
            return {}
        out: dict[str, Any] = {
            "cp_status": self.runs[-1]["cp_status"],
            "solves": len(self.runs),
        }
        for key in ("conflicts", "branches", "wall_time", "deterministic_time"):
            values = [r[key] for r in self.runs if r[key] is not None]
            out[key] = sum(values) if values else None
        return out


def _solve_model(
    search: _Search, built: _Model, it: IntegerTimes, plan: Any, stats: dict[str, Any]
) -> tuple[Status, float | None, list[list[int]] | None, Status, str]:
    """One solve of an exact model (integer data) or of a restriction (the sparse model, whose
    times are rounded up). Returns ``(status, bound, routes, claimed status, restriction)``."""
    problem, state, hint_routes = search.problem, search.state, search.hint_routes
    status, solver, recorder = search.solve(built, bound_valid=not plan.sparse)
    bound = (
        _real_bound(problem, built, solver.best_objective_bound) if status.has_solution else None
    )
    routes = state.routes
    if status.has_solution and routes is None:
        # No solution beat the warm start; CP-SAT's final one is at best as good.
        routes = recorder.last
    if hint_routes and (
        routes is None or _cost(problem, hint_routes) < _cost(problem, routes) - 1e-9
    ):
        # The warm start is strictly better than anything CP-SAT returned (or CP-SAT returned
        # nothing): return it. A claim of optimality or infeasibility then held only for the
        # rounded model (the warm start is feasible in real arithmetic), so it is dropped.
        routes = hint_routes
        if status != Status.FEASIBLE:
            bound = None if status != Status.NO_SOLUTION else bound
            status = Status.FEASIBLE
    # A proof about the sparse model (a restriction of the problem) is no proof about the
    # problem: its bound goes to stats only.
    restricted = ""
    if plan.sparse:
        restricted = f"sparse model ({plan.neighbours} nearest neighbours per node)"
        if not it.exact:
            restricted += f", times scaled by {it.scale:g} and rounded up"
        stats["restricted_bound"] = bound
        bound = None
        if status == Status.INFEASIBLE:
            status = Status.NO_SOLUTION
    claimed = status
    return status, bound, routes, claimed, restricted


def _no_good(built: _Model, problem: Problem, routes: list[list[int]], which: list[int]) -> None:
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


def _solve_relaxation(
    search: _Search, built: _Model, it: IntegerTimes, build_time: float, stats: dict[str, Any]
) -> tuple[Status, float | None, list[list[int]] | None, str]:
    """Solve the relaxation (times rounded down) until its optimum is feasible in real arithmetic.

    Every solve's bound is a bound of the problem (the relaxation admits every feasible route;
    a no-good cut only removes route sets that are infeasible in real arithmetic), and the
    tightest is kept. A solution of the relaxation becomes an incumbent only when it is feasible
    in real arithmetic. When the relaxation's optimum is not, it is cut off (with the other
    infeasible solutions seen) and the relaxation is solved again; while there is no incumbent
    at all, the restriction (times rounded up) is solved once for one. Returns ``(status,
    bound, routes, note)``: ``optimal`` when a relaxation was proved optimal with a feasible
    optimum (``settle`` then checks the gap), ``infeasible`` when the relaxation is.
    """
    problem, options, state = search.problem, search.options, search.state
    hint_routes = search.hint_routes
    sense = problem.sense
    bounds: list[float] = []
    cuts = 0
    proved = infeasible = False
    tried_restriction = False
    note = ""
    while True:
        status, solver, recorder = search.solve(built, verify=True)
        raw = _real_bound(problem, built, solver.best_objective_bound)
        if status == Status.INFEASIBLE:
            infeasible = True
            break
        if raw is not None and status in (Status.OPTIMAL, Status.FEASIBLE, Status.NO_SOLUTION):
            bounds.append(raw)
        if not status.has_solution or recorder.last is None:
            break
        late, over = true_violations(problem, recorder.last)
        if not late and not over:
            proved = status == Status.OPTIMAL
            break
        if status != Status.OPTIMAL or options.remaining() < 0.05:
            break
        # The relaxation's optimum fails in real arithmetic: cut it (and every other failing
        # solution of this solve) off, and solve again.
        failing = recorder.rejected
        if not any(routes == recorder.last for routes, _, _ in failing):
            failing = [*failing, (recorder.last, late, over)]
        for routes, bad, _ in failing:
            _no_good(built, problem, routes, bad)
            cuts += 1
        built.model.clear_hints()
        best = state.routes or hint_routes
        if best:
            _add_hint(problem, built, it, best)
        elif not tried_restriction and options.remaining() > 3 * build_time + 0.1:
            # No feasible routes yet: the restriction (times rounded up) gives some.
            tried_restriction = True
            up = build_model(problem, integer_times(problem, it.scale, up=True))
            search.solve(up, verify=True, bound_valid=False, limit=0.5 * options.remaining())
            stats["restriction_solved"] = True
            if state.routes:
                _add_hint(problem, built, it, state.routes)
    stats["relaxation"] = {"cuts": cuts, "bounds": bounds}
    routes = state.routes or (hint_routes or None)
    bound = (min(bounds) if sense == "max" else max(bounds)) if bounds else None
    if infeasible:
        if routes is None:
            return Status.INFEASIBLE, None, None, ""
        # Cannot happen (the incumbent is feasible, so the relaxation admits it): say so.
        note = "the relaxation was reported infeasible although a feasible route is known"
        return Status.FEASIBLE, None, routes, note
    if routes is None:
        return Status.NO_SOLUTION, bound, None, ""
    if cuts:
        note = f"{cuts} route set(s) of the relaxation infeasible in real arithmetic cut off"
    from .check import check

    # The answer (and any claim resting on it) must pass the independent checker as well.
    if not check(problem, {"routes": [[problem.ids[v] for v in r] for r in routes]}).ok:
        proved = False
        routes = hint_routes or None  # the warm start passed it already
        if routes is None:
            return Status.NO_SOLUTION, bound, None, note
    return (Status.OPTIMAL if proved else Status.FEASIBLE), bound, routes, note


def _add_hint(problem: Problem, built: _Model, it: IntegerTimes, routes: list[list[int]]) -> None:
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
