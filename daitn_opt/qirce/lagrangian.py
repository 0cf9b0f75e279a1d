"""A Lagrangian lower bound for QIRCE when the LP relaxation is too large to solve quickly.

Relaxing the demand rows (1) of ``formulations/qirce.md`` with multipliers ``λ_d`` (free for
``= 1``, ``λ_d <= 0`` for Q-FAM's ``<= 1``) and dropping the memory rows (a relaxation, so the
bound stays valid) splits the problem by facility (Geoffrion 1974; the classic bound for
capacitated facility location, e.g. Cornuéjols, Sridharan and Thizy 1991):

    L(λ) = Σ_d λ_d + Σ_f min(0, φ_f + min { Σ_a (ω_a − λ_d) x_a : Σ_a w_a x_a <= K_f, 0 <= x <= 1 })

Each inner problem is a fractional knapsack (items with negative reduced cost, best ratio first),
solved for all facilities at once with one sort. ``L(λ)`` is a lower bound on the internal
(minimised) objective for every admissible ``λ``; subgradient steps (Polyak's rule towards the
best known upper bound) raise it.
"""

from __future__ import annotations

import time

import numpy as np

from .problem import Problem


def lagrangian_value(problem: Problem, lam: np.ndarray) -> tuple[float, np.ndarray]:
    """(L(λ), x) for multipliers ``lam`` (D,): the bound and the inner problems' arc values."""
    p = problem
    w = p.internal_arc_weight()
    fo = p.internal_open_weight()
    red = w - lam[p.arc_demand]
    neg = np.flatnonzero(red < 0)
    x = np.zeros(p.num_arcs)
    if neg.size:
        load = p.arc_load[neg]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(load > 0, red[neg] / load, -np.inf)
        fac = p.arc_facility[neg]
        order = np.lexsort((ratio, fac))
        a, f, ld = neg[order], fac[order], load[order]
        cum = np.cumsum(ld)
        start = np.searchsorted(f, f, side="left")
        before = np.where(start > 0, cum[start - 1], 0.0)
        used = cum - before  # load of this facility's items up to and including this one
        cap = p.capacity[f]
        prev = used - ld
        frac = np.where(
            used <= cap + 1e-12, 1.0, np.clip((cap - prev) / np.where(ld > 0, ld, 1.0), 0.0, 1.0)
        )
        x[a] = frac
    per_fac = np.bincount(p.arc_facility, weights=red * x, minlength=p.num_facilities)
    open_value = fo + per_fac
    closed = open_value >= 0
    x[closed[p.arc_facility]] = 0.0
    return float(lam.sum() + np.minimum(open_value, 0.0).sum()), x


def lagrangian_bound(
    problem: Problem, upper: float, deadline: float, iterations: int = 300
) -> float | None:
    """Best ``L(λ)`` found by subgradient optimisation before ``deadline`` (perf_counter), a lower
    bound on the internal objective; ``upper`` (a feasible objective) steers the step length."""
    p = problem
    if p.num_demands == 0 or p.num_arcs == 0:
        return None
    w = p.internal_arc_weight()
    # Start at the cheapest arc per demand: L equals the bound "each demand at its cheapest
    # facility, nothing opened".
    lam = np.full(p.num_demands, np.inf)
    np.minimum.at(lam, p.arc_demand, w)
    lam = np.where(np.isfinite(lam), lam, 0.0)
    equality = p.mode == "serve_all"
    if not equality:
        lam = np.minimum(lam, 0.0)
    best = -np.inf
    theta, stall = 2.0, 0
    for _ in range(iterations):
        if time.perf_counter() >= deadline:
            break
        value, x = lagrangian_value(p, lam)
        if not np.isfinite(best) or value > best + 1e-9 * max(1.0, abs(best)):
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 10:
                theta, stall = theta / 2.0, 0
                if theta < 1e-4:
                    break
        served = np.bincount(p.arc_demand, weights=x, minlength=p.num_demands)
        grad = 1.0 - served
        if not equality:
            grad = np.where((lam >= 0) & (grad > 0), 0.0, grad)
        norm = float(grad @ grad)
        if norm < 1e-12:
            break
        lam = lam + theta * max(upper - value, 1e-9 * max(1.0, abs(upper))) / norm * grad
        if not equality:
            lam = np.minimum(lam, 0.0)
    return best if np.isfinite(best) else None
