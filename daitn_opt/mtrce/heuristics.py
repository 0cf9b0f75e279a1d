"""MTRCE heuristics: the naive baseline, two constructions and an iterated local search.

Registered solvers (all take ``time_limit`` and ``seed``; none proves a bound):

- ``random``: what a naive system does. Eligible nodes in a random (seeded) order, each appended
  to the first route it still fits at the end of; mandatory nodes go first.
- ``nearest``: nearest feasible neighbour. Each route grows from the start by the closest node
  after which the end can still be reached in time (windows, deadline, budget).
- ``greedy``: insertion. ``max_utility``: the node of best ``utility / added time`` at its best
  feasible gap over all routes, until nothing fits; ``min_time``: cheapest insertion.
- ``ils``: iterated local search (Vansteenwegen, Souffriau, Vanden Berghe and Van Oudheusden 2009,
  "Iterated local search for the team orienteering problem with time windows", Comput. Oper. Res.
  36(12): insert and shake) strengthened with 2-opt / or-opt travel reduction on neighbour lists,
  a replace move (drop a visited node for a better unvisited one, all pairs screened at once) and
  a short tabu after each kick: the removed nodes may not come back until the others have been
  tried, which measured here cut the mean gap on hard Chao OP instances from 3.5% to 0.7% at the
  same number of kicks. Insertion is evaluated for every unvisited node and every gap of a route
  at once, with forward time slacks (:mod:`daitn_opt.mtrce.plan`). For ``min_time`` with one
  route and no windows (TSP) it is an iterated 2-opt / or-opt with double-bridge kicks from a
  farthest-insertion tour (:mod:`daitn_opt.mtrce.tour`). Parameters: ``iterations``,
  ``patience`` (below), ``tabu`` (default True), ``random_shake`` (random kick position and size
  instead of Vansteenwegen's sweep; default for k > 1 only: measured here, the sweep is better on
  Chao's OP sets, 0.15% against 0.5% mean gap at 2 s, and random kicks on TOP, 2.4% against 4.6%
  on five hard instances at 400 kicks), ``restarts`` (after ``patience`` kicks without
  improvement, restart from a randomised greedy construction instead of stopping; default True),
  ``max_kick`` (most visits one kick removes per route; default a third of the candidates per
  route) and ``noise`` (jitter of the insertion ratios after a kick; default 0). For the plain
  OP (``max_utility``, one route, no windows, no budget) ``ils`` runs the faster search of
  :mod:`daitn_opt.mtrce.op_search` (linked-list route with cached insertions, retiring
  don't-look bits, add-and-drop kicks; the same parameters), measured on OPLib against EA4OP by
  ``tests/benchmarks/op_heuristics.py``; it falls back to the general search when its
  construction cannot fit the mandatory nodes. For the OPTW (``max_utility``, one route, windows,
  no budget, no mandatory node) it runs :mod:`daitn_opt.mtrce.optw_search` (the same insert and
  shake with a replace move and simulated-annealing acceptance; ``iterations``, ``patience`` and
  ``max_kick`` apply; ``optw=False`` runs the general search instead), measured on the Solomon
  and Cordeau OPTW sets in ``papers/routing/optw.md``.

Every heuristic returns ``feasible`` with checked routes, or ``infeasible`` with a one-line reason
when the start -> end trip alone misses the deadline or budget, or a mandatory node cannot be
reached in time; ``no_solution`` when a mandatory set was not fitted. Runs are deterministic for a
seed as long as the time limit does not cut them short (``ils`` stops after ``iterations`` kicks,
default ``200 + 20 n``; ``patience``, default ``100 + 5 n``, is the number of kicks without
improvement before a restart, or before stopping when ``restarts`` is off and in TSP mode).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..params import NoParams, param
from ..registry import SolveOptions, register
from ..result import Result, Status, TracePoint
from . import op_search, optw_search
from .certify import route_objective_reason
from .plan import Arrays, Plan, RouteTimes
from .problem import Problem
from .route_solvers import solver_named
from .solution import EPS, make_result, unreachable_end
from .tour import (
    PathSearch,
    farthest_insertion,
    ils_tour,
    neighbour_lists,
    path_length,
    use_lk,
)

_MARGIN = 0.05
"""Seconds kept back from the time limit to build the result."""


# -- shared pieces ----------------------------------------------------------------------------
def infeasibility(problem: Problem, arr: Arrays) -> str | None:
    """One-line reason why no solution can exist, from single-trip tests; None if none found."""
    unreachable = unreachable_end(problem)
    if unreachable is not None:
        return unreachable
    direct = RouteTimes(arr, [arr.s, arr.e])
    ids = problem.ids
    if not direct.feasible:
        return (
            f"the trip from {ids[arr.s]!r} to {ids[arr.e]!r} alone completes at "
            f"{direct.completion:g}, after the deadline {arr.deadline:g}"
        )
    trip_cost = float(arr.vc[[arr.s, arr.e]].sum() if arr.s != arr.e else arr.vc[arr.s])
    trip_cost += float(arr.tc[arr.s, arr.e])
    if arr.has_budget and trip_cost > arr.budget + EPS:
        return f"the trip from {ids[arr.s]!r} to {ids[arr.e]!r} alone costs {trip_cost:g} > budget"
    for m in np.flatnonzero(arr.mandatory):
        trip = RouteTimes(arr, [arr.s, int(m), arr.e])
        if not trip.feasible:
            return (
                f"mandatory node {ids[m]!r} cannot be visited in time: the trip "
                f"{ids[arr.s]!r} -> {ids[m]!r} -> {ids[arr.e]!r} alone misses its window or the "
                f"deadline"
            )
    return None


def eligible(arr: Arrays) -> np.ndarray:
    """Customers that fit on a route of their own (time and budget); the others never can."""
    nodes = arr.customers
    if len(nodes) == 0:
        return nodes
    plan = Plan(arr)
    ok, _, _ = plan.insertion_table(0, nodes)
    return nodes[ok[:, 0]]


def _wanted(arr: Arrays, nodes: np.ndarray) -> np.ndarray:
    """Nodes worth visiting: positive utility, or mandatory."""
    return nodes[(arr.u[nodes] > 0) | arr.mandatory[nodes]]


def insert_greedy(
    plan: Plan,
    nodes: np.ndarray,
    score: str,
    rng: np.random.Generator | None = None,
    noise: float = 0.0,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Insert nodes one at a time, each time the best-scoring node at its best gap; the count."""
    count = 0
    pool = np.asarray(nodes, dtype=np.int64)
    while len(pool) and not (stop is not None and stop()):
        jitter = None
        if rng is not None and noise > 0:
            jitter = 1.0 + noise * rng.random(len(pool))
        q, p, _, s = plan.best_insertions(pool, score, jitter)
        best = int(np.argmax(s))
        if not np.isfinite(s[best]):
            break
        plan.insert(int(q[best]), int(p[best]), int(pool[best]))
        pool = np.delete(pool, best)
        count += 1
    return count


def repair_mandatory(plan: Plan, stop: Callable[[], bool] | None = None) -> bool:
    """Insert missing mandatory nodes (cheapest first), dropping optional ones when needed."""
    arr = plan.arr
    for _ in range(4 * arr.n + 4):
        if stop is not None and stop():
            break
        missing = plan.missing_mandatory()
        if len(missing) == 0:
            return True
        q, p, add, _ = plan.best_insertions(missing, "cheapest")
        fits = np.isfinite(add)
        if fits.any():
            # Hardest first: among those that fit, the one whose cheapest insertion costs most.
            i = int(np.argmax(np.where(fits, add, -np.inf)))
            plan.insert(int(q[i]), int(p[i]), int(missing[i]))
            continue
        # Nothing fits: drop the optional node of least utility per time it occupies.
        best = None
        for rq, route in enumerate(plan.routes):
            for pos in range(1, len(route) - 1):
                v = route[pos]
                if arr.mandatory[v]:
                    continue
                value = arr.u[v] / (arr.d[v] + 1e-9)
                if best is None or value < best[0]:
                    best = (value, rq, pos)
        if best is None:
            return False
        plan.remove(best[1], [best[2]])
    return len(plan.missing_mandatory()) == 0


def _value(plan: Plan, maximise: bool) -> tuple[float, float]:
    """Lexicographic key to maximise: (objective, -total completion)."""
    total = plan.total_completion()
    if maximise:
        return plan.utility(), -total
    return -total, 0.0


def _finish(
    problem: Problem,
    solver: str,
    plan: Plan | None,
    trace: list[TracePoint],
    stats: dict,
    message: str = "",
) -> Result:
    if plan is None or not plan.feasible() or len(plan.missing_mandatory()):
        why = message or "no feasible set of routes found (mandatory nodes could not be fitted)"
        return make_result(problem, solver, None, Status.NO_SOLUTION, stats=stats, message=why)
    return make_result(
        problem, solver, plan.routes, Status.FEASIBLE, trace=trace, stats=stats, message=message
    )


def _run(
    problem: Problem, options: SolveOptions, solver: str, build: Callable[..., Plan | None]
) -> Result:
    arr = Arrays.of(problem)
    reason = infeasibility(problem, arr)
    if reason is not None:
        return make_result(problem, solver, None, Status.INFEASIBLE, message=reason)
    rng = np.random.default_rng(options.seed)
    plan = build(arr, rng, options)
    trace: list[TracePoint] = []
    if plan is not None and plan.feasible():
        trace.append(TracePoint(options.elapsed(), _objective(problem, plan), None))
    return _finish(problem, solver, plan, trace, {})


def _objective(problem: Problem, plan: Plan) -> float:
    return plan.utility() if problem.objective == "max_utility" else plan.total_completion()


def _stopper(options: SolveOptions | None) -> Callable[[], bool]:
    """True once the time limit (less the margin kept to build the result) is used up."""
    if options is None:
        return lambda: False
    return lambda: options.remaining() <= _MARGIN


# -- random -----------------------------------------------------------------------------------
def build_random(arr: Arrays, rng: np.random.Generator, options: SolveOptions) -> Plan:
    """Eligible nodes in random order (mandatory first), each appended where it still fits."""
    plan = Plan(arr)
    nodes = eligible(arr)
    mand = rng.permutation(nodes[arr.mandatory[nodes]])
    rest = rng.permutation(nodes[~arr.mandatory[nodes]])
    stop = _stopper(options)
    for v in np.concatenate([mand, rest]).astype(np.int64):
        if stop():
            break
        for q in range(arr.k):
            ok, _, _ = plan.insertion_table(q, np.array([v]))
            if ok[0, -1]:
                plan.insert(q, len(plan.routes[q]) - 1, int(v))
                break
    repair_mandatory(plan)
    return plan


# -- nearest ----------------------------------------------------------------------------------
def build_nearest(arr: Arrays, rng: np.random.Generator, options: SolveOptions) -> Plan:
    """Each route grows from the start by the nearest node that still lets it end in time."""
    plan = Plan(arr)
    stop = _stopper(options)
    pool = _wanted(arr, eligible(arr))
    for q in range(arr.k):
        while len(pool) and not stop():
            ok, _, _ = plan.insertion_table(q, pool)
            fits = ok[:, -1]
            if not fits.any():
                break
            last = plan.routes[q][-2]
            dist = np.where(fits, arr.t[last, pool], np.inf)
            i = int(np.argmin(dist))
            plan.insert(q, len(plan.routes[q]) - 1, int(pool[i]))
            pool = np.delete(pool, i)
    repair_mandatory(plan)
    return plan


# -- greedy -----------------------------------------------------------------------------------
def build_greedy(
    arr: Arrays, rng: np.random.Generator | None, options: SolveOptions | None, noise: float = 0.0
) -> Plan:
    """Mandatory nodes by cheapest insertion, then ratio (or cheapest, for min_time) insertion."""
    plan = Plan(arr)
    stop = _stopper(options)
    repair_mandatory(plan, stop)
    pool = _wanted(arr, eligible(arr))
    pool = pool[plan.in_route[pool] < 0]
    score = "cheapest" if arr.mandatory[pool].all() and len(pool) else "ratio"
    insert_greedy(plan, pool, score, rng, noise, stop)
    return plan


# -- iterated local search ----------------------------------------------------------------------
class _Search:
    """State of one ``ils`` run for ``max_utility`` (or ``min_time`` with windows / k > 1)."""

    def __init__(self, problem: Problem, arr: Arrays, options: SolveOptions) -> None:
        self.problem = problem
        self.arr = arr
        self.options = options
        self.rng = np.random.default_rng(options.seed)
        self.maximise = problem.objective == "max_utility"
        self.pool = _wanted(arr, eligible(arr))
        self._nbrs: np.ndarray | None = None
        self.no_windows = problem.window_open is None
        self.trace: list[TracePoint] = []
        self.stats = {"iterations": 0, "improvements": 0}
        self.optimised: set[tuple[int, ...]] = set()
        """Routes already at a 2-opt / or-opt local optimum."""

    def stop(self) -> bool:
        return self.options.remaining() <= _MARGIN

    @property
    def nbrs(self) -> np.ndarray | None:
        """Neighbour lists for 2-opt / or-opt, built on first use (O(n^2): skipped if unused)."""
        if self._nbrs is None and len(self.arr.customers) > 1:
            self._nbrs = neighbour_lists(self.arr.t, self.arr.customers, 10, self.stop)
        return self._nbrs

    # -- moves ------------------------------------------------------------------------------
    def shorten(self, plan: Plan) -> bool:
        """2-opt / or-opt on every route; kept when the route completes earlier and stays valid."""
        if all(len(r) < 5 for r in plan.routes) or self.nbrs is None:
            return False
        changed = False
        for q, route in enumerate(plan.routes):
            key = tuple(route)
            if len(route) < 5 or key in self.optimised:
                continue
            if len(self.optimised) > 4096:
                self.optimised.clear()
            self.optimised.add(key)
            search = PathSearch(self.arr.t, np.asarray(route), self.nbrs)
            if search.run(deadline=self.stop) == 0:
                continue
            new = search.tour.tolist()
            times = RouteTimes(self.arr, new)
            if times.feasible and times.completion < plan.times[q].completion - EPS:
                old_cost = plan.cost
                plan.set_route(q, new)
                if plan.cost > self.arr.budget + EPS:  # travel cost may differ from time
                    plan.set_route(q, route)
                    plan.cost = old_cost
                    continue
                self.optimised.add(tuple(new))
                changed = True
        return changed

    def fill(self, plan: Plan, noise: float = 0.0) -> int:
        pool = self.pool[plan.in_route[self.pool] < 0]
        score = "ratio" if self.maximise else "cheapest"
        return insert_greedy(plan, pool, score, self.rng if noise else None, noise, self.stop)

    def replace(self, plan: Plan) -> bool:
        """Swap a visited node for an unvisited one of higher utility (same or another gap).

        Every (unvisited j, visited i) pair of a route is screened at once: dropping ``i`` frees
        ``rem_i`` time, inserting ``j`` in a gap not next to ``i`` costs ``added[j, g]`` and in
        ``i``'s place costs the detour through ``j``; without windows a pair fits when the net
        time is within the route's slack to the deadline. The best pairs are then verified exactly
        (windows, deadline, budget) in order of utility gained.
        """
        arr = self.arr
        out = self.pool[plan.in_route[self.pool] < 0]
        if len(out) == 0:
            return False
        for q in self.rng.permutation(len(plan.routes)):
            tm = plan.times[q]
            r = tm.route
            m = len(r)
            if m <= 2:
                continue
            inner = np.arange(1, m - 1)
            vis = r[inner]
            optional = ~arr.mandatory[vis]
            if not optional.any():
                continue
            cand = out[arr.u[out] > arr.u[vis[optional]].min() + 1e-12]
            if len(cand) == 0:
                continue
            prev, nxt = r[inner - 1], r[inner + 1]
            rem = arr.t[prev, vis] + arr.d[vis] + arr.t[vis, nxt] - arr.t[prev, nxt]
            # In i's place: prev -> j -> next instead of prev -> i -> next.
            inplace = (
                arr.t[np.ix_(prev, cand)].T
                + arr.d[cand][:, None]
                + arr.t[np.ix_(cand, nxt)]
                - (arr.t[prev, vis] + arr.d[vis] + arr.t[vis, nxt])[None, :]
            )
            # In another gap: the best of the 3 cheapest gaps that do not touch i.
            g_prev, g_next = r[:-1], r[1:]
            added = (
                arr.t[np.ix_(g_prev, cand)].T
                + arr.d[cand][:, None]
                + arr.t[np.ix_(cand, g_next)]
                - arr.t[g_prev, g_next][None, :]
            )
            top = np.argsort(added, axis=1)[:, :3]
            other = np.full((len(cand), len(inner)), np.inf)
            for c in range(top.shape[1]):
                gap = top[:, c][:, None]
                touches = (gap == inner[None, :] - 1) | (gap == inner[None, :])
                val = np.take_along_axis(added, gap, axis=1) - rem[None, :]
                other = np.where(touches | (other < val), other, val)
            net = np.minimum(inplace, other)
            room = arr.deadline - tm.completion
            gain = arr.u[cand][:, None] - arr.u[vis][None, :]
            ok = (gain > 1e-12) & optional[None, :] & np.isfinite(net)
            if self.no_windows:
                ok &= net <= room + EPS
            if not ok.any():
                continue
            score = np.where(ok, gain - 1e-9 * net, -np.inf)
            order = np.argsort(-score, axis=None)[:8]
            for flat in order:
                jc, ic = np.unravel_index(int(flat), score.shape)
                if not np.isfinite(score[jc, ic]):
                    break
                trial = plan.copy()
                trial.remove(int(q), [int(inner[ic])])
                ok_t, add_t, _ = trial.insertion_table(int(q), cand[jc : jc + 1])
                if not ok_t.any():
                    continue
                p = int(np.argmin(np.where(ok_t[0], add_t[0], np.inf)))
                trial.insert(int(q), p + 1, int(cand[jc]))
                if trial.feasible():
                    plan.routes, plan.times = trial.routes, trial.times
                    plan.in_route, plan.cost = trial.in_route, trial.cost
                    return True
        return False

    def relocate(self, plan: Plan) -> bool:
        """``min_time``: move one node to its cheapest gap elsewhere when the total drops."""
        base = plan.total_completion()
        for q, route in enumerate(plan.routes):
            for pos in range(1, len(route) - 1):
                if self.stop():
                    return False
                v = route[pos]
                trial = plan.copy()
                trial.remove(q, [pos])
                qq, pp, _, s = trial.best_insertions(np.array([v]), "cheapest")
                if not np.isfinite(s[0]):
                    continue
                trial.insert(int(qq[0]), int(pp[0]), v)
                if trial.feasible() and trial.total_completion() < base - EPS:
                    plan.routes, plan.times = trial.routes, trial.times
                    plan.in_route, plan.cost = trial.in_route, trial.cost
                    return True
        return False

    def local_search(self, plan: Plan) -> None:
        for _ in range(10 * self.arr.n + 10):
            if self.stop():
                return
            if self.no_windows:
                self.shorten(plan)
            if self.maximise:
                if self.fill(plan):
                    continue
                if self.replace(plan):
                    continue
            elif self.relocate(plan):
                continue
            return

    def shake(self, plan: Plan, start: int, size: int) -> np.ndarray:
        """Remove ``size`` consecutive optional visits from ``start`` on every route."""
        removed: list[int] = []
        for q, route in enumerate(plan.routes):
            inner = len(route) - 2
            if inner == 0:
                continue
            s0 = 1 + start % inner
            drop = [
                p
                for p in range(s0, min(s0 + size, len(route) - 1))
                if not self.arr.mandatory[route[p]]
            ]
            if drop:
                removed.extend(route[p] for p in drop)
                plan.remove(q, drop)
        return np.asarray(removed, dtype=np.int64)

    # -- driver -----------------------------------------------------------------------------
    def run(self) -> Plan:
        arr, n = self.arr, self.arr.n
        params: IlsParams = self.options.params
        iterations, patience = _budget(params, n)
        plan = build_greedy(arr, None, self.options)
        self.local_search(plan)
        best = plan.copy()
        self._record(best)
        size, start, stale = 1, 0, 0
        self.random_shake = arr.k > 1 if params.random_shake is None else params.random_shake
        self.tabu, self.restarts, self.noise = params.tabu, params.restarts, params.noise
        max_size = max(1, len(self.pool) // (3 * arr.k))
        if params.max_kick is not None:
            max_size = min(max_size, params.max_kick)
        for it in range(1, iterations + 1):
            if self.stop():
                break
            if stale >= patience:
                if not self.restarts:
                    break
                # Restart from a randomised greedy construction (ratios jittered by up to 50%).
                self.stats["restarts"] = self.stats.get("restarts", 0) + 1
                plan = build_greedy(arr, self.rng, self.options, noise=0.5)
                self.local_search(plan)
                stale, size = 0, 1
                if self._better(plan, best):
                    best = plan.copy()
                    self._record(best)
                continue
            self.stats["iterations"] = it
            if self.random_shake:
                size = int(self.rng.integers(1, max_size + 1))
                start = int(self.rng.integers(0, n))
            removed = self.shake(plan, start, size)
            if not self.maximise:
                repair_mandatory(plan, self.stop)
            elif self.tabu and len(removed):
                # Refill without the removed nodes first, so the kick is not simply undone.
                keep = self.pool
                self.pool = np.setdiff1d(keep, removed)
                self.fill(plan, self.noise)
                self.pool = keep
            self.local_search(plan)
            if self._better(plan, best):
                best = plan.copy()
                self._record(best)
                size, stale = 1, 0
            else:
                stale += 1
                start += size
                size = size + 1 if size < max_size else 1
                if stale % 10 == 0:  # back to the best solution, as in Vansteenwegen et al.
                    plan = best.copy()
                    start = int(self.rng.integers(0, max(1, n)))
        return best

    def _better(self, plan: Plan, best: Plan) -> bool:
        return (
            plan.feasible()
            and not len(plan.missing_mandatory())
            and _value(plan, self.maximise) > _value(best, self.maximise)
        )

    def _record(self, plan: Plan) -> None:
        if plan.feasible():
            self.stats["improvements"] += 1
            value = _objective(self.problem, plan)
            self.trace.append(TracePoint(self.options.elapsed(), value, None))
            if self.options.callback is not None:
                self.options.callback("incumbent", {"objective": value})


def _ils_tsp(problem: Problem, arr: Arrays, options: SolveOptions) -> Result:
    """One route, no windows, visit all: iterated 2-opt / or-opt from a farthest-insertion tour."""
    rng = np.random.default_rng(options.seed)
    t = arr.t
    tour = farthest_insertion(t, arr.s, arr.e, arr.customers)
    trace: list[TracePoint] = []
    offset = float(arr.d[tour].sum()) + arr.verify  # completion = length + services + verify

    def improved(length: float) -> None:
        trace.append(TracePoint(options.elapsed(), length + offset, None))

    iterations, patience = _budget(options.params, arr.n, lk=use_lk(t, np.asarray(tour)))
    best, done = ils_tour(
        t,
        np.asarray(tour),
        rng,
        lambda: options.remaining() <= _MARGIN,
        iterations,
        patience=patience,
        on_improve=improved,
    )
    plan = Plan(arr, [best.tolist()])
    stats = {"iterations": done, "length": path_length(t, best)}
    message = "" if plan.feasible() else "the shortest tour found misses the deadline"
    return _finish(problem, "ils", plan, trace, stats, message)


# -- registration -----------------------------------------------------------------------------
@dataclass(frozen=True)
class IlsParams:
    """Parameters of the ``ils`` MTRCE solver (see the module docstring for what was measured)."""

    iterations: int | None = param(None, "most kicks before stopping (None: 200 + 20 n)")
    patience: int | None = param(
        None, "kicks without improvement before a restart, or a stop (None: 100 + 5 n)"
    )
    tabu: bool = param(True, "after a kick, refill without the removed nodes first")
    random_shake: bool | None = param(
        None, "random kick position and size instead of the sweep (None: only when k > 1)"
    )
    restarts: bool = param(
        True, "restart from a randomised greedy construction after `patience` stale kicks"
    )
    max_kick: int | None = param(
        None, "most visits one kick removes per route (None: a third of the candidates)"
    )
    noise: float = param(0.0, "jitter of the insertion ratios after a kick")
    optw: bool = param(
        True, "one route with windows (OPTW): the annealing search of optw_search.py"
    )


def _budget(params: IlsParams, n: int, lk: bool = False) -> tuple[int, int]:
    """``(iterations, patience)`` of a run on ``n`` nodes.

    The compiled LK search (``lk``) makes ~10^5 kicks per CPU second, ~100 times the 2-opt
    search: its default budget is sized for that (at most 1 s of CPU, 53 TSPLIB tours: mean gap
    0.008%, 48 optimal; with the 2-opt budget it stopped early, u159 at 6.8%).
    """
    if lk:
        default_iterations, default_patience = 1000 * n + 10_000, 200 * n + 5_000
    else:
        default_iterations, default_patience = 200 + 20 * n, 100 + 5 * n
    iterations = default_iterations if params.iterations is None else params.iterations
    return iterations, default_patience if params.patience is None else params.patience


def solve_ils(problem: Problem, options: SolveOptions) -> Result:
    arr = Arrays.of(problem)
    reason = infeasibility(problem, arr)
    if reason is not None:
        return make_result(problem, "ils", None, Status.INFEASIBLE, message=reason)
    if (
        problem.objective == "min_time"
        and arr.k == 1
        and problem.window_open is None
        and len(arr.customers) >= 3
    ):
        return _ils_tsp(problem, arr, options)
    if op_search.applies(problem, arr):
        result = _ils_op(problem, arr, options)
        if result is not None:
            return result
    if options.params.optw and optw_search.applies(problem, arr):
        return _ils_optw(problem, arr, options)
    search = _Search(problem, arr, options)
    best = search.run()
    return _finish(problem, "ils", best, search.trace, search.stats)


def _incumbents(options: SolveOptions) -> tuple[list[TracePoint], Callable[[float], None]]:
    """A trace and the callback that records each new best score in it (and reports it)."""
    trace: list[TracePoint] = []

    def improved(score: float) -> None:
        trace.append(TracePoint(options.elapsed(), score, None))
        if options.callback is not None:
            options.callback("incumbent", {"objective": score})

    return trace, improved


def _ils_op(problem: Problem, arr: Arrays, options: SolveOptions) -> Result | None:
    """The plain OP (one route, no windows or budget) by :mod:`daitn_opt.mtrce.op_search`; None
    when its construction cannot fit the mandatory nodes (the general search then runs)."""
    params: IlsParams = options.params
    trace, improved = _incumbents(options)
    search = op_search.OpSearch(
        arr,
        _wanted(arr, eligible(arr)),
        np.random.default_rng(options.seed),
        _stopper(options),
        improved,
        tabu=params.tabu,
        noise=params.noise,
        max_kick=params.max_kick,
    )
    iterations, patience = _budget(params, arr.n)
    route = search.run(iterations, patience)
    if route is None:
        return None
    plan = Plan(arr, [route.tolist()])
    if arr.n <= _GREEDY_FLOOR:
        # ils never returns less than the registered greedy construction (cheap at this size).
        greedy = build_greedy(arr, None, options)
        if greedy.feasible() and _value(greedy, True) > _value(plan, True):
            plan = greedy
    return _finish(problem, "ils", plan, trace, dict(search.stats))


def _ils_optw(problem: Problem, arr: Arrays, options: SolveOptions) -> Result:
    """One route with windows (the OPTW) by :mod:`daitn_opt.mtrce.optw_search`."""
    params: IlsParams = options.params
    trace, improved = _incumbents(options)
    search = optw_search.OptwSearch(
        arr,
        _wanted(arr, eligible(arr)),
        np.random.default_rng(options.seed),
        _stopper(options),
        improved,
        max_kick=params.max_kick,
    )
    iterations, patience = _budget(params, arr.n)
    route = search.run(iterations, patience)
    return _finish(problem, "ils", Plan(arr, [route]), trace, dict(search.stats))


_GREEDY_FLOOR = 300
"""Up to this many nodes the OP search's result is compared with ``greedy``'s."""


solve_random = solver_named(_run, "random", build=build_random)
solve_nearest = solver_named(_run, "nearest", build=build_nearest)
solve_greedy = solver_named(
    _run, "greedy", build=lambda arr, rng, opt: build_greedy(arr, None, opt)
)
_SOLVERS = (
    (solve_random, "random", "random order, appended while feasible (baseline)", NoParams),
    (solve_nearest, "nearest", "nearest feasible neighbour", NoParams),
    (solve_greedy, "greedy", "ratio (utility / added time) or cheapest insertion", NoParams),
    (solve_ils, "ils", "iterated local search (insert, replace, 2-opt, or-opt, shake)", IlsParams),
)
"""The MTRCE heuristics as registered: function, name, description, parameter class."""
for _fn, _name, _description, _params in _SOLVERS:
    register(
        "mtrce",
        _name,
        exact=False,
        description=_description,
        supports=route_objective_reason,
        params=_params,
    )(_fn)
