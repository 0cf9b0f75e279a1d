"""Heuristics for QIRCE / Q-FAM: nearest facility, regret greedy, and LP-guided local search.

All three build single-source assignments (one facility per demand; a valid splittable solution
too) on dense (demand x facility) matrices, with one extra column, the *refusal* column: serving
nothing costs 0 in admit mode and a large penalty in serve-all mode, so every method handles both.

- ``nearest``: each demand, in input order, to the lowest-latency facility with room (ties by
  cost): the naive baseline.
- ``greedy``: Martello and Toth's regret rule (1981): repeatedly place the demand whose best and
  second-best feasible facilities differ most; tried with several desirability measures (cost,
  cost x load, relative load), keeping the best.
- ``ls``: the LP relaxation (HiGHS) gives a bound and a start (each demand to its largest LP
  fraction); a tabu search over shift and swap moves then runs with adaptive penalties on
  capacity and memory excess (strategic oscillation, in the spirit of Yagiura, Ibaraki and
  Glover's ejection-chain search for GAP, 2004: infeasible intermediate states play the role of
  ejection chains), with facility close/open moves when facilities have fixed costs. With
  splittable routing, the routing of the final deployments is re-optimised by an LP.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import highspy
import numpy as np

from ..params import NoParams, param
from ..registry import SolveOptions, register
from ..result import Result, Status, TracePoint
from ..tfam.bounds import settled
from .problem import Problem
from .solution import build_solution, internal_objective

EPS = 1e-9
LARGE_DEMANDS = 1500
"""Above this many demands, swaps (quadratic) and the tabu search give way to batched shifts."""
LP_ARCS = 60_000
"""The LP relaxation guides the search only up to this many arcs (doubled with memory rows)."""


class Dense:
    """Dense matrices of a problem with the refusal column ``F`` appended."""

    def __init__(self, problem: Problem) -> None:
        p = problem
        self.p = p
        d, f = p.num_demands, p.num_facilities
        self.D, self.F = d, f
        w = p.internal_arc_weight()
        self.big = 0.0
        if p.mode == "serve_all":
            scale = float(np.abs(w).max()) if w.size else 1.0
            self.big = 10.0 * (scale + float(p.internal_open_weight().max(initial=0.0)) + 1.0)
        self.W = np.full((d, f + 1), np.inf)
        self.W[p.arc_demand, p.arc_facility] = w
        self.W[:, f] = self.big
        self.L = np.zeros((d, f + 1))
        self.L[p.arc_demand, p.arc_facility] = p.arc_load
        self.lat = np.full((d, f + 1), np.inf)
        self.lat[p.arc_demand, p.arc_facility] = p.arc_latency
        self.arc = np.full((d, f + 1), -1, dtype=np.int64)
        self.arc[p.arc_demand, p.arc_facility] = np.arange(p.num_arcs)
        self.cap = np.append(p.capacity, np.inf)
        self.Fo = np.append(p.internal_open_weight(), 0.0)
        self.mem_cap = np.append(p.facility_memory, np.inf)
        self.model = p.demand_model
        self.mem = p.model_memory[p.demand_model]
        self.use_mem = p.memory_binding
        self.use_open = bool(np.any(self.Fo > 0))
        # Single-source: an arc whose load alone exceeds the capacity is never usable.
        self.W[self.cap[None, :] + EPS < self.L] = np.inf
        # Congestion: the utilisation each arc adds (routed work, within rho_max).
        self.cong = p.congestion != "none"
        self.Wk = np.zeros((d, f + 1))
        if self.cong:
            from .queueing import arc_work, servers

            self.Wk[p.arc_demand, p.arc_facility] = arc_work(p)
            self.W[self.Wk > p.rho_max + EPS] = np.inf
            # Server count of each (facility, model); a facility serves one count only.
            self.C = np.vstack([servers(p), np.zeros((1, p.num_models))])

    def x_of(self, assign: np.ndarray) -> np.ndarray:
        """Arc fractions (A,) of an assignment (refused demands route nothing)."""
        x = np.zeros(self.p.num_arcs)
        served = assign < self.F
        x[self.arc[np.flatnonzero(served), assign[served]]] = 1.0
        return x

    def true_cost(self, assign: np.ndarray) -> float:
        rows = np.arange(self.D)
        used = np.zeros(self.F + 1, dtype=bool)
        used[assign] = True
        cost = float(self.W[rows, assign].sum() + self.Fo[used].sum())
        if self.cong:
            from .queueing import congestion_term

            cost += congestion_term(self.p, self.x_of(assign))
        return cost

    def feasible(self, assign: np.ndarray) -> bool:
        load = np.bincount(assign, weights=self.L[np.arange(self.D), assign], minlength=self.F + 1)
        if np.any(load > self.cap + 1e-7):
            return False
        if self.cong:
            work = np.bincount(assign, weights=self.Wk[np.arange(self.D), assign], minlength=self.F)
            if np.any(work[: self.F] > self.p.rho_max + 1e-7):
                return False
            served = assign < self.F
            cls = self.C[assign[served], self.model[served]]
            hi = np.full(self.F, -np.inf)
            lo = np.full(self.F, np.inf)
            np.maximum.at(hi, assign[served], cls)
            np.minimum.at(lo, assign[served], cls)
            if np.any(np.isfinite(hi) & (hi != lo)):
                return False
        if self.use_mem:
            pairs = np.unique(self.model * (self.F + 1) + assign)
            mem = np.bincount(
                pairs % (self.F + 1),
                weights=self.p.model_memory[pairs // (self.F + 1)],
                minlength=self.F + 1,
            )
            if np.any(mem > self.mem_cap + 1e-7):
                return False
        return True


class State:
    """Incremental loads, memory and counts of an assignment."""

    def __init__(self, dense: Dense, assign: np.ndarray) -> None:
        self.g = dense
        self.a = assign.copy()
        g = dense
        rows = np.arange(g.D)
        self.load = np.bincount(self.a, weights=g.L[rows, self.a], minlength=g.F + 1)
        self.work = np.bincount(self.a, weights=g.Wk[rows, self.a], minlength=g.F + 1)
        self.n = np.bincount(self.a, minlength=g.F + 1)
        self.cnt = np.zeros((g.p.num_models, g.F + 1), dtype=np.int64)
        np.add.at(self.cnt, (g.model, self.a), 1)
        self.memu = (g.p.model_memory @ (self.cnt > 0)).astype(np.float64)

    def fits(self, d: int, f: int) -> bool:
        g = self.g
        if not np.isfinite(g.W[d, f]) or self.load[f] + g.L[d, f] > g.cap[f] + 1e-9:
            return False
        if g.cong and f < g.F:
            if self.work[f] + g.Wk[d, f] > g.p.rho_max + 1e-9:
                return False
            present = g.C[f, self.cnt[:, f] > 0]
            if present.size and np.any(present != g.C[f, g.model[d]]):
                return False
        if g.use_mem and self.cnt[g.model[d], f] == 0:
            return self.memu[f] + g.mem[d] <= g.mem_cap[f] + 1e-9
        return True

    def move(self, d: int, f: int) -> None:
        g = self.g
        old = self.a[d]
        if old == f:
            return
        m = g.model[d]
        self.load[old] -= g.L[d, old]
        self.load[f] += g.L[d, f]
        self.work[old] -= g.Wk[d, old]
        self.work[f] += g.Wk[d, f]
        self.n[old] -= 1
        self.n[f] += 1
        self.cnt[m, old] -= 1
        if self.cnt[m, old] == 0:
            self.memu[old] -= g.p.model_memory[m]
        if self.cnt[m, f] == 0:
            self.memu[f] += g.p.model_memory[m]
        self.cnt[m, f] += 1
        self.a[d] = f


# -- constructive heuristics ------------------------------------------------------------------
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


# -- LP relaxation -------------------------------------------------------------------------------
def lp_relaxation(problem: Problem, time_limit: float) -> tuple[np.ndarray | None, float | None]:
    """(arc fractions, internal lower bound) of the LP relaxation; (None, None) on failure."""
    from .milp import build, new_highs

    lp, lay = build(problem, relax=True)
    h = new_highs(time_limit)
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None, None
    x = np.asarray(h.getSolution().col_value[: lay.n_x])
    return x, float(h.getInfo().objective_function_value)


def lp_assign(g: Dense, x: np.ndarray) -> np.ndarray:
    """Each demand to the facility of its largest LP fraction (refused below one half in admit)."""
    frac = np.zeros((g.D, g.F + 1))
    p = g.p
    frac[p.arc_demand, p.arc_facility] = x
    frac[:, g.F] = 1.0 - frac[:, : g.F].sum(axis=1)
    if g.p.mode == "serve_all":
        frac[:, g.F] = -1.0
    frac[~np.isfinite(g.W)] = -1.0
    # Ties (common in degenerate LPs) go to the cheaper facility.
    score = frac - 1e-9 * np.where(np.isfinite(g.W), g.W, 0.0)
    return np.argmax(score, axis=1)


# -- tabu search with adaptive penalties -----------------------------------------------------------
def tabu_search(
    g: Dense,
    start: np.ndarray,
    deadline: float,
    rng: np.random.Generator,
    target: float = -np.inf,
    on_best=None,
    grow: float = 1.05,
    shrink: float = 0.99,
    max_idle: int = 20_000,
) -> tuple[np.ndarray | None, float]:
    """Penalised tabu search over shift and swap moves; returns the best feasible assignment.

    Capacity and memory excess cost ``beta[f]`` / ``gamma[f]`` per unit; the weights grow on
    facilities that stay violated and shrink otherwise, so the search oscillates around the
    feasibility boundary. Stops at ``deadline`` (perf_counter) or when ``target`` is reached.
    """
    st = State(g, start)
    D, F1 = g.D, g.F + 1
    rows = np.arange(D)
    finite_w = g.W[np.isfinite(g.W)]
    spread = float(np.abs(finite_w).mean()) if finite_w.size else 1.0
    load_scale = float(g.L[g.L > 0].mean()) if np.any(g.L > 0) else 1.0
    beta = np.full(F1, spread / load_scale)
    beta[g.F] = 0.0
    mem_scale = float(g.mem[g.mem > 0].mean()) if np.any(g.mem > 0) else 1.0
    gamma = np.full(F1, spread / mem_scale)
    gamma[g.F] = 0.0
    tabu = np.zeros((D, F1), dtype=np.int64)
    capf = np.where(np.isfinite(g.cap), g.cap, np.inf)
    memf = g.mem_cap
    best, best_cost = None, np.inf
    if g.feasible(st.a):
        best, best_cost = st.a.copy(), g.true_cost(st.a)
    it = 0
    do_swap = D <= 1500
    same_model = g.model[:, None] == g.model[None, :] if (g.use_mem and do_swap) else None
    W, L = g.W, g.L
    Wsafe = np.where(np.isfinite(W), W, np.inf)
    last_best = 0
    while time.perf_counter() < deadline and best_cost > target + 1e-9:
        it += 1
        if it - last_best > max_idle:
            break
        a = st.a
        load = st.load
        exc = np.maximum(load - capf, 0.0)
        wcur = W[rows, a]
        lcur = L[rows, a]
        # Shift deltas (D, F1).
        delta = Wsafe - wcur[:, None]
        delta += beta[None, :] * (np.maximum(load[None, :] + L - capf[None, :], 0.0) - exc[None, :])
        rel = beta[a] * (np.maximum(load[a] - lcur - capf[a], 0.0) - exc[a])
        delta += rel[:, None]
        if g.use_open:
            delta += (g.Fo * (st.n == 0))[None, :]
            delta -= (g.Fo[a] * (st.n[a] == 1))[:, None]
        if g.use_mem:
            excm = np.maximum(st.memu - memf, 0.0)
            add = g.mem[:, None] * (st.cnt[g.model] == 0)
            delta += gamma[None, :] * (
                np.maximum(st.memu[None, :] + add - memf[None, :], 0.0) - excm[None, :]
            )
            drop = g.mem * (st.cnt[g.model, a] == 1)
            delta += (gamma[a] * (np.maximum(st.memu[a] - drop - memf[a], 0.0) - excm[a]))[:, None]
        delta[rows, a] = np.inf
        delta[tabu > it] = np.inf
        k = int(np.argmin(delta))
        best_shift = float(delta.flat[k])
        move = ("shift", k // F1, k % F1)
        best_delta = best_shift
        if do_swap and best_shift > -1e-9:
            # Swaps only when no shift improves: they cost O(D^2) to evaluate.
            wx = Wsafe[:, a]  # wx[i, j] = W[i, a_j]
            lx = L[:, a]  # lx[i, j] = L[i, a_j]
            # pen[i, j]: penalty change at a_i when i leaves it and j arrives (symmetric pair).
            pen = (load[a] - lcur)[:, None] + lx.T - capf[a][:, None]
            np.maximum(pen, 0.0, out=pen)
            pen -= exc[a][:, None]
            pen *= beta[a][:, None]
            sd = wx + pen
            sd = sd + sd.T
            sd -= wcur[:, None]
            sd -= wcur[None, :]
            sd[a[:, None] == a[None, :]] = np.inf
            if same_model is not None:
                sd[~same_model] = np.inf
            tab = tabu[rows[:, None], a[None, :]] > it  # i may not go to a_j
            sd[tab | tab.T] = np.inf
            k2 = int(np.argmin(sd))
            if sd.flat[k2] < best_delta - 1e-12:
                best_delta = float(sd.flat[k2])
                move = ("swap", k2 // D, k2 % D)
        if not np.isfinite(best_delta):
            tabu[:] = 0
            continue
        span = 5 + max(5, D // 10)

        def tenure(it: int = it, span: int = span) -> int:
            return it + int(rng.integers(5, span))

        if move[0] == "shift":
            _, d, f = move
            tabu[d, a[d]] = tenure()
            st.move(int(d), int(f))
        else:
            _, i, j = move
            fi, fj = a[i], a[j]
            tabu[i, fi] = tenure()
            tabu[j, fj] = tenure()
            st.move(int(i), int(fj))
            st.move(int(j), int(fi))
        # Penalty adaptation: strategic oscillation around the capacity boundary.
        over = st.load > capf + 1e-9
        beta = np.where(over, beta * grow, np.maximum(beta * shrink, 1e-6))
        beta[g.F] = 0.0
        if g.use_mem:
            overm = st.memu > memf + 1e-9
            gamma = np.where(overm, gamma * grow, np.maximum(gamma * shrink, 1e-6))
            gamma[g.F] = 0.0
            over = over | overm
        if not over.any():
            cost = g.true_cost(st.a)
            if cost < best_cost - 1e-9:
                best, best_cost, last_best = st.a.copy(), cost, it
                if on_best is not None:
                    on_best(best_cost)
    return best, best_cost


def _shift_fits(g: Dense, st: State, rows: np.ndarray | None = None) -> np.ndarray:
    """(R, F1) mask of the shifts of demands ``rows`` (all when None) that keep capacity and
    memory."""
    r = slice(None) if rows is None else rows
    L = g.L[r]
    ok = st.load[None, :] + L <= g.cap[None, :] + 1e-9
    ok &= np.isfinite(g.W[r])
    if g.cong:
        work = st.work[None, :] + g.Wk[r]
        work[:, g.F] = 0.0
        ok &= work <= g.p.rho_max + 1e-9
        # One server count per facility: the largest count present (-1: none) must match.
        present = np.where(st.cnt > 0, g.C.T, -1.0).max(axis=0)  # (F1,)
        lowest = np.where(st.cnt > 0, g.C.T, np.inf).min(axis=0)
        mine = g.C.T[g.model[r]]  # (R, F1)
        same = (present[None, :] < 0) | ((present[None, :] == mine) & (lowest[None, :] == mine))
        same[:, g.F] = True
        ok &= same
    if g.use_mem:
        add = g.mem[r][:, None] * (st.cnt[g.model[r]] == 0)
        ok &= st.memu[None, :] + add <= g.mem_cap[None, :] + 1e-9
    return ok


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
        fits = _shift_fits(g, st, cand)
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
        direct = np.flatnonzero(_shift_fits(g, st, np.array([d]))[0, : g.F])
        if direct.size:
            st.move(d, int(direct[np.argmin(g.W[d, direct])]))
            continue
        best = None
        for f in np.flatnonzero(np.isfinite(g.W[d, : g.F])):
            f = int(f)
            others = np.flatnonzero(st.a == f)
            if others.size == 0:
                continue
            fits = _shift_fits(g, st, others)
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
                fits = _shift_fits(g, trial, np.array([int(e)]))[0, : g.F]
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


def batch_descend(g: Dense, assign: np.ndarray, deadline: float) -> np.ndarray:
    """Shift descent for large instances: each pass computes every demand's best feasible shift
    once, then applies the improving ones in order, re-checking each against the current state."""
    st = State(g, assign)
    rows = np.arange(g.D)
    W = g.W
    while time.perf_counter() < deadline:
        a = st.a
        delta = np.where(_shift_fits(g, st), W - W[rows, a][:, None], np.inf)
        if g.use_open:
            delta += (g.Fo * (st.n == 0))[None, :]
            delta -= (g.Fo[a] * (st.n[a] == 1))[:, None]
        delta[rows, a] = np.inf
        best_f = np.argmin(delta, axis=1)
        gain = delta[rows, best_f]
        order = np.flatnonzero(gain < -1e-9)
        if order.size == 0:
            break
        moved = 0
        for d in order[np.argsort(gain[order])]:
            d, f = int(d), int(best_f[d])
            if time.perf_counter() >= deadline:
                break
            old = st.a[d]
            change = W[d, f] - W[d, old]
            if g.use_open:
                change += g.Fo[f] * (st.n[f] == 0) - g.Fo[old] * (st.n[old] == 1)
            if change < -1e-9 and st.fits(d, f):
                st.move(d, f)
                moved += 1
        if moved == 0:
            break
    return st.a


def descend(g: Dense, assign: np.ndarray, deadline: float) -> np.ndarray:
    """Feasible-space descent: best improving shift, else best improving swap, until none."""
    st = State(g, assign)
    D, F1 = g.D, g.F + 1
    rows = np.arange(D)
    W = np.where(np.isfinite(g.W), g.W, np.inf)
    while time.perf_counter() < deadline:
        a = st.a
        wcur = W[rows, a]
        delta = np.where(_shift_fits(g, st), W - wcur[:, None], np.inf)
        if g.use_open:
            delta += (g.Fo * (st.n == 0))[None, :]
            delta -= (g.Fo[a] * (st.n[a] == 1))[:, None]
        delta[rows, a] = np.inf
        k = int(np.argmin(delta))
        if delta.flat[k] < -1e-9:
            st.move(k // F1, k % F1)
            continue
        if D > 1500:
            break
        wx = W[:, a]
        lx = g.L[:, a]
        room = g.cap[a] - st.load[a] + g.L[rows, a]  # room at a_i once i leaves
        ok = room[:, None] + 1e-9 >= lx.T  # j fits at a_i
        ok &= ok.T
        sd = np.where(ok, wx + wx.T - wcur[:, None] - wcur[None, :], np.inf)
        sd[a[:, None] == a[None, :]] = np.inf
        if g.use_mem:
            sd[g.model[:, None] != g.model[None, :]] = np.inf
        k2 = int(np.argmin(sd))
        if sd.flat[k2] < -1e-9:
            i, j = k2 // D, k2 % D
            fi, fj = a[i], a[j]
            st.move(int(i), int(fj))
            st.move(int(j), int(fi))
            continue
        break
    return st.a


def open_close(g: Dense, assign: np.ndarray, deadline: float) -> np.ndarray:
    """Facility close moves: close an open facility with a fixed cost and greedily re-place its
    demands elsewhere; keep each closure that lowers the cost."""
    best, best_cost = assign.copy(), g.true_cost(assign)
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        st0 = State(g, best)
        for f in np.flatnonzero((st0.n[: g.F] > 0) & (g.Fo[: g.F] > 0)):
            if time.perf_counter() >= deadline:
                break
            st = State(g, best)
            demands = np.flatnonzero(best == f)
            order = demands[np.argsort(-g.L[demands, f])]
            ok = True
            for d in order:
                cand = np.flatnonzero(np.isfinite(g.W[d, : g.F]) & (np.arange(g.F) != f))
                cand = cand[np.argsort(g.W[d, cand] + g.Fo[cand] * (st.n[cand] == 0))]
                for h in cand:
                    if st.fits(int(d), int(h)):
                        st.move(int(d), int(h))
                        break
                else:
                    ok = False
                    break
            if ok:
                cost = g.true_cost(st.a)
                if cost < best_cost - 1e-9:
                    best, best_cost, improved = st.a.copy(), cost, True
                    break
    return best


class RoutingLP:
    """Optimal splittable routing for a fixed set of open facilities (and, where memory binds,
    fixed deployments): the LP relaxation of :func:`daitn_opt.qirce.milp.build` with ``z`` (and
    ``y``) fixed."""

    def __init__(self, problem: Problem) -> None:
        from .milp import build

        self.p = problem
        self.lp, self.lay = build(problem, relax=True)
        self.lower = np.asarray(self.lp.col_lower_, dtype=np.float64).copy()
        self.upper = np.asarray(self.lp.col_upper_, dtype=np.float64).copy()
        self.solves = 0

    def solve(
        self, open_mask: np.ndarray, deployed: np.ndarray | None, time_limit: float
    ) -> tuple[np.ndarray | None, float]:
        """(arc fractions, internal objective) with facilities ``open_mask`` (F,) open and, when
        memory binds, exactly the deployment pairs ``deployed`` (keys m * F + f); (None, inf)
        when infeasible."""
        from .milp import new_highs

        p, lay = self.p, self.lay
        lower, upper = self.lower.copy(), self.upper.copy()
        upper[: lay.n_x] = np.where(open_mask[p.arc_facility], upper[: lay.n_x], 0.0)
        zf = open_mask[lay.open_fac].astype(np.float64)
        lower[lay.z0 :] = zf
        upper[lay.z0 :] = zf
        if lay.pairs.size:
            on = np.isin(lay.pairs, deployed if deployed is not None else lay.pairs)
            on &= open_mask[lay.pairs % p.num_facilities]
            lower[lay.y0 : lay.z0] = on
            upper[lay.y0 : lay.z0] = on
        self.lp.col_lower_ = lower
        self.lp.col_upper_ = upper
        h = new_highs(max(0.01, time_limit))
        h.passModel(self.lp)
        h.run()
        self.solves += 1
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None, np.inf
        x = np.asarray(h.getSolution().col_value[: lay.n_x])
        x = np.where(x < 1e-9, 0.0, np.minimum(x, 1.0))
        return x, internal_objective(p, x)


def splittable_search(
    problem: Problem, starts: list[np.ndarray], deadline: float
) -> np.ndarray | None:
    """Facility close/open search over the open set, each set routed optimally by an LP.

    Starts from the facilities (and deployments) each start solution uses; a closing move drops
    one open facility with a fixed cost, an opening move adds one closed facility (deploying the
    models its arcs serve most, while memory lasts); first improvement, until no move helps or
    the deadline passes.
    """
    p = problem
    n_f = p.num_facilities
    router = RoutingLP(p)
    key = p.arc_model * n_f + p.arc_facility
    fo = p.internal_open_weight()

    def evaluate(open_mask: np.ndarray, deployed: np.ndarray | None):
        return router.solve(open_mask, deployed, deadline - time.perf_counter())

    best_x, best_c, best_open, best_dep = None, np.inf, None, None
    for x in starts:
        used = x > 1e-9
        open_mask = np.zeros(n_f, dtype=bool)
        open_mask[p.arc_facility[used]] = True
        open_mask |= fo <= 0  # a facility without fixed cost is free to use
        deployed = np.unique(key[used]) if router.lay.pairs.size else None
        y, c = evaluate(open_mask, deployed)
        if y is not None and c < best_c - 1e-9:
            best_x, best_c, best_open, best_dep = y, c, open_mask, deployed
    if best_x is None:
        return None
    demand_w = (p.rate * np.maximum(p.value, 1e-9))[p.arc_demand]
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        used_fac = np.bincount(p.arc_facility, weights=best_x, minlength=n_f)
        closable = np.flatnonzero(best_open & (fo > 0))
        for f in closable[np.argsort(-fo[closable] / np.maximum(used_fac[closable], 1e-9))]:
            if time.perf_counter() >= deadline:
                break
            trial = best_open.copy()
            trial[f] = False
            dep = None if best_dep is None else best_dep[best_dep % n_f != f]
            y, c = evaluate(trial, dep)
            if y is not None and c < best_c - 1e-9:
                best_x, best_c, best_open, best_dep, improved = y, c, trial, dep, True
                break
        if improved:
            continue
        for f in np.flatnonzero(~best_open):
            if time.perf_counter() >= deadline:
                break
            trial = best_open.copy()
            trial[f] = True
            dep = best_dep
            if dep is not None:
                arcs = np.flatnonzero(p.arc_facility == f)
                weight = np.bincount(
                    p.arc_model[arcs], weights=demand_w[arcs], minlength=p.num_models
                )
                room, add = p.facility_memory[f], []
                for m in np.argsort(-weight):
                    if weight[m] > 0 and p.model_memory[m] <= room:
                        add.append(m * n_f + f)
                        room -= p.model_memory[m]
                dep = np.union1d(dep, np.asarray(add, dtype=np.int64))
            y, c = evaluate(trial, dep)
            if y is not None and c < best_c - 1e-9:
                best_x, best_c, best_open, best_dep, improved = y, c, trial, dep, True
                break
    return best_x


# -- registered solvers ---------------------------------------------------------------------------
def _result(
    problem: Problem,
    solver: str,
    g: Dense,
    assign: np.ndarray | None,
    *,
    bound: float | None = None,
    trace: list[TracePoint] | None = None,
    stats: dict | None = None,
    x: np.ndarray | None = None,
) -> Result:
    from .milp import infeasible_result

    bad = infeasible_result(problem, solver)
    if bad is not None:
        return bad
    if (
        assign is None
        or (g.p.mode == "serve_all" and np.any(assign == g.F))
        or not g.feasible(assign)
    ):
        left = [] if assign is None else np.flatnonzero(assign == g.F).tolist()
        shown = ", ".join(problem.demand_ids[d] for d in left[:5])
        return Result(
            problem="qirce",
            solver=solver,
            status=Status.NO_SOLUTION,
            sense=problem.sense,
            bound=bound,
            message=f"no feasible assignment found; unplaced demand: {shown or '-'}"
            + (f" (+{len(left) - 5})" if len(left) > 5 else ""),
            trace=trace or [],
            stats=stats or {},
        )
    if x is None:
        x = g.x_of(assign)
    obj = problem.reported(internal_objective(problem, x))
    status = Status.FEASIBLE
    if bound is not None and abs(obj - bound) <= 1e-9 * max(1.0, abs(obj)):
        status = Status.OPTIMAL
    return Result(
        problem="qirce",
        solver=solver,
        status=status,
        sense=problem.sense,
        objective=obj,
        bound=bound,
        solution=build_solution(problem, x),
        trace=trace if trace else [TracePoint(0.0, obj, bound)],
        stats=stats or {},
    )


@register(
    "qirce",
    "nearest",
    exact=False,
    description="each demand to the nearest facility with room (baseline)",
    params=NoParams,
)
@settled
def solve_nearest(problem: Problem, options: SolveOptions) -> Result:
    g = Dense(problem)
    return _result(problem, "nearest", g, nearest_assign(g))


@register(
    "qirce",
    "greedy",
    exact=False,
    description="Martello-Toth regret greedy, best of several desirabilities",
    params=NoParams,
)
@settled
def solve_greedy(problem: Problem, options: SolveOptions) -> Result:
    """Checks the clock: at the time limit (less a reserve to build the result) the best
    complete, feasible assignment found so far is returned, else ``no_solution``."""
    deadline = time.perf_counter() + options.remaining() - max(0.05, 0.05 * options.time_limit)
    g = Dense(problem)
    if problem.congestion != "none":
        from .congestion import insertion

        assign = insertion(g, deadline, options.seed)
    else:
        assign = greedy_assign(g, deadline=deadline)
    if assign is None and time.perf_counter() >= deadline:
        return Result(
            problem="qirce",
            solver="greedy",
            status=Status.NO_SOLUTION,
            sense=problem.sense,
            message="time limit reached before the greedy placed every demand",
        )
    return _result(problem, "greedy", g, assign)


def local_search(
    problem: Problem, budget: float, seed: int = 0, on_best=None, max_idle: int = 20_000
) -> tuple[np.ndarray | None, float | None, dict]:
    """LP-guided tabu search; returns (arc fractions or None, internal LP bound or None, stats)."""
    t_start = time.perf_counter()
    t_end = t_start + budget
    lp_affordable = problem.num_arcs * (2 if problem.memory_binding else 1) <= LP_ARCS
    if not lp_affordable:
        # Keep the last quarter for a Lagrangian bound (the LP would take too long).
        t_end = t_start + 0.75 * budget
    # Splittable routing keeps half the budget for the LP-routed open/close search (when the
    # routing LP is small enough to be solved repeatedly).
    routed = not problem.single_source and problem.num_arcs <= LP_ARCS
    ls_end = t_start + 0.5 * budget if routed else t_end
    g = Dense(problem)
    if problem.congestion != "none":
        return _congestion_search(g, t_start + budget, on_best, seed)
    rng = np.random.default_rng(seed)
    stats: dict = {}
    x_lp, lb = (None, None)
    large = g.D > LARGE_DEMANDS
    # The LP relaxation guides the start and bounds the optimum, when it is cheap enough.
    if lp_affordable:
        x_lp, lb = lp_relaxation(problem, max(0.05, 0.5 * budget))
    if x_lp is not None:
        start = lp_assign(g, x_lp)
    else:  # one regret pass: on large instances each takes seconds
        start = greedy_assign(g, first_feasible=large, deadline=ls_end)
        if start is None:  # out of time: nothing complete to improve
            return None, lb, stats
    best, best_cost = None, np.inf

    def consider(a: np.ndarray) -> None:
        nonlocal best, best_cost
        if g.feasible(a) and (problem.mode == "admit" or not np.any(a == g.F)):
            c = g.true_cost(a)
            if c < best_cost - 1e-9:
                best, best_cost = a.copy(), c
                if on_best is not None:
                    on_best(c)

    # A feasible fallback first: the repaired start, improved by descent.
    improve = batch_descend if large else descend
    current = improve(g, repair(g, start, ls_end), ls_end)
    for _ in range(3):  # descent frees room: retry placing what is still refused
        if g.big <= 0 or not np.any(current == g.F) or time.perf_counter() >= ls_end:
            break
        current = improve(g, insert_refused(g, State(g, current), ls_end), ls_end)
    consider(current)
    target = -np.inf
    if lb is not None:
        from .milp import internal_bound

        target = internal_bound(problem, lb)
        stats["lp_bound"] = problem.reported(lb)
    if best_cost > target + 1e-9 and not large:
        found, _ = tabu_search(g, start, ls_end, rng, target=target, max_idle=max_idle)
        if found is not None:
            consider(descend(g, found, ls_end + 0.05 * budget))
    if best is None and time.perf_counter() < t_end:
        found = greedy_assign(g, deadline=t_end)
        if found is not None:
            consider(found)
    if best is not None and g.use_open:
        best = open_close(g, best, ls_end + 0.1 * budget)
    if best is None:
        return None, lb, stats
    if problem.mode == "serve_all" and np.any(best == g.F):
        return None, lb, stats
    x = g.x_of(best)
    if not lp_affordable:
        from .lagrangian import lagrangian_bound

        lb = lagrangian_bound(problem, best_cost, t_start + budget)
        if lb is not None:
            stats["lagrangian_bound"] = problem.reported(lb)
    if routed:
        starts = [x] if x_lp is None else [x, x_lp]
        split = splittable_search(problem, starts, t_end)
        if split is not None and internal_objective(problem, split) < internal_objective(
            problem, x
        ):
            x = split
    return x, lb, stats


def _congestion_search(
    g: Dense, deadline: float, on_best=None, seed: int = 0
) -> tuple[np.ndarray | None, float | None, dict]:
    """Congestion-aware search: the better of the congestion insertion and the regret greedy
    (both priced with the queueing penalty), improved by shifts until ``deadline``."""
    from .congestion import descent, insertion

    starts = [insertion(g, deadline, seed), greedy_assign(g, deadline=deadline)]
    best, best_cost = None, np.inf
    for a in starts:
        if a is None or not g.feasible(a) or (g.big > 0 and np.any(a == g.F)):
            continue
        a = descent(g, a, deadline)
        cost = g.true_cost(a)
        if cost < best_cost - 1e-12:
            best, best_cost = a, cost
            if on_best is not None:
                on_best(cost)
    if best is None:
        return None, None, {}
    return g.x_of(best), None, {}


def warm_start_budget(problem: Problem, remaining: float) -> float:
    """Seconds an exact solver spends on its heuristic warm start: a twentieth of its time
    (at most 1 s) on small instances, a fifth (at most 10 s) above ``LARGE_DEMANDS`` demands,
    where a good start matters more than early branching."""
    if problem.num_demands > LARGE_DEMANDS:
        return min(10.0, 0.2 * remaining)
    return min(1.0, 0.05 * remaining)


def fits(problem: Problem, x: np.ndarray, tol: float = 1e-7) -> bool:
    """Whether arc fractions ``x`` are a feasible solution: fractions in [0, 1] (0/1 when
    single-source), every demand served once (serve-all) or at most once, loads within
    capacity, deployed models within memory."""
    p = problem
    if x.shape != (p.num_arcs,) or np.any(x < -tol) or np.any(x > 1 + tol):
        return False
    if p.single_source and np.any(np.minimum(np.abs(x), np.abs(1 - x)) > tol):
        return False
    served = np.bincount(p.arc_demand, weights=x, minlength=p.num_demands)
    if np.any(served > 1 + tol) or (p.mode == "serve_all" and np.any(served < 1 - tol)):
        return False
    load = np.bincount(p.arc_facility, weights=p.arc_load * x, minlength=p.num_facilities)
    if np.any(load > p.capacity + tol * np.maximum(1.0, p.capacity)):
        return False
    used = x > tol
    if p.memory_binding and used.any():
        pairs = np.unique(p.arc_model[used] * p.num_facilities + p.arc_facility[used])
        mem = np.bincount(
            pairs % p.num_facilities,
            weights=p.model_memory[pairs // p.num_facilities],
            minlength=p.num_facilities,
        )
        if np.any(mem > p.facility_memory + tol):
            return False
    if p.congestion != "none":
        from .queueing import congestion_ok

        return congestion_ok(p, x)
    return True


def warm_start(problem: Problem, options: SolveOptions) -> tuple[np.ndarray | None, float | None]:
    """The exact solvers' start: (arc fractions, internal lower bound or None).

    ``options.initial`` when it fits the problem; otherwise (unless ``warm_start=False``) the
    local search within :func:`warm_start_budget`, with the LP or Lagrangian bound it computed.
    """
    from .solution import arcs_from_solution

    x0 = arcs_from_solution(problem, options.initial)
    if x0 is not None and not fits(problem, x0):
        x0 = None  # an infeasible start is ignored
    if x0 is not None or not options.params.warm_start:
        return x0, None
    from .milp import infeasible_result

    if problem.num_arcs == 0 or infeasible_result(problem, "ls") is not None:
        return None, None
    budget = warm_start_budget(problem, options.remaining())
    x, lb, _ = local_search(problem, budget, options.seed)
    return x, lb


def best_heuristic(problem: Problem, budget: float, seed: int = 0) -> np.ndarray | None:
    """Arc fractions of the best heuristic solution within ``budget`` seconds (a warm start)."""
    from .milp import infeasible_result

    if problem.num_arcs == 0 or infeasible_result(problem, "ls") is not None:
        return None
    x, _, _ = local_search(problem, budget, seed)
    return x


@dataclass(frozen=True)
class LsParams:
    """Parameters of the ``ls`` solver."""

    budget: float | None = param(None, "seconds of search (default: 85 % of the time limit)")
    max_idle: int | None = param(
        None,
        "tabu iterations without a new best before stopping "
        "(default: 50 per demand, between 2,000 and 20,000)",
    )


@register(
    "qirce",
    "ls",
    exact=False,
    description="LP-guided tabu search: shift/swap with adaptive penalties, close/open facility",
    params=LsParams,
)
@settled
def solve_ls(problem: Problem, options: SolveOptions) -> Result:
    """LP-guided tabu search (parameters: :class:`LsParams`)."""
    from .milp import infeasible_result, trivial_result

    bad = infeasible_result(problem, "ls") or trivial_result(problem, "ls")
    if bad is not None:
        return bad
    params = options.params
    budget = params.budget
    if budget is None:
        budget = max(0.05, 0.85 * options.remaining())
    trace: list[TracePoint] = []

    def on_best(internal: float) -> None:
        trace.append(TracePoint(options.elapsed(), problem.reported(internal), None))

    max_idle = params.max_idle
    if max_idle is None:
        max_idle = min(20_000, max(2_000, 50 * problem.num_demands))
    x, lb, stats = local_search(problem, budget, options.seed, on_best=on_best, max_idle=max_idle)
    bound = problem.reported(lb) if lb is not None else None
    if x is None:
        return _result(problem, "ls", Dense(problem), None, bound=bound, trace=trace, stats=stats)
    g = Dense(problem)
    # Proven optimal when the objective meets the LP bound (rounded up for integer data).
    obj_int = internal_objective(problem, x)
    if lb is not None:
        from .milp import internal_bound

        # Integral objectives (single-source, integer data): the bound rounds up.
        bound = problem.reported(internal_bound(problem, lb))
    assign = None
    if problem.single_source or np.all((x < 1e-9) | (x > 1 - 1e-9)):
        assign = np.full(g.D, g.F)
        used = np.flatnonzero(x > 0.5)
        assign[problem.arc_demand[used]] = problem.arc_facility[used]
    if assign is not None and g.feasible(assign):
        return _result(problem, "ls", g, assign, bound=bound, trace=trace, stats=stats, x=x)
    obj = problem.reported(obj_int)
    return Result(
        problem="qirce",
        solver="ls",
        status=Status.FEASIBLE,
        sense=problem.sense,
        objective=obj,
        bound=bound,
        solution=build_solution(problem, x),
        trace=[*trace, TracePoint(options.elapsed(), obj, bound)],
        stats=stats,
    )
