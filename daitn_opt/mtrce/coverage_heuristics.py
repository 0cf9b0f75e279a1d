"""Heuristics for the coverage objectives: ``coverage-greedy`` and ``coverage-ils``.

- ``coverage-greedy``: marginal-gain insertion. Starting from the mandatory nodes (cheapest
  insertion), repeatedly insert the node with the best ``coverage gain / added time`` at its best
  feasible position (under ``max_recency_coverage`` every position is scored, since the gain
  depends on it); under ``min_time_to_target`` it stops as soon as the target is reached.
- ``coverage-ils``: the greedy route improved by a local search (insert, remove, swap a visited
  node for an unvisited one, relocate, 2-opt on the order, the last two also to shorten the route
  so that more fits) and perturbed by seeded random removals followed by a noisy re-insertion,
  keeping the best route (``iterations``, default ``30 + 3 n`` kicks; ``patience`` kicks without
  improvement end the search early, default ``10 + n``). The same seed gives the same route as
  long as the time limit does not cut the search short (every move is evaluated in full, so on
  40-node views a pass takes seconds: there the limit usually ends it).

Routes are scored by :func:`key`: feasibility first, then the coverage (maximised), or, for
``min_time_to_target``, reaching the target first and then the completion time (minimised).
Neither proves a bound; ``min_time_to_target`` returns ``infeasible`` only when even every eligible
node together misses the target (coverage is monotone), else ``no_solution`` when the search did
not reach it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..params import param
from ..registry import SolveOptions
from ..result import Result, Status
from . import coverage
from .heuristics import eligible, infeasibility, repair_mandatory
from .plan import Arrays, Plan, RouteTimes
from .problem import Problem
from .route_solvers import no_route, register_greedy_and_ils
from .solution import EPS

Route = list[int]


def route_feasible(arr: Arrays, route: Route) -> bool:
    """Windows, deadline and budget of one route ``[s, ..., e]`` (index route)."""
    if not RouteTimes(arr, route).feasible:
        return False
    if arr.has_budget:
        r = np.asarray(route)
        cost = float(arr.vc[np.unique(r)].sum() + arr.tc[r[:-1], r[1:]].sum())
        return cost <= arr.budget + EPS
    return True


class _Scorer:
    """Objective, feasibility and the lexicographic key of routes (cached)."""

    def __init__(self, problem: Problem, arr: Arrays) -> None:
        self.problem = problem
        self.plain = (
            problem.replace(objective="max_coverage")
            if problem.objective == "min_time_to_target"
            else problem
        )
        self.arr = arr
        self.ttt = problem.objective == "min_time_to_target"
        self.target = float(problem.target) if self.ttt else 0.0
        self.cache: dict[tuple[int, ...], tuple[float, ...]] = {}

    def feasible(self, route: Route) -> bool:
        return route_feasible(self.arr, route)

    def coverage(self, route: Route) -> float:
        return coverage.route_coverage(self.plain, route)

    def key(self, route: Route) -> tuple[float, ...]:
        """Bigger is better: (feasible, objective...)."""
        t = tuple(route)
        if t not in self.cache:
            if not self.feasible(route):
                value: tuple[float, ...] = (0.0, -np.inf, -np.inf)
            elif self.ttt:
                cov = self.coverage(route)
                done = RouteTimes(self.arr, route).completion
                reached = cov >= self.target - 1e-9
                value = (1.0, 1.0, -done) if reached else (1.0, 0.0, cov - 1e-9 * done)
            else:
                done = RouteTimes(self.arr, route).completion
                value = (1.0, self.coverage(route), -done)
            if len(self.cache) > 200_000:
                self.cache.clear()
            self.cache[t] = value
        return self.cache[t]


def _insertions(route: Route, node: int) -> list[Route]:
    return [[*route[:p], node, *route[p:]] for p in range(1, len(route))]


def greedy(
    sc: _Scorer,
    route: Route,
    pool: np.ndarray,
    rng: np.random.Generator | None = None,
    noise: float = 0.0,
    stop: Callable[[], bool] | None = None,
) -> Route:
    """Marginal-gain insertion: best ``gain / added time`` node at its best position, repeated."""
    arr = sc.arr
    route = list(route)
    pool = [int(v) for v in pool if v not in route]
    while pool and not (stop is not None and stop()):
        if sc.ttt and sc.coverage(route) >= sc.target - 1e-9:
            break
        base = sc.key(route)
        base_cov = sc.coverage(route) if sc.ttt else base[1]
        base_done = RouteTimes(arr, route).completion
        best, best_score = None, 0.0
        for v in pool:
            for cand in _insertions(route, v):
                k = sc.key(cand)
                if k[0] < 1:
                    continue
                gain = (sc.coverage(cand) if sc.ttt else k[1]) - base_cov
                if gain <= 1e-12:
                    continue
                added = max(RouteTimes(arr, cand).completion - base_done, 1e-6)
                score = gain / added
                if rng is not None and noise > 0:
                    score *= 1.0 + noise * rng.random()
                if score > best_score:
                    best, best_score = cand, score
        if best is None:
            break
        route = best
        pool.remove(next(v for v in best if v in pool))
    return route


def local_search(sc: _Scorer, route: Route, pool: np.ndarray, stop: Callable[[], bool]) -> Route:
    """First-improvement descent over insert, remove, swap, relocate and 2-opt moves."""
    mandatory = sc.arr.mandatory
    improved = True
    while improved and not stop():
        improved = False
        current = sc.key(route)
        inner = route[1:-1]
        out = [int(v) for v in pool if v not in inner]
        moves: list[Route] = []
        for v in out:  # insert
            moves.extend(_insertions(route, v))
        for p in range(1, len(route) - 1):  # remove
            if not mandatory[route[p]]:
                moves.append(route[:p] + route[p + 1 :])
        for p in range(1, len(route) - 1):  # relocate
            rest = route[:p] + route[p + 1 :]
            moves.extend(c for c in _insertions(rest, route[p]) if c != route)
        for i in range(1, len(route) - 2):  # 2-opt on the order
            for j in range(i + 1, len(route) - 1):
                moves.append(route[:i] + route[i : j + 1][::-1] + route[j + 1 :])
        for p in range(1, len(route) - 1):  # swap a visited node for an unvisited one
            if mandatory[route[p]]:
                continue
            rest = route[:p] + route[p + 1 :]
            for v in out:
                moves.extend(_insertions(rest, v))
        for cand in moves:
            if stop():
                break
            if sc.key(cand) > current:
                route, improved = cand, True
                break
    return route


def search(
    problem: Problem,
    seed: int,
    stop: Callable[[], bool],
    iterations: int | None = None,
    patience: int | None = None,
) -> Route | None:
    """Best route found by the iterated local search (None when none is feasible); ``iterations``
    kicks at most (default ``30 + 3 n``), stopping after ``patience`` without improvement
    (default ``10 + n``)."""
    arr = Arrays.of(problem)
    if infeasibility(problem, arr) is not None:
        return None
    sc = _Scorer(problem, arr)
    rng = np.random.default_rng(seed)
    plan = Plan(arr)
    repair_mandatory(plan, stop)
    pool = eligible(arr)
    route = greedy(sc, plan.routes[0], pool, stop=stop)
    route = local_search(sc, route, pool, stop)
    best = route
    iterations = 30 + 3 * arr.n if iterations is None else iterations
    patience = 10 + arr.n if patience is None else patience
    stale = 0
    for _ in range(iterations):
        if stop() or stale >= patience:
            break
        inner = [v for v in best[1:-1] if not arr.mandatory[v]]
        kick = list(best)
        if inner:
            size = int(rng.integers(1, max(2, len(inner) // 2 + 1)))
            drop = set(rng.choice(inner, size=min(size, len(inner)), replace=False).tolist())
            kick = [v for v in best if v not in drop or v in (arr.s, arr.e)]
        kick = greedy(sc, kick, rng.permutation(pool), rng, noise=0.5, stop=stop)
        kick = local_search(sc, kick, pool, stop)
        if sc.key(kick) > sc.key(best):
            best, stale = kick, 0
        else:
            stale += 1
    if sc.ttt and sc.key(best)[1] < 1:
        return None  # the target was not reached
    if sc.key(best)[0] < 1 or len(np.flatnonzero(arr.mandatory)) > len(
        set(best) & set(np.flatnonzero(arr.mandatory).tolist())
    ):
        return None
    return best


def _solve(problem: Problem, options: SolveOptions, name: str, ils: bool) -> Result:
    arr = Arrays.of(problem)
    reason = infeasibility(problem, arr)
    if reason is not None:
        return coverage.coverage_result(problem, name, None, Status.INFEASIBLE, message=reason)
    if problem.objective == "min_time_to_target":
        best = coverage.max_coverage_bound(problem)
        if best < float(problem.target) - 1e-9:
            return coverage.coverage_result(
                problem,
                name,
                None,
                Status.INFEASIBLE,
                message=f"the coverage target {problem.target:.6g} exceeds the coverage of every "
                f"eligible node together ({best:.6g})",
            )

    def stop() -> bool:
        return options.remaining() <= 0.05

    if ils:
        params: CoverageIlsParams = options.params
        route = search(problem, options.seed, stop, params.iterations, params.patience)
    else:
        sc = _Scorer(problem, arr)
        plan = Plan(arr)
        repair_mandatory(plan, stop)
        route = greedy(sc, plan.routes[0], eligible(arr), stop=stop)
        if not sc.feasible(route) or len(plan.missing_mandatory()):
            route = None
    ttt = problem.objective == "min_time_to_target"
    plain = problem.replace(objective="max_coverage") if ttt else problem
    target = float(problem.target) if ttt else 0.0
    if ttt and route is not None and coverage.route_coverage(plain, route) < target - 1e-9:
        route = None
    if route is None:
        message = "no feasible route reaching the target found" if ttt else "no route found"
        return no_route(problem, name, message)
    return coverage.coverage_result(problem, name, route, Status.FEASIBLE)


@dataclass(frozen=True)
class CoverageIlsParams:
    """Parameters of the ``coverage-ils`` solver."""

    iterations: int | None = param(None, "most kicks (None: 30 + 3 n)")
    patience: int | None = param(None, "kicks without improvement before stopping (None: 10 + n)")


register_greedy_and_ils(
    "coverage",
    coverage.supports,
    _solve,
    (
        "coverage objectives: marginal-gain insertion (gain / added time)",
        "coverage objectives: greedy + local search (insert, remove, swap, relocate, 2-opt) "
        "with seeded kicks",
    ),
    CoverageIlsParams,
)
