"""Separation of (generalized) subtour elimination constraints for the MTRCE MILPs.

The MILPs of :mod:`daitn_opt.mtrce.milp` and :mod:`daitn_opt.mtrce.pyomo_model` leave out the
exponentially many subtour elimination constraints and add the violated ones lazily. With the
start ``s`` and the end ``e`` merged into one root ``r`` (a route ``s -> ... -> e`` plus a
virtual arc ``e -> s`` is a cycle through ``r``), a set ``S`` of customers and a node ``k`` in
``S`` give the cut (formulations/mtrce.md, constraints (C1) and (C2)):

- undirected edges: ``x(delta(S)) >= 2 y_k`` (the generalized subtour elimination constraint of
  Fischetti, Salazar-Gonzalez and Toth 1998 in cut form);
- directed arcs: ``x(delta^-(S)) >= y_k``.

With undirected edges and ``s != e`` (a path) the LP separation does not merge them: the path
is closed by a virtual edge ``{e, s}`` of value 1 and ``S`` may hold ``e`` (``y_e = 1``), giving
``x(delta(S)) >= 2 y_k - 1`` and ``x(delta(S)) >= 1`` (``k = e``). Merged, a fractional point may
run a cycle through the start that never reaches the end (Chao set 64, budget 15: LP bound
149 merged, 104 unmerged, optimum 96).

A violated cut for a fractional point is a minimum ``r``-``k`` cut of the support graph with
capacities ``x`` whose value is below ``2 y_k`` (resp. ``y_k``): :func:`fractional_cuts` finds
them with one maximum flow per candidate ``k`` (Padberg and Rinaldi 1991; the connected
components of the support are tried first, as they give the cuts of value 0 cheaply). For an
integer point the components are all there is: :func:`integer_cuts`.

This module only sees numbers (edge endpoints and values); it builds no model.

Example
-------
Customers 1 and 2 joined to each other but not to the root 0 (edge values of an integer point):

>>> import numpy as np
>>> point = Point(n=4, tails=np.array([0, 1]), heads=np.array([3, 2]), values=np.ones(2),
...               y=np.array([1.0, 1.0, 1.0, 1.0]), customers=np.array([1, 2, 3]), start=0, end=0)
>>> integer_cuts(point)
[Cut(nodes=(1, 2), k=1)]
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import breadth_first_order, connected_components, maximum_flow

FLOW_SCALE = 1_000_000
"""Capacities are scaled to integers for :func:`scipy.sparse.csgraph.maximum_flow`."""


@dataclass(frozen=True)
class Cut:
    """A violated subtour cut: the customer set ``S`` (sorted indices) and its node ``k``."""

    nodes: tuple[int, ...]
    k: int

    @property
    def key(self) -> tuple[tuple[int, ...], int]:
        return self.nodes, self.k


@dataclass(frozen=True)
class Point:
    """A point of the model on its support graph: ``n`` nodes, the arcs (or edges)
    ``tails -> heads`` with their ``values``, the visit value ``y`` of every node (1 for the
    start and the end), the ``customers`` (nodes other than start and end), ``start`` and
    ``end``."""

    n: int
    tails: np.ndarray
    heads: np.ndarray
    values: np.ndarray
    y: np.ndarray
    customers: np.ndarray
    start: int
    end: int


def _merged(tails: np.ndarray, heads: np.ndarray, root: int, other: int) -> tuple:
    """Endpoints with ``other`` (the end node) renamed to ``root`` (the start node)."""
    t = np.where(tails == other, root, tails)
    h = np.where(heads == other, root, heads)
    return t, h


def _support(
    n: int,
    tails: np.ndarray,
    heads: np.ndarray,
    values: np.ndarray,
    directed: bool,
    scale: float,
) -> csr_array:
    """Sparse capacity matrix of the support graph (both directions when undirected)."""
    keep = (values > 1e-9) & (tails != heads)
    t, h, v = tails[keep], heads[keep], values[keep]
    if not directed:
        t, h, v = np.concatenate([t, h]), np.concatenate([h, t]), np.concatenate([v, v])
    cap = np.rint(v * scale).astype(np.int64)
    mat = csr_array((cap, (t, h)), shape=(n, n))
    mat.sum_duplicates()
    return csr_array(mat.astype(np.int32))


def component_cuts(point: Point, threshold: float = 1e-6) -> list[Cut]:
    """Cuts of value 0: the (weakly) connected components of the support not holding the root.

    For each such component ``S`` the cut uses the node ``k`` of largest ``y`` in ``S`` (a
    component whose ``y`` are all below ``threshold`` is ignored: the cut would not be violated).
    """
    n, start, customers, y = point.n, point.start, point.customers, point.y
    t, h = _merged(point.tails, point.heads, start, point.end)
    keep = point.values > threshold
    graph = csr_array((np.ones(int(keep.sum())), (t[keep], h[keep])), shape=(n, n))
    _, labels = connected_components(graph, directed=True, connection="weak")
    root_label = labels[start]
    cuts = []
    cust_labels = labels[customers]
    for label in np.unique(cust_labels):
        if label == root_label:
            continue
        members = customers[cust_labels == label]
        k = int(members[np.argmax(y[members])])
        if y[k] > threshold:
            cuts.append(Cut(tuple(int(v) for v in np.sort(members)), k))
    return cuts


def fractional_cuts(
    point: Point,
    directed: bool,
    tol: float = 1e-3,
    max_cuts: int | None = None,
    deadline: float | None = None,
) -> list[Cut]:
    """Violated subtour cuts of a fractional point (components first, then minimum cuts).

    Parameters
    ----------
    point
        The LP point on the support graph (:class:`Point`).
    directed
        Arc variables (cut ``x(delta^-(S)) >= y_k``) or edge variables (``>= 2 y_k``).
    tol
        Minimum violation of a reported cut.
    max_cuts
        Stop after this many cuts (default: no limit).
    deadline
        ``time.perf_counter()`` value after which no further maximum flow is started.

    Notes
    -----
    One maximum flow (Dinic, scipy) per customer ``k`` with ``y_k > tol``, in order of decreasing
    ``y_k``; a customer inside a set already cut this round is skipped, which keeps the number
    of flows near the number of distinct cuts. Undirected with ``start != end``: the start is
    the only root, the virtual edge ``{e, s}`` (value 1) closes the path and the end is a
    candidate ``k`` too (:meth:`MilpModel.cut_row` writes its cuts).
    """
    cuts = component_cuts(point, threshold=tol)
    if cuts:
        return cuts[:max_cuts] if max_cuts else cuts
    n, start, end, customers, y = point.n, point.start, point.end, point.customers, point.y
    factor = 1.0 if directed else 2.0
    unmerged = not directed and start != end
    if unmerged:
        # the path s ... e closed by a virtual edge {e, s} of value 1: sets holding e are cut
        # too (x(delta(S)) + 1 >= 2 y_k), which the merged root cannot express
        t = np.append(point.tails, start)
        h = np.append(point.heads, end)
        values = np.append(point.values, 1.0)
        cap = _support(n, t, h, values, directed, FLOW_SCALE)
        candidates = np.append(customers, end)
    else:
        t, h = _merged(point.tails, point.heads, start, end)
        cap = _support(n, t, h, point.values, directed, FLOW_SCALE)
        candidates = customers
    covered = np.zeros(n, dtype=bool)
    order = candidates[np.argsort(-y[candidates], kind="stable")]
    seen: set[tuple[int, ...]] = set()
    for k in order:
        if y[k] <= tol / factor or covered[k]:
            continue
        if deadline is not None and time.perf_counter() > deadline:
            break
        res = maximum_flow(cap, start, int(k))
        if res.flow_value / FLOW_SCALE >= factor * y[k] - tol:
            continue
        residual = cap - res.flow
        residual = csr_array(residual.multiply(residual > 0))
        reach = breadth_first_order(residual, start, directed=True, return_predecessors=False)
        side = np.ones(n, dtype=bool)
        side[reach] = False
        side[start] = False
        if not unmerged:
            side[end] = False
        members = np.flatnonzero(side)
        if k not in members:
            continue
        key = tuple(int(v) for v in members)
        covered[members] = True
        if key in seen:
            continue
        seen.add(key)
        cuts.append(Cut(key, int(k)))
        if max_cuts and len(cuts) >= max_cuts:
            break
    return cuts


def integer_cuts(point: Point) -> list[Cut]:
    """Subtours of an integer point: one cut per component not connected to the root."""
    return component_cuts(point, threshold=0.5)
