"""Exact coverage objectives by mixed-integer programming (HiGHS): solver ``coverage-highs``.

The model (``formulations/mtrce.md``, section "Outcome-aligned objectives", (C1)-(C14)) is a
one-route arc formulation with service-start variables and big-M time propagation (which also
handles asymmetric travel, service times, windows, the deadline and the budget), position
variables counted from the end of the route (Miller-Tucker-Zemlin rows: they forbid subtours even
when some transit times are 0, and they give each visit its position for the recency weights), and
the concave piecewise-linear coverage of each label written as ``h_l <= a_k X_l + b_k`` cuts. The
coverage is exact (the PWL curve *is* the objective), so the MIP's dual bound is a bound of the
problem. :func:`build_model` builds it; :class:`CoverageHighs` runs it.

Sizes: ``O(n^2)`` arcs, plus ``O(n^2)`` position-assignment binaries under
``max_recency_coverage`` (meant for views of up to about 20-30 eligible nodes).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..exact import register_exact
from ..params import param
from ..registry import SolveOptions
from ..result import Result, Status
from . import coverage, coverage_check, route_highs
from . import route_model as rm
from .problem import Problem
from .route_model import INF, Infeasible
from .route_model import RouteModel as CoverageModel
from .solution import schedule, windows

__all__ = ["CoverageModel", "Infeasible", "build_model", "solve_coverage_highs", "warm_values"]


def _time_bounds(problem: Problem) -> tuple[float, np.ndarray, np.ndarray, float, float]:
    """(departure, earliest service start, latest service start, latest end start, horizon)."""
    d = np.asarray(problem.service, dtype=np.float64)
    return rm.time_bounds(problem, d, d)


def build_model(problem: Problem) -> CoverageModel:
    """The coverage MILP of ``problem`` (one route; objective from ``problem.objective``).

    The route rows (C1)-(C6) and the coverage cuts (C8) come from :mod:`.route_model`; this adds
    the service-time propagation (C4) between customers, the gathered mass (C7), the recency
    layers (C9) and the coverage target (C10).

    Raises
    ------
    Infeasible
        When preprocessing proves that no route can exist.
    """
    p = problem
    s, e = p.start, p.end
    E = p.n  # the end as a head index
    a, _ = windows(p)
    d = np.asarray(p.service, dtype=np.float64)
    t = np.asarray(p.travel, dtype=np.float64)
    dep, earliest, latest, end_latest, _ = _time_bounds(p)
    active, mandatory, direct_start = rm.reachable(p, dep, earliest, latest, end_latest)
    tails_a, heads_a = rm.arcs(p, active, d, dep, earliest, latest, end_latest)
    heads_real = np.where(heads_a == E, e, heads_a)
    minimise = p.objective == "min_time_to_target"
    model = CoverageModel.empty(p, tails_a, heads_a, "min" if minimise else "max")
    x = rm.add_route_cols(model, active, mandatory)
    timed = np.isfinite(p.deadline) or p.window_open is not None or minimise
    if timed:
        lo_e = max(float(a[e]), min(direct_start, float(earliest[e])))
        rm.add_time_cols(
            model, active, (earliest, latest, lo_e, end_latest), 1.0 if minimise else 0.0
        )
    big = rm.add_pos_cols(model, active)
    rm.flow_rows(model, x, active, ("C1-C2 leave start, reach end", "C3 flow conservation"))

    # (C4) time propagation: tau_j >= tau_i + d_i + t_ij - M (1 - x_ij)
    if timed:
        first = len(model.rows)
        for col, i, j, jr in zip(x, tails_a, heads_a, heads_real, strict=True):
            leg = d[i] + t[i, jr]
            tj = model.tau_col[j]
            if i == s:
                rm.start_time_row(model, col, tj, dep, leg)
                continue
            ti = model.tau_col[i]
            big_m = model.upper[ti] + leg - model.lower[tj]
            if big_m <= 0:
                continue
            model.row([tj, ti, col], [1.0, -1.0, -big_m], leg - big_m, INF)
        model.block("C4 time propagation", first)

    # (C5) MTZ positions; under recency the layered arcs (C9) order the route instead.
    recency = p.objective == "max_recency_coverage"
    if not recency:
        rm.mtz_rows(model, x, active, big, "C5 positions (MTZ)")
    rm.budget_row(model, x, active, "C6 budget")

    # (C7) gathered mass per label, (C8) PWL coverage cuts
    weight = coverage.label_weights(p)
    xcol = rm.add_coverage_cols(model, 0.0 if minimise else weight)
    levels = _max_visits(p, active, dep, end_latest) if recency else None
    _mass_rows(model, x, active, xcol, levels)
    rm.coverage_cut_rows(model, xcol, "C8 concave coverage cuts")
    if minimise:
        first = len(model.rows)
        model.row(model.h_col, weight, float(p.target), INF)
        model.block("C10 coverage target", first)
        model.offset = d[e] + float(p.verify_time)
    return model


def _mass_rows(
    model: CoverageModel, x: np.ndarray, active: np.ndarray, xcol: np.ndarray, levels: int | None
) -> None:
    """(C7) ``X_l`` = the start's and end's mass plus the visits': under recency each visit's
    counts ``recency ** position`` times on the layered arcs (C9) of ``levels`` levels; without
    it (``levels`` None) once."""
    p = model.problem
    s, e = p.start, p.end
    mass = np.asarray(p.label_mass, dtype=np.float64)
    fixed_mass = mass[s] + (mass[e] if e != s else 0.0)
    recency = levels is not None
    if recency:
        layer_coef = _layers(model, x, active, levels)
    first = len(model.rows)
    rho = float(p.recency)
    for lab in range(mass.shape[1]):
        if recency:
            tails_w, lev = layer_coef
            coef = np.where(lev >= 0, mass[tails_w, lab] * rho ** np.maximum(lev, 0), 0.0)
            model.row([xcol[lab], *model.w_col], [1.0, *(-coef)], fixed_mass[lab], fixed_mass[lab])
        else:
            idx = [xcol[lab], *model.y_col[active]]
            model.row(idx, [1.0, *(-mass[active, lab])], fixed_mass[lab], fixed_mass[lab])
    model.block("C7 gathered mass", first)


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


def warm_values(model: CoverageModel, route: list[int]) -> np.ndarray | None:
    """Column values of a route (arcs, visits, positions, assignments; times left to HiGHS)."""
    p = model.problem
    val = np.full(len(model.cost), np.nan)
    arcs = rm.route_values(model, val, route)
    if arcs is None:
        return None
    inner = route[1:-1]
    hops = [*zip(route[:-1], [*inner, p.n], strict=True)]
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
    rm.time_values(model, val, route, starts)
    rm.coverage_values(model, val, coverage.gathered(p, route))
    return np.where(np.isnan(val), 0.0, val)


@dataclass(frozen=True)
class CoverageHighsParams:
    """Parameters of the ``coverage-highs`` solver."""

    warm_start: bool = param(
        True, "give HiGHS the coverage-ils route (found in at most a tenth of the limit) as a start"
    )


class CoverageSupport(route_highs.OneRouteSupport):
    """Coverage objectives on the skeleton: one index route, :func:`coverage.objective_value`,
    :func:`coverage.coverage_result`, checked by :func:`daitn_opt.mtrce.coverage_check.check`."""

    share = 0.1
    check = staticmethod(coverage_check.check)

    def search(self, problem: Problem, seed: int, stop) -> list[int] | None:
        from .coverage_heuristics import search

        return search(problem, seed, stop)  # feasible (and reaching the target) by construction

    def value(self, problem: Problem, solution: list[int]) -> float:
        return coverage.objective_value(problem, solution)

    def result(self, problem: Problem, solver: str, solution: list[int] | None, **fields):
        status = fields.pop(
            "status", Status.FEASIBLE if solution is not None else Status.NO_SOLUTION
        )
        return coverage.coverage_result(problem, solver, solution, status, **fields)

    def infeasible_message(self, problem: Problem) -> str:
        if problem.objective == "min_time_to_target":
            return coverage.target_out_of_reach(problem)
        return "no route meets the constraints"


@register_exact
class CoverageHighs(route_highs.RouteHighsSolver):
    """Solve a coverage objective exactly with HiGHS (see the module docstring).

    Parameters (``options.params``, :class:`CoverageHighsParams`): ``warm_start`` (default
    True: the ``coverage-ils`` route, found in at most a tenth of the time limit, is given to
    HiGHS as a start).

    Notes
    -----
    Exact: the PWL coverage is the objective, so HiGHS's dual bound is a bound of the problem;
    ``optimal`` when it closes the gap within 1e-6. ``O(n^2)`` columns (plus ``O(n^2)``
    position binaries under ``max_recency_coverage``).

    Example
    -------
    >>> import numpy as np
    >>> from daitn_opt import solve
    >>> from daitn_opt.mtrce.problem import Problem
    >>> xs = np.array([0.0, 1.0, 2.0])
    >>> problem = Problem(ids=["s", "a", "b"], travel=np.abs(xs[:, None] - xs[None, :]),
    ...                   utility=np.zeros(3), service=np.zeros(3), start=0, end=0,
    ...                   deadline=2.0, objective="max_coverage",
    ...                   label_mass=np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
    ...                   coverage_scale=np.ones(2))
    >>> result = solve(problem, "coverage-highs", time_limit=10, warm_start=False)
    >>> result.status.value, result.solution["routes"]  # b is too far for the deadline
    ('optimal', [['s', 'a', 's']])
    """

    name = "coverage-highs"
    description = (
        "coverage objectives (max_coverage, max_recency_coverage, min_time_to_target): "
        "arc MILP with PWL coverage cuts, HiGHS"
    )
    support = CoverageSupport()
    Params = CoverageHighsParams
    supports = staticmethod(coverage.supports)

    def model_of(self, problem: Problem) -> CoverageModel:
        return build_model(problem)

    def start_values(self, model: CoverageModel, problem: Problem, solution: list[int]):
        return warm_values(model, solution)

    def decode(self, model: CoverageModel, values: np.ndarray) -> list[int]:
        return route_highs.route_from_x(model, values)


def solve_coverage_highs(problem: Problem, options: SolveOptions) -> Result:
    """Solve ``problem`` with ``coverage-highs`` (:class:`CoverageHighs`); ``options.params`` is
    a :class:`CoverageHighsParams`."""
    return CoverageHighs().solve(problem, options)


coverage_highs = solve_coverage_highs
