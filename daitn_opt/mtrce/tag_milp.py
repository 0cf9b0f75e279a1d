"""TAG exactly, by mixed-integer programming (HiGHS): solver ``tag-highs``.

The model (``formulations/mtrce.md``, section "TAG", (G1)-(G10)) is the one-route arc model of
the coverage MILP (:mod:`.coverage_milp`: arcs, visits, service starts with big-M time
propagation, MTZ positions, budget) with a multiple-choice of epochs per customer: binaries
``z[i, e]``, ``sum_e z[i, e] = y_i``, service ``sum_e e t_i z[i, e]`` in the time propagation,
and the visit's value ``sum_e f(e) u_i z[i, e]`` (utility) or its label mass
``sum_e f(e) m_il z[i, e]`` under the concave coverage cuts (coverage). :func:`build_model`
builds it; :class:`TagHighs` runs it (the ``tag-ils`` plan as a start).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..exact import register_exact
from ..params import param
from ..registry import SolveOptions
from ..result import Result, Status
from . import coverage, route_highs, tag_check
from . import route_model as rm
from .route_model import INF, RouteModel
from .solution import windows
from .tag import TagProblem, least_service, supports, tag_result, tag_value
from .tag_heuristics import search


class TagModel(RouteModel):
    """The one-route model's containers plus the epoch choices ``z[i, e]``."""

    z_col: dict[tuple[int, int], int]


def _bounds(problem: TagProblem) -> tuple[float, np.ndarray, np.ndarray, float]:
    """(departure, earliest service start, latest service start, latest end service start).

    Shortest paths use one epoch per customer (the least time); the horizon without a deadline
    uses ``E`` epochs (the most), so that no route is cut off.
    """
    p = problem.base
    least = least_service(problem)
    most = least.copy()
    most[p.customers] = problem.max_epochs * least[p.customers]
    dep, earliest, latest, end_latest, _ = rm.time_bounds(p, least, most)
    return dep, earliest, latest, end_latest


def build_model(problem: TagProblem) -> TagModel:
    """The TAG MILP of ``problem``.

    The route rows (G1)-(G3), (G6), (G7) and the coverage cuts (G9) come from
    :mod:`.route_model`; this adds the epoch choices (G4), the time propagation with the chosen
    service (G5), the duration (G10) and the gathered mass with the epoch factor (G8).

    Raises
    ------
    Infeasible
        When preprocessing proves that no route can exist.
    """
    tp, p = problem, problem.base
    e = p.end
    a, _ = windows(p)
    top = int(tp.max_epochs)
    dep, earliest, latest, end_latest = _bounds(tp)
    active, mandatory, direct_start = rm.reachable(p, dep, earliest, latest, end_latest)
    tails_a, heads_a = rm.arcs(p, active, least_service(tp), dep, earliest, latest, end_latest)
    model = TagModel.empty(p, tails_a, heads_a, "max")
    model.z_col = {}
    x = rm.add_route_cols(model, active, mandatory)
    factor = tp.factors()
    utility = tp.value == "utility"
    u = np.asarray(p.utility, dtype=np.float64)
    for i in active.tolist():
        cost = factor * u[i] if utility else 0.0
        cols = model.add_cols(top, 0.0, 1.0, cost=cost, integer=True)
        for k, col in enumerate(cols.tolist()):
            model.z_col[(i, k + 1)] = col
    lo_e = max(float(a[e]), min(direct_start, float(earliest[e])))
    rm.add_time_cols(model, active, (earliest, latest, lo_e, end_latest))
    big = rm.add_pos_cols(model, active)
    rm.flow_rows(model, x, active, ("G1-G2 leave start, reach end", "G3 flow conservation"))
    # (G4) one epoch count per visited customer
    first = len(model.rows)
    for i in active.tolist():
        cols = [model.z_col[(i, k)] for k in range(1, top + 1)]
        model.row([*cols, model.y_col[i]], [*np.ones(top), -1.0], 0.0, 0.0)
    model.block("G4 epochs per visit", first)
    _time_rows(tp, model, x, dep, end_latest)
    rm.mtz_rows(model, x, active, big, "G6 positions (MTZ)")
    rm.budget_row(model, x, active, "G7 budget")
    fixed_nodes = [p.start] if p.start == e else [p.start, e]
    if utility:
        model.offset = float(u[fixed_nodes].sum())
        return model
    # (G8) gathered mass with the epoch factor, (G9) concave coverage cuts
    mass = np.asarray(p.label_mass, dtype=np.float64)
    fixed_mass = mass[fixed_nodes].sum(axis=0)
    xcol = rm.add_coverage_cols(model, coverage.label_weights(p))
    first = len(model.rows)
    for lab in range(mass.shape[1]):
        idx, val = [xcol[lab]], [1.0]
        for i in active.tolist():
            for k in range(1, top + 1):
                idx.append(model.z_col[(i, k)])
                val.append(-factor[k - 1] * mass[i, lab])
        model.row(idx, val, fixed_mass[lab], fixed_mass[lab])
    model.block("G8 gathered mass", first)
    rm.coverage_cut_rows(model, xcol, "G9 concave coverage cuts")
    return model


def _time_rows(
    tp: TagProblem, model: TagModel, x: np.ndarray, dep: float, end_latest: float
) -> None:
    """(G5) time propagation with the chosen service: ``tau_j >= tau_i + sum_e e t_i z_ie +
    t_ij`` if ``x_ij``; (G10) duration: travel plus training fits before the latest end start."""
    p = tp.base
    s, e, E = p.start, p.end, p.n
    d = np.asarray(p.service, dtype=np.float64)
    t = np.asarray(p.travel, dtype=np.float64)
    et = np.asarray(tp.epoch_time, dtype=np.float64)
    top = int(tp.max_epochs)
    heads_real = np.where(model.heads == E, e, model.heads)
    first = len(model.rows)
    for col, i, j, jr in zip(x, model.tails, model.heads, heads_real, strict=True):
        tj = model.tau_col[j]
        if i == s:
            rm.start_time_row(model, col, tj, dep, d[s] + t[s, jr])
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
    if math.isfinite(end_latest):
        first = len(model.rows)
        zi = [(col, k * et[i]) for (i, k), col in model.z_col.items()]
        model.row(
            [*x, *(c for c, _ in zi)],
            [*t[model.tails, heads_real], *(w for _, w in zi)],
            -INF,
            end_latest - dep - d[s],
        )
        model.block("G10 duration", first)


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
    if rm.route_values(model, val, route) is None:
        return None
    inner = route[1:-1]
    for v in inner:
        val[model.z_col[(v, epochs[v])]] = 1.0
    _, starts, _, _ = schedule(p.replace(service=service_of(problem, epochs)), route)
    rm.time_values(model, val, route, starts)
    if len(model.h_col):
        f = problem.factors()
        mass = np.asarray(p.label_mass, dtype=np.float64)
        fixed = [p.start] if p.start == p.end else [p.start, p.end]
        gathered = mass[fixed].sum(axis=0) + sum(
            (f[epochs[v] - 1] * mass[v] for v in inner), np.zeros(mass.shape[1])
        )
        rm.coverage_values(model, val, gathered)
    return val


@dataclass(frozen=True)
class TagHighsParams:
    """Parameters of the ``tag-highs`` solver."""

    warm_start: bool = param(
        True, "give HiGHS the tag-ils plan (found in at most a fifth of the limit) as a start"
    )


class TagSupport(route_highs.OneRouteSupport):
    """TAG on the skeleton: a plan ``(route, {node: epochs})``, :func:`.tag.tag_value`,
    :func:`.tag.tag_result`, checked by :func:`daitn_opt.mtrce.tag_check.check`."""

    share = 0.2
    check = staticmethod(tag_check.check)

    def search(self, problem: TagProblem, seed: int, stop) -> tuple | None:
        return search(problem, seed, stop)

    def value(self, problem: TagProblem, solution: tuple) -> float:
        return tag_value(problem, solution[0], solution[1])

    def result(self, problem: TagProblem, solver: str, solution: tuple | None, **fields):
        status = fields.pop(
            "status", Status.FEASIBLE if solution is not None else Status.NO_SOLUTION
        )
        route, epochs = solution if solution is not None else (None, None)
        return tag_result(problem, solver, route, epochs, status, **fields)

    def infeasible_message(self, problem: TagProblem) -> str:
        return "no route meets the constraints"


@register_exact
class TagHighs(route_highs.RouteHighsSolver):
    """Solve TAG exactly with HiGHS (see the module docstring).

    Parameters (``options.params``, :class:`TagHighsParams`): ``warm_start`` (default True: the
    ``tag-ils`` plan, found in at most a fifth of the time limit, is given to HiGHS as a start).

    Notes
    -----
    Exact: route and epochs in one MILP; ``optimal`` when HiGHS's dual bound closes the gap
    within 1e-6. ``O(n^2)`` arc columns plus ``n E`` epoch choices.

    Example
    -------
    >>> import numpy as np
    >>> from daitn_opt import solve
    >>> from daitn_opt.mtrce.problem import Problem
    >>> from daitn_opt.mtrce.tag import from_problem
    >>> xs = np.array([0.0, 1.0, 2.0])
    >>> base = Problem(ids=["s", "a", "b"], travel=np.abs(xs[:, None] - xs[None, :]),
    ...                utility=np.array([0.0, 1.0, 1.0]), service=np.array([0.0, 1.0, 1.0]),
    ...                start=0, end=0, deadline=6.0)
    >>> result = solve(from_problem(base, 1, max_epochs=3), "tag-highs", time_limit=10)
    >>> result.status.value, result.solution["routes"]
    ('optimal', [['s', 'a', 'b', 's']])
    """

    name = "tag-highs"
    description = (
        "TAG: route and local epochs per node (multiple-choice z[i, e]) as one MILP, "
        "utility or coverage value with diminishing returns in epochs, HiGHS"
    )
    support = TagSupport()
    Params = TagHighsParams
    supports = staticmethod(supports)

    def model_of(self, problem: TagProblem) -> TagModel:
        return build_model(problem)

    def start_values(self, model: TagModel, problem: TagProblem, solution: tuple):
        return warm_values(model, problem, solution)

    def decode(self, model: TagModel, values: np.ndarray) -> tuple:
        route = route_highs.route_from_x(model, values)
        return route, epochs_from_z(model, values, route)


def solve_tag_highs(problem: TagProblem, options: SolveOptions) -> Result:
    """Solve ``problem`` with ``tag-highs`` (:class:`TagHighs`); ``options.params`` is a
    :class:`TagHighsParams`."""
    return TagHighs().solve(problem, options)


tag_highs = solve_tag_highs
