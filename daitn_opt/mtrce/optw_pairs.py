"""Which pairs of customers one route can serve, and in which order, given their time windows.

On one route, ``i`` can be served before ``j`` (anywhere before, not only just before) only when
``earliest[i] + sp[i, j] <= latest[j]``, with ``sp`` the shortest transit (service plus travel)
from ``i`` to ``j`` and ``earliest``/``latest`` the bounds of their service starts. When neither
order is possible the two are never on the same route; when only one is, a route visiting both
starts ``j`` at least ``sp[i, j]`` after ``i``. The exact models cannot see either fact from the
arcs alone until a path is fixed: stated up front, the first is a clique in the LP (at most one
of the two is visited) and the second propagates the windows between visits that are far apart
on the route. Narrow windows (Solomon's c1, r1, rc1 OPTW sets) make many pairs incompatible.

Measured with CP-SAT (``cpsat``'s ``window_pairs``, off by default), Solomon OPTW, 60 s, the
two arms run side by side at load ~30: the bound falls (c102 at 40 s: 420 -> 380) but proofs
come later: c101 proved in 37 s without, not in 60 s with all pairs (54 s with the ``apart``
clauses only), r101 8 s without, 38 s with (20 s apart only). CP-SAT's presolve and propagation
pay more for the extra constraints than the bound wins. A MILP may fare differently (the
``apart`` pairs are clique rows there).

Everything is in the caller's units (the CP-SAT model's integer times): the conditions are
necessary for feasibility in those units, so a model that adds them keeps the same routes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WindowPairs:
    """Pairs of model nodes (customers only) that the windows restrict."""

    apart: np.ndarray
    """``(p, 2)``: never both on one route (neither order fits the windows)."""
    ordered: np.ndarray
    """``(q, 2)``: ``[i, j]`` both visited only with ``i`` first."""
    gap: np.ndarray
    """``(q,)``: the least difference of their service starts, ``sp[i, j]``."""


def shortest_transit(transit: np.ndarray) -> np.ndarray:
    """All-pairs shortest transit (Floyd-Warshall, one numpy pass per intermediate node);
    negative entries (no arc) count as missing."""
    sp = np.where(transit >= 0, transit.astype(np.float64), np.inf)
    np.fill_diagonal(sp, 0.0)
    for k in range(len(sp)):
        np.minimum(sp, sp[:, k : k + 1] + sp[k : k + 1, :], out=sp)
    return sp


def window_pairs(
    transit: np.ndarray, earliest: np.ndarray, latest: np.ndarray, active: np.ndarray
) -> WindowPairs:
    """The restricted pairs among the ``active`` nodes (a boolean mask; the depot, node 0, and
    nodes that are never visited should be inactive).

    ``transit[i, j]`` is the time from the start of service at ``i`` to the arrival at ``j``
    (service of ``i`` plus travel), ``earliest``/``latest`` bound each service start.
    """
    sp = shortest_transit(transit)
    fits = earliest[:, None] + sp <= latest[None, :]
    both = active[:, None] & active[None, :]
    np.fill_diagonal(both, False)
    apart = np.argwhere(np.triu(both & ~fits & ~fits.T))
    only = both & fits & ~fits.T
    ordered = np.argwhere(only)
    gap = sp[only]
    keep = np.isfinite(gap) & (gap > 0)
    return WindowPairs(apart=apart, ordered=ordered[keep], gap=gap[keep])
