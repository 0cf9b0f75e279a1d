"""Single-source assignments on dense (demand x facility) matrices, shared by the heuristics.

:class:`Dense` holds a problem's arc data as (D, F + 1) matrices whose last column is the
*refusal* column (serving nothing costs 0 in admit mode and a large penalty in serve-all mode,
so every method handles both modes); :class:`State` keeps the loads, memory and model counts of
one assignment up to date move by move; :func:`shift_fits` says which single moves keep every
capacity.
"""

from __future__ import annotations

import numpy as np

from .problem import Problem
from .queueing import arc_work, congestion_term, servers

EPS = 1e-9


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


def shift_fits(g: Dense, st: State, rows: np.ndarray | None = None) -> np.ndarray:
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
