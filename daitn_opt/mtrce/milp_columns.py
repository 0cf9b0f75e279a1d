"""Between index routes and the MILP's column values (:class:`~.milp_model.MilpModel`).

:func:`routes_from_x` reads the routes (and the customers left in subtours) of an integer point;
:func:`column_values` writes a full column vector of feasible routes (a MIP start).

Example
-------
>>> import numpy as np
>>> from daitn_opt.mtrce.problem import Problem
>>> from daitn_opt.mtrce.milp_model import build_model
>>> xs = np.array([0.0, 1.0, 2.0])
>>> problem = Problem(ids=["s", "a", "b"], travel=np.abs(xs[:, None] - xs[None, :]),
...                   utility=np.array([0.0, 1.0, 2.0]), service=np.zeros(3),
...                   start=0, end=0, deadline=4.0)
>>> model = build_model(problem)
>>> routes_from_x(model, column_values(model, [[0, 1, 2, 0]]))
([[0, 1, 2, 0]], [])
"""

from __future__ import annotations

import numpy as np

from .milp_model import MilpModel
from .solution import schedule, windows


def routes_from_x(model: MilpModel, x: np.ndarray) -> tuple[list[list[int]], list[int]]:
    """Index routes ``[s, ..., e]`` of an integer point and the customers left in subtours."""
    p = model.problem
    s, e, n = p.start, p.end, p.n
    val = np.rint(x[: model.num_arc]).astype(np.int64)
    used = np.flatnonzero(val > 0)
    adj: list[list[int]] = [[] for _ in range(n)]
    for a_id in used:
        i, j = int(model.tails[a_id]), int(model.heads[a_id])
        for _ in range(val[a_id]):
            adj[i].append(j)
            if not model.directed:
                adj[j].append(i)
    routes: list[list[int]] = []
    on_route = np.zeros(n, dtype=bool)
    while adj[s]:
        route, prev, cur = [s], -1, s
        nxt = adj[cur].pop(0)
        if not model.directed:
            adj[nxt].remove(cur)
        prev, cur = cur, nxt
        route.append(cur)
        guard = 0
        while cur != e and adj[cur] and guard <= n:
            nxt = adj[cur].pop(0)
            if not model.directed:
                adj[nxt].remove(cur)
            prev, cur = cur, nxt
            route.append(cur)
            guard += 1
        del prev
        if route[-1] != e:
            break
        routes.append(route)
        on_route[route] = True
        if s == e and not model.directed:
            break
    while len(routes) < p.k:
        routes.append([s, e])
    routes = [r for r in routes if len(r) > 2] + [r for r in routes if len(r) <= 2]
    ycol = model.y_col
    yv = np.zeros(n)
    has_y = ycol >= 0
    yv[has_y] = x[ycol[has_y]]
    stray = [int(i) for i in p.customers if yv[i] > 0.5 and not on_route[i]]
    return routes[: p.k], stray


def column_values(model: MilpModel, routes: list[list[int]]) -> np.ndarray:
    """A full column vector of the model for feasible index routes (a MIP start)."""
    p = model.problem
    x = np.zeros(model.num_col)
    a, _ = windows(p)
    for r in routes:
        if len(r) <= 2:
            if p.start != p.end:
                x[model.edge_id[p.start, p.end]] += 1
            continue
        arr = np.asarray(r, dtype=np.int64)
        ids = model.edge_id[arr[:-1], arr[1:]]
        if np.any(ids < 0):
            raise ValueError("route uses an arc the model has excluded")
        np.add.at(x, ids, 1.0)
        inner = arr[1:-1]
        x[model.y_col[inner]] = 1.0
        _, starts, _, _ = schedule(p, r)
        if (model.tau_col[inner] >= 0).all():
            x[model.tau_col[inner]] = starts[1:-1]
        last = arr[-2]
        if model.w_col[last] >= 0:
            arrivals, _, _, _ = schedule(p, r)
            x[model.w_col[last]] = max(arrivals[-1], a[p.end])
    if model.z_col >= 0:
        x[model.z_col] = 1.0 if any(len(r) > 2 for r in routes) else 0.0
    cust = p.customers
    unvisited = cust[(model.tau_col[cust] >= 0) & (x[model.y_col[cust]] < 0.5)]
    x[model.tau_col[unvisited]] = model.lower[model.tau_col[unvisited]]
    return x
