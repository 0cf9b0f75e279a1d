"""The MTRCE MILP as arrays: columns, CSR rows and index maps (:func:`build_model`).

The model (``formulations/mtrce.md``) is built once from numpy arrays and has two shapes:

- **undirected** (symmetric travel, no windows, one route: TSP, OP): one binary variable per
  edge, degree rows, one route-time row (exact without windows: a route's time is its travel
  plus its service) and a budget row;
- **directed** (asymmetric travel, time windows, or ``k > 1``: OPTW, TOP): one variable per
  arc, in/out degree rows, and service-start variables linked to the arcs by big-M rows whose
  M comes from the windows (Miller-Tucker-Zemlin style time propagation). With shared node
  times the two-index model is exact for ``k`` routes each with its own deadline.

Subtour elimination constraints are not in the model: the solvers add them lazily
(:mod:`daitn_opt.mtrce.milp_cuts`, :meth:`MilpModel.cut_row`), or ``compact=True`` adds
Miller-Tucker-Zemlin order rows so that the model is complete (for export).

Example
-------
>>> import numpy as np
>>> from daitn_opt.mtrce.problem import Problem
>>> xs = np.array([0.0, 1.0, 2.0, 3.0])
>>> problem = Problem(ids=["s", "a", "b", "c"], travel=np.abs(xs[:, None] - xs[None, :]),
...                   utility=np.array([0.0, 1.0, 1.0, 1.0]), service=np.zeros(4),
...                   start=0, end=0, deadline=4.0)
>>> model = build_model(problem)
>>> model.directed, model.num_arc, model.num_col, [b[0] for b in model.blocks]
(False, 3, 7, ['degree', 'depot_degree', 'route_time'])
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import shortest_path

from . import separation
from .paths import shortest_paths
from .problem import Problem
from .solution import unreachable_end, windows

INF = highspy.kHighsInf
TIME_EPS = 1e-6


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
    shortest: np.ndarray | None = None
    """All-pairs shortest travel times (dense model with a deadline or windows), else None."""
    route_cap: float | None = None
    """Travel plus service one route may take (one route without windows), else None."""
    build_seconds: float = 0.0

    @property
    def num_col(self) -> int:
        return len(self.cost)

    @property
    def maximize(self) -> bool:
        return self.sense == "max"

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

    @property
    def objective_step(self) -> float:
        """The gap between two objective values: the gcd of the integral costs (Chao set 66
        scores are multiples of 5), 0 when the objective is not integral. Every solution's
        value is ``offset`` plus a multiple of it."""
        if not self.integral_objective:
            return 0.0
        used = np.abs(np.rint(self.cost[self.cost != 0])).astype(np.int64)
        return float(np.gcd.reduce(used)) if len(used) else 1.0

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
        smaller of ``E(S)`` and ``delta(S)`` is written. ``S`` may hold the end of a path
        (undirected, start != end; :func:`separation.fractional_cuts`): its ``y`` is the
        constant 1 and the virtual edge ``{e, s}`` crosses ``delta(S)``, so the cut reads
        ``x(delta(S)) >= 2 y_k - 1`` (``>= 1`` when ``k`` is the end).
        """
        if hasattr(cut, "row"):  # a cut family with its own row (op_cuts.CoverCut)
            return cut.row(self)
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
        ys_all = self.y_col[members]
        fixed = int(np.sum(ys_all < 0))  # the end of a path: visited, y = 1
        yk = self.y_col[cut.k]
        if len(inner) + len(members) <= len(cross) + 1:
            has = ys_all >= 0
            ys = ys_all[has]
            idx = np.concatenate([inner, ys])
            val = np.concatenate([-np.ones(len(inner)), np.ones(len(ys))])
            if yk >= 0:
                val[len(inner) + int(np.flatnonzero(members[has] == cut.k)[0])] -= 1.0
            lower = -(fixed - (1.0 if yk < 0 else 0.0))
            keep = val != 0
            return idx[keep], val[keep], float(lower), INF
        if yk < 0:
            return cross, np.ones(len(cross)), factor - fixed, INF
        idx = np.concatenate([cross, [yk]])
        val = np.concatenate([np.ones(len(cross)), [-factor]])
        return idx, val, -float(fixed), INF


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
    problem
        The MTRCE problem (objective ``max_utility`` or ``min_time``).
    undirected
        Force the edge (True) or arc (False) model; by default edges are used when the travel
        (and travel cost) is symmetric, there are no windows and ``k == 1``.
    compact
        Add Miller-Tucker-Zemlin order rows (arc model): a complete MILP without lazy cuts.
    candidates
        ``(tails, heads)`` of the only arcs the model may use
        (:func:`daitn_opt.mtrce.milp_plan.candidate_arcs`): the *sparse* model, a restriction of
        the problem (every route it finds is feasible, but its optimum and bound are those of
        routes over these arcs). Nothing of size ``n x n`` is allocated then: earliest and
        latest times come from shortest paths over the candidate arcs (valid for the
        restricted model), and the pair-conflict rows (P) are left out.

    Returns
    -------
    MilpModel
        Columns ``x`` (arcs or edges), ``y`` (visits), ``z``, ``tau``, ``w``, ``u`` and the rows
        of the families (D), (T), (B), (P), (M) of ``formulations/mtrce.md``, in ``blocks``.

    Raises
    ------
    Infeasible
        When preprocessing proves that no route can exist (message says why).
    ValueError
        When ``undirected=True`` is asked of a problem the edge model cannot represent.

    Notes
    -----
    Dense: ``O(n^2)`` columns and rows, plus an ``O(n^3)`` shortest-path computation when the
    problem has a deadline or windows (the big-M values and the arc filter).
    """
    t0 = time.perf_counter()
    p = problem
    undirected, pairs = _edge_model(p, undirected, compact, candidates)
    directed = not undirected
    tm = _node_times(p, undirected, pairs)
    tails, heads = _arcs(p, tm, directed, tm.pairs)
    model = _columns(p, tm, directed, tails, heads, compact, sparse=candidates is not None)
    _set_objective(model, tm)
    cust = p.customers
    d = np.asarray(p.service, dtype=np.float64)
    t = np.asarray(p.travel, dtype=np.float64)
    a, _ = windows(p)
    _degree_rows(model, cust)
    _depot_logical_rows(model, cust)
    _time_rows(model, cust, d, t, a, tm.dep_s, tm.latest_end, _needs_tau(p, directed))
    _budget_row(model, cust)
    if p.k == 1 and p.objective == "max_utility" and tm.sp is not None:
        _conflict_rows(model, cust, d, tm.sp, tm.reachable)
    model.shortest = tm.sp
    if p.k == 1 and not p.has_windows and np.isfinite(p.deadline):
        model.route_cap = float(tm.latest_end - tm.dep_s)
    if compact:
        _mtz_rows(model, cust)
    model.build_seconds = time.perf_counter() - t0
    return model


def _edge_model(
    p: Problem,
    undirected: bool | None,
    compact: bool,
    candidates: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[bool, tuple[np.ndarray, np.ndarray] | None]:
    """Whether the model is written on edges, and the candidate pairs without loops (None:
    dense)."""
    t = np.asarray(p.travel, dtype=np.float64)
    pairs = None
    if candidates is not None:
        ci, cj = (np.asarray(c, dtype=np.int64) for c in candidates)
        keep = ci != cj
        ci, cj = ci[keep], cj[keep]
        pairs = (ci, cj)
        # the edge model only needs symmetry on the arcs it may use
        symmetric = bool(np.array_equal(t[ci, cj], t[cj, ci])) and (
            p.travel_cost is None
            or bool(np.array_equal(p.travel_cost[ci, cj], p.travel_cost[cj, ci]))
        )
    else:
        symmetric = p.is_symmetric and (
            p.travel_cost is None or np.array_equal(p.travel_cost, p.travel_cost.T)
        )
    edges_fit = symmetric and not p.has_windows and p.k == 1
    if compact:
        undirected = False
    if undirected is None:
        undirected = edges_fit
    if undirected and not edges_fit:
        raise ValueError("the edge model needs symmetric travel, no windows and k == 1")
    return bool(undirected), pairs


def _needs_tau(p: Problem, directed: bool) -> bool:
    """Service-start columns are needed: arc model with windows, or several timed routes."""
    return directed and (p.has_windows or (p.k > 1 and np.isfinite(float(p.deadline))))


@dataclass
class _Times:
    """Time preprocessing of a model: departure, latest arrival at the end, each node's earliest
    and latest service start (tight big-M), shortest travel times, what can be visited."""

    dep: float
    dep_s: float
    latest_end: float
    earliest: np.ndarray
    latest: np.ndarray
    finite_latest: np.ndarray
    sp: np.ndarray | None
    """All-pairs shortest travel times (dense model only)."""
    reachable: np.ndarray
    pairs: tuple[np.ndarray, np.ndarray] | None
    """Candidate pairs (both orders if undirected) with finite travel; None: dense."""


def _shortest_times(
    p: Problem, undirected: bool, pairs: tuple[np.ndarray, np.ndarray] | None, timed: bool
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray, Any]:
    """``(sp, from start, to end, longest leg out of each node, pairs)`` over the dense matrix
    or the candidate pairs."""
    n, s, e = p.n, p.start, p.end
    t = np.asarray(p.travel, dtype=np.float64)
    if pairs is None:
        sp = shortest_paths(t) if timed else np.zeros_like(t)
        # a finite horizon keeps every big-M finite without a deadline: a service never starts
        # after the latest window opening plus every service and the longest leg out of a node
        legs = np.where(np.isfinite(t), t, 0.0).max(axis=1)
        return sp, sp[s], sp[:, e], legs, None
    ci, cj = pairs
    if undirected:
        ci, cj = np.concatenate([ci, cj]), np.concatenate([cj, ci])
    pair_key = np.unique(ci * n + cj)
    ci, cj = pair_key // n, pair_key % n
    ct = t[ci, cj]
    fin = np.isfinite(ct)
    ci, cj, ct = ci[fin], cj[fin], ct[fin]
    sp_s, sp_e = _shortest_sparse(n, ci, cj, ct, s, e) if timed else (np.zeros(n),) * 2
    legs = np.zeros(n)
    np.maximum.at(legs, ci, ct)
    return None, sp_s, sp_e, legs, (ci, cj)


def _node_times(
    p: Problem, undirected: bool, pairs: tuple[np.ndarray, np.ndarray] | None
) -> _Times:
    """Earliest and latest service start of every node; :class:`Infeasible` when the start,
    the end or a mandatory node cannot be served in time."""
    s, e = p.start, p.end
    d = np.asarray(p.service, dtype=np.float64)
    a, b = windows(p)
    T = float(p.deadline)
    dep = max(0.0, a[s])
    if dep > b[s] + TIME_EPS:
        raise Infeasible(f"start {p.ids[s]!r}: its window closes at {b[s]:g}, before time 0")
    dep_s = dep + d[s]
    # shortest travel times only matter for a deadline or windows; without them the zero matrix
    # is a valid (weak) lower bound and saves the O(n^3) shortest-path computation
    timed = np.isfinite(T) or p.has_windows
    sp, sp_s, sp_e, legs, pairs = _shortest_times(p, undirected, pairs, timed)
    horizon = max(dep_s, float(np.max(np.where(np.isfinite(a), a, 0.0)))) + float(np.sum(d + legs))
    latest_end = min(b[e], T - d[e] - p.verify_time, horizon)
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
    reachable = _reachable(p, earliest, latest)
    if np.isfinite(latest_end):
        finite_latest = np.where(np.isfinite(latest), latest, 0.0)
    else:
        finite_latest = latest
    return _Times(dep, dep_s, latest_end, earliest, latest, finite_latest, sp, reachable, pairs)


def _mandatory(p: Problem) -> np.ndarray:
    """(n,) the customers every route set must visit (all of them under ``min_time``)."""
    mandatory = np.zeros(p.n, dtype=bool)
    mandatory[np.asarray(p.mandatory, dtype=np.int64)] = True
    if p.objective == "min_time":
        mandatory[p.customers] = True
    mandatory[[p.start, p.end]] = False
    return mandatory


def _reachable(p: Problem, earliest: np.ndarray, latest: np.ndarray) -> np.ndarray:
    """(n,) the customers whose window of service starts is not empty; :class:`Infeasible`
    when a mandatory one is not."""
    cust = p.customers
    reachable = np.zeros(p.n, dtype=bool)
    reachable[cust] = earliest[cust] <= latest[cust] + TIME_EPS
    lost = np.flatnonzero(_mandatory(p) & ~reachable)
    if len(lost):
        raise Infeasible(
            f"mandatory node {p.ids[lost[0]]!r} cannot be reached and left in time for the deadline"
        )
    return reachable


def _arcs(
    p: Problem, tm: _Times, directed: bool, pairs: tuple[np.ndarray, np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Tails and heads (sorted) of the arcs (directed) or edges (``i < j``) that can be in some
    feasible route."""
    n, s, e = p.n, p.start, p.end
    t = np.asarray(p.travel, dtype=np.float64)
    d = np.asarray(p.service, dtype=np.float64)
    if pairs is not None:
        ii, jj = pairs
        if directed and s != e:
            ii, jj = np.append(ii, s), np.append(jj, e)  # an idle replica
    else:
        ii, jj = (g.ravel() for g in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    tij = t[ii, jj]
    ok = np.isfinite(tij) & (ii != jj)
    node_ok = tm.reachable.copy()
    node_ok[[s, e]] = True
    ok &= node_ok[ii] & node_ok[jj]
    earliest, latest, latest_end = tm.earliest, tm.latest, tm.latest_end
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
    return ii[sel], jj[sel]


def _columns(
    p: Problem,
    tm: _Times,
    directed: bool,
    tails: np.ndarray,
    heads: np.ndarray,
    compact: bool,
    sparse: bool,
) -> MilpModel:
    """The model's columns (``x``, ``y``, ``z``, ``tau``, ``w``, ``u``) with their bounds and
    integrality; no row and a zero objective yet."""
    n, s, e = p.n, p.start, p.end
    m = len(tails)
    cust = p.customers
    edge_id = ArcIndex(n, tails, heads, undirected=not directed)
    y_col = np.full(n, -1, dtype=np.int64)
    y_col[cust] = m + np.arange(len(cust))
    ncol = m + len(cust)
    z_col = -1
    if not directed and s == e:
        z_col, ncol = ncol, ncol + 1
    tau_col = np.full(n, -1, dtype=np.int64)
    if _needs_tau(p, directed):
        tau_col[cust] = ncol + np.arange(len(cust))
        ncol += len(cust)
    w_col = np.full(n, -1, dtype=np.int64)
    if p.objective == "min_time" and p.has_windows:
        into_end = np.flatnonzero(edge_id[:, e] >= 0) if directed else np.zeros(0, np.int64)
        into_end = into_end[np.isin(into_end, cust)]
        w_col[into_end] = ncol + np.arange(len(into_end))
        ncol += len(into_end)
    order_col = np.full(n, -1, dtype=np.int64)
    if compact:
        order_col[cust] = ncol + np.arange(len(cust))
        ncol += len(cust)
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
        cost=np.zeros(ncol),
        lower=np.zeros(ncol),
        upper=np.ones(ncol),
        integrality=np.zeros(ncol, dtype=np.uint8),
        row_start=[],
        row_index=[],
        row_value=[],
        row_lower=[],
        row_upper=[],
        earliest=tm.earliest,
        latest=tm.latest,
        edge_id=edge_id,
        sparse=sparse,
    )
    _column_bounds(model, tm)
    return model


def _column_bounds(model: MilpModel, tm: _Times) -> None:
    """Integrality and bounds: binaries, the depot's degree, mandatory and unreachable visits,
    the service-start windows, the MTZ positions."""
    p = model.problem
    s, e, k = p.start, p.end, p.k
    cust = p.customers
    lower, upper, integrality = model.lower, model.upper, model.integrality
    y_col, tau_col, edge_id = model.y_col, model.tau_col, model.edge_id
    integrality[: model.num_arc] = 1
    integrality[y_col[cust]] = 1
    if model.z_col >= 0:
        tour_optional = (not model.directed) and s == e and p.objective == "max_utility"
        integrality[model.z_col] = 1
        lower[model.z_col] = 0.0 if tour_optional else 1.0
    if model.directed and s != e:
        upper[edge_id[s, e]] = k
    if not model.directed and s == e:
        upper[edge_id[s][edge_id[s] >= 0]] = 2.0  # s - j - s
    reachable = tm.reachable
    lower[y_col[cust[_mandatory(p)[cust]]]] = 1.0
    upper[y_col[cust[~reachable[cust]]]] = 0.0
    if (tau_col[cust] >= 0).any():
        lower[tau_col[cust]] = np.where(reachable[cust], tm.earliest[cust], 0.0)
        upper[tau_col[cust]] = np.where(reachable[cust], tm.finite_latest[cust], 0.0)
    w = model.w_col[model.w_col >= 0]
    upper[w] = INF
    u = model.order_col[cust]
    if (u >= 0).any():
        lower[u] = 1.0
        upper[u] = float(len(cust))


def _set_objective(model: MilpModel, tm: _Times) -> None:
    """Cost, sense and offset: collected utility (max), or summed route completions (min)."""
    p = model.problem
    s, e = p.start, p.end
    cust = p.customers
    t = np.asarray(p.travel, dtype=np.float64)
    d = np.asarray(p.service, dtype=np.float64)
    cost, y_col, tails, heads = model.cost, model.y_col, model.tails, model.heads
    if p.objective == "max_utility":
        model.sense = "max"
        cost[y_col[cust]] = p.utility[cust]
        model.offset = float(p.utility[s] + (p.utility[e] if e != s else 0.0))
        return
    model.sense = "min"
    per_route = tm.dep_s + d[e] + p.verify_time
    model.offset = 0.0
    from_start = np.flatnonzero((tails == s) & np.isin(heads, cust))
    if p.has_windows:  # min_time with windows: the arrival columns w carry the completions
        cost[model.w_col[model.w_col >= 0]] = 1.0
        cost[from_start] = d[e] + p.verify_time
        return
    cost[: model.num_arc] = t[tails, heads]
    cost[y_col[cust]] = d[cust]
    if not model.directed:
        # the edge (s, e) alone is a route with no customer: it is still timed
        model.offset = per_route
        return
    cost[from_start] += per_route
    if s != e:
        cost[model.edge_id[s, e]] = 0.0
    if len(cust) == 0:
        model.offset = per_route


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


def _depot_logical_rows(model: MilpModel, cust: np.ndarray) -> None:
    """(L) ``x_si <= y_i`` and ``x_ei <= y_i``: the edge model of a path (start != end).

    The degree rows only give ``x_si <= 2 y_i``; without these rows the LP of an orienteering
    path runs a whole edge out of the start into a half-visited customer (Chao set 64, budget
    15: bound 158.6 over the optimum 96 with every subtour cut). Valid: an integer path uses the
    edge {s, i} only when it visits i. With ``s == e`` (a tour) the route s-i-s is allowed and
    ``x_si <= 2 y_i`` is all there is.
    """
    p = model.problem
    if model.directed or p.start == p.end:
        return
    idx, val = [], []
    for depot in (p.start, p.end):
        cols = model.edge_id[depot, cust]
        has = cols >= 0
        for col, ycol in zip(cols[has], model.y_col[cust[has]], strict=True):
            idx.append(np.array([col, ycol]))
            val.append(np.array([1.0, -1.0]))
    if idx:
        model.add_rows("depot_logical", "x_si - y_i <= 0, x_ei - y_i <= 0", idx, val, -INF, 0.0)


def _time_rows(model, cust, d, t, a, dep_s, latest_end, need_tau) -> None:
    """(T1) route time for one route without windows; (T1') and (T2)-(T4) otherwise."""
    p = model.problem
    if not need_tau:
        if np.isfinite(p.deadline):
            _route_time_row(model, cust, d, t, latest_end - dep_s, total=False)
        return
    _route_time_row(model, cust, d, t, p.k * (latest_end - dep_s), total=True)
    _propagation_rows(model, cust, d, t, latest_end)
    _end_arrival_rows(model, cust, d, t, a)


def _route_time_row(model, cust, d, t, cap: float, total: bool) -> None:
    """(T1) one route, no windows: travel + service of the visited customers <= T'.

    (T1', ``total``) the same summed over all routes, a valid inequality for every route set:
    each route's travel plus service fits between its departure and L_e (waiting only adds);
    idle replicas' arcs s -> e are left out. Much stronger than the big-M rows on their own.
    """
    p = model.problem
    idx = np.concatenate([np.arange(model.num_arc), model.y_col[cust]])
    coef = t[model.tails, model.heads].copy()
    if not total:
        meaning = "sum t x + sum d y <= T - d_s - d_e - verify"
        model.add_rows("route_time", meaning, [idx], [np.concatenate([coef, d[cust]])], -INF, cap)
        return
    if p.start != p.end:
        coef[model.edge_id[p.start, p.end]] = 0.0
    val = np.concatenate([coef, d[cust]])
    model.add_rows(
        "route_time_total", "sum t x + sum d y <= k (L_e - d_s)", [idx], [val], -INF, cap
    )


def _needed(big_m: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """``big_m`` and ``arrays`` where ``big_m`` is positive: a row whose M is not is implied by
    the bounds of its columns."""
    need = big_m > TIME_EPS
    return (big_m[need], *(x[need] for x in arrays))


def _linked_rows(model, name: str, meaning: str, cols: tuple, big_m: np.ndarray, gap) -> None:
    """Rows ``u - v - M x >= gap - M`` for ``cols = (u, v, x)`` (one per entry): ``u >= v + gap``
    whenever the arc ``x`` is used, nothing otherwise (big-M time propagation)."""
    ones = np.ones(len(big_m))
    model.add_rows(
        name,
        meaning,
        list(np.stack(cols, axis=1)),
        list(np.stack([ones, -ones, -big_m], axis=1)),
        gap - big_m,
        INF,
    )


def _propagation_rows(model, cust, d, t, latest_end: float) -> None:
    """(T2) ``tau_j >= tau_i + d_i + t_ij - M_ij (1 - x_ij)`` between customers; (T3) arriving
    at the end in time from the last customer: ``tau_i + d_i + t_ie <= L_e``."""
    e = model.problem.end
    tails, heads, tau = model.tails, model.heads, model.tau_col
    E, L = model.earliest, model.latest
    arc = np.flatnonzero(np.isin(tails, cust) & np.isin(heads, cust))
    i, j = tails[arc], heads[arc]
    big_m, arc, i, j = _needed(L[i] + d[i] + t[i, j] - E[j], arc, i, j)
    meaning = "tau_j - tau_i - M_ij x_ij >= d_i + t_ij - M_ij"
    _linked_rows(model, "time_propagation", meaning, (tau[j], tau[i], arc), big_m, d[i] + t[i, j])
    arc = np.flatnonzero(np.isin(tails, cust) & (heads == e))
    i = tails[arc]
    big_m, arc, i = _needed(L[i] + d[i] + t[i, e] - latest_end, arc, i)
    if len(arc):
        model.add_rows(
            "end_time",
            "tau_i + M x_ie <= L_e - d_i - t_ie + M",
            list(np.stack([tau[i], arc], axis=1)),
            list(np.stack([np.ones(len(arc)), big_m], axis=1)),
            -INF,
            latest_end - d[i] - t[i, e] + big_m,
        )


def _end_arrival_rows(model, cust, d, t, a) -> None:
    """(T4) ``min_time`` with windows: ``w_i >= max(tau_i + d_i + t_ie, a_e)`` when
    ``x_ie = 1``."""
    e = model.problem.end
    tails, heads, tau, wc = model.tails, model.heads, model.tau_col, model.w_col
    arc = np.flatnonzero(np.isin(tails, cust) & (heads == e))
    i = tails[arc]
    i_w = wc[i] >= 0
    arc, i = arc[i_w], i[i_w]
    if not len(arc):
        return
    big_m = model.latest[i] + d[i] + t[i, e]
    meaning = "w_i - tau_i - M x_ie >= d_i + t_ie - M"
    _linked_rows(model, "end_arrival", meaning, (wc[i], tau[i], arc), big_m, d[i] + t[i, e])
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
