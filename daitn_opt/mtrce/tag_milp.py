"""TAG exactly, by mixed-integer programming (HiGHS): solver ``tag-highs``.

The model (``formulations/mtrce.md``, section "TAG", (G1)-(G10)) is the one-route arc model of
the coverage MILP (:mod:`.coverage_milp`: arcs, visits, service starts with big-M time
propagation, MTZ positions, budget) with a multiple-choice of epochs per customer: binaries
``z[i, e]``, ``sum_e z[i, e] = y_i``, service ``sum_e e t_i z[i, e]`` in the time propagation,
and the visit's value ``sum_e f(e) u_i z[i, e]`` (utility) or its label mass
``sum_e f(e) m_il z[i, e]`` under the concave coverage cuts (coverage). :func:`build_model`
builds it; :func:`solve_tag_highs` runs it (the ``tag-ils`` plan as a start).
"""

from __future__ import annotations

import math

import highspy
import numpy as np

from ..highs_model import quiet_highs
from ..registry import SolveOptions, register
from ..result import Result, Status
from . import coverage
from .coverage_milp import CoverageModel, Infeasible, _solve_lp, route_from_x
from .paths import shortest_paths
from .solution import windows
from .tag import TagProblem, supports, tag_result
from .tag_heuristics import search

INF = highspy.kHighsInf


class TagModel(CoverageModel):
    """The coverage model's containers plus the epoch choices ``z[i, e]``."""

    z_col: dict[tuple[int, int], int]


def _bounds(problem: TagProblem) -> tuple[float, np.ndarray, np.ndarray, float]:
    """(departure, earliest service start, latest service start, latest end service start).

    Shortest paths use one epoch per customer (the least time); the horizon without a deadline
    uses ``E`` epochs (the most), so that no route is cut off.
    """
    p = problem.base
    s, e = p.start, p.end
    a, b = windows(p)
    t = np.asarray(p.travel, dtype=np.float64)
    least = np.asarray(problem.epoch_time, dtype=np.float64).copy()
    least[[s, e]] = np.asarray(p.service, dtype=np.float64)[[s, e]]
    most = least.copy()
    cust = p.customers
    most[cust] = problem.max_epochs * least[cust]
    dep = max(0.0, float(a[s]))
    if dep > b[s] + 1e-9:
        raise Infeasible(f"the start {p.ids[s]!r} closes at {b[s]:g}, before time 0")
    sp = shortest_paths(least[:, None] + t)
    legs = np.where(np.isfinite(t), t, 0.0).max(axis=1)
    open_max = float(np.max(np.where(np.isfinite(a), a, 0.0), initial=0.0))
    horizon = max(dep, open_max) + float(np.sum(most + legs)) + 1.0
    end_latest = min(float(b[e]), float(p.deadline) - least[e] - float(p.verify_time), horizon)
    earliest = np.maximum(a, dep + sp[s])
    latest = np.minimum(np.minimum(b, end_latest - sp[:, e]), horizon)
    return dep, earliest, latest, end_latest


def build_model(problem: TagProblem) -> TagModel:
    """The TAG MILP of ``problem``.

    Raises
    ------
    Infeasible
        When preprocessing proves that no route can exist.
    """
    tp, p = problem, problem.base
    n, s, e = p.n, p.start, p.end
    E = n  # the end as a head index
    a, _ = windows(p)
    d = np.asarray(p.service, dtype=np.float64)
    t = np.asarray(p.travel, dtype=np.float64)
    et = np.asarray(tp.epoch_time, dtype=np.float64)
    top = int(tp.max_epochs)
    dep, earliest, latest, end_latest = _bounds(tp)
    cust = p.customers
    reach = np.zeros(n, dtype=bool)
    reach[cust] = earliest[cust] <= latest[cust] + 1e-9
    mandatory = np.zeros(n, dtype=bool)
    mandatory[np.asarray(p.mandatory, dtype=np.int64)] = True
    mandatory[[s, e]] = False
    lost = np.flatnonzero(mandatory & ~reach)
    if len(lost):
        raise Infeasible(f"mandatory node {p.ids[lost[0]]!r} cannot be visited in time")
    if not np.isfinite(t[s, e]) and not np.isfinite(earliest[e]):
        raise Infeasible(f"the end {p.ids[e]!r} cannot be reached from {p.ids[s]!r}")
    direct_start = max(dep + d[s] + t[s, e], float(a[e]))
    if min(direct_start, max(earliest[e], a[e])) > end_latest + 1e-9:
        raise Infeasible(
            f"the deadline {p.deadline:g} is shorter than the fastest trip from {p.ids[s]!r} to "
            f"{p.ids[e]!r}"
        )
    active = cust[reach[cust]]
    tails, heads = [], []
    for i in [s, *active.tolist()]:
        leave = (dep + d[s]) if i == s else earliest[i] + et[i]
        for j in [*active.tolist(), E]:
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
    model = TagModel(
        problem=p,
        tails=tails_a,
        heads=heads_a,
        y_col=np.full(n, -1, dtype=np.int64),
        tau_col=np.full(n + 1, -1, dtype=np.int64),
        pos_col=np.full(n, -1, dtype=np.int64),
        h_col=np.zeros(0, dtype=np.int64),
        sense="max",
    )
    model.z_col = {}
    x = model.add_cols(len(tails_a), 0.0, 1.0, integer=True)
    nc = len(active)
    model.y_col[active] = model.add_cols(
        nc, np.where(mandatory[active], 1.0, 0.0), 1.0, integer=True
    )
    factor = tp.factors()
    utility = tp.value == "utility"
    u = np.asarray(p.utility, dtype=np.float64)
    for i in active.tolist():
        cost = factor * u[i] if utility else 0.0
        cols = model.add_cols(top, 0.0, 1.0, cost=cost, integer=True)
        for k, col in enumerate(cols.tolist()):
            model.z_col[(i, k + 1)] = col
    model.tau_col[active] = model.add_cols(
        nc, np.minimum(earliest[active], latest[active]), latest[active]
    )
    lo_e = max(float(a[e]), min(direct_start, float(earliest[e])))
    model.tau_col[E] = model.add_cols(1, min(lo_e, end_latest), end_latest)[0]
    big = max(nc, 1)
    model.pos_col[active] = model.add_cols(nc, 0.0, float(max(nc - 1, 0)))

    # (G1) leave the start once, (G2) reach the end once, (G3) flow at customers
    first = len(model.rows)
    model.row(x[tails_a == s], np.ones(int((tails_a == s).sum())), 1.0, 1.0)
    model.row(x[heads_a == E], np.ones(int((heads_a == E).sum())), 1.0, 1.0)
    model.block("G1-G2 leave start, reach end", first)
    first = len(model.rows)
    for i in active:
        into, out = x[heads_a == i], x[tails_a == i]
        model.row([*into, model.y_col[i]], [*np.ones(len(into)), -1.0], 0.0, 0.0)
        model.row([*out, model.y_col[i]], [*np.ones(len(out)), -1.0], 0.0, 0.0)
    model.block("G3 flow conservation", first)
    # (G4) one epoch count per visited customer
    first = len(model.rows)
    for i in active.tolist():
        cols = [model.z_col[(i, k)] for k in range(1, top + 1)]
        model.row([*cols, model.y_col[i]], [*np.ones(top), -1.0], 0.0, 0.0)
    model.block("G4 epochs per visit", first)

    # (G5) time propagation with the chosen service: tau_j >= tau_i + sum_e e t_i z_ie + t_ij
    first = len(model.rows)
    for col, i, j, jr in zip(x, tails_a, heads_a, heads_real, strict=True):
        tj = model.tau_col[j]
        if i == s:
            leg = d[s] + t[s, jr]
            lo_j = model.lower[tj]
            big_m = dep + leg - lo_j
            if big_m > 0:
                model.row([tj, col], [1.0, -big_m], lo_j, INF)
            continue
        ti = model.tau_col[i]
        zs = [model.z_col[(i, k)] for k in range(1, top + 1)]
        work = [k * et[i] for k in range(1, top + 1)]
        big_m = model.upper[ti] + top * et[i] + t[i, jr] - model.lower[tj]
        if big_m <= 0:
            continue
        model.row(
            [tj, ti, *zs, col],
            [1.0, -1.0, *(-np.asarray(work)), -big_m],
            t[i, jr] - big_m,
            INF,
        )
    model.block("G5 time propagation", first)

    # (G10) duration: travel plus training along the route fits before the latest end start
    if math.isfinite(end_latest):
        first = len(model.rows)
        zi = [(col, k * et[i]) for (i, k), col in model.z_col.items()]
        model.row(
            [*x, *(c for c, _ in zi)],
            [*t[tails_a, heads_real], *(w for _, w in zi)],
            -INF,
            end_latest - dep - d[s],
        )
        model.block("G10 duration", first)

    # (G6) MTZ positions: no subtours also when a cycle has zero transit
    first = len(model.rows)
    for col, i, j in zip(x, tails_a, heads_a, strict=True):
        if i == s or j == E:
            continue
        pi, pj = model.pos_col[i], model.pos_col[j]
        model.row([pi, pj, col], [1.0, -1.0, -float(big)], 1.0 - big, INF)
    for i in active:
        model.row([model.pos_col[i], model.y_col[i]], [1.0, -(big - 1.0)], -INF, 0.0)
    model.block("G6 positions (MTZ)", first)

    # (G7) budget
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
        model.block("G7 budget", first)

    fixed_nodes = [s] if s == e else [s, e]
    if utility:
        model.offset = float(u[fixed_nodes].sum())
        return model
    # (G8) gathered mass with the epoch factor, (G9) concave coverage cuts
    mass = np.asarray(p.label_mass, dtype=np.float64)
    labels = mass.shape[1]
    fixed_mass = mass[fixed_nodes].sum(axis=0)
    weight = coverage.label_weights(p)
    cap = 1.0 - np.exp(-float(np.asarray(p.coverage_breaks)[-1]))
    xcol = model.add_cols(labels, 0.0, INF)
    model.h_col = model.add_cols(labels, 0.0, cap, cost=weight)
    first = len(model.rows)
    for lab in range(labels):
        idx, val = [xcol[lab]], [1.0]
        for i in active.tolist():
            for k in range(1, top + 1):
                idx.append(model.z_col[(i, k)])
                val.append(-factor[k - 1] * mass[i, lab])
        model.row(idx, val, fixed_mass[lab], fixed_mass[lab])
    model.block("G8 gathered mass", first)
    first = len(model.rows)
    for lab in range(labels):
        slope, intercept = coverage.pieces(float(p.coverage_scale[lab]), p.coverage_breaks)
        for ak, bk in zip(slope, intercept, strict=True):
            model.row([model.h_col[lab], xcol[lab]], [1.0, -ak], -INF, bk)
    model.block("G9 concave coverage cuts", first)
    return model


def epochs_from_z(model: TagModel, zval: np.ndarray, route: list[int]) -> dict[int, int]:
    """The epochs of the route's customers from the ``z`` values."""
    out = {}
    for v in route[1:-1]:
        ks = [k for (i, k), col in model.z_col.items() if i == v and zval[col] > 0.5]
        out[int(v)] = int(ks[0]) if ks else 1
    return out


def warm_values(model: TagModel, problem: TagProblem, plan: tuple) -> np.ndarray | None:
    """Column values of a plan (arcs, visits, epochs, positions, times, masses)."""
    from .solution import schedule
    from .tag import service_of

    route, epochs = plan
    p = model.problem
    val = np.zeros(len(model.cost))
    arcs = {
        (int(i), int(j)): k for k, (i, j) in enumerate(zip(model.tails, model.heads, strict=True))
    }
    inner = route[1:-1]
    for i, j in zip(route[:-1], [*inner, p.n], strict=True):
        if (i, j) not in arcs:
            return None
        val[arcs[(i, j)]] = 1.0
    for q, v in enumerate(inner):
        if model.y_col[v] < 0:
            return None
        val[model.y_col[v]] = 1.0
        val[model.pos_col[v]] = len(inner) - 1 - q
        val[model.z_col[(v, epochs[v])]] = 1.0
    _, starts, _, _ = schedule(p.replace(service=service_of(problem, epochs)), route)
    for v, st in zip(route[1:], starts[1:], strict=True):
        col = model.tau_col[p.n] if v == route[-1] else model.tau_col[v]
        if col >= 0:
            val[col] = st
    if len(model.h_col):
        f = problem.factors()
        mass = np.asarray(p.label_mass, dtype=np.float64)
        fixed = [p.start] if p.start == p.end else [p.start, p.end]
        gathered = mass[fixed].sum(axis=0) + sum(
            (f[epochs[v] - 1] * mass[v] for v in inner), np.zeros(mass.shape[1])
        )
        for lab, col in enumerate(model.h_col):
            val[col - len(model.h_col)] = gathered[lab]
            xs, g = coverage.curve(float(p.coverage_scale[lab]), p.coverage_breaks)
            val[col] = float(np.interp(gathered[lab], xs, g))
    return val


def solve_tag_highs(problem: TagProblem, options: SolveOptions) -> Result:
    """Solve TAG exactly with HiGHS (see the module docstring).

    Parameters (``options.params``): ``warm_start`` (default True: the ``tag-ils`` plan, found in
    at most a fifth of the time limit, is given to HiGHS as a start).
    """
    name = "tag-highs"
    try:
        model = build_model(problem)
    except Infeasible as exc:
        return tag_result(problem, name, None, None, Status.INFEASIBLE, message=str(exc))
    h = quiet_highs()
    h.setOptionValue("random_seed", int(options.seed))
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 1e-9)
    h.setOptionValue("mip_abs_gap", 1e-9)
    _solve_lp(h, model)
    start_plan = None
    if options.params.get("warm_start", True):
        start_plan = search(
            problem, options.seed, lambda: options.elapsed() > 0.2 * options.time_limit
        )
        if start_plan is not None:
            val = warm_values(model, problem, start_plan)
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
        return tag_result(
            problem, name, None, None, Status.INFEASIBLE, message="no route meets the constraints"
        )
    plan = None
    if info.primal_solution_status == 2:
        xval = np.asarray(h.getSolution().col_value)
        route = route_from_x(model, xval)
        plan = (route, epochs_from_z(model, xval, route))
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
    if plan is None:
        plan = start_plan
    if plan is None:
        return tag_result(
            problem,
            name,
            None,
            None,
            Status.NO_SOLUTION,
            bound=bound,
            stats=stats,
            message="no route found within the time limit",
        )
    result = tag_result(problem, name, plan[0], plan[1], Status.FEASIBLE, bound=bound, stats=stats)
    proved = status == highspy.HighsModelStatus.kOptimal
    if proved and result.gap is not None and result.gap <= 1e-6:
        result.status = Status.OPTIMAL
    return result


@register(
    "mtrce",
    "tag-highs",
    exact=True,
    description="TAG: route and local epochs per node (multiple-choice z[i, e]) as one MILP, "
    "utility or coverage value with diminishing returns in epochs, HiGHS",
    supports=supports,
)
def tag_highs(problem: TagProblem, options: SolveOptions) -> Result:
    return solve_tag_highs(problem, options)
