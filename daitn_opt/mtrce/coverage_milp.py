"""Exact coverage objectives by mixed-integer programming (HiGHS): solver ``coverage-highs``.

The model (``formulations/mtrce.md``, section "Outcome-aligned objectives", (C1)-(C14)) is a
one-route arc formulation with service-start variables and big-M time propagation (which also
handles asymmetric travel, service times, windows, the deadline and the budget), position
variables counted from the end of the route (Miller-Tucker-Zemlin rows: they forbid subtours even
when some transit times are 0, and they give each visit its position for the recency weights), and
the concave piecewise-linear coverage of each label written as ``h_l <= a_k X_l + b_k`` cuts. The
coverage is exact (the PWL curve *is* the objective), so the MIP's dual bound is a bound of the
problem. :func:`build_model` builds it; :func:`solve_coverage_highs` runs it.

Sizes: ``O(n^2)`` arcs, plus ``O(n^2)`` position-assignment binaries under
``max_recency_coverage`` (meant for views of up to about 20-30 eligible nodes).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import highspy
import numpy as np

from ..highs_model import quiet_highs
from ..registry import SolveOptions, register
from ..result import Result, Status
from . import coverage
from .paths import shortest_paths
from .problem import Problem
from .solution import schedule, windows

INF = highspy.kHighsInf


class Infeasible(Exception):
    """Preprocessing proved that no route exists (the message says why)."""


@dataclass(eq=False)
class CoverageModel:
    """Columns, CSR-style rows and index maps of the coverage MILP."""

    problem: Problem
    tails: np.ndarray
    heads: np.ndarray
    """Arc heads; the end is written as ``n`` (its own column family, also when ``s == e``)."""
    y_col: np.ndarray
    tau_col: np.ndarray
    """(n + 1,) service-start column per customer and for the end (index n); -1 if none."""
    pos_col: np.ndarray
    h_col: np.ndarray
    w_col: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Layered-arc columns (recency only)."""
    w_arc: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    w_level: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cost: list[float] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    integer: list[int] = field(default_factory=list)
    rows: list[tuple[np.ndarray, np.ndarray, float, float]] = field(default_factory=list)
    blocks: list[tuple[str, int, int]] = field(default_factory=list)
    """(constraint family, first row, end row), named as in formulations/mtrce.md."""
    offset: float = 0.0
    sense: str = "max"

    def add_cols(self, count: int, lo, hi, cost=0.0, integer: bool = False) -> np.ndarray:
        first = len(self.cost)
        self.cost.extend(np.broadcast_to(np.asarray(cost, float), (count,)).tolist())
        self.lower.extend(np.broadcast_to(np.asarray(lo, float), (count,)).tolist())
        self.upper.extend(np.broadcast_to(np.asarray(hi, float), (count,)).tolist())
        if integer:
            self.integer.extend(range(first, first + count))
        return np.arange(first, first + count, dtype=np.int64)

    def row(self, idx, val, lo: float, hi: float) -> None:
        self.rows.append((np.asarray(idx, np.int64), np.asarray(val, float), lo, hi))

    def block(self, name: str, first: int) -> None:
        self.blocks.append((name, first, len(self.rows)))


def _time_bounds(problem: Problem) -> tuple[float, np.ndarray, np.ndarray, float, float]:
    """(departure, earliest service start, latest service start, latest end start, horizon).

    Shortest ``service + travel`` paths bound every route's timing; without a deadline the
    horizon (every service plus the longest leg out of every node after the latest opening) keeps
    every big-M finite.
    """
    p = problem
    s, e = p.start, p.end
    a, b = windows(p)
    d = np.asarray(p.service, dtype=np.float64)
    t = np.asarray(p.travel, dtype=np.float64)
    dep = max(0.0, float(a[s]))
    if dep > b[s] + 1e-9:
        raise Infeasible(f"the start {p.ids[s]!r} closes at {b[s]:g}, before time 0")
    sp = shortest_paths(d[:, None] + t)
    legs = np.where(np.isfinite(t), t, 0.0).max(axis=1)
    open_max = float(np.max(np.where(np.isfinite(a), a, 0.0), initial=0.0))
    horizon = max(dep, open_max) + float(np.sum(d + legs)) + 1.0
    end_latest = min(float(b[e]), float(p.deadline) - d[e] - float(p.verify_time), horizon)
    earliest = np.maximum(a, dep + sp[s])
    latest = np.minimum(b, end_latest - sp[:, e])
    return dep, earliest, np.minimum(latest, horizon), end_latest, horizon


def build_model(problem: Problem) -> CoverageModel:
    """The coverage MILP of ``problem`` (one route; objective from ``problem.objective``).

    Raises
    ------
    Infeasible
        When preprocessing proves that no route can exist.
    """
    p = problem
    n, s, e = p.n, p.start, p.end
    E = n  # the end as a head index
    a, _ = windows(p)
    d = np.asarray(p.service, dtype=np.float64)
    t = np.asarray(p.travel, dtype=np.float64)
    dep, earliest, latest, end_latest, _ = _time_bounds(p)
    cust = p.customers
    reach = np.zeros(n, dtype=bool)
    reach[cust] = earliest[cust] <= latest[cust] + 1e-9
    mandatory = np.zeros(n, dtype=bool)
    mandatory[np.asarray(p.mandatory, dtype=np.int64)] = True
    mandatory[[s, e]] = False
    lost = np.flatnonzero(mandatory & ~reach)
    if len(lost):
        raise Infeasible(f"mandatory node {p.ids[lost[0]]!r} cannot be visited in time")
    direct_start = max(dep + d[s] + t[s, e], float(a[e]))
    if not np.isfinite(t[s, e]) and not np.isfinite(earliest[e]):
        raise Infeasible(f"the end {p.ids[e]!r} cannot be reached from {p.ids[s]!r}")
    if min(direct_start, max(earliest[e], a[e])) > end_latest + 1e-9:
        raise Infeasible(
            f"the deadline {p.deadline:g} is shorter than the fastest trip from {p.ids[s]!r} to "
            f"{p.ids[e]!r}"
        )
    ok_node = reach.copy()
    # arcs: s -> customer, customer -> customer, customer -> end, s -> end (the direct trip)
    tails, heads = [], []
    for i in [s, *cust[reach[cust]].tolist()]:
        leave = (dep if i == s else earliest[i]) + d[i]
        for j in [*cust[reach[cust]].tolist(), E]:
            if i == j:
                continue
            jj = e if j == E else j
            if not np.isfinite(t[i, jj]):
                continue
            limit = end_latest if j == E else latest[j]
            if leave + t[i, jj] > limit + 1e-9 and not (i == s and j == E):
                continue
            tails.append(i)
            heads.append(j)
    tails_a = np.asarray(tails, dtype=np.int64)
    heads_a = np.asarray(heads, dtype=np.int64)
    heads_real = np.where(heads_a == E, e, heads_a)
    m = len(tails_a)
    minimise = p.objective == "min_time_to_target"
    model = CoverageModel(
        problem=p,
        tails=tails_a,
        heads=heads_a,
        y_col=np.full(n, -1, dtype=np.int64),
        tau_col=np.full(n + 1, -1, dtype=np.int64),
        pos_col=np.full(n, -1, dtype=np.int64),
        h_col=np.zeros(0, dtype=np.int64),
        sense="min" if minimise else "max",
    )
    x = model.add_cols(m, 0.0, 1.0, integer=True)
    active = cust[ok_node[cust]]
    nc = len(active)
    model.y_col[active] = model.add_cols(
        nc, np.where(mandatory[active], 1.0, 0.0), 1.0, integer=True
    )
    timed = np.isfinite(p.deadline) or p.window_open is not None or minimise
    if timed:
        model.tau_col[active] = model.add_cols(
            nc, np.minimum(earliest[active], latest[active]), latest[active]
        )
        lo_e = max(float(a[e]), min(direct_start, float(earliest[e])))
        model.tau_col[E] = model.add_cols(
            1, min(lo_e, end_latest), end_latest, cost=1.0 if minimise else 0.0
        )[0]
    big = max(nc, 1)
    model.pos_col[active] = model.add_cols(nc, 0.0, float(max(nc - 1, 0)))

    # (C1) leave the start once, (C2) reach the end once, (C3) flow at customers
    first = len(model.rows)
    model.row(x[tails_a == s], np.ones(int((tails_a == s).sum())), 1.0, 1.0)
    model.row(x[heads_a == E], np.ones(int((heads_a == E).sum())), 1.0, 1.0)
    model.block("C1-C2 leave start, reach end", first)
    first = len(model.rows)
    for i in active:
        into, out = x[heads_a == i], x[tails_a == i]
        model.row([*into, model.y_col[i]], [*np.ones(len(into)), -1.0], 0.0, 0.0)
        model.row([*out, model.y_col[i]], [*np.ones(len(out)), -1.0], 0.0, 0.0)
    model.block("C3 flow conservation", first)

    # (C4) time propagation: tau_j >= tau_i + d_i + t_ij - M (1 - x_ij)
    if timed:
        first = len(model.rows)
        for col, i, j, jr in zip(x, tails_a, heads_a, heads_real, strict=True):
            leg = d[i] + t[i, jr]
            tj = model.tau_col[j]
            if i == s:
                lo_j = model.lower[tj]
                big_m = dep + leg - lo_j
                if big_m <= 0:
                    continue
                model.row([tj, col], [1.0, -big_m], lo_j, INF)  # tau_j >= dep + leg if x
                continue
            ti = model.tau_col[i]
            big_m = model.upper[ti] + leg - model.lower[tj]
            if big_m <= 0:
                continue
            model.row([tj, ti, col], [1.0, -1.0, -big_m], leg - big_m, INF)
        model.block("C4 time propagation", first)

    # (C5) MTZ positions from the end: pos_i >= pos_j + 1 if x_ij (i before j); no subtours.
    # Under recency the layered arcs (C9) order the route instead.
    recency = p.objective == "max_recency_coverage"
    if not recency:
        first = len(model.rows)
        for col, i, j in zip(x, tails_a, heads_a, strict=True):
            if i == s or j == E:
                continue
            pi, pj = model.pos_col[i], model.pos_col[j]
            model.row([pi, pj, col], [1.0, -1.0, -float(big)], 1.0 - big, INF)
        for i in active:
            model.row([model.pos_col[i], model.y_col[i]], [1.0, -(big - 1.0)], -INF, 0.0)
        model.block("C5 positions (MTZ)", first)

    # (C6) budget
    if p.budget is not None:
        first = len(model.rows)
        vc = np.asarray(p.visit_cost, dtype=np.float64)
        tc = np.asarray(p.travel_cost, dtype=np.float64)
        fixed = vc[s] + (vc[e] if e != s else 0.0)
        model.row(
            [*x, *model.y_col[active]],
            [*tc[tails_a, heads_real], *vc[active]],
            -INF,
            float(p.budget) - fixed,
        )
        model.block("C6 budget", first)

    # (C7) gathered mass per label, (C8) PWL coverage cuts
    mass = np.asarray(p.label_mass, dtype=np.float64)
    labels = mass.shape[1]
    fixed_mass = mass[s] + (mass[e] if e != s else 0.0)
    weight = coverage.label_weights(p)
    cap = 1.0 - np.exp(-float(np.asarray(p.coverage_breaks)[-1]))
    xcol = model.add_cols(labels, 0.0, INF)
    model.h_col = model.add_cols(labels, 0.0, cap, cost=0.0 if minimise else weight)
    if recency:
        layer_coef = _layers(model, x, active, _max_visits(p, active, dep, end_latest))
    first = len(model.rows)
    rho = float(p.recency)
    for lab in range(labels):
        if recency:
            tails_w, levels = layer_coef
            coef = np.where(levels >= 0, mass[tails_w, lab] * rho ** np.maximum(levels, 0), 0.0)
            model.row([xcol[lab], *model.w_col], [1.0, *(-coef)], fixed_mass[lab], fixed_mass[lab])
        else:
            idx = [xcol[lab], *model.y_col[active]]
            model.row(idx, [1.0, *(-mass[active, lab])], fixed_mass[lab], fixed_mass[lab])
    model.block("C7 gathered mass", first)
    first = len(model.rows)
    for lab in range(labels):
        slope, intercept = coverage.pieces(float(p.coverage_scale[lab]), p.coverage_breaks)
        for ak, bk in zip(slope, intercept, strict=True):
            model.row([model.h_col[lab], xcol[lab]], [1.0, -ak], -INF, bk)
    model.block("C8 concave coverage cuts", first)
    if minimise:
        first = len(model.rows)
        model.row(model.h_col, weight, float(p.target), INF)
        model.block("C10 coverage target", first)
        model.offset = d[e] + float(p.verify_time)
    return model


def _max_visits(p: Problem, active: np.ndarray, dep: float, end_latest: float) -> int:
    """An upper bound on the customers of any route: the cheapest visits that fit in time."""
    if len(active) == 0 or not np.isfinite(end_latest):
        return len(active)
    src = np.asarray([p.start, *active.tolist()], dtype=np.int64)
    legs = np.asarray(p.travel, dtype=np.float64)[np.ix_(src, active)].copy()
    legs[src[:, None] == active[None, :]] = np.inf
    into = legs.min(axis=0)
    cheapest = np.sort(np.asarray(p.service, dtype=np.float64)[active] + into)
    fits = int(np.searchsorted(np.cumsum(cheapest), end_latest - dep + 1e-9, side="right"))
    return max(1, min(len(active), fits))


def _layers(
    model: CoverageModel, x: np.ndarray, active: np.ndarray, levels: int
) -> tuple[np.ndarray, np.ndarray]:
    """(C9) layered arcs: ``w[a, q]`` = arc a used with its tail ``q`` places from the end.

    Arcs from the start carry the level of their head, arcs into the end level 0, other arcs
    ``q >= 1`` (the head is at ``q - 1``). Flow through (node, level) is conserved, so the levels
    strictly decrease along the route (no subtour) and each visit's level is its position from
    the end. Returns, per ``w`` column, the node whose level it carries and the level at which
    that node's mass counts (-1 on arcs out of the start: a visit counts on its out-arc).
    """
    p = model.problem
    s, E = p.start, p.n
    entries = []  # (arc index, level, node whose level it is)
    for k, (i, j) in enumerate(zip(model.tails, model.heads, strict=True)):
        if i == s and j == E:
            continue
        if i == s:
            entries.extend((k, q, int(j)) for q in range(levels))
        elif j == E:
            entries.append((k, 0, int(i)))
        else:
            entries.extend((k, q, int(i)) for q in range(1, levels))
    arc = np.asarray([e[0] for e in entries], dtype=np.int64)
    level = np.asarray([e[1] for e in entries], dtype=np.int64)
    owner = np.asarray([e[2] for e in entries], dtype=np.int64)
    model.w_col = model.add_cols(len(entries), 0.0, 1.0, integer=True)
    model.w_arc, model.w_level = arc, level
    first = len(model.rows)
    # entries are generated arc by arc: each arc's levels are one contiguous run
    bounds = np.flatnonzero(np.r_[True, arc[1:] != arc[:-1], True])
    for lo, hi in itertools.pairwise(bounds):
        cols = model.w_col[lo:hi]
        model.row([x[arc[lo]], *cols], [1.0, *-np.ones(hi - lo)], 0.0, 0.0)
    tails, heads = model.tails[arc], model.heads[arc]
    from_start = tails == s
    # flow through (node, level): in = arcs into the node at that level, out = arcs leaving it
    in_level = np.where(from_start, level, level - 1)
    n_levels = levels + 1
    keys_in = np.where(heads < p.n, heads * n_levels + in_level, -1)
    keys_out = np.where(from_start, -1, tails * n_levels + level)
    groups: dict[int, tuple[list[int], list[float]]] = {}
    for key, col in zip(keys_in.tolist(), model.w_col.tolist(), strict=True):
        if key >= 0:
            groups.setdefault(key, ([], []))[0].append(col)
            groups[key][1].append(1.0)
    for key, col in zip(keys_out.tolist(), model.w_col.tolist(), strict=True):
        if key >= 0:
            groups.setdefault(key, ([], []))[0].append(col)
            groups[key][1].append(-1.0)
    for key in sorted(groups):
        cols, vals = groups[key]
        model.row(cols, vals, 0.0, 0.0)
    model.block("C9 layered arcs (recency)", first)
    # a visit's mass is counted on its out-arc (its own level), never on the arc into it
    counted = model.tails[arc] != s
    return owner, np.where(counted, level, -1)


def _solve_lp(h: highspy.Highs, model: CoverageModel) -> None:
    lp = highspy.HighsLp()
    ncol, nrow = len(model.cost), len(model.rows)
    lp.num_col_ = ncol
    lp.num_row_ = nrow
    lp.col_cost_ = np.asarray(model.cost)
    lp.col_lower_ = np.asarray(model.lower)
    lp.col_upper_ = np.asarray(model.upper)
    lp.row_lower_ = np.asarray([r[2] for r in model.rows], dtype=np.float64)
    lp.row_upper_ = np.asarray([r[3] for r in model.rows], dtype=np.float64)
    lengths = [len(r[0]) for r in model.rows]
    start = np.zeros(nrow + 1, dtype=np.int32)
    np.cumsum(lengths, out=start[1:])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = np.concatenate([r[0] for r in model.rows]).astype(np.int32)
    lp.a_matrix_.value_ = np.concatenate([r[1] for r in model.rows]).astype(np.float64)
    lp.a_matrix_.num_col_ = ncol
    lp.a_matrix_.num_row_ = nrow
    lp.offset_ = model.offset
    lp.sense_ = highspy.ObjSense.kMinimize if model.sense == "min" else highspy.ObjSense.kMaximize
    integrality = np.zeros(ncol, dtype=np.uint8)
    integrality[model.integer] = 1
    lp.integrality_ = [highspy.HighsVarType(int(v)) for v in integrality]
    h.passModel(lp)


def route_from_x(model: CoverageModel, xval: np.ndarray) -> list[int]:
    """Follow the chosen arcs from the start to the end."""
    p = model.problem
    chosen = {}
    for a_idx in np.flatnonzero(xval[: len(model.tails)] > 0.5):
        chosen[int(model.tails[a_idx])] = int(model.heads[a_idx])
    route, node = [p.start], p.start
    for _ in range(p.n + 1):
        nxt = chosen.get(node)
        if nxt is None:
            break
        if nxt == p.n:
            route.append(p.end)
            return route
        route.append(nxt)
        node = nxt
    raise RuntimeError("the MIP solution is not one path from the start to the end")


def warm_values(model: CoverageModel, route: list[int]) -> np.ndarray | None:
    """Column values of a route (arcs, visits, positions, assignments; times left to HiGHS)."""
    p = model.problem
    ncol = len(model.cost)
    val = np.full(ncol, np.nan)
    arcs = {
        (int(i), int(j)): k for k, (i, j) in enumerate(zip(model.tails, model.heads, strict=True))
    }
    val[: len(model.tails)] = 0.0
    inner = route[1:-1]
    hops = [*zip(route[:-1], [*inner, p.n], strict=True)]
    for i, j in hops:
        if (i, j) not in arcs:
            return None
        val[arcs[(i, j)]] = 1.0
    ys = model.y_col[model.y_col >= 0]
    val[ys] = 0.0
    val[model.pos_col[model.pos_col >= 0]] = 0.0
    for q, v in enumerate(inner):
        if model.y_col[v] < 0:
            return None
        val[model.y_col[v]] = 1.0
        val[model.pos_col[v]] = len(inner) - 1 - q
    if len(model.w_col):
        val[model.w_col] = 0.0
        m = len(inner)
        for i, j in hops:
            level = m - 1 - inner.index(j) if i == p.start and j != p.n else None
            if level is None:
                level = 0 if j == p.n else m - 1 - inner.index(i)
            hit = np.flatnonzero((model.w_arc == arcs[(i, j)]) & (model.w_level == level))
            if len(hit) == 0:
                return None
            val[model.w_col[hit[0]]] = 1.0
    _, starts, _, _ = schedule(p, route)
    for v, st in zip(route[1:], starts[1:], strict=True):
        col = model.tau_col[p.n] if v == route[-1] and len(route) >= 2 else model.tau_col[v]
        if col >= 0:
            val[col] = st
    gathered = coverage.gathered(p, route)
    for lab, col in enumerate(model.h_col):
        val[col - len(model.h_col)] = gathered[lab]  # X_l precede h_l
        x, g = coverage.curve(float(p.coverage_scale[lab]), p.coverage_breaks)
        val[col] = float(np.interp(gathered[lab], x, g))
    return np.where(np.isnan(val), 0.0, val)


def solve_coverage_highs(problem: Problem, options: SolveOptions) -> Result:
    """Solve a coverage objective exactly with HiGHS (see the module docstring).

    Parameters (``options.params``): ``warm_start`` (default True: the ``coverage-ils`` route,
    found in at most a tenth of the time limit, is given to HiGHS as a start).
    """
    name = "coverage-highs"
    try:
        model = build_model(problem)
    except Infeasible as exc:
        return coverage.coverage_result(problem, name, None, Status.INFEASIBLE, message=str(exc))
    h = quiet_highs()
    h.setOptionValue("random_seed", int(options.seed))
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 1e-9)
    h.setOptionValue("mip_abs_gap", 1e-9)
    _solve_lp(h, model)
    start_route = None
    if options.params.get("warm_start", True):
        from .coverage_heuristics import search

        start_route = search(
            problem, options.seed, lambda: options.elapsed() > 0.1 * options.time_limit
        )
        if start_route is not None:
            val = warm_values(model, start_route)
            if val is not None:
                sol = highspy.HighsSolution()
                sol.col_value = val
                h.setSolution(sol)
    h.setOptionValue("time_limit", max(0.05, options.remaining() - 0.05))
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    stats = {
        "columns": len(model.cost),
        "rows": len(model.rows),
        "mip_nodes": int(info.mip_node_count),
        "blocks": {b[0]: b[2] - b[1] for b in model.blocks},
    }
    if status == highspy.HighsModelStatus.kInfeasible:
        message = "no route meets the constraints"
        if problem.objective == "min_time_to_target":
            best = coverage.max_coverage_bound(problem)
            message = (
                f"no route reaches the coverage target {problem.target:.6g} within the deadline, "
                f"windows and budget (every eligible node together gives {best:.6g})"
            )
        return coverage.coverage_result(problem, name, None, Status.INFEASIBLE, message=message)
    has = info.primal_solution_status == 2
    route = None
    if has:
        xval = np.asarray(h.getSolution().col_value)
        route = route_from_x(model, xval)
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
    if route is None:
        route = start_route  # feasible (and reaching the target) by construction of search()
    if route is None:
        return coverage.coverage_result(
            problem,
            name,
            None,
            Status.NO_SOLUTION,
            bound=bound,
            stats=stats,
            message="no route found within the time limit",
        )
    result = coverage.coverage_result(
        problem, name, route, Status.FEASIBLE, bound=bound, stats=stats
    )
    proved = status == highspy.HighsModelStatus.kOptimal
    if proved and result.gap is not None and result.gap <= 1e-6:
        result.status = Status.OPTIMAL
    return result


@register(
    "mtrce",
    "coverage-highs",
    exact=True,
    description="coverage objectives (max_coverage, max_recency_coverage, min_time_to_target): "
    "arc MILP with PWL coverage cuts, HiGHS",
    supports=coverage.supports,
)
def coverage_highs(problem: Problem, options: SolveOptions) -> Result:
    return solve_coverage_highs(problem, options)
