"""A Lagrangian lower bound for QIRCE when the LP relaxation is too large to solve quickly.

Relaxing the demand rows (1) of ``formulations/qirce.md`` with multipliers ``λ_d`` (free for
``= 1``, ``λ_d <= 0`` for Q-FAM's ``<= 1``) and the memory rows, in the weaker but valid form
``Σ_a μ_m(a) w_a x_a / K_f <= Μ_f z_f`` (deployments relaxed to ``y_mf >= load / K_f``), with
``ν_f >= 0`` splits the problem by facility (Geoffrion 1974; the classic bound for
capacitated facility location, e.g. Cornuéjols, Sridharan and Thizy 1991):

    L(λ, ν) = Σ_d λ_d + Σ_f min(0, φ_f − ν_f Μ_f
                                  + min { Σ_a (ω_a − λ_d + ν_f μ_m w_a / K_f) x_a :
                                          Σ_a w_a x_a <= K_f, 0 <= x <= 1 })

Each inner problem is a fractional knapsack (items with negative reduced cost, best ratio first),
solved for all facilities at once with one sort. ``L`` is a lower bound on the internal
(minimised) objective for every admissible ``λ, ν``; subgradient steps (Polyak's rule towards the
best known upper bound; the shared routine :func:`daitn_opt.subgradient.subgradient`) raise it.
"""

from __future__ import annotations

import numpy as np

from ..subgradient import subgradient
from .problem import Problem


def lagrangian_value(
    problem: Problem, lam: np.ndarray, nu: np.ndarray | None = None
) -> tuple[float, np.ndarray, np.ndarray]:
    """(L(λ, ν), x, z) for multipliers ``lam`` (D,) on the demand rows and ``nu`` (F,) >= 0 on
    the memory rows in their relaxed form ``Σ_a μ_m(a) w_a x_a / K_f <= Μ_f z_f`` (valid because
    ``y_mf >= load of m at f / K_f``, by rows (3')); ``nu`` None drops memory."""
    p = problem
    w = p.internal_arc_weight()
    fo = p.internal_open_weight()
    red = w - lam[p.arc_demand]
    fo_eff = fo.astype(np.float64).copy()
    if nu is not None:
        cap = np.where(p.capacity > 0, p.capacity, 1.0)
        red = (
            red
            + nu[p.arc_facility] * p.model_memory[p.arc_model] * p.arc_load / cap[p.arc_facility]
        )
        mem = np.where(np.isfinite(p.facility_memory), p.facility_memory, 0.0)
        fo_eff = fo_eff - nu * mem
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
        capf = p.capacity[f]
        prev = used - ld
        safe = np.where(ld > 0, ld, 1.0)
        frac = np.where(used <= capf + 1e-12, 1.0, np.clip((capf - prev) / safe, 0.0, 1.0))
        x[a] = frac
    per_fac = np.bincount(p.arc_facility, weights=red * x, minlength=p.num_facilities)
    open_value = fo_eff + per_fac
    z = open_value < 0
    x[~z[p.arc_facility]] = 0.0
    return float(lam.sum() + np.minimum(open_value, 0.0).sum()), x, z


def lagrangian_bound(
    problem: Problem, upper: float, deadline: float, iterations: int = 300
) -> float | None:
    """Best ``L(λ, ν)`` found by subgradient optimisation before ``deadline`` (perf_counter), a
    lower bound on the internal objective; ``upper`` (a feasible objective) steers the step
    length (Polyak's rule, :func:`daitn_opt.subgradient.subgradient`). Memory rows get
    multipliers when memory binds."""
    p = problem
    if p.num_demands == 0 or p.num_arcs == 0:
        return None
    d = p.num_demands
    equality = p.mode == "serve_all"
    use_mem = p.memory_binding
    cap = np.where(p.capacity > 0, p.capacity, 1.0)
    finite_mem = np.isfinite(p.facility_memory)
    mem_cap = np.where(finite_mem, p.facility_memory, 0.0)
    # Memory used per unit of routed fraction on each arc (rows (3') relaxed).
    mem_rate = p.model_memory[p.arc_model] * p.arc_load / cap[p.arc_facility]

    def evaluate(y: np.ndarray) -> tuple[float, np.ndarray]:
        lam, nu = y[:d], (y[d:] if use_mem else None)
        value, x, z = lagrangian_value(p, lam, nu)
        served = np.bincount(p.arc_demand, weights=x, minlength=d)
        grad = 1.0 - served
        if not equality:  # lam <= 0: a multiplier at 0 cannot rise
            grad = np.where((lam >= 0) & (grad > 0), 0.0, grad)
        if not use_mem:
            return value, grad
        usage = np.bincount(p.arc_facility, weights=mem_rate * x, minlength=p.num_facilities)
        gnu = usage - mem_cap * z
        gnu = np.where((nu <= 0) & (gnu < 0), 0.0, gnu)
        gnu[~finite_mem] = 0.0  # no memory row where memory is unlimited
        return value, np.concatenate([grad, gnu])

    def project(y: np.ndarray) -> np.ndarray:
        if not equality:
            y[:d] = np.minimum(y[:d], 0.0)
        if use_mem:
            y[d:] = np.maximum(y[d:], 0.0)
        return y

    # Start at the cheapest arc per demand: L equals the bound "each demand at its cheapest
    # facility, nothing opened".
    lam = np.full(d, np.inf)
    np.minimum.at(lam, p.arc_demand, p.internal_arc_weight())
    lam = np.where(np.isfinite(lam), lam, 0.0)
    y0 = np.concatenate([lam, np.zeros(p.num_facilities if use_mem else 0)])
    best, _ = subgradient(
        evaluate,
        project(y0),
        maximise=True,
        target=upper,
        project=project,
        theta=0.5,
        patience=5,
        iterations=iterations,
        deadline=deadline,
        relative_tolerance=True,
    )
    return best if np.isfinite(best) else None
