"""Turn an integer point with subtours into a tour (TSP case): patch the cycles, then 2-opt.

Used by :mod:`daitn_opt.mtrce.milp` to get good incumbents from the MIP rounds of a symmetric
TSP: the cycles of an integer solution that still has subtours are merged pairwise by the
cheapest exchange of one edge of each (Karp's patching), and the tour is improved by 2-opt
(best improvement over all pairs at once, numpy), or by the compiled LK + or-opt search of
:mod:`daitn_opt.mtrce.lk` where it applies. The result is only a primal solution.
"""

from __future__ import annotations

import time

import numpy as np

from . import lk
from .tour import neighbour_lists, use_lk


def cycles_of(n: int, tails: np.ndarray, heads: np.ndarray, values: np.ndarray) -> list[list[int]]:
    """The cycles of a 2-regular undirected multigraph given by edge multiplicities."""
    adj: list[list[int]] = [[] for _ in range(n)]
    for a in np.flatnonzero(values > 0.5):
        i, j = int(tails[a]), int(heads[a])
        for _ in range(int(np.rint(values[a]))):
            adj[i].append(j)
            adj[j].append(i)
    seen = np.zeros(n, dtype=bool)
    out = []
    for start in range(n):
        if seen[start] or not adj[start]:
            continue
        cyc, prev, cur = [start], -1, start
        seen[start] = True
        while True:
            nxt = adj[cur][0] if adj[cur][0] != prev or len(adj[cur]) == 1 else adj[cur][1]
            if nxt == start or seen[nxt]:
                break
            cyc.append(nxt)
            seen[nxt] = True
            prev, cur = cur, nxt
        out.append(cyc)
    return out


def patch(t: np.ndarray, cycles: list[list[int]]) -> list[int]:
    """Merge the cycles into one tour by the cheapest two-edge exchanges."""
    cyc = [np.asarray(c, dtype=np.int64) for c in cycles if len(c)]
    while len(cyc) > 1:
        cyc.sort(key=len)
        a = cyc.pop(0)
        a_next = np.roll(a, -1)
        best = (np.inf, 0, 0, 0, 0)
        for idx, b in enumerate(cyc):
            b_next = np.roll(b, -1)
            removed = t[a, a_next][:, None] + t[b, b_next][None, :]
            straight = t[a][:, b] + t[a_next][:, b_next] - removed  # a_i-b_j, a_i+1-b_j+1
            crossed = t[a][:, b_next] + t[a_next][:, b] - removed  # a_i-b_j+1, a_i+1-b_j
            for kind, delta in ((0, straight), (1, crossed)):
                i, j = np.unravel_index(np.argmin(delta), delta.shape)
                if delta[i, j] < best[0]:
                    best = (delta[i, j], idx, int(i), int(j), kind)
        _, idx, i, j, kind = best
        b = cyc.pop(idx)
        a_part = np.roll(a, -(i + 1))  # a_{i+1} ... a_i
        if kind == 1:
            b_part = np.roll(b, -(j + 1))  # b_{j+1} ... b_j
        else:
            b_part = np.roll(b, -(j + 1))[::-1]  # b_j ... b_{j+1}
        cyc.append(np.concatenate([a_part, b_part]))
    return cyc[0].tolist()


def _lk(t: np.ndarray, path: np.ndarray) -> np.ndarray | None:
    """LK + or-opt local optimum of ``path`` (ends fixed) when the compiled search applies."""
    if not use_lk(t, path):
        return None
    nbrs = neighbour_lists(t, np.unique(path), 10)
    return lk.improve(t, path, nbrs)


def two_opt(t: np.ndarray, tour: list[int], seconds: float = 0.5) -> list[int]:
    """Best-improvement 2-opt on a closed tour (list without the repeated first node); with numba
    and symmetric travel the compiled LK + or-opt search instead (milliseconds, and shorter)."""
    route = np.asarray(tour, dtype=np.int64)
    m = len(route)
    if m < 4:
        return route.tolist()
    better = _lk(t, np.append(route, route[0]))
    if better is not None:
        return better[:-1].tolist()
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        nxt = np.roll(route, -1)
        delta = (
            t[route][:, route] + t[nxt][:, nxt] - t[route, nxt][:, None] - t[route, nxt][None, :]
        )
        delta = np.triu(delta, 2)
        delta[0, m - 1] = 0.0
        i, j = np.unravel_index(np.argmin(delta), delta.shape)
        if delta[i, j] >= -1e-9:
            break
        route[i + 1 : j + 1] = route[i + 1 : j + 1][::-1].copy()
    return route.tolist()


def two_opt_path(t: np.ndarray, route: list[int], seconds: float = 0.2) -> list[int]:
    """Best-improvement 2-opt on an open path with fixed endpoints (symmetric travel); with numba
    the compiled LK + or-opt search instead."""
    path = np.asarray(route, dtype=np.int64)
    if len(path) < 4:
        return path.tolist()
    better = _lk(t, path)
    if better is not None:
        return better.tolist()
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        cur, nxt = path[:-1], path[1:]
        leg = t[cur, nxt]
        # replace edges (i, i+1) and (j, j+1) by (i, j) and (i+1, j+1), i < j
        delta = t[cur][:, cur] + t[nxt][:, nxt] - leg[:, None] - leg[None, :]
        delta = np.triu(delta, 1)
        i, j = np.unravel_index(np.argmin(delta), delta.shape)
        if delta[i, j] >= -1e-9:
            break
        path[i + 1 : j + 1] = path[i + 1 : j + 1][::-1].copy()
    return path.tolist()


def insert_greedily(
    t: np.ndarray,
    route: list[int],
    candidates: list[int],
    utility: np.ndarray,
    service: np.ndarray,
    capacity: float,
) -> list[int]:
    """Insert candidates at their cheapest position, best utility per added time first, while
    travel plus service stays within ``capacity`` (one route, no windows)."""
    path = list(route)
    arr0 = np.asarray(path, dtype=np.int64)
    used = float(t[arr0[:-1], arr0[1:]].sum())
    used += float(service[path[1:-1]].sum()) if len(path) > 2 else 0.0
    left = [c for c in candidates if c not in set(path)]
    while left:
        arr = np.asarray(path, dtype=np.int64)
        cand = np.asarray(left, dtype=np.int64)
        extra = (
            t[arr[:-1]][:, cand] + t[cand][:, arr[1:]].T - t[arr[:-1], arr[1:]][:, None]
        ) + service[cand][None, :]
        pos = np.argmin(extra, axis=0)
        cost = extra[pos, np.arange(len(cand))]
        fits = used + cost <= capacity + 1e-9
        if not fits.any():
            break
        ratio = np.where(fits, utility[cand] / np.maximum(cost, 1e-9), -np.inf)
        best = int(np.argmax(ratio))
        path.insert(int(pos[best]) + 1, int(cand[best]))
        used += float(cost[best])
        left.pop(best)
    return path
