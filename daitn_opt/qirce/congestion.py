"""Heuristics of congestion-aware QIRCE (``congestion="md1"``): insertion and descent on the
full objective, queueing penalty included.

The penalty of a facility depends on everything routed there (its utilisation and the longest
service time), so moves are priced by recomputing the two facilities a move touches
(:meth:`Pricer.facility`): ``violation_weight * sum_a r_d Vhat_a(rho_f)`` over its demands.
Both functions check the clock; at the deadline they return what they have (the insertion
returns None when demand is still unplaced in serve-all mode: a partial assignment is no
solution).
"""

from __future__ import annotations

import time

import numpy as np

from .assignment import Dense, State
from .construction import insert_refused
from .queueing import arc_sigma, linearised_violation


class Pricer:
    """Per-facility queueing penalty of a set of demands."""

    def __init__(self, g: Dense) -> None:
        p = g.p
        self.g = g
        self.rate = p.rate

        self.sigma = np.zeros((g.D, g.F + 1))
        self.sigma[p.arc_demand, p.arc_facility] = arc_sigma(p)
        self.budget = np.full((g.D, g.F + 1), np.inf)
        self.budget[p.arc_demand, p.arc_facility] = (
            p.slo_ms[p.arc_demand] - p.arc_latency
        ) / 1000.0
        self.weight = float(p.violation_weight)
        self.rho_max = float(p.rho_max)

    def facility(self, f: int, members: np.ndarray) -> float:
        """Penalty of facility ``f`` serving ``members`` (demand indices); 0 for refusal."""
        g = self.g
        if f == g.F or members.size == 0:
            return 0.0
        s_max = float(self.sigma[members, f].max())
        if s_max <= 0:
            return 0.0
        rho = float(g.Wk[members, f].sum())
        ratio = np.maximum(self.budget[members, f], 0.0) / s_max
        prob = linearised_violation(np.full(members.size, rho), ratio, self.rho_max)
        return self.weight * float(np.dot(self.rate[members], prob))


def _members(st: State, f: int) -> np.ndarray:
    return np.flatnonzero(st.a == f)


def _open_delta(g: Dense, st: State, d: int, f: int) -> float:
    """Open-cost change of moving ``d`` from its facility to ``f``."""
    if not g.use_open or f == st.a[d]:
        return 0.0
    old = st.a[d]
    delta = g.Fo[f] if st.n[f] == 0 else 0.0
    return delta - (g.Fo[old] if st.n[old] == 1 else 0.0)


RESTARTS = 50
"""Randomised insertion orders tried (seeded) when the fixed orders leave demand unplaced."""


def insertion(g: Dense, deadline: float, seed: int = 0) -> np.ndarray | None:
    """Demands by decreasing work (then, when that leaves serve-all demand unplaced, the most
    constrained first: fewest eligible facilities), each to the facility (or refusal, in admit
    mode) that adds the least to the full objective; when serve-all demand is still left, a
    best fit on capacity (:func:`_best_fit`), then up to :data:`RESTARTS` orders by work
    perturbed by a seeded factor in [0.5, 1.5]. None at the deadline or when serve-all demand
    is left."""
    work = np.where(np.isfinite(g.W[:, : g.F]), g.Wk[:, : g.F], 0.0).max(axis=1)
    choices = np.isfinite(g.W[:, : g.F]).sum(axis=1)
    rng = np.random.default_rng(seed)
    orders = [
        lambda: np.argsort(-(work + 1e-12 * g.p.rate), kind="stable"),
        lambda: np.lexsort((-work, choices)),
    ]
    orders += [
        lambda: np.argsort(-(work + 1e-12 * g.p.rate) * rng.uniform(0.5, 1.5, g.D))
    ] * RESTARTS
    for k, order in enumerate(orders):
        if time.perf_counter() >= deadline:
            return None
        a = _insert(g, order(), deadline)
        if a is not None:
            return a
        if k == 1 and g.big > 0:
            # Feasibility first: best fit on capacity, most constrained demand first.
            for fit_order in (np.lexsort((-g.p.rate, choices)), np.argsort(-g.p.rate)):
                a = _best_fit(g, fit_order, deadline)
                if a is not None:
                    return a
    return None


def _best_fit(g: Dense, order: np.ndarray, deadline: float) -> np.ndarray | None:
    """Each demand to the facility it fits with the least capacity left (best fit), then
    ejection chains for what is left; None when serve-all demand is still unplaced."""

    st = State(g, np.full(g.D, g.F))
    for d in order:
        if time.perf_counter() >= deadline:
            return None
        d = int(d)
        fits = [int(f) for f in np.flatnonzero(np.isfinite(g.W[d, : g.F])) if st.fits(d, int(f))]
        if fits:
            st.move(d, min(fits, key=lambda f: g.cap[f] - st.load[f] - g.L[d, f]))
    left = insert_refused(g, st, deadline)
    return None if np.any(left == g.F) else left


def _insert(g: Dense, order: np.ndarray, deadline: float) -> np.ndarray | None:
    pr = Pricer(g)
    st = State(g, np.full(g.D, g.F))
    penalty = np.zeros(g.F + 1)
    for d in order:
        if time.perf_counter() >= deadline:
            return None
        d = int(d)
        best_f, best = g.F, (g.W[d, g.F] if g.big <= 0 else np.inf)
        for f in np.flatnonzero(np.isfinite(g.W[d, : g.F])):
            f = int(f)
            if not st.fits(d, f):
                continue
            new = pr.facility(f, np.append(_members(st, f), d))
            delta = g.W[d, f] + new - penalty[f] + _open_delta(g, st, d, f)
            if delta < best - 1e-12:
                best_f, best = f, delta
        if best_f < g.F:
            st.move(d, best_f)
            penalty[best_f] = pr.facility(best_f, _members(st, best_f))
    if g.big > 0 and np.any(st.a == g.F):
        left = insert_refused(g, st, deadline)  # ejection chains for what did not fit
        return None if np.any(left == g.F) else left
    return st.a


def descent(g: Dense, assign: np.ndarray, deadline: float) -> np.ndarray:
    """First-improvement shifts on the full objective (refusal included in admit mode) until no
    shift improves or the deadline passes."""
    pr = Pricer(g)
    st = State(g, assign)
    penalty = np.array([pr.facility(f, _members(st, f)) for f in range(g.F + 1)])
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for d in range(g.D):
            if time.perf_counter() >= deadline:
                break
            old = int(st.a[d])
            old_members = _members(st, old)
            old_after = pr.facility(old, old_members[old_members != d])
            cands = np.flatnonzero(np.isfinite(g.W[d, : g.F])).tolist()
            if g.big <= 0:
                cands.append(g.F)
            for f in cands:
                if f == old or not st.fits(d, f):
                    continue
                new = pr.facility(f, np.append(_members(st, f), d))
                delta = (
                    g.W[d, f]
                    - g.W[d, old]
                    + new
                    - penalty[f]
                    + old_after
                    - penalty[old]
                    + _open_delta(g, st, d, f)
                )
                if delta < -1e-9:
                    st.move(d, f)
                    penalty[f], penalty[old] = new, old_after
                    improved = True
                    break
    return st.a
