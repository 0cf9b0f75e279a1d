"""Cover inequalities of the orienteering budget, separated on LP points (HiGHS ``highs``).

The problem: with only subtour cuts, the LP relaxation of an orienteering problem spreads its
budget over a long cycle visited at ``y ~ 0.7`` (Chao set 66, budget 50: bound 782 over the
optimum 730), because a fractional cycle pays for only part of its length. A set ``C`` of
customers that no single route can visit within the budget gives the cover inequality
``sum_{i in C} y_i <= |C| - 1`` (Fischetti, Salazar-Gonzalez and Toth 1998); the pairs are the
model's conflict rows (P), this module finds the triples.

A triple is a cover when every order ``s -> a -> b -> c -> e`` over shortest travel times plus
the three services exceeds the route's capacity (``MilpModel.route_cap``: one route without
windows). Separation enumerates the triples of customers with large ``y`` whose ``y`` sum to
more than 2 (vectorised, at most :data:`MAX_CANDIDATES` customers), the most violated first.

Example
-------
Three customers on a line far apart, one route of capacity 10 from 0 back to 0:

>>> import numpy as np
>>> from daitn_opt.mtrce.problem import Problem
>>> from daitn_opt.mtrce.milp_model import build_model
>>> xs = np.array([0.0, 4.0, -4.0, 3.0])
>>> problem = Problem(ids=list("sabc"), travel=np.abs(xs[:, None] - xs[None, :]),
...                   utility=np.ones(4), service=np.zeros(4), start=0, end=0, deadline=10.0)
>>> model = build_model(problem)
>>> y = np.array([1.0, 0.9, 0.9, 0.9])
>>> cover_cuts(model, y)
[CoverCut(nodes=(1, 2, 3))]
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .milp_model import MilpModel

MAX_CANDIDATES = 90
"""Most customers (largest ``y``) whose triples are enumerated per round."""

_PERMS = np.array(list(permutations(range(3))))


@dataclass(frozen=True)
class CoverCut:
    """``sum_{i in nodes} y_i <= |nodes| - 1``: no route visits all of ``nodes``."""

    nodes: tuple[int, ...]

    @property
    def key(self) -> tuple[str, tuple[int, ...]]:
        return "cover", self.nodes

    def row(self, model: MilpModel) -> tuple[np.ndarray, np.ndarray, float, float]:
        """``-sum y >= 1 - |nodes|`` (the ``>=`` form every cut row has, for Pyomo too)."""
        idx = model.y_col[np.asarray(self.nodes, dtype=np.int64)]
        return idx, -np.ones(len(idx)), float(1 - len(idx)), np.inf


def applies(model: MilpModel) -> bool:
    """Covers are separated for one route without windows, with the shortest times known."""
    return model.route_cap is not None and model.shortest is not None and not model.sparse


def cover_cuts(
    model: MilpModel, y: np.ndarray, tol: float = 1e-3, max_cuts: int = 200
) -> list[CoverCut]:
    """Violated triple covers of the LP point whose visit values are ``y`` (``(n,)``).

    Returns the most violated first, each customer in at most ``max(3, max_cuts // 10)`` of
    them (so that one round cuts many parts of the point rather than one node many times).
    """
    if not applies(model):
        return []
    p = model.problem
    cust = p.customers[model.y_col[p.customers] >= 0]
    cand = cust[y[cust] > 0.25]  # a triple above 2 has every y above 0; small ones rarely help
    if len(cand) < 3:
        return []
    cand = cand[np.argsort(-y[cand], kind="stable")][:MAX_CANDIDATES]
    m = len(cand)
    i, j, k = _triples(m)
    ys = y[cand]
    total = ys[i] + ys[j] + ys[k]
    keep = total > 2.0 + tol
    if not keep.any():
        return []
    i, j, k, total = i[keep], j[keep], k[keep], total[keep]
    sp = model.shortest
    d = np.asarray(p.service, dtype=np.float64)
    nodes = cand
    first = sp[p.start, nodes] + d[nodes]  # from the start, with the node's service
    step = sp[np.ix_(nodes, nodes)] + d[nodes][None, :]
    last = sp[nodes, p.end]
    tri = np.stack([i, j, k], axis=1)
    best = np.full(len(tri), np.inf)
    for perm in _PERMS:
        a, b, c = tri[:, perm[0]], tri[:, perm[1]], tri[:, perm[2]]
        best = np.minimum(best, first[a] + step[a, b] + step[b, c] + last[c])
    cover = best > model.route_cap + 1e-6 * max(1.0, model.route_cap)
    if not cover.any():
        return []
    tri, total = tri[cover], total[cover]
    order = np.argsort(-total, kind="stable")
    cap = max(3, max_cuts // 10)
    used = np.zeros(m, dtype=np.int64)
    cuts = []
    for t in order:
        members = tri[t]
        if (used[members] >= cap).any():
            continue
        used[members] += 1
        cuts.append(CoverCut(tuple(sorted(int(v) for v in nodes[members]))))
        if len(cuts) >= max_cuts:
            break
    return cuts


def _triples(m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All index triples ``i < j < k < m``."""
    i, j, k = np.meshgrid(np.arange(m), np.arange(m), np.arange(m), indexing="ij")
    keep = (i < j) & (j < k)
    return i[keep], j[keep], k[keep]


@dataclass(frozen=True)
class CountCut:
    """``sum_{i in nodes} y_i <= most``: no route within the budget visits more of ``nodes``."""

    nodes: tuple[int, ...]
    most: int

    @property
    def key(self) -> tuple[str, tuple[int, ...], int]:
        return "count", self.nodes, self.most

    def row(self, model: MilpModel) -> tuple[np.ndarray, np.ndarray, float, float]:
        """``-sum y >= -most``."""
        idx = model.y_col[np.asarray(self.nodes, dtype=np.int64)]
        return idx, -np.ones(len(idx)), -float(self.most), np.inf


def most_visits(model: MilpModel, nodes: np.ndarray) -> int:
    """An upper bound on how many of ``nodes`` one route can visit within its capacity.

    A route visiting ``m`` of them travels from the start to the first (at least
    ``min sp(s, i)``), from the last to the end (``min sp(i, e)``), serves each (the ``m``
    smallest services) and, between two consecutive ones, at least the distance from the earlier
    to its nearest other node of the set: ``m - 1`` of those, at least the ``m - 1`` smallest.
    """
    p = model.problem
    sp = model.shortest
    d = np.asarray(p.service, dtype=np.float64)[nodes]
    if len(nodes) < 2:
        return len(nodes)
    inner = sp[np.ix_(nodes, nodes)].copy()
    np.fill_diagonal(inner, np.inf)
    step = np.sort(inner.min(axis=1))
    base = float(sp[p.start, nodes].min() + sp[nodes, p.end].min())
    cost = base + np.cumsum(np.sort(d)) + np.concatenate([[0.0], np.cumsum(step[:-1])])
    return int(np.sum(cost <= model.route_cap + 1e-9))


def count_cuts(model: MilpModel, y: np.ndarray, tol: float = 1e-3, max_cuts: int = 20):
    """Violated :class:`CountCut` of an LP point: the customers (with ``y > 0``) at least
    ``r`` from both the start and the end, for every ``r`` among their distances; the most
    violated first.

    The problem they solve: a fractional cycle far from the depot pays only a share of its
    length (Chao set 66, budget 20: 36 border customers at ``y = 0.29`` sum to 10.3, while a
    route within the budget reaches at most 4 of them).
    """
    if not applies(model):
        return []
    p = model.problem
    sp = model.shortest
    cust = p.customers[model.y_col[p.customers] >= 0]
    cust = cust[y[cust] > tol]
    if len(cust) < 2:
        return []
    reach = np.minimum(sp[p.start, cust], sp[cust, p.end])
    found: dict[tuple[int, ...], tuple[float, CountCut]] = {}
    for r in np.unique(reach):
        nodes = np.sort(cust[reach >= r])
        if len(nodes) < 2:
            break
        total = float(y[nodes].sum())
        most = most_visits(model, nodes)
        if total > most + tol:
            key = tuple(int(v) for v in nodes)
            found[key] = (total - most, CountCut(key, most))
    best = sorted(found.values(), key=lambda item: -item[0])
    return [cut for _, cut in best[:max_cuts]]
