"""Constructive heuristics and repair for QIRCE / Q-FAM single-source assignments.

- :func:`nearest_assign`: each demand, in input order, to the lowest-latency facility with room
  (ties by cost): the naive baseline.
- :func:`greedy_assign`: Martello and Toth's regret rule (1981): repeatedly place the demand
  whose best and second-best feasible facilities differ most; tried with several desirability
  measures (cost, cost x load, relative load), keeping the best.
- :func:`repair` and :func:`insert_refused`: move demand off overloaded facilities, then place
  refused demand directly or by an ejection chain of length two (and, where memory binds, by
  evicting another model's demand).
"""

from __future__ import annotations

import heapq
import time

import numpy as np

from .assignment import EPS, Dense, State, shift_fits


def nearest_assign(g: Dense) -> np.ndarray:
    """Each demand in input order to the nearest (lowest latency, then cheapest) facility with room."""
    st = State(g, np.full(g.D, g.F))
    for d in range(g.D):
        cand = np.flatnonzero(np.isfinite(g.W[d, : g.F]))
        if cand.size == 0:
            continue
        order = cand[np.lexsort((g.W[d, cand], g.lat[d, cand]))]
        for f in order:
            if st.fits(d, int(f)):
                st.move(d, int(f))
                break
    return st.a


def regret_assign(
    g: Dense, desirability: np.ndarray, deadline: float = np.inf
) -> np.ndarray | None:
    """Martello-Toth regret greedy with lazy re-evaluation (``desirability``: lower is better).

    None when ``deadline`` (perf_counter) passes first: a partial assignment is no solution."""
    st = State(g, np.full(g.D, g.F))
    des = np.where(np.isfinite(g.W[:, : g.F]), desirability[:, : g.F], np.inf)
    # Refusal is always possible; its desirability is the refusal weight itself.
    refuse = g.W[:, g.F]
    finite = des[np.isfinite(des)]
    urgency = 10.0 * (float(np.abs(finite).max()) + 1.0) if finite.size else 1.0

    def best_two(d: int) -> tuple[float, int, float]:
        row = des[d]
        mask = np.isfinite(row) & (st.load[: g.F] + g.L[d, : g.F] <= g.cap[: g.F] + 1e-9)
        if g.cong:
            mask &= st.work[: g.F] + g.Wk[d, : g.F] <= g.p.rho_max + 1e-9
        if g.use_mem:
            mask &= (st.cnt[g.model[d], : g.F] > 0) | (
                st.memu[: g.F] + g.mem[d] <= g.mem_cap[: g.F] + 1e-9
            )
        ok = np.flatnonzero(mask)
        if ok.size == 0:
            return 0.0, g.F, 0.0
        vals = row[ok]
        k = int(np.argmin(vals))
        first = float(vals[k])
        second = float(np.partition(vals, 1)[1]) if ok.size > 1 else max(first, refuse[d]) + 1e6
        # Demands with at most two places left go first, whatever their regret: waiting lets
        # other deployments fill the memory they need.
        urgent = urgency if ok.size <= 2 else 0.0
        return second - first + urgent, int(ok[k]), first

    heap = []
    for d in range(g.D):
        if d % 256 == 255 and time.perf_counter() >= deadline:
            return None
        regret, f, _ = best_two(d)
        heap.append((-regret, d, f))
    heapq.heapify(heap)
    placed = np.zeros(g.D, dtype=bool)
    pops = 0
    while heap:
        pops += 1
        if pops % 64 == 0 and time.perf_counter() >= deadline:
            return None
        _, d, f = heapq.heappop(heap)
        if placed[d]:
            continue
        if f == g.F:
            placed[d] = True
            continue
        if not st.fits(d, f):
            regret, f2, _ = best_two(d)
            heapq.heappush(heap, (-regret, d, f2))
            continue
        # Admit mode: refuse when refusing is better than the best facility.
        if g.W[d, f] + (g.Fo[f] if st.n[f] == 0 else 0.0) < refuse[d] or g.big > 0:
            st.move(d, f)
        placed[d] = True
    return st.a


def greedy_assign(
    g: Dense, limit: int = 4, first_feasible: bool = False, deadline: float = np.inf
) -> np.ndarray | None:
    """Best of the regret greedy over (at most ``limit``) desirability measures; with
    ``first_feasible``, the first that places every demand (large instances: each pass costs
    seconds). At ``deadline`` (perf_counter) the best complete, feasible assignment found so
    far is returned (None when there is none yet)."""
    cap = np.where(np.isfinite(g.cap), g.cap, 1.0)
    rel = g.L / np.maximum(cap[None, :], EPS)
    # Fixed cost shared in proportion to the capacity used.
    w = g.W + g.Fo[None, :] * rel if g.use_open else g.W
    # Built one at a time (each is a dense D x F matrix: seconds on large instances).
    measures = [
        lambda: w,
        lambda: rel,
        lambda: w * np.maximum(rel, EPS),
        lambda: w / np.maximum(rel, EPS),
    ][: 4 if g.p.mode == "admit" else 3]
    best, best_cost = None, np.inf
    for measure in measures[:limit]:
        if time.perf_counter() >= deadline:
            return best
        a = regret_assign(g, measure(), deadline)
        if a is None:
            return best
        a = insert_refused(g, State(g, a), deadline)
        cost = g.true_cost(a)
        complete = g.big <= 0 or not np.any(a == g.F)
        if g.feasible(a) and complete and cost < best_cost:
            best, best_cost = a, cost
            if first_feasible:
                break
    if best is not None or time.perf_counter() >= deadline:
        return best
    return regret_assign(g, w, deadline)


def repair(g: Dense, assign: np.ndarray, deadline: float = np.inf) -> np.ndarray:
    """Move demand off overloaded facilities (cheapest increase per unit of load relieved) until
    every capacity holds or no move is left; what cannot move is refused (refusal column).
    At ``deadline`` (perf_counter) it stops where it is (possibly still infeasible)."""
    st = State(g, assign)
    for _ in range(4 * g.D):
        if time.perf_counter() >= deadline:
            return st.a
        over = np.flatnonzero(st.load[: g.F] > g.cap[: g.F] + 1e-9)
        if g.use_mem:
            over = np.union1d(over, np.flatnonzero(st.memu[: g.F] > g.mem_cap[: g.F] + 1e-9))
        if over.size == 0:
            break
        f0 = int(over[0])  # one facility at a time keeps each step small
        cand = np.flatnonzero(st.a == f0)
        fits = shift_fits(g, st, cand)
        fits[:, g.F] = True
        fits[:, f0] = False
        inc = g.W[cand] - g.W[cand, f0][:, None]
        relieved = np.maximum(g.L[cand, f0], EPS)[:, None]
        if g.use_mem and st.memu[f0] > g.mem_cap[f0] + 1e-9:
            relieved = relieved + g.mem[cand][:, None]
        score = np.where(fits, inc / relieved, np.inf)
        # Refusing is the last resort in serve-all mode (its weight is the big penalty).
        k = int(np.argmin(score))
        st.move(int(cand[k // (g.F + 1)]), int(k % (g.F + 1)))
    return insert_refused(g, st, deadline)


def insert_refused(g: Dense, st: State, deadline: float = np.inf) -> np.ndarray:
    """Serve-all mode: place each refused demand, directly where it fits or by ejecting one
    demand from a facility to another facility with room (an ejection chain of length two).
    Stops at ``deadline`` (perf_counter), leaving the rest refused."""
    if g.big <= 0:
        return st.a
    for d in np.flatnonzero(st.a == g.F):
        if time.perf_counter() >= deadline:
            break
        d = int(d)
        direct = np.flatnonzero(shift_fits(g, st, np.array([d]))[0, : g.F])
        if direct.size:
            st.move(d, int(direct[np.argmin(g.W[d, direct])]))
            continue
        best = None
        for f in np.flatnonzero(np.isfinite(g.W[d, : g.F])):
            f = int(f)
            others = np.flatnonzero(st.a == f)
            if others.size == 0:
                continue
            fits = shift_fits(g, st, others)
            fits[:, f] = False
            fits[:, g.F] = False
            inc = np.where(fits, g.W[others] - g.W[others, f][:, None], np.inf)
            # After e leaves f, d must fit at f.
            room = g.cap[f] - st.load[f] + g.L[others, f]
            inc[room < g.L[d, f] - 1e-9] = np.inf
            k = int(np.argmin(inc))
            cost = float(inc.flat[k]) + g.W[d, f]
            if np.isfinite(cost) and (best is None or cost < best[0]):
                best = (cost, int(others[k // (g.F + 1)]), int(k % (g.F + 1)), f)
        if best is not None:
            _, e, h, f = best
            st.move(e, h)
            if st.fits(d, f):
                st.move(d, f)
                continue
            st.move(e, f)  # memory did not allow it: undo
        if g.use_mem:
            _evict_for(g, st, d)
    return st.a


def _evict_for(g: Dense, st: State, d: int) -> bool:
    """Free memory for demand ``d``: move every demand of one other model off an eligible
    facility (undeploying that model there), then place ``d``; the cheapest such move wins."""
    best = None
    for f in np.flatnonzero(np.isfinite(g.W[d, : g.F])):
        f = int(f)
        if st.load[f] + g.L[d, f] > g.cap[f] + 1e-9:
            continue
        need = st.memu[f] + g.mem[d] - g.mem_cap[f]
        for m in np.flatnonzero(st.cnt[:, f] > 0):
            if m == g.model[d] or g.p.model_memory[m] < need - 1e-9:
                continue
            trial = State(g, st.a)
            cost = 0.0
            for e in np.flatnonzero((st.a == f) & (g.model == m)):
                fits = shift_fits(g, trial, np.array([int(e)]))[0, : g.F]
                fits[f] = False
                opts = np.flatnonzero(fits)
                if opts.size == 0:
                    cost = np.inf
                    break
                h = int(opts[np.argmin(g.W[e, opts])])
                cost += g.W[e, h] - g.W[e, f]
                trial.move(int(e), h)
            if np.isfinite(cost) and trial.fits(d, f) and (best is None or cost < best[0]):
                best = (cost, trial, f)
    if best is None:
        return False
    _, trial, f = best
    trial.move(d, f)
    st.a, st.load, st.n, st.cnt, st.memu = trial.a, trial.load, trial.n, trial.cnt, trial.memu
    return True
