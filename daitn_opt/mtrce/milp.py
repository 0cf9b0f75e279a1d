"""Exact MTRCE by mixed-integer programming with lazily separated subtour cuts (HiGHS).

The model (``formulations/mtrce.md``) is built once from numpy arrays by :func:`build_model`
and has two shapes:

- **undirected** (symmetric travel, no windows, one route: TSP, OP): one binary variable per
  edge, degree rows, one route-time row (exact without windows: a route's time is its travel
  plus its service) and a budget row;
- **directed** (asymmetric travel, time windows, or ``k > 1``: OPTW, TOP): one variable per
  arc, in/out degree rows, and service-start variables linked to the arcs by big-M rows whose
  M comes from the windows (Miller-Tucker-Zemlin style time propagation). With shared node
  times the two-index model is exact for ``k`` routes each with its own deadline.

Subtour elimination constraints are not in the model: :func:`solve_highs` first separates them
on the LP relaxation (minimum cuts, :mod:`daitn_opt.mtrce.separation`) until no violated cut is
left, then solves the MIP, adds the subtours of every integer solution HiGHS found, and solves
again with all cuts kept and the best feasible routes as a start, until the MIP's optimum has
no subtour or the time runs out. Every MIP's dual bound is a bound of the true problem (the
model with fewer cuts is a relaxation); a reported bound that crosses a checked incumbent is
nevertheless discarded (solver tolerances), and the status is ``optimal`` exactly when the gap
is at most 1e-6 (:mod:`daitn_opt.mtrce.certify`). Large views get a sparse candidate-arc model
(a restriction, whose bound is not reported) or only the warm start: see :func:`solve_highs`.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import shortest_path

from ..highs_model import quiet_highs, set_threads
from ..params import param
from ..registry import SolveOptions, register
from ..result import Result, Status, TracePoint, relative_gap
from . import certify, separation, tour_repair
from .paths import shortest_paths
from .problem import Problem
from .solution import (
    make_result,
    objective,
    route_cost,
    schedule,
    unreachable_end,
    used_routes,
    windows,
)

INF = highspy.kHighsInf
TIME_EPS = 1e-6


@dataclass(frozen=True)
class RouteMilpParams:
    """Parameters shared by the MTRCE MILP solvers (``highs``, ``pyomo``): warm start and model."""

    warm_start_solver: str | None = param(
        "ils", "heuristic run first for a starting solution (None: only options.initial)"
    )
    warm_start_time: float | None = param(
        None, "seconds for the warm start (None: chosen from the model's size and the limit)"
    )
    undirected: bool | None = param(
        None, "force the edge (True) or arc (False) model (None: edges when travel is symmetric)"
    )
    sparse: bool | None = param(
        None, "force the sparse candidate-arc model (True) or the dense one (False)"
    )
    neighbours: int | None = param(None, "nearest neighbours per node in a sparse model")


@dataclass(frozen=True)
class HighsParams(RouteMilpParams):
    """Parameters of the ``highs`` MTRCE solver."""

    lp_rounds: int = param(200, "most rounds of subtour separation on the LP relaxation")
    lp_rounds_between: int = param(20, "most LP separation rounds between two MIP rounds")
    early_stop: bool = param(
        False, "stop a MIP round at its first integer solution with a subtour (past the root)"
    )
    heuristic_effort: float = param(0.01, "HiGHS's mip_heuristic_effort")
    highs_options: dict = param({}, "further HiGHS options, name -> value")  # noqa: RUF009
    log: bool = param(False, "show HiGHS's log")


class Infeasible(Exception):
    """Raised by :func:`build_model` when preprocessing proves the problem infeasible."""


@dataclass(eq=False)
class MilpModel:
    """The MILP of one MTRCE problem, as arrays (columns, CSR rows) plus index maps.

    Columns are ordered: arc/edge variables ``x`` (``0..m-1``), visit variables ``y`` of the
    customers, the depot variable ``z`` (undirected tour with an optional route), the time
    variables ``tau`` and the arrival variables ``w`` (``min_time`` with windows).
    """

    problem: Problem
    directed: bool
    tails: np.ndarray
    heads: np.ndarray
    y_col: np.ndarray
    """(n,) column of y_i, -1 for start and end (always visited)."""
    tau_col: np.ndarray
    """(n,) column of the service start of node i, -1 if none."""
    w_col: np.ndarray
    """(n,) column of the arrival at the end from i (min_time with windows), -1 if none."""
    z_col: int
    order_col: np.ndarray
    """(n,) column of the MTZ position of customer i (compact model only), -1 if none."""
    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    integrality: np.ndarray
    row_start: list[int]
    row_index: list[np.ndarray]
    row_value: list[np.ndarray]
    row_lower: list[float]
    row_upper: list[float]
    blocks: list[tuple[str, int, int, str]] = field(default_factory=list)
    """(name, first row, end row, meaning) of each constraint family."""
    sense: str = "max"
    offset: float = 0.0
    earliest: np.ndarray | None = None
    latest: np.ndarray | None = None
    edge_id: ArcIndex | None = None
    """Column of x for arc (i, j) (both orders when undirected), -1 if absent."""
    sparse: bool = False
    """Built on candidate arcs only (a restriction of the problem, see :func:`build_model`)."""
    build_seconds: float = 0.0

    @property
    def num_col(self) -> int:
        return len(self.cost)

    @property
    def num_row(self) -> int:
        return len(self.row_lower)

    @property
    def num_arc(self) -> int:
        return len(self.tails)

    @property
    def integral_objective(self) -> bool:
        """Every solution's objective is an integer (lets a gap below 1 prove optimality)."""
        used = self.cost[self.cost != 0]
        return bool(
            np.all(np.abs(used - np.rint(used)) < 1e-9)
            and abs(self.offset - round(self.offset)) < 1e-9
            and self.w_col.max(initial=-1) < 0
        )

    def add_rows(
        self, name: str, meaning: str, index: list[np.ndarray], value: list[np.ndarray], lo, hi
    ) -> None:
        first = self.num_row
        self.row_index.extend(index)
        self.row_value.extend(value)
        self.row_lower.extend(np.broadcast_to(np.asarray(lo, float), (len(index),)).tolist())
        self.row_upper.extend(np.broadcast_to(np.asarray(hi, float), (len(index),)).tolist())
        self.blocks.append((name, first, self.num_row, meaning))

    def csr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start, index, value) of all rows."""
        lengths = np.fromiter((len(r) for r in self.row_index), dtype=np.int64, count=self.num_row)
        start = np.zeros(self.num_row + 1, dtype=np.int32)
        np.cumsum(lengths, out=start[1:])
        if self.num_row:
            index = np.concatenate(self.row_index).astype(np.int32)
            value = np.concatenate(self.row_value).astype(np.float64)
        else:
            index, value = np.zeros(0, np.int32), np.zeros(0)
        return start, index, value

    def cut_row(self, cut: separation.Cut) -> tuple[np.ndarray, np.ndarray, float, float]:
        """Row of a subtour cut: ``sum_S y - y_k - x(E(S)) >= 0`` (C1/C2, whichever is sparser).

        With the degree rows, ``x(E(S)) <= sum_S y_i - y_k`` is equivalent to the cut form
        ``x(delta(S)) >= 2 y_k`` (undirected) or ``x(delta^-(S)) >= y_k`` (directed); the
        smaller of ``E(S)`` and ``delta(S)`` is written.
        """
        members = np.asarray(cut.nodes, dtype=np.int64)
        n = self.problem.n
        inside = np.zeros(n, dtype=bool)
        inside[members] = True
        eid = self.edge_id
        factor = 1.0 if self.directed else 2.0
        inner_parts, cross_parts = [], []
        for i in members.tolist():
            cols, heads = eid.out_arcs(i)
            keep = inside[heads] & ((heads > i) if not self.directed else True)
            inner_parts.append(cols[keep])
            cols, tails = eid.in_arcs(i)
            keep = ~inside[tails]
            cross_parts.append(np.stack([tails[keep], np.full(int(keep.sum()), i), cols[keep]]))
        inner = np.concatenate(inner_parts) if inner_parts else np.zeros(0, np.int64)
        cross_all = np.concatenate(cross_parts, axis=1) if cross_parts else np.zeros((3, 0), int)
        # arcs entering S, ordered by (tail, head) (both orders coincide if undirected)
        cross = cross_all[2, np.lexsort((cross_all[1], cross_all[0]))].astype(np.int64)
        yk = self.y_col[cut.k]
        if len(inner) + len(members) <= len(cross) + 1:
            ys = self.y_col[members]
            idx = np.concatenate([inner, ys])
            val = np.concatenate([-np.ones(len(inner)), np.ones(len(ys))])
            val[len(inner) + int(np.flatnonzero(members == cut.k)[0])] -= 1.0
            keep = val != 0
            return idx[keep], val[keep], 0.0, INF
        idx = np.concatenate([cross, [yk]])
        val = np.concatenate([np.ones(len(cross)), [-factor]])
        return idx, val, 0.0, INF


class ArcIndex:
    """Column of the arc (or edge) ``(i, j)``, ``-1`` when the model has none.

    Indexed like the dense ``(n, n)`` matrix it replaces (``idx[i, j]`` with integers, arrays
    broadcast together, ``np.ix_`` or slices), but stored as sorted keys ``i * n + j``: memory is
    linear in the number of arcs, so a sparse model of a 10,000-node view needs no ``n x n``
    table. An undirected edge answers for both orders.
    """

    def __init__(self, n: int, tails: np.ndarray, heads: np.ndarray, undirected: bool) -> None:
        ids = np.arange(len(tails), dtype=np.int64)
        t, h = np.asarray(tails, np.int64), np.asarray(heads, np.int64)
        if undirected:
            t, h, ids = np.concatenate([t, h]), np.concatenate([h, t]), np.concatenate([ids, ids])
        self.n = n
        out_keys = t * n + h
        order = np.argsort(out_keys, kind="stable")
        self._out_keys, self._out_ids, self._out_heads = out_keys[order], ids[order], h[order]
        in_keys = h * n + t
        order = np.argsort(in_keys, kind="stable")
        self._in_keys, self._in_ids, self._in_tails = in_keys[order], ids[order], t[order]

    def __getitem__(self, index: Any) -> Any:
        i, j = index if isinstance(index, tuple) else (index, slice(None))
        i = np.arange(self.n)[i] if isinstance(i, slice) else np.asarray(i, dtype=np.int64)
        j = np.arange(self.n)[j] if isinstance(j, slice) else np.asarray(j, dtype=np.int64)
        keys = (i * self.n + j).astype(np.int64)
        flat = keys.ravel()
        if len(self._out_keys) == 0:
            out = np.full(flat.shape, -1, dtype=np.int64)
        else:
            pos = np.minimum(np.searchsorted(self._out_keys, flat), len(self._out_keys) - 1)
            out = np.where(self._out_keys[pos] == flat, self._out_ids[pos], -1)
        out = out.reshape(keys.shape)
        return int(out) if out.ndim == 0 else out

    def _range(self, keys: np.ndarray, node: int) -> slice:
        lo = np.searchsorted(keys, node * self.n)
        hi = np.searchsorted(keys, (node + 1) * self.n)
        return slice(int(lo), int(hi))

    def out_arcs(self, node: int) -> tuple[np.ndarray, np.ndarray]:
        """(columns, heads) of the arcs leaving ``node`` (incident edges if undirected)."""
        r = self._range(self._out_keys, node)
        return self._out_ids[r], self._out_heads[r]

    def in_arcs(self, node: int) -> tuple[np.ndarray, np.ndarray]:
        """(columns, tails) of the arcs entering ``node``, by increasing tail."""
        r = self._range(self._in_keys, node)
        return self._in_ids[r], self._in_tails[r]


def _shortest(t: np.ndarray) -> np.ndarray:
    """All-pairs shortest travel times (travel may violate the triangle inequality)."""
    return shortest_paths(t)


def _shortest_sparse(
    n: int, tails: np.ndarray, heads: np.ndarray, times: np.ndarray, s: int, e: int
) -> tuple[np.ndarray, np.ndarray]:
    """Shortest travel times from ``s`` and to ``e`` over the given arcs only."""
    w = np.maximum(times, 1e-12)  # csgraph drops zero entries: keep zero-time arcs as tiny ones
    graph = csr_array((w, (tails, heads)), shape=(n, n))
    from_s = shortest_path(graph, method="D", directed=True, indices=s)
    to_e = shortest_path(graph.T.tocsr(), method="D", directed=True, indices=e)
    from_s[s], to_e[e] = 0.0, 0.0
    return np.maximum(from_s - 1e-9, 0.0), np.maximum(to_e - 1e-9, 0.0)


def build_model(
    problem: Problem,
    undirected: bool | None = None,
    compact: bool = False,
    candidates: tuple[np.ndarray, np.ndarray] | None = None,
) -> MilpModel:
    """Build the MILP of ``problem`` from its arrays (no per-variable Python loop).

    Parameters
    ----------
    undirected
        Force the edge (True) or arc (False) model; by default edges are used when the travel
        (and travel cost) is symmetric, there are no windows and ``k == 1``.
    candidates
        ``(tails, heads)`` of the only arcs the model may use (:func:`candidate_arcs`): the
        *sparse* model, a restriction of the problem (every route it finds is feasible, but its
        optimum and bound are those of routes over these arcs). Nothing of size ``n x n`` is
        allocated then: earliest and latest times come from shortest paths over the candidate
        arcs (valid for the restricted model), and the pair-conflict rows (P) are left out.

    Raises
    ------
    Infeasible
        When preprocessing proves that no route can exist (message says why).
    """
    t0 = time.perf_counter()
    p = problem
    n, s, e, k = p.n, p.start, p.end, p.k
    t = np.asarray(p.travel, dtype=np.float64)
    d = np.asarray(p.service, dtype=np.float64)
    a, b = windows(p)
    T = float(p.deadline)
    sparse = candidates is not None
    if sparse:
        ci, cj = (np.asarray(c, dtype=np.int64) for c in candidates)
        keep = ci != cj
        ci, cj = ci[keep], cj[keep]
        # the edge model only needs symmetry on the arcs it may use
        symmetric = bool(np.array_equal(t[ci, cj], t[cj, ci])) and (
            p.travel_cost is None
            or bool(np.array_equal(p.travel_cost[ci, cj], p.travel_cost[cj, ci]))
        )
    else:
        symmetric = p.is_symmetric and (
            p.travel_cost is None or np.array_equal(p.travel_cost, p.travel_cost.T)
        )
    if compact:
        undirected = False
    if undirected is None:
        undirected = symmetric and not p.has_windows and k == 1
    if undirected and not (symmetric and not p.has_windows and k == 1):
        raise ValueError("the edge model needs symmetric travel, no windows and k == 1")
    directed = not undirected

    # -- time preprocessing: earliest and latest service start of every node (tight big-M)
    dep = max(0.0, a[s])
    if dep > b[s] + TIME_EPS:
        raise Infeasible(f"start {p.ids[s]!r}: its window closes at {b[s]:g}, before time 0")
    dep_s = dep + d[s]
    latest_end = min(b[e], T - d[e] - p.verify_time)
    # shortest travel times only matter for a deadline or windows; without them the zero matrix
    # is a valid (weak) lower bound and saves the O(n^3) shortest-path computation
    timed = np.isfinite(T) or p.has_windows
    if sparse:
        if undirected:
            ci, cj = np.concatenate([ci, cj]), np.concatenate([cj, ci])
        pair_key = np.unique(ci * n + cj)
        ci, cj = pair_key // n, pair_key % n
        ct = t[ci, cj]
        fin = np.isfinite(ct)
        ci, cj, ct = ci[fin], cj[fin], ct[fin]
        sp = None
        sp_s, sp_e = _shortest_sparse(n, ci, cj, ct, s, e) if timed else (np.zeros(n),) * 2
        legs = np.zeros(n)
        np.maximum.at(legs, ci, ct)
    else:
        sp = _shortest(t) if timed else np.zeros_like(t)
        sp_s, sp_e = sp[s], sp[:, e]
        # a finite horizon keeps every big-M finite without a deadline: a service never starts
        # after the latest window opening plus every service and the longest leg out of a node
        legs = np.where(np.isfinite(t), t, 0.0).max(axis=1)
    horizon = max(dep_s, float(np.max(np.where(np.isfinite(a), a, 0.0)))) + float(np.sum(d + legs))
    latest_end = min(latest_end, horizon)
    earliest = np.maximum(a, dep_s + sp_s)
    latest = np.minimum(b, latest_end - d - sp_e)
    earliest[s], latest[s] = dep, dep
    end_arrival = max(dep_s + sp_s[e], a[e])
    if s != e and not np.isfinite(sp_s[e]):
        raise Infeasible(unreachable_end(p) or f"the end {p.ids[e]!r} cannot be reached")
    if s != e and (end_arrival > latest_end + TIME_EPS):
        raise Infeasible(
            f"deadline {T:g} is shorter than the trip from {p.ids[s]!r} to {p.ids[e]!r} "
            f"(earliest completion {end_arrival + d[e] + p.verify_time:g})"
        )
    if s == e and (a[e] + d[e] + p.verify_time > T + TIME_EPS and dep_s > latest_end):
        raise Infeasible(f"deadline {T:g} is shorter than the service at {p.ids[s]!r}")
    cust = p.customers
    mandatory = np.zeros(n, dtype=bool)
    mandatory[np.asarray(p.mandatory, dtype=np.int64)] = True
    if p.objective == "min_time":
        mandatory[cust] = True
    mandatory[[s, e]] = False
    reachable = np.zeros(n, dtype=bool)
    reachable[cust] = earliest[cust] <= latest[cust] + TIME_EPS
    lost = np.flatnonzero(mandatory & ~reachable)
    if len(lost):
        raise Infeasible(
            f"mandatory node {p.ids[lost[0]]!r} cannot be reached and left in time for the deadline"
        )
    if np.isfinite(latest_end):
        finite_latest = np.where(np.isfinite(latest), latest, 0.0)
    else:
        finite_latest = latest

    # -- arcs (directed) or edges (undirected) that can be in some feasible route
    if sparse:
        ii, jj = ci, cj
        if directed and s != e:
            ii, jj = np.append(ii, s), np.append(jj, e)  # an idle replica
    else:
        ii, jj = (g.ravel() for g in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    tij = t[ii, jj]
    ok = np.isfinite(tij) & (ii != jj)
    node_ok = reachable.copy()
    node_ok[[s, e]] = True
    ok &= node_ok[ii] & node_ok[jj]
    limit_j = np.where(jj == e, latest_end, latest[jj]) + TIME_EPS
    if directed:
        if s != e:
            ok &= (jj != s) & (ii != e)  # nothing enters the start or leaves the end
        ok &= earliest[ii] + d[ii] + tij <= limit_j
        if s != e:
            ok |= (ii == s) & (jj == e)  # an idle replica
    else:
        fwd = earliest[ii] + d[ii] + tij <= limit_j
        bwd = (
            earliest[jj] + d[jj] + t[jj, ii] <= np.where(ii == e, latest_end, latest[ii]) + TIME_EPS
        )
        ok &= (fwd | bwd) & (ii < jj)
    sel = np.flatnonzero(ok)
    sel = sel[np.lexsort((jj[sel], ii[sel]))]
    tails, heads = ii[sel], jj[sel]
    m = len(tails)
    edge_id = ArcIndex(n, tails, heads, undirected=not directed)

    # -- columns
    y_col = np.full(n, -1, dtype=np.int64)
    y_col[cust] = m + np.arange(len(cust))
    ncol = m + len(cust)
    z_col = -1
    tour_optional = (not directed) and s == e and p.objective == "max_utility"
    if not directed and s == e:
        z_col = ncol
        ncol += 1
    need_tau = directed and (p.has_windows or (k > 1 and np.isfinite(T)))
    tau_col = np.full(n, -1, dtype=np.int64)
    if need_tau:
        tau_col[cust] = ncol + np.arange(len(cust))
        ncol += len(cust)
    w_col = np.full(n, -1, dtype=np.int64)
    min_time_windows = p.objective == "min_time" and p.has_windows
    into_end = np.flatnonzero(edge_id[:, e] >= 0) if directed else np.zeros(0, np.int64)
    into_end = into_end[np.isin(into_end, cust)]
    if min_time_windows:
        w_col[into_end] = ncol + np.arange(len(into_end))
        ncol += len(into_end)

    order_col = np.full(n, -1, dtype=np.int64)
    if compact:
        order_col[cust] = ncol + np.arange(len(cust))
        ncol += len(cust)

    lower = np.zeros(ncol)
    upper = np.ones(ncol)
    integrality = np.zeros(ncol, dtype=np.uint8)
    integrality[:m] = 1
    integrality[y_col[cust]] = 1
    if z_col >= 0:
        integrality[z_col] = 1
        lower[z_col] = 0.0 if tour_optional else 1.0
    if directed and s != e:
        upper[edge_id[s, e]] = k
    if not directed and s == e:
        upper[edge_id[s][edge_id[s] >= 0]] = 2.0  # s - j - s
    lower[y_col[cust[mandatory[cust]]]] = 1.0
    upper[y_col[cust[~reachable[cust]]]] = 0.0
    if need_tau:
        lower[tau_col[cust]] = np.where(reachable[cust], earliest[cust], 0.0)
        upper[tau_col[cust]] = np.where(reachable[cust], finite_latest[cust], 0.0)
    if min_time_windows:
        upper[w_col[into_end]] = INF
    if compact:
        lower[order_col[cust]] = 1.0
        upper[order_col[cust]] = float(len(cust))

    # -- objective
    cost = np.zeros(ncol)
    arc_t = t[tails, heads]
    if p.objective == "max_utility":
        sense = "max"
        cost[y_col[cust]] = p.utility[cust]
        offset = float(p.utility[s] + (p.utility[e] if e != s else 0.0))
    else:
        sense = "min"
        per_route = dep_s + d[e] + p.verify_time
        offset = 0.0
        if min_time_windows:
            cost[w_col[into_end]] = 1.0
            from_start = (tails == s) & np.isin(heads, cust)
            cost[np.flatnonzero(from_start)] = d[e] + p.verify_time
        else:
            cost[:m] = arc_t
            cost[y_col[cust]] = d[cust]
            if directed:
                from_start = (tails == s) & np.isin(heads, cust)
                cost[np.flatnonzero(from_start)] += per_route
                if s != e:
                    cost[edge_id[s, e]] = 0.0
                if len(cust) == 0:
                    offset = per_route
            else:
                offset = per_route
                if s != e:
                    # the edge (s, e) alone is a route with no customer: it is still timed
                    pass

    model = MilpModel(
        problem=p,
        directed=directed,
        tails=tails,
        heads=heads,
        y_col=y_col,
        tau_col=tau_col,
        w_col=w_col,
        z_col=z_col,
        order_col=order_col,
        cost=cost,
        lower=lower,
        upper=upper,
        integrality=integrality,
        row_start=[],
        row_index=[],
        row_value=[],
        row_lower=[],
        row_upper=[],
        sense=sense,
        offset=offset,
        earliest=earliest,
        latest=latest,
        edge_id=edge_id,
        sparse=sparse,
    )
    _degree_rows(model, cust)
    _time_rows(model, cust, d, t, a, dep_s, latest_end, need_tau)
    _budget_row(model, cust)
    if k == 1 and p.objective == "max_utility" and sp is not None:
        _conflict_rows(model, cust, d, sp, reachable)
    if compact:
        _mtz_rows(model, cust)
    model.build_seconds = time.perf_counter() - t0
    return model


def _incidence(model: MilpModel, nodes: np.ndarray, outgoing: bool | None) -> list[np.ndarray]:
    """Per node, the x columns of its incident edges (None), or its out/in arcs."""
    eid = model.edge_id
    if outgoing in (None, True):
        return [eid.out_arcs(int(i))[0] for i in nodes]
    return [eid.in_arcs(int(i))[0] for i in nodes]


def _degree_rows(model: MilpModel, cust: np.ndarray) -> None:
    """(D1)-(D3): every visited customer has degree 2 (one in, one out); the depots' degrees."""
    p = model.problem
    s, e, k = p.start, p.end, p.k
    ycols = model.y_col[cust]
    if not model.directed:
        inc = _incidence(model, cust, None)
        idx = [np.append(r, yc) for r, yc in zip(inc, ycols, strict=True)]
        val = [np.append(np.ones(len(r)), -2.0) for r in inc]
        model.add_rows("degree", "x(delta(i)) = 2 y_i", idx, val, 0.0, 0.0)
        if s == e:
            r = _incidence(model, np.array([s]), None)[0]
            model.add_rows(
                "depot_degree",
                "x(delta(s)) = 2 z",
                [np.append(r, model.z_col)],
                [np.append(np.ones(len(r)), -2.0)],
                0.0,
                0.0,
            )
        else:
            ends = _incidence(model, np.array([s, e]), None)
            model.add_rows(
                "depot_degree",
                "x(delta(s)) = x(delta(e)) = 1",
                ends,
                [np.ones(len(r)) for r in ends],
                1.0,
                1.0,
            )
        return
    outs = _incidence(model, cust, True)
    ins = _incidence(model, cust, False)
    idx = [
        np.append(r, yc) for r, yc in zip(outs + ins, np.concatenate([ycols, ycols]), strict=True)
    ]
    val = [np.append(np.ones(len(r)), -1.0) for r in outs + ins]
    model.add_rows("degree", "x(delta+(i)) = x(delta-(i)) = y_i", idx, val, 0.0, 0.0)
    out_s = _incidence(model, np.array([s]), True)[0]
    in_e = _incidence(model, np.array([e]), False)[0]
    if s != e:
        model.add_rows(
            "depot_degree",
            "x(delta+(s)) = x(delta-(e)) = k",
            [out_s, in_e],
            [np.ones(len(out_s)), np.ones(len(in_e))],
            float(k),
            float(k),
        )
    else:
        model.add_rows(
            "depot_degree",
            "x(delta+(s)) = x(delta-(s)) <= k",
            [np.concatenate([out_s, in_e]), out_s],
            [np.concatenate([np.ones(len(out_s)), -np.ones(len(in_e))]), np.ones(len(out_s))],
            [0.0, 0.0],
            [0.0, float(k)],
        )


def _time_rows(model, cust, d, t, a, dep_s, latest_end, need_tau) -> None:
    """(T1) route time for one route without windows; (T2)-(T4) time propagation otherwise."""
    p = model.problem
    e = p.end
    tails, heads = model.tails, model.heads
    m = model.num_arc
    if not need_tau:
        if not np.isfinite(p.deadline):
            return
        # (T1) one route, no windows: travel + service of the visited customers <= T'
        idx = np.concatenate([np.arange(m), model.y_col[cust]])
        val = np.concatenate([t[tails, heads], d[cust]])
        cap = latest_end - dep_s
        model.add_rows(
            "route_time", "sum t x + sum d y <= T - d_s - d_e - verify", [idx], [val], -INF, cap
        )
        return
    # (T1') aggregated route time, a valid inequality for every route set: each route's travel
    # plus service fits between its departure and L_e (waiting only adds); idle replicas' arcs
    # s -> e are left out. Much stronger than the big-M rows below on their own.
    idx = np.concatenate([np.arange(m), model.y_col[cust]])
    coef = t[tails, heads].copy()
    if p.start != e:
        coef[model.edge_id[p.start, e]] = 0.0
    val = np.concatenate([coef, d[cust]])
    model.add_rows(
        "route_time_total",
        "sum t x + sum d y <= k (L_e - d_s)",
        [idx],
        [val],
        -INF,
        p.k * (latest_end - dep_s),
    )
    E, L = model.earliest, model.latest
    tau = model.tau_col
    # (T2) tau_j >= tau_i + d_i + t_ij - M_ij (1 - x_ij) between customers
    both = np.isin(tails, cust) & np.isin(heads, cust)
    arc = np.flatnonzero(both)
    i, j = tails[arc], heads[arc]
    big_m = L[i] + d[i] + t[i, j] - E[j]
    need = big_m > TIME_EPS
    arc, i, j, big_m = arc[need], i[need], j[need], big_m[need]
    idx = np.stack([tau[j], tau[i], arc], axis=1)
    val = np.stack([np.ones(len(arc)), -np.ones(len(arc)), -big_m], axis=1)
    model.add_rows(
        "time_propagation",
        "tau_j - tau_i - M_ij x_ij >= d_i + t_ij - M_ij",
        list(idx),
        list(val),
        d[i] + t[i, j] - big_m,
        INF,
    )
    # (T3) arriving at the end in time from the last customer: tau_i + d_i + t_ie <= L_e
    arc = np.flatnonzero(np.isin(tails, cust) & (heads == e))
    i = tails[arc]
    big_m = L[i] + d[i] + t[i, e] - latest_end
    need = big_m > TIME_EPS
    arc, i, big_m = arc[need], i[need], big_m[need]
    if len(arc):
        idx = np.stack([tau[i], arc], axis=1)
        val = np.stack([np.ones(len(arc)), big_m], axis=1)
        model.add_rows(
            "end_time",
            "tau_i + M x_ie <= L_e - d_i - t_ie + M",
            list(idx),
            list(val),
            -INF,
            latest_end - d[i] - t[i, e] + big_m,
        )
    # (T4) min_time with windows: w_i >= max(tau_i + d_i + t_ie, a_e) when x_ie = 1
    wc = model.w_col
    arc = np.flatnonzero(np.isin(tails, cust) & (heads == e))
    i = tails[arc]
    i_w = wc[i] >= 0
    arc, i = arc[i_w], i[i_w]
    if len(arc):
        big_m = L[i] + d[i] + t[i, e]
        idx = np.stack([wc[i], tau[i], arc], axis=1)
        val = np.stack([np.ones(len(arc)), -np.ones(len(arc)), -big_m], axis=1)
        model.add_rows(
            "end_arrival",
            "w_i - tau_i - M x_ie >= d_i + t_ie - M",
            list(idx),
            list(val),
            d[i] + t[i, e] - big_m,
            INF,
        )
        idx = np.stack([wc[i], arc], axis=1)
        val = np.stack([np.ones(len(arc)), -np.full(len(arc), a[e])], axis=1)
        model.add_rows("end_wait", "w_i >= a_e x_ie", list(idx), list(val), 0.0, INF)


def _conflict_rows(
    model: MilpModel, cust: np.ndarray, d: np.ndarray, sp: np.ndarray, reachable: np.ndarray
) -> None:
    """(P) ``y_i + y_j <= 1`` for customers that no single route can both visit.

    With one route, visiting ``i`` before ``j`` needs ``E_i + d_i + sp(i, j) <= L_j`` (``sp``:
    shortest travel times, a lower bound on any path); if neither order passes, the pair
    conflicts. These rows feed HiGHS's clique table and tighten the OP relaxation.
    """
    c = cust[reachable[cust]]
    if len(c) < 2:
        return
    E, L = model.earliest[c], model.latest[c]
    fwd = E[:, None] + d[c][:, None] + sp[np.ix_(c, c)] <= L[None, :] + TIME_EPS
    ok = fwd | fwd.T
    i, j = np.nonzero(np.triu(~ok, 1))
    if not len(i):
        return
    y = model.y_col
    idx = np.stack([y[c[i]], y[c[j]]], axis=1)
    val = np.ones((len(i), 2))
    model.add_rows("pair_conflict", "y_i + y_j <= 1", list(idx), list(val), -INF, 1.0)


def _mtz_rows(model: MilpModel, cust: np.ndarray) -> None:
    """(M1) ``u_j >= u_i + 1 - |C| (1 - x_ij)`` on customer arcs: no subtour (compact model)."""
    size = float(len(cust))
    both = np.isin(model.tails, cust) & np.isin(model.heads, cust)
    arc = np.flatnonzero(both)
    u = model.order_col
    idx = np.stack([u[model.heads[arc]], u[model.tails[arc]], arc], axis=1)
    val = np.tile([1.0, -1.0, -size], (len(arc), 1))
    model.add_rows("mtz", "u_j - u_i - |C| x_ij >= 1 - |C|", list(idx), list(val), 1.0 - size, INF)


def _budget_row(model: MilpModel, cust: np.ndarray) -> None:
    """(B) visit cost of the visited nodes plus travel cost of the used arcs <= budget."""
    p = model.problem
    if p.budget is None:
        return
    s, e = p.start, p.end
    vc = np.asarray(p.visit_cost, dtype=np.float64)
    tc = np.asarray(p.travel_cost, dtype=np.float64)
    arc_cost = tc[model.tails, model.heads].copy()
    if model.directed and s != e and p.k > 1:
        arc_cost[model.edge_id[s, e]] = 0.0  # idle replicas are not run
    fixed = vc[s] + (vc[e] if e != s else 0.0)
    idx = np.concatenate([np.arange(model.num_arc), model.y_col[cust]])
    val = np.concatenate([arc_cost, vc[cust]])
    model.add_rows("budget", "sum c x + sum c y <= budget", [idx], [val], -INF, p.budget - fixed)


# --------------------------------------------------------------------------------------------
# solution <-> columns


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


def feasible_routes(problem: Problem, routes: list[list[int]]) -> bool:
    """Solver-side feasibility of index routes (windows, deadline, budget, mandatory)."""
    seen: set[int] = set()
    if any(not schedule(problem, r)[3] for r in used_routes(problem, routes)):
        return False
    for r in routes:
        inner = r[1:-1]
        if seen.intersection(inner) or len(set(inner)) != len(inner):
            return False
        seen.update(inner)
    if problem.budget is not None and route_cost(problem, routes) > problem.budget + 1e-6:
        return False
    return all(int(m) in seen or m in (problem.start, problem.end) for m in problem.mandatory) and (
        problem.objective != "min_time" or len(seen) == len(problem.customers)
    )


# --------------------------------------------------------------------------------------------
# the solve loop


@dataclass
class _Run:
    """State of one cutting-plane run."""

    model: MilpModel
    options: SolveOptions
    best: list[list[int]] | None = None
    best_value: float | None = None
    bound: float | None = None
    trace: list[TracePoint] = field(default_factory=list)
    cut_keys: set = field(default_factory=set)
    stats: dict[str, Any] = field(default_factory=dict)
    bounds: list[float] = field(default_factory=list)
    """Every bound a solve reported (rounded if the objective is integral), in order."""

    @property
    def maximize(self) -> bool:
        return self.model.sense == "max"

    def better(self, value: float) -> bool:
        if self.best_value is None:
            return True
        return value > self.best_value + 1e-9 if self.maximize else value < self.best_value - 1e-9

    def offer(self, routes: list[list[int]]) -> bool:
        """Keep ``routes`` if feasible and better than the incumbent."""
        if not feasible_routes(self.model.problem, routes):
            return False
        value = objective(self.model.problem, routes)
        if self.better(value):
            self.best, self.best_value = [list(r) for r in routes], value
            self._settle_bound()
            self.point()
            return True
        return False

    def tighten(self, bound: float | None) -> None:
        """Record a bound reported by a solve and keep the tightest valid one.

        A bound of an integral objective is rounded (:func:`certify.round_bound`). A bound that
        crosses a checked incumbent (beyond :data:`certify.GAP_TOL`) cannot be valid, whatever
        the solver claimed: it is never kept (``stats["discarded_bounds"]`` counts them).
        """
        if bound is None or not math.isfinite(bound):
            return
        if self.model.integral_objective:
            bound = certify.round_bound(bound, self.model.sense)
        self.bounds.append(float(bound))
        self._settle_bound()

    def _settle_bound(self) -> None:
        sense = self.model.sense
        valid = [
            b
            for b in self.bounds
            if self.best_value is None or not certify.crosses(sense, self.best_value, b)
        ]
        discarded = len(self.bounds) - len(valid)
        if discarded:
            self.stats["discarded_bounds"] = discarded
        if not valid:
            self.bound = None
        else:
            self.bound = min(valid) if self.maximize else max(valid)

    def crossed(self) -> bool:
        """The last bound reported crosses the incumbent (it was discarded)."""
        return bool(
            self.bounds
            and self.best_value is not None
            and certify.crosses(self.model.sense, self.best_value, self.bounds[-1])
        )

    def point(self) -> None:
        bound = None if self.model.sparse else self.bound  # a restricted bound is no bound
        self.trace.append(TracePoint(self.options.elapsed(), self.best_value, bound))

    def closed(self) -> bool:
        if self.best_value is None or self.bound is None:
            return False
        gap = relative_gap(self.best_value, self.bound)
        return gap is not None and gap <= certify.GAP_TOL

    def result(self, solver: str, status: Status | None, message: str) -> Result:
        """The run's :class:`Result`: infeasible, no solution, or the incumbent (optimal exactly
        when the bound closed on it, :func:`certify.settle`)."""
        problem = self.model.problem
        bound = self.bound
        if self.model.sparse:
            # a bound of the restricted model is not a bound of the problem
            self.stats["restricted_bound"] = bound
            bound = None
            if status == Status.INFEASIBLE:
                status, message = None, f"the sparse model is infeasible ({message})"
        if status == Status.INFEASIBLE:
            return make_result(
                problem, solver, None, status, trace=self.trace, stats=self.stats, message=message
            )
        if self.best is None:
            return make_result(
                problem,
                solver,
                None,
                Status.NO_SOLUTION,
                bound=bound,
                trace=self.trace,
                stats=self.stats,
                message=message or "no feasible route found within the time limit",
            )
        value = objective(problem, self.best)
        final, bound, note = certify.settle(problem.sense, value, bound, Status.FEASIBLE)
        if final == Status.OPTIMAL:
            message = ""
        text = "; ".join(m for m in (message, note, self.stats.get("model_note", "")) if m)
        return make_result(
            problem,
            solver,
            self.best,
            final,
            bound=bound,
            trace=self.trace,
            stats=self.stats,
            message=text,
        )


def _pass_model(h: highspy.Highs, model: MilpModel) -> None:
    lp = highspy.HighsLp()
    lp.num_col_ = model.num_col
    lp.num_row_ = model.num_row
    lp.col_cost_ = model.cost
    lp.col_lower_ = model.lower
    lp.col_upper_ = model.upper
    lp.row_lower_ = np.asarray(model.row_lower, dtype=np.float64)
    lp.row_upper_ = np.asarray(model.row_upper, dtype=np.float64)
    start, index, value = model.csr()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = model.num_col
    lp.a_matrix_.num_row_ = model.num_row
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    lp.sense_ = highspy.ObjSense.kMaximize if model.sense == "max" else highspy.ObjSense.kMinimize
    lp.offset_ = model.offset
    h.passModel(lp)
    cols = np.flatnonzero(model.integrality).astype(np.int32)
    h.changeColsIntegrality(len(cols), cols, model.integrality[cols].astype(np.uint8))


def _add_cuts(h: highspy.Highs, run: _Run, cuts: list[separation.Cut]) -> int:
    """Add the cuts not added before (to HiGHS and to the model's rows); return how many."""
    model = run.model
    fresh = [c for c in cuts if c.key not in run.cut_keys]
    if not fresh:
        return 0
    rows = [model.cut_row(c) for c in fresh]
    for c in fresh:
        run.cut_keys.add(c.key)
    idx = [r[0] for r in rows]
    val = [r[1] for r in rows]
    lo = np.array([r[2] for r in rows])
    hi = np.array([r[3] for r in rows])
    first = model.num_row
    model.row_index.extend(idx)
    model.row_value.extend(val)
    model.row_lower.extend(lo.tolist())
    model.row_upper.extend(hi.tolist())
    model.blocks.append(("subtour_cuts", first, model.num_row, "x(E(S)) <= sum_S y - y_k"))
    starts = np.zeros(len(rows), dtype=np.int32)
    np.cumsum([len(i) for i in idx[:-1]], out=starts[1:]) if len(rows) > 1 else None
    h.addRows(
        len(rows),
        lo,
        hi,
        int(sum(len(i) for i in idx)),
        starts,
        np.concatenate(idx).astype(np.int32),
        np.concatenate(val).astype(np.float64),
    )
    return len(fresh)


def _separate(
    model: MilpModel, x: np.ndarray, integer: bool, options: SolveOptions | None = None
) -> list[separation.Cut]:
    p = model.problem
    y = np.ones(p.n)
    has = model.y_col >= 0
    y[has] = x[model.y_col[has]]
    vals = x[: model.num_arc]
    args = (p.n, model.tails, model.heads, vals, y, p.customers, p.start, p.end)
    if integer:
        return separation.integer_cuts(*args)
    return separation.fractional_cuts(
        *args,
        directed=model.directed,
        max_cuts=max(20, p.n),
        deadline=time.perf_counter() + 0.5 * options.remaining() if options else None,
    )


def _edge_cuts(model: MilpModel, x: np.ndarray, tol: float = 1e-3) -> list[separation.Cut]:
    """The 2-node cuts ``x_ij <= y_i`` (S = {i, j}, k = j), checked for every edge at once."""
    p = model.problem
    y = np.ones(p.n)
    has = model.y_col >= 0
    y[has] = x[model.y_col[has]]
    cust = np.zeros(p.n, dtype=bool)
    cust[p.customers] = True
    i, j = model.tails, model.heads
    xv = x[: model.num_arc]
    if model.directed:
        xv = xv + x[model.edge_id[j, i]] * (model.edge_id[j, i] >= 0)
    both = cust[i] & cust[j]
    cuts = []
    for lhs_node, other in ((i, j), (j, i)):
        viol = both & (xv > y[lhs_node] + tol)
        for a_id in np.flatnonzero(viol)[: 4 * p.n]:
            pair = tuple(sorted((int(i[a_id]), int(j[a_id]))))
            cuts.append(separation.Cut(pair, int(other[a_id])))
    return cuts


# --------------------------------------------------------------------------------------------
# sizing: dense or sparse model, and what the time limit allows

BUILD_RATE = {"highs": 250_000.0, "pyomo": 30_000.0, "cpsat": 40_000.0}
"""Columns per second of one free core that the model build (for Pyomo with its translation,
for CP-SAT the Python loop over arcs) manages; measured on rgg-2000 with the shared 2-core
machine at load 8 (110 k, 14 k and 10 k per second) and scaled by :func:`slowdown` at the time.
Used to decide, before building anything, whether the dense model fits the time limit."""

KNN_RATE = 1.0e8
"""Travel-matrix entries per second of one free core read by :func:`candidate_arcs` (4.3e7 at
load 6.5 on a 7,183-node view)."""


def slowdown() -> float:
    """How much slower than on a free core work runs now: the 1-minute load per CPU, at least 1.

    The build estimates are divided by it, so that a loaded machine picks the smaller model (or
    the warm start) instead of overrunning the limit.
    """
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform
        return 1.0
    return max(1.0, load / max(1, os.cpu_count() or 1))


DENSE_SHARE = 0.3
"""Share of the remaining time the dense model's build may take; beyond it the sparse one is built."""

MAX_COLUMNS = 4_000_000
"""Largest model built at all (about 1.5 GB with HiGHS); a larger one is refused."""

RESERVE = 0.1
"""Seconds of the limit kept back from each HiGHS run for the extraction and the result."""

NEIGHBOURS = (4, 12)
"""Fewest and most nearest neighbours per node in a sparse model."""


@dataclass(frozen=True)
class ModelPlan:
    """How :func:`prepare` builds the model of a problem within the time left."""

    sparse: bool
    neighbours: int
    columns: int
    """Estimated columns of the model."""
    seconds: float
    """Estimated seconds to build it (and to find the candidate arcs)."""


def plan_model(problem: Problem, seconds: float, solver: str = "highs") -> ModelPlan:
    """Dense model if its estimated build fits ``DENSE_SHARE`` of ``seconds``, else sparse.

    The estimate counts every finite arc (the dense model keeps at most those); the sparse one
    has about ``2 k + 3`` arcs per node (``k`` nearest successors, their reverses, the arcs from
    the start and to the end). ``k`` is the most of :data:`NEIGHBOURS` whose build fits.
    """
    n = problem.n
    slow = slowdown()
    rate = BUILD_RATE.get(solver, BUILD_RATE["highs"]) / slow
    dense = n * (n - 1) + 2 * n
    if dense / rate <= DENSE_SHARE * seconds and dense <= MAX_COLUMNS:
        return ModelPlan(False, n - 1, dense, dense / rate)
    knn = n * n * slow / KNN_RATE
    lo, hi = NEIGHBOURS
    k = hi
    while k > lo and n * (2 * k + 3) / rate + knn > DENSE_SHARE * seconds:
        k -= 1
    columns = n * (2 * k + 3)
    return ModelPlan(True, min(k, n - 1), columns, columns / rate + knn)


def _param(options: SolveOptions, name: str, default: Any = None) -> Any:
    """Parameter ``name`` of a solver that may not declare it (``cpsat`` calls :func:`plan_for`
    with its own parameters; until every solver declares a dataclass, a plain dict)."""
    params = options.params
    if isinstance(params, dict):
        return params.get(name, default)
    return getattr(params, name, default)


def plan_for(
    problem: Problem, options: SolveOptions, solver: str, overhead: float = 0.0
) -> ModelPlan:
    """:func:`plan_model` for the time left, overridden by the ``sparse`` (True/False) and
    ``neighbours`` parameters of the solver (when it has them)."""
    want = _param(options, "sparse")
    neighbours = _param(options, "neighbours")
    plan = plan_model(problem, max(0.0, options.remaining() - overhead), solver)
    if want is not None and bool(want) != plan.sparse:
        k = int(neighbours if neighbours is not None else NEIGHBOURS[1]) if want else problem.n - 1
        k = max(1, min(k, problem.n - 1))
        plan = ModelPlan(bool(want), k, problem.n * (2 * k + 3), 0.0)
    elif neighbours is not None and plan.sparse:
        k = max(1, min(int(neighbours), problem.n - 1))
        plan = ModelPlan(True, k, problem.n * (2 * k + 3), plan.seconds)
    return plan


def candidate_arcs(
    problem: Problem, k: int, routes: list[list[int]] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Arcs of the sparse model: each node's ``k`` nearest successors (or predecessors, whichever
    the matrix's memory order reads faster) by travel time and the reverse of those arcs, every arc out of the start and into the end, and the arcs of
    ``routes`` (the warm start, so that the sparse model contains it). Reads the travel matrix
    in row blocks; never allocates an ``n x n`` array."""
    t = problem.travel
    n = problem.n
    k = max(1, min(k, n - 1))
    block = max(1, 2**21 // n)
    tails, heads = [], []

    def nearest(rows: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.array(rows, dtype=np.float64)
        r = np.arange(len(rows))
        rows[r, first + r] = np.inf
        if k < n - 1:
            # the k-th smallest per row by partition (twice as fast as argpartition), then
            # every entry up to it; ties beyond 2k per row fall back to argpartition
            kth = np.partition(rows, k - 1, axis=1)[:, k - 1 : k]
            mask = rows <= kth
            if mask.sum() <= 2 * k * len(rows):
                src, dst = np.nonzero(mask)
                src = src + first
            else:
                nb = np.argpartition(rows, k, axis=1)[:, :k]
                src, dst = np.repeat(first + r, k), nb.ravel()
        else:
            src, dst = np.repeat(first + r, n), np.tile(np.arange(n), len(rows))
        keep = np.isfinite(rows[src - first, dst])
        return src[keep], dst[keep]

    # read the matrix along its memory order: rows of a C-ordered matrix (nearest successors),
    # rows of the transpose of an F-ordered one (nearest predecessors); the reverses follow
    forward = t.flags.c_contiguous or not t.flags.f_contiguous
    base = t if forward else t.T
    for first in range(0, n, block):
        i, j = nearest(base[first : first + block], first)
        tails.append(i if forward else j)
        heads.append(j if forward else i)
    # the reversed arcs: with nearly symmetric travel a node's nearest successors are close to
    # its nearest predecessors, so every node gets short ways in as well as out
    tails, heads = tails + heads, heads + tails
    every = np.arange(n)
    tails += [np.full(n, problem.start), every]
    heads += [every, np.full(n, problem.end)]
    for r in routes or []:
        arr = np.asarray(r, dtype=np.int64)
        tails.append(arr[:-1])
        heads.append(arr[1:])
    ti, hj = np.concatenate(tails), np.concatenate(heads)
    keep = (ti != hj) & np.isfinite(t[ti, hj])
    key = np.unique(ti[keep] * n + hj[keep])
    return key // n, key % n


def warm_start_routes(
    problem: Problem, options: SolveOptions, seconds: float
) -> tuple[list[list[int]] | None, dict[str, Any]]:
    """Index routes of the best of ``options.initial`` and the warm-start heuristic.

    The heuristic (parameter ``warm_start_solver``, default ``"ils"``) gets ``seconds`` (or the
    parameter ``warm_start_time``). Every route set is checked feasible before it is kept.
    """
    from ..registry import solve as registry_solve
    from ..registry import solvers

    stats: dict[str, Any] = {}
    candidates: list[list[list[int]]] = []
    if options.initial is not None:
        ids = {v: i for i, v in enumerate(problem.ids)}
        with contextlib.suppress(KeyError, TypeError, AttributeError):
            candidates.append([[ids[v] for v in r] for r in options.initial.get("routes", [])])
    name = _param(options, "warm_start_solver", "ils")
    chosen = _param(options, "warm_start_time")
    limit = float(chosen if chosen is not None else seconds)
    limit = min(limit, 0.9 * options.remaining())
    if name and name in solvers("mtrce")["mtrce"] and limit > 0.01:
        t0 = time.perf_counter()
        res = registry_solve(problem, name, time_limit=limit, seed=options.seed)
        stats["warm_start_seconds"] = time.perf_counter() - t0
        if res.is_feasible() and res.solution.get("routes"):
            ids = {v: i for i, v in enumerate(problem.ids)}
            candidates.append([[ids[v] for v in r] for r in res.solution["routes"]])
    best, best_cost = None, math.inf
    for routes in candidates:
        if routes and feasible_routes(problem, routes):
            value = objective(problem, routes)
            cost = value if problem.sense == "min" else -value
            if cost < best_cost:
                best, best_cost = routes, cost
    if best is not None:
        stats["warm_start_value"] = -best_cost if problem.sense == "max" else best_cost
    return best, stats


def prepare(
    problem: Problem, options: SolveOptions, solver: str, overhead: float = 0.0
) -> _Run | Result:
    """Warm start, then the dense or the sparse model (:func:`plan_model`), within the limit.

    ``overhead`` is the time the solver needs besides the model (e.g. importing Pyomo), counted
    with the build. Returns the :class:`_Run` to solve, or a finished :class:`Result`: trivial problems,
    infeasibility found by preprocessing, or (when even the sparse model cannot be built in the
    time left) the warm start, with a message saying why the exact model was not solved.

    Raises
    ------
    UnsupportedError
        When even the sparse model would exceed :data:`MAX_COLUMNS` (it would not fit in memory).
    """
    if problem.n == 1 or len(problem.customers) == 0:
        res = _trivial(problem, options)
        res.solver = solver
        return res
    plan = plan_for(problem, options, solver, overhead)
    if plan.columns > MAX_COLUMNS:
        from ..errors import UnsupportedError

        raise UnsupportedError(
            f"{solver}: the sparse model of {problem.n} nodes would have about "
            f"{plan.columns:,} columns (limit {MAX_COLUMNS:,}); use a heuristic (greedy, ils)"
        )
    # The warm start is the answer when the model cannot be solved in time: a large problem
    # gives it a larger share, and all of the time when even the sparse model does not fit.
    remaining = options.remaining()
    if plan.seconds + overhead > 0.6 * remaining:
        ws_time = 0.85 * remaining
    elif not plan.sparse:
        ws_time = min(2.0, 0.05 * options.time_limit, 0.03 * problem.n)
    else:
        ws_time = 0.45 * remaining
    routes, ws_stats = warm_start_routes(problem, options, ws_time)
    stats: dict[str, Any] = dict(ws_stats)
    stats["model"] = "sparse" if plan.sparse else "dense"
    if plan.sparse:
        stats["neighbours"] = plan.neighbours
    remaining = options.remaining()
    if plan.seconds + overhead > 0.8 * remaining:
        what = "sparse model" if plan.sparse else "model"
        extra = f" plus {overhead:.1f} s to load {solver}" if overhead else ""
        why = (
            f"stopped after the warm start: the {what} ({plan.columns:,} columns, about "
            f"{plan.seconds:.1f} s to build{extra}) does not fit the {remaining:.1f} s left"
        )
        return _warm_result(problem, solver, routes, stats, why)
    t0 = time.perf_counter()
    candidates = candidate_arcs(problem, plan.neighbours, routes) if plan.sparse else None
    stats["candidate_seconds"] = time.perf_counter() - t0
    try:
        model = build_model(
            problem, undirected=_param(options, "undirected"), candidates=candidates
        )
    except Infeasible as exc:
        if not plan.sparse:
            return make_result(problem, solver, None, Status.INFEASIBLE, message=str(exc))
        return _warm_result(
            problem, solver, routes, stats, f"the sparse model is infeasible: {exc}"
        )
    stats.update(
        build_seconds=model.build_seconds,
        shape="undirected" if not model.directed else "directed",
        columns=model.num_col,
        rows=model.num_row,
    )
    if model.sparse:
        stats["model_note"] = (
            f"sparse model ({plan.neighbours} nearest neighbours per node): a restriction of "
            "the problem, its bound is not reported"
        )
    run = _Run(model, options, stats=stats)
    if routes is not None:
        run.offer(routes)
    return run


def _warm_result(
    problem: Problem, solver: str, routes: list[list[int]] | None, stats: dict[str, Any], why: str
) -> Result:
    status = Status.FEASIBLE if routes is not None else Status.NO_SOLUTION
    return make_result(problem, solver, routes, status, stats=stats, message=why)


def solve_highs(problem: Problem, options: SolveOptions) -> Result:
    """Solve an MTRCE problem exactly with HiGHS and lazily separated subtour cuts.

    Every step counts against ``options.time_limit``, from the call: the warm start, the model
    build, the LP and MIP rounds and the extraction. Before building, :func:`plan_model` estimates
    the model's size: when the dense model would take more than 30 % of the time left, the
    **sparse model** is built instead (:func:`candidate_arcs`: each node's nearest neighbours by
    travel time, the arcs at the start and the end, and the warm start's arcs). The sparse model
    is a restriction: it is exact only when its candidates hold every arc of an optimal
    solution, which is not checked, so its result is ``feasible`` and its bound (a bound of the
    restricted model, not of the problem) is left out of ``Result.bound`` and reported as
    ``stats["restricted_bound"]``. When even the sparse model cannot be built in the time left,
    the warm start is returned (``feasible``, with a message saying why).

    Parameters (``options.params``, :class:`HighsParams`)
    -----------------------------------------------------
    lp_rounds
        Maximum rounds of cut separation on the LP relaxation (default 200).
    warm_start_solver
        Name of a registered heuristic run first for a starting solution (default ``"ils"``
        when registered), or None.
    warm_start_time
        Seconds for the warm start (default ``min(2, 5% of the limit, 0.03 n)``; 45 % of the
        time for a sparse model).
    undirected
        Force the edge (True) or arc (False) model.
    sparse, neighbours
        Force the sparse (True) or dense (False) model, and the neighbours per node.

    Raises
    ------
    UnsupportedError
        When even the sparse model would be too large to hold in memory.
    """
    params = options.params
    prepared = prepare(problem, options, "highs")
    if isinstance(prepared, Result):
        return prepared
    run = prepared
    model = run.model
    stats = run.stats

    h = quiet_highs()
    h.setOptionValue("output_flag", params.log)
    h.setOptionValue("random_seed", int(options.seed))
    set_threads(h, max(1, int(options.threads)))
    h.setOptionValue("mip_rel_gap", 1e-9)
    h.setOptionValue("mip_abs_gap", 0.999 if model.integral_objective else 1e-6)
    # HiGHS's primal heuristics re-run from scratch in every round and were the larger part of
    # a round's time on TSPLIB; the warm start and the routes of earlier rounds do their job.
    h.setOptionValue("mip_heuristic_effort", params.heuristic_effort)
    for key, value in params.highs_options.items():
        h.setOptionValue(key, value)
    t_pass = time.perf_counter()
    _pass_model(h, model)
    stats["pass_seconds"] = time.perf_counter() - t_pass

    status, message = _lp_phase(h, run, params.lp_rounds)
    if status is None:
        status, message = _mip_phase(h, run)
    stats["cuts"] = len(run.cut_keys)
    stats["rows_final"] = model.num_row
    run.point()
    return run.result("highs", status, message)


def _trivial(problem: Problem, options: SolveOptions) -> Result:
    """No customer: the only route is ``[s, e]`` (or ``[s]`` for a single node)."""
    route = [problem.start, problem.end]
    if not schedule(problem, route)[3]:
        return make_result(
            problem,
            "highs",
            None,
            Status.INFEASIBLE,
            message=unreachable_end(problem)
            or f"the route {problem.ids[problem.start]!r} -> {problem.ids[problem.end]!r} "
            "misses the deadline",
        )
    routes = [route] * problem.k
    value = objective(problem, routes)
    return make_result(
        problem,
        "highs",
        routes,
        Status.OPTIMAL,
        bound=value,
        trace=[TracePoint(options.elapsed(), value, value)],
    )


def _set_start(h: highspy.Highs, run: _Run) -> None:
    if run.best is None:
        return
    try:
        cols = column_values(run.model, run.best)
    except ValueError:
        return
    sol = highspy.HighsSolution()
    sol.col_value = cols
    sol.value_valid = True
    h.setSolution(sol)


def _lp_phase(h: highspy.Highs, run: _Run, max_rounds: int) -> tuple[Status | None, str]:
    """Separate subtour cuts on the LP relaxation until none is violated (C1/C2)."""
    model, options = run.model, run.options
    h.setOptionValue("solve_relaxation", True)
    lp_time, sep_time, rounds, last = 0.0, 0.0, 0, None
    stall = 0
    for rounds in range(1, max_rounds + 1):
        if options.remaining() <= 0.05:
            break
        h.setOptionValue("time_limit", max(0.01, options.remaining() - RESERVE))
        t0 = time.perf_counter()
        h.run()
        lp_time += time.perf_counter() - t0
        ms = h.getModelStatus()
        if ms == highspy.HighsModelStatus.kInfeasible:
            run.stats.update(lp_rounds=rounds, lp_seconds=lp_time)
            return (
                Status.INFEASIBLE,
                "the LP relaxation is infeasible: no route meets every constraint",
            )
        if ms != highspy.HighsModelStatus.kOptimal:
            break
        value = h.getInfo().objective_function_value
        run.tighten(value)
        run.point()
        x = np.asarray(h.getSolution().col_value)
        t0 = time.perf_counter()
        cuts = _edge_cuts(model, x) if model.problem.objective == "max_utility" else []
        cuts += _separate(model, x, integer=False, options=options)
        sep_time += time.perf_counter() - t0
        added = _add_cuts(h, run, cuts)
        if added == 0:
            break
        if last is not None and abs(value - last) <= 1e-7 * max(1.0, abs(value)):
            stall += 1
            if stall >= 10:
                break
        else:
            stall = 0
        last = value
    st = run.stats
    st["lp_rounds"] = st.get("lp_rounds", 0) + rounds
    st["lp_seconds"] = st.get("lp_seconds", 0.0) + lp_time
    st["separation_seconds"] = st.get("separation_seconds", 0.0) + sep_time
    st.setdefault("lp_cuts", len(run.cut_keys))
    return None, ""


def _repair_tour(run: _Run, x: np.ndarray) -> None:
    """Incumbent from an integer point with subtours (edge model).

    TSP: patch the cycles into one tour and 2-opt it. OP (one route, no windows): 2-opt the
    root route, then insert the nodes of the subtours (and any other customer) greedily while
    the route time allows.
    """
    model = run.model
    p = model.problem
    if model.directed or p.has_windows:
        return
    if p.objective == "max_utility":
        _repair_op(run, x)
        return
    if p.start != p.end:
        return
    cycles = tour_repair.cycles_of(p.n, model.tails, model.heads, x[: model.num_arc])
    t = np.asarray(p.travel, dtype=np.float64)
    tour = tour_repair.patch(t, cycles)
    seconds = min(1.0, 0.05 * run.options.remaining())
    tour = tour_repair.two_opt(t, tour, seconds=seconds)
    at = tour.index(p.start)
    tour = tour[at:] + tour[:at]
    if run.offer([[*tour, p.start]]):
        run.stats["repaired_incumbents"] = run.stats.get("repaired_incumbents", 0) + 1


def _repair_op(run: _Run, x: np.ndarray) -> None:
    model = run.model
    p = model.problem
    if p.budget is not None or len(p.mandatory):
        return
    routes, _ = routes_from_x(model, x)
    t = np.asarray(p.travel, dtype=np.float64)
    d = np.asarray(p.service, dtype=np.float64)
    path = tour_repair.two_opt_path(t, routes[0], seconds=min(0.2, 0.02 * run.options.remaining()))
    a, _ = windows(p)
    dep_s = max(0.0, a[p.start]) + d[p.start]
    capacity = min(float(p.deadline) - d[p.end] - p.verify_time, np.inf) - dep_s
    yv = x[model.y_col[p.customers]]
    order = p.customers[np.argsort(-yv, kind="stable")]  # subtour nodes (y = 1) first
    path = tour_repair.insert_greedily(t, path, order.tolist(), p.utility, d, capacity)
    path = tour_repair.two_opt_path(t, path, seconds=min(0.2, 0.02 * run.options.remaining()))
    if run.offer([path]):
        run.stats["repaired_incumbents"] = run.stats.get("repaired_incumbents", 0) + 1


def _mip_phase(h: highspy.Highs, run: _Run) -> tuple[Status | None, str]:
    """Solve the MIP, cut the subtours of every integer solution found, repeat (C3)."""
    model, options = run.model, run.options
    h.setOptionValue("solve_relaxation", False)
    found: list[np.ndarray] = []

    # Optionally stop a MIP round as soon as, past the root, HiGHS accepts an integer solution
    # with a subtour: proving it optimal is wasted work, since its cuts must be added anyway.
    early = run.options.params.early_stop
    stop = {"now": False}

    def on_solution(event: Any) -> None:
        x = np.array(event.data_out.mip_solution, dtype=np.float64)
        found.append(x)
        if early and event.data_out.mip_node_count >= 1 and _separate(model, x, integer=True):
            stop["now"] = True

    def on_interrupt(event: Any) -> None:
        if stop["now"]:
            event.data_in.user_interrupt = True

    h.cbMipSolution.subscribe(on_solution)
    if early:
        h.cbMipInterrupt.subscribe(on_interrupt)
    mip_time, rounds, nodes, retries = 0.0, 0, 0, 0
    message = ""
    status: Status | None = None
    while True:
        remaining = options.remaining()
        if remaining <= 0.05:
            message = "time limit reached"
            break
        rounds += 1
        _set_start(h, run)
        h.setOptionValue("time_limit", max(0.01, remaining - RESERVE))
        found.clear()
        stop["now"] = False
        t0 = time.perf_counter()
        h.run()
        mip_time += time.perf_counter() - t0
        info = h.getInfo()
        nodes += int(info.mip_node_count)
        ms = h.getModelStatus()
        if ms == highspy.HighsModelStatus.kInfeasible:
            if run.best is None:
                status, message = (
                    Status.INFEASIBLE,
                    "no route satisfies every constraint (MIP infeasible)",
                )
            else:
                message = "HiGHS reported the MIP infeasible although a checked route exists"
            break
        final_x = None
        if info.primal_solution_status == highspy.kSolutionStatusFeasible:
            final_x = np.asarray(h.getSolution().col_value)
            found.append(final_x)
        cuts: list[separation.Cut] = []
        final_clean = False
        for x in found:
            c = _separate(model, x, integer=True)
            routes, stray = routes_from_x(model, x)
            if not c and not stray:
                run.offer(routes)
                if x is final_x:
                    final_clean = True
            else:
                cuts.extend(c)
                run.offer(routes)  # dropping the subtours keeps the routes feasible (OP)
                if x is final_x:
                    _repair_tour(run, x)
        if ms == highspy.HighsModelStatus.kOptimal:
            run.tighten(
                info.mip_dual_bound
                if math.isfinite(info.mip_dual_bound)
                else info.objective_function_value
            )
        elif math.isfinite(info.mip_dual_bound):
            run.tighten(info.mip_dual_bound)
        run.point()
        if run.closed():
            break
        if ms == highspy.HighsModelStatus.kOptimal and final_clean:
            if not run.crossed() or retries >= 2:
                if run.crossed():
                    message = "HiGHS's bound crossed the incumbent twice; no proof"
                break
            # HiGHS proved its own solution optimal within its tolerances, but a better checked
            # solution exists (repaired, or from the warm start), so that proof is void: solve
            # again with that solution as the start (its cutoff then comes from it).
            retries += 1
            run.stats["bound_retries"] = retries
            continue
        interrupted = stop["now"] and ms == highspy.HighsModelStatus.kInterrupt
        if ms != highspy.HighsModelStatus.kOptimal and not interrupted:
            message = (
                "time limit reached"
                if ms == highspy.HighsModelStatus.kTimeLimit
                else f"HiGHS stopped: {h.modelStatusToString(ms)}"
            )
            break
        if _add_cuts(h, run, cuts) == 0:
            message = "no new subtour cut separated; stopping"
            break
        # the new integer cuts change the LP: separate on it again before the next MIP
        _lp_phase(h, run, run.options.params.lp_rounds_between)
        h.setOptionValue("solve_relaxation", False)
    h.cbMipSolution.unsubscribe(on_solution)
    if early:
        h.cbMipInterrupt.unsubscribe(on_interrupt)
    run.stats.update(mip_rounds=rounds, mip_seconds=mip_time, mip_nodes=nodes)
    return status, message


def _supports(problem: Problem) -> str | None:
    return certify.route_objective_reason(problem)


@register(
    "mtrce",
    "highs",
    exact=True,
    description="MILP with HiGHS (highspy), subtour cuts separated lazily on the LP and after each MIP",
    supports=_supports,
    params=HighsParams,
)
def highs_solver(problem: Problem, options: SolveOptions) -> Result:
    """Registered ``highs`` solver: :func:`solve_highs`."""
    return solve_highs(problem, options)
