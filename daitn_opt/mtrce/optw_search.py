"""The orienteering problem with time windows (one route): iterated local search with annealing.

The general ``ils`` (:mod:`daitn_opt.mtrce.heuristics`) handles windows, but on the OPTW sets
(Solomon- and Cordeau-based, Righini and Salani's optima) it stalls a few percent below the
optimum: it only accepts improvements, and a narrow window makes most kicks lose score that the
refill cannot win back. This search keeps the move set of Vansteenwegen, Souffriau, Vanden
Berghe and Van Oudheusden (2009, "Iterated local search for the team orienteering problem with
time windows", Comput. Oper. Res. 36(12)) and adds what the stronger methods add (Gunawan, Lau
and Lu 2017, "Well-tuned algorithms for the team orienteering problem with time windows",
J. Oper. Res. Soc. 68(8): ILS with simulated-annealing acceptance):

- **insert**: the unvisited node of best ``score^2 / added time`` at its best gap, until none
  fits; whether a node fits between two visits is an O(1) test on the forward time slack
  ("MaxShift", :class:`daitn_opt.mtrce.plan.RouteTimes`), evaluated for every node and gap at
  once with numpy;
- **replace**: a visited node swapped for an unvisited one of higher score in its place (every
  pair screened at once by the same slack test), or dropped when the refill then scores more;
- **shake**: remove ``size`` consecutive visits from position ``start`` (Vansteenwegen's sweep:
  ``start`` advances by ``size`` and ``size`` grows after each kick without a new best);
- **acceptance**: a kick's local optimum replaces the current route when it scores at least as
  much, or with probability ``exp(-loss / T)``; ``T`` starts at ``heat`` times the best score
  and cools geometrically over ``patience`` kicks, after which the search returns to the best
  route and reheats.

All random choices draw from one seeded generator, and the stopping rule counts kicks, so a run
is deterministic for a seed unless the time limit cuts it short.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .plan import Arrays, RouteTimes
from .problem import Problem
from .solution import EPS


def applies(problem: Problem, arr: Arrays) -> bool:
    """True for the OPTW this module handles: max_utility, one route, windows, no budget and
    no mandatory node (the general search handles the rest)."""
    return (
        problem.objective == "max_utility"
        and arr.k == 1
        and problem.window_open is not None
        and not arr.has_budget
        and not arr.mandatory.any()
        and len(arr.customers) >= 2
        and bool(np.isfinite(arr.t).all())
        and bool(np.all(arr.t >= 0))
    )


class OptwRoute:
    """One route ``[s, ..., e]``, its schedule and slacks, and its visited set."""

    __slots__ = ("arr", "route", "times", "visited")

    def __init__(self, arr: Arrays, route: list[int]) -> None:
        self.arr = arr
        self.route = list(route)
        self.times = RouteTimes(arr, self.route)
        self.visited = np.zeros(arr.n, dtype=bool)
        self.visited[self.route[1:-1]] = True

    def copy(self) -> OptwRoute:
        other = OptwRoute.__new__(OptwRoute)
        other.arr, other.route, other.times = self.arr, list(self.route), self.times
        other.visited = self.visited.copy()
        return other

    @property
    def score(self) -> float:
        return float(self.arr.u[self.route[1:-1]].sum())

    def key(self) -> tuple[float, float]:
        """Lexicographic value to maximise: score, then an earlier completion."""
        return self.score, -self.times.completion

    def _set(self, route: list[int]) -> None:
        self.route = route
        self.times = RouteTimes(self.arr, route)

    def insert(self, gap: int, node: int) -> None:
        """Insert ``node`` between positions ``gap`` and ``gap + 1``."""
        self.visited[node] = True
        self._set([*self.route[: gap + 1], int(node), *self.route[gap + 1 :]])

    def replace(self, pos: int, node: int) -> None:
        self.visited[self.route[pos]] = False
        self.visited[node] = True
        self._set([*self.route[:pos], int(node), *self.route[pos + 1 :]])

    def remove(self, positions: range | list[int]) -> list[int]:
        drop = set(positions)
        removed = [v for p, v in enumerate(self.route) if p in drop]
        self.visited[removed] = False
        self._set([v for p, v in enumerate(self.route) if p not in drop])
        return removed

    def insertion(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(fits, added)`` of each of ``nodes`` in each gap, shape ``(len(nodes), gaps)``.

        ``added`` is the delay pushed onto the next visit (detour, wait and service); a node fits
        when it starts within its window and the delay is absorbed by the next visit's wait and
        slack (the forward time slack test).
        """
        arr, tm = self.arr, self.times
        r = tm.route
        prev, nxt = r[:-1], r[1:]
        leave = tm.start[:-1] + arr.d[prev]
        start_j = np.maximum(leave[None, :] + arr.t[nodes[:, None], prev], arr.a[nodes][:, None])
        new_next = start_j + arr.d[nodes][:, None] + arr.t[nodes[:, None], nxt]
        delta = new_next - tm.arrival[1:][None, :]
        fits = (start_j <= arr.b[nodes][:, None] + EPS) & (
            delta <= (tm.wait[1:] + tm.slack[1:])[None, :] + EPS
        )
        return fits, delta


class OptwSearch:
    """One seeded run of the OPTW search (see the module docstring).

    ``heat``: the starting temperature as a fraction of the best score; ``drop_tries``: visits
    the drop-and-refill move tries per local search; ``max_kick``: most visits one shake removes
    (default a third of the pool). Measured at 1 s CPU on 12 hard instances, two seeds (noisy):
    heat 0.03 with 3 tries at least as good as 0.01 with 8; a relocate move (a visit moved to the
    gap where the route ends earliest) cost more than it won on pr05 (240 customers).
    """

    def __init__(
        self,
        arr: Arrays,
        pool: np.ndarray,
        rng: np.random.Generator,
        stop: Callable[[], bool],
        on_improve: Callable[[float], None] | None = None,
        *,
        heat: float = 0.03,
        max_kick: int | None = None,
        drop_add: bool = True,
        drop_tries: int = 3,
    ) -> None:
        self.arr = arr
        self.pool = np.asarray(pool, dtype=np.int64)
        self.rng = rng
        self.stop = stop
        self.on_improve = on_improve
        self.heat = heat
        self.max_kick = max_kick
        self.use_drop_add = drop_add
        self.drop_tries = drop_tries
        self.stats = {"iterations": 0, "improvements": 0, "accepted_worse": 0, "reheats": 0}

    # -- moves ------------------------------------------------------------------------------
    def fill(self, sol: OptwRoute, banned: np.ndarray | None = None) -> int:
        """Insert the best ``score^2 / added`` node at its best gap until none fits."""
        u = self.arr.u
        cand = self.pool[~sol.visited[self.pool]]
        if banned is not None and len(banned):
            cand = cand[~np.isin(cand, banned)]
        count = 0
        while len(cand):
            fits, added = sol.insertion(cand)
            added = np.where(fits, added, np.inf)
            gap = np.argmin(added, axis=1)
            best_add = added[np.arange(len(cand)), gap]
            ok = np.isfinite(best_add)
            if not ok.any():
                break
            cand, gap, best_add = cand[ok], gap[ok], best_add[ok]
            ratio = u[cand] ** 2 / np.maximum(best_add, 1e-9)
            i = int(np.argmax(ratio))
            sol.insert(int(gap[i]), int(cand[i]))
            cand = np.delete(cand, i)
            count += 1
        return count

    def replace(self, sol: OptwRoute) -> bool:
        """Put an unvisited node of higher score in a visited node's place (best gain first)."""
        arr, tm = self.arr, sol.times
        r = tm.route
        m = len(r)
        out = self.pool[~sol.visited[self.pool]]
        if m <= 2 or len(out) == 0:
            return False
        inner = np.arange(1, m - 1)
        vis = r[inner]
        out = out[arr.u[out] > arr.u[vis].min() + 1e-12]
        if len(out) == 0:
            return False
        prev, nxt = r[inner - 1], r[inner + 1]
        leave = tm.start[inner - 1] + arr.d[prev]
        start_j = np.maximum(leave[None, :] + arr.t[out[:, None], prev], arr.a[out][:, None])
        new_next = start_j + arr.d[out][:, None] + arr.t[out[:, None], nxt]
        delta = new_next - tm.arrival[inner + 1][None, :]
        ok = (start_j <= arr.b[out][:, None] + EPS) & (
            delta <= (tm.wait[inner + 1] + tm.slack[inner + 1])[None, :] + EPS
        )
        gain = arr.u[out][:, None] - arr.u[vis][None, :]
        ok &= gain > 1e-12
        if not ok.any():
            return False
        value = np.where(ok, gain - 1e-9 * delta, -np.inf)
        j, p = np.unravel_index(int(np.argmax(value)), value.shape)
        sol.replace(int(inner[p]), int(out[j]))
        return True

    def drop_add(self, sol: OptwRoute) -> bool:
        """Drop one visit when the refill then scores more (``drop_tries`` random visits tried:
        each try is a whole refill, the dearest step of the local search)."""
        base = sol.score
        inner = list(range(1, len(sol.route) - 1))
        if not inner:
            return False
        for p in self.rng.permutation(inner)[: self.drop_tries]:
            trial = sol.copy()
            trial.remove([int(p)])
            self.fill(trial, np.asarray([sol.route[p]]))
            if trial.score > base + 1e-9:
                sol.route, sol.times, sol.visited = trial.route, trial.times, trial.visited
                return True
        return False

    def local_search(self, sol: OptwRoute) -> None:
        while not self.stop():
            self.fill(sol)
            if self.replace(sol):
                continue
            if self.use_drop_add and self.drop_add(sol):
                continue
            return

    @staticmethod
    def shake(sol: OptwRoute, start: int, size: int) -> np.ndarray:
        """Remove ``size`` consecutive visits from the ``start``-th (counted modulo the route)."""
        inner = len(sol.route) - 2
        if inner == 0:
            return np.zeros(0, dtype=np.int64)
        s0 = 1 + start % inner
        return np.asarray(sol.remove(range(s0, min(s0 + size, inner + 1))), dtype=np.int64)

    # -- driver -----------------------------------------------------------------------------
    def run(self, iterations: int, patience: int) -> list[int]:
        arr = self.arr
        cur = OptwRoute(arr, [arr.s, arr.e])
        self.fill(cur)
        self.local_search(cur)
        best = cur.copy()
        self._improved(best)
        max_size = max(1, len(self.pool) // 3)
        if self.max_kick is not None:
            max_size = max(1, min(max_size, self.max_kick))
        start, size, stale = 0, 1, 0
        temp0 = self.heat * max(best.score, 1.0)
        cool = 0.01 ** (1.0 / max(1, patience))  # T falls a hundredfold over `patience` kicks
        temp = temp0
        for it in range(1, iterations + 1):
            if self.stop():
                break
            self.stats["iterations"] = it
            trial = cur.copy()
            removed = self.shake(trial, start, size)
            self.fill(trial, removed)  # the removed nodes may come back only in the local search
            self.local_search(trial)
            loss = cur.score - trial.score
            if trial.key() > best.key():
                best = trial.copy()
                self._improved(best)
                stale, size = 0, 1
            else:
                stale += 1
                start += size
                size = size + 1 if size < max_size else 1
            if loss <= 1e-9 or self.rng.random() < math.exp(-loss / max(temp, 1e-12)):
                if loss > 1e-9:
                    self.stats["accepted_worse"] += 1
                cur = trial
            temp *= cool
            if stale and stale % patience == 0:
                # Cold and stuck: back to the best route, reheated, the sweep restarted at random.
                self.stats["reheats"] += 1
                cur, temp = best.copy(), temp0
                start, size = int(self.rng.integers(0, max(1, len(best.route)))), 1
        return best.route

    def _improved(self, best: OptwRoute) -> None:
        self.stats["improvements"] += 1
        if self.on_improve is not None:
            self.on_improve(best.score)
