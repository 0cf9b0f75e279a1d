"""The LP relaxation of the QIRCE MILP, used by the heuristics as a guide and a bound.

:func:`lp_relaxation` solves it (HiGHS) for a lower bound and a fractional routing;
:func:`lp_assign` rounds that routing to a start (each demand to its largest fraction);
:class:`RoutingLP` re-solves it with the open facilities (and deployments) fixed: the optimal
splittable routing of a given set of deployments.
"""

from __future__ import annotations

import highspy
import numpy as np

from .assignment import Dense
from .milp import build, new_highs
from .problem import Problem
from .solution import internal_objective

LP_ARCS = 60_000
"""The LP relaxation guides the search only up to this many arcs (doubled with memory rows)."""


def lp_relaxation(problem: Problem, time_limit: float) -> tuple[np.ndarray | None, float | None]:
    """(arc fractions, internal lower bound) of the LP relaxation; (None, None) on failure."""

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


class RoutingLP:
    """Optimal splittable routing for a fixed set of open facilities (and, where memory binds,
    fixed deployments): the LP relaxation of :func:`daitn_opt.qirce.milp.build` with ``z`` (and
    ``y``) fixed."""

    def __init__(self, problem: Problem) -> None:

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
