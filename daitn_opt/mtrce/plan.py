"""Mutable k-route plans with cached schedules and vectorised insertion evaluation.

The heuristics (:mod:`daitn_opt.mtrce.heuristics`) work on a :class:`Plan`: ``k`` routes of node
indices ``[s, ..., e]`` plus, per route, the earliest-start schedule and the *forward time slack*
of every position (Savelsbergh 1992; "MaxShift" in Vansteenwegen et al. 2009, "Iterated local
search for the team orienteering problem with time windows", Comput. Oper. Res. 36(12)). With
them, whether a node fits between two consecutive visits is an O(1) test, evaluated for every
unvisited node and every gap of a route at once with numpy.

Schedule of a route ``r_0 = s, ..., r_m = e`` (see :mod:`daitn_opt.mtrce.problem`): with
``c_p = d[r_{p-1}] + t[r_{p-1}, r_p]`` and ``C`` its prefix sum, service starts at
``S_p = max(A_p, a[r_p]) = C_p + max_{q <= p} (a[r_q] - C_q)``, one ``maximum.accumulate``.
The slack ``MS_p`` (how much ``S_p`` may be delayed without breaking a later window or the
deadline) is ``min_{q >= p} (b[r_q] - S_q + W_q) - W_p`` with ``W`` the prefix sum of waits,
one reversed ``minimum.accumulate``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .problem import Problem
from .solution import EPS, windows


@dataclass(frozen=True, eq=False)
class Arrays:
    """The problem's arrays in the form the heuristics read (windows filled with ``0, inf``)."""

    t: np.ndarray
    d: np.ndarray
    u: np.ndarray
    a: np.ndarray
    b: np.ndarray
    deadline: float
    verify: float
    budget: float
    vc: np.ndarray
    tc: np.ndarray
    s: int
    e: int
    n: int
    k: int
    mandatory: np.ndarray
    """(n,) bool."""
    customers: np.ndarray
    """Indices other than s and e."""

    @classmethod
    def of(cls, problem: Problem) -> Arrays:
        a, b = windows(problem)
        n = problem.n
        mand = np.zeros(n, dtype=bool)
        mand[np.asarray(problem.mandatory, dtype=np.int64)] = True
        if problem.objective == "min_time":
            mand[:] = True
        mand[[problem.start, problem.end]] = False
        has_budget = problem.budget is not None
        return cls(
            t=np.asarray(problem.travel, dtype=np.float64),
            d=np.asarray(problem.service, dtype=np.float64),
            u=np.asarray(problem.utility, dtype=np.float64),
            a=a,
            b=b,
            deadline=float(problem.deadline),
            verify=float(problem.verify_time),
            budget=float(problem.budget) if has_budget else np.inf,
            vc=np.asarray(problem.visit_cost, dtype=np.float64) if has_budget else np.zeros(n),
            tc=np.asarray(problem.travel_cost, dtype=np.float64)
            if has_budget
            else np.zeros((n, n)),
            s=problem.start,
            e=problem.end,
            n=n,
            k=problem.k,
            mandatory=mand,
            customers=problem.customers,
        )

    @property
    def has_budget(self) -> bool:
        return bool(np.isfinite(self.budget))


class RouteTimes:
    """Schedule and slack of one route (recomputed whole after each change: O(m) numpy)."""

    __slots__ = ("arrival", "completion", "feasible", "route", "slack", "start", "wait")

    def __init__(self, arr: Arrays, route: list[int]) -> None:
        r = np.asarray(route, dtype=np.int64)
        self.route = r
        c = np.zeros(len(r))
        c[1:] = arr.d[r[:-1]] + arr.t[r[:-1], r[1:]]
        cum = np.cumsum(c)
        opens = arr.a[r].copy()
        opens[0] = max(0.0, opens[0])
        start = cum + np.maximum.accumulate(opens - cum)
        arrival = np.empty(len(r))
        arrival[0] = 0.0
        arrival[1:] = start[:-1] + c[1:]
        # Positions after a missing arc (infinite travel: an unreachable end) are never reached:
        # they wait 0 and leave no slack (-inf), instead of inf - inf = nan with a RuntimeWarning.
        reached = np.isfinite(arrival)
        wait = np.zeros(len(r))
        wait[reached] = start[reached] - arrival[reached]
        wait[0] = 0.0
        completion = float(start[-1] + arr.d[r[-1]] + arr.verify)
        cw = np.cumsum(wait)
        g = np.full(len(r), -np.inf)
        g[reached] = arr.b[r[reached]] - start[reached] + cw[reached]
        g[-1] = min(g[-1], arr.deadline - completion + cw[-1])
        slack = np.minimum.accumulate(g[::-1])[::-1] - cw
        self.start = start
        self.arrival = arrival
        self.wait = wait
        self.slack = slack
        self.completion = completion
        self.feasible = bool(np.isfinite(completion) and slack.min() >= -EPS if len(r) else False)


class Plan:
    """``k`` routes, the visited set and the cached schedules; the heuristics mutate it."""

    def __init__(self, arr: Arrays, routes: list[list[int]] | None = None) -> None:
        self.arr = arr
        if routes is None:
            routes = [[arr.s, arr.e] for _ in range(arr.k)]
        self.routes = [list(r) for r in routes]
        self.times = [RouteTimes(arr, r) for r in self.routes]
        self.in_route = np.full(arr.n, -1, dtype=np.int64)
        for q, r in enumerate(self.routes):
            self.in_route[r[1:-1]] = q
        self.cost = self._cost()

    def copy(self) -> Plan:
        other = Plan.__new__(Plan)
        other.arr = self.arr
        other.routes = [list(r) for r in self.routes]
        other.times = list(self.times)  # RouteTimes are immutable once built
        other.in_route = self.in_route.copy()
        other.cost = self.cost
        return other

    # -- evaluation -----------------------------------------------------------------------
    def _cost(self) -> float:
        arr = self.arr
        if not arr.has_budget:
            return 0.0
        nodes = self.visited_mask()
        total = float(arr.vc[nodes].sum())
        for r in self.used():
            ri = np.asarray(r)
            total += float(arr.tc[ri[:-1], ri[1:]].sum())
        return total

    def used(self) -> list[list[int]]:
        used = [r for r in self.routes if len(r) > 2]
        return used or [self.routes[0]]

    def visited_mask(self) -> np.ndarray:
        mask = self.in_route >= 0
        mask[[self.arr.s, self.arr.e]] = True
        return mask

    def utility(self) -> float:
        return float(self.arr.u[self.visited_mask()].sum())

    def total_completion(self) -> float:
        if all(len(r) <= 2 for r in self.routes):
            return self.times[0].completion
        return float(
            sum(tm.completion for r, tm in zip(self.routes, self.times, strict=True) if len(r) > 2)
        )

    def feasible(self) -> bool:
        used = {id(r) for r in self.used()}
        ok = all(
            tm.feasible for r, tm in zip(self.routes, self.times, strict=True) if id(r) in used
        )
        return ok and self.cost <= self.arr.budget + EPS

    def missing_mandatory(self) -> np.ndarray:
        return np.flatnonzero(self.arr.mandatory & (self.in_route < 0))

    def unvisited(self) -> np.ndarray:
        mask = self.in_route < 0
        mask[[self.arr.s, self.arr.e]] = False
        return np.flatnonzero(mask)

    # -- mutation -------------------------------------------------------------------------
    def set_route(self, q: int, route: list[int]) -> None:
        old = self.routes[q]
        self.in_route[old[1:-1]] = -1
        self.routes[q] = list(route)
        self.in_route[route[1:-1]] = q
        self.times[q] = RouteTimes(self.arr, self.routes[q])
        self.cost = self._cost()

    def insert(self, q: int, pos: int, node: int) -> None:
        """Insert ``node`` into route ``q`` before position ``pos`` (1..len-1)."""
        route = self.routes[q]
        self.set_route(q, [*route[:pos], int(node), *route[pos:]])

    def remove(self, q: int, positions: list[int]) -> None:
        route = self.routes[q]
        drop = set(positions)
        self.set_route(q, [v for p, v in enumerate(route) if p not in drop])

    # -- insertion evaluation -------------------------------------------------------------
    def insertion_table(
        self, q: int, nodes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Feasibility, added time and added cost of inserting each of ``nodes`` in each gap.

        Returns arrays of shape ``(len(nodes), len(route) - 1)``; column ``p`` is the gap between
        positions ``p`` and ``p + 1``. The added time is the delay pushed onto the next visit
        (travel detour plus waiting plus service), the quantity the slack must absorb.
        """
        arr = self.arr
        tm = self.times[q]
        r = tm.route
        prev, nxt = r[:-1], r[1:]
        J = nodes[:, None]
        leave = (tm.start[:-1] + arr.d[prev])[None, :]
        arrive_j = leave + arr.t[np.ix_(prev, nodes)].T
        start_j = np.maximum(arrive_j, arr.a[J])
        new_next = start_j + arr.d[J] + arr.t[np.ix_(nodes, nxt)]
        delta = new_next - tm.arrival[1:][None, :]
        ok = (start_j <= arr.b[J] + EPS) & (delta <= (tm.wait[1:] + tm.slack[1:])[None, :] + EPS)
        ok &= np.isfinite(new_next)
        added = new_next - leave - arr.t[prev, nxt][None, :]
        if arr.has_budget:
            dcost = (
                arr.vc[J]
                + arr.tc[np.ix_(prev, nodes)].T
                + arr.tc[np.ix_(nodes, nxt)]
                - arr.tc[prev, nxt][None, :]
            )
            others_run = any(len(rr) > 2 for i, rr in enumerate(self.routes) if i != q)
            if len(self.routes[q]) == 2 and others_run:
                # An idle replica starts to run: its own s -> e arc was not counted yet (when
                # every route is idle, the first one's s -> e trip is counted and is replaced).
                dcost = dcost + arr.tc[r[0], r[-1]]
            ok &= self.cost + dcost <= arr.budget + EPS
        else:
            dcost = np.zeros_like(delta)
        return ok, added, dcost

    def best_insertions(
        self, nodes: np.ndarray, score: str = "ratio", noise: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For each node: best route, gap, added time and score over all routes (-inf: none fits).

        ``score == "ratio"``: ``u^2 / added`` (Vansteenwegen et al. 2009); ``"utility"``: ``u``
        with the least added time as tie-break; ``"cheapest"``: ``-added``.
        """
        best_q = np.full(len(nodes), -1, dtype=np.int64)
        best_p = np.zeros(len(nodes), dtype=np.int64)
        best_add = np.full(len(nodes), np.inf)
        for q in range(len(self.routes)):
            ok, added, _ = self.insertion_table(q, nodes)
            added = np.where(ok, added, np.inf)
            p = np.argmin(added, axis=1)
            val = added[np.arange(len(nodes)), p]
            better = val < best_add
            best_add[better] = val[better]
            best_q[better] = q
            best_p[better] = p[better]
        u = self.arr.u[nodes]
        fits = np.isfinite(best_add)
        if score == "ratio":
            s = np.where(fits, np.maximum(u, 0.0) ** 2 / np.maximum(best_add, 1e-9), -np.inf)
            s = np.where(fits & (u <= 0), -best_add * 1e-12, s)
        elif score == "utility":
            s = np.where(fits, u - 1e-9 * best_add, -np.inf)
        else:
            s = np.where(fits, -best_add, -np.inf)
        if noise is not None:
            s = np.where(fits, s * noise, s)
        return best_q, best_p + 1, best_add, s
