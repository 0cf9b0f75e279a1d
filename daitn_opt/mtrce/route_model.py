"""The one-route arc model shared by the coverage MILP and the TAG MILP (HiGHS rows).

``formulations/mtrce.md`` writes the same route twice: section "Outcome-aligned objectives"
(C1)-(C6), (C8) for :mod:`.coverage_milp` and section "TAG" (G1)-(G3), (G6), (G7), (G9) for
:mod:`.tag_milp`. This module builds those shared parts once:

* preprocessing: time bounds from shortest ``service + travel`` paths, the proof that no route
  exists (:class:`Infeasible`), and the arcs that can lie on a route (start -> customer,
  customer -> customer, customer -> end and the direct trip start -> end; the end is written as
  head ``n``, its own column family, also when ``s == e``);
* columns: arc binaries ``x``, visit binaries ``y``, service starts ``tau``, positions ``pos``;
* rows: leave the start once and reach the end once (C1-C2 / G1-G2), flow conservation at
  customers (C3 / G3), the start arcs' time rows of the big-M propagation (C4 / G5), MTZ
  positions counted from the end (C5 / G6: no subtours also when a cycle has zero transit), the
  budget (C6 / G7) and the concave piecewise-linear coverage cuts ``h_l <= a_k X_l + b_k``
  (C8 / G9);
* warm-start values of a route for those columns.

The models add their own rows (coverage: recency layers, target; TAG: epochs per visit) on top.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np

from . import coverage
from .paths import shortest_paths
from .problem import Problem
from .solution import windows

INF = highspy.kHighsInf


class Infeasible(Exception):
    """Preprocessing proved that no route exists (the message says why)."""


@dataclass(eq=False)
class RouteModel:
    """Columns, CSR-style rows and index maps of a one-route MILP."""

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

    @classmethod
    def empty(cls, problem: Problem, tails: np.ndarray, heads: np.ndarray, sense: str):
        """A model with the arcs and no columns yet (every column map -1)."""
        n = problem.n
        return cls(
            problem=problem,
            tails=tails,
            heads=heads,
            y_col=np.full(n, -1, dtype=np.int64),
            tau_col=np.full(n + 1, -1, dtype=np.int64),
            pos_col=np.full(n, -1, dtype=np.int64),
            h_col=np.zeros(0, dtype=np.int64),
            sense=sense,
        )

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


def time_bounds(
    p: Problem, least: np.ndarray, most: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray, float, float]:
    """(departure, earliest service start, latest service start, latest end start, horizon).

    ``least`` is the least service time of each node (shortest ``least + travel`` paths bound
    every route's timing), ``most`` the most: without a deadline the horizon (every ``most`` plus
    the longest leg out of every node after the latest opening) keeps every big-M finite.
    """
    s, e = p.start, p.end
    a, b = windows(p)
    t = np.asarray(p.travel, dtype=np.float64)
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
    return dep, earliest, latest, end_latest, horizon


def reachable(
    p: Problem, dep: float, earliest: np.ndarray, latest: np.ndarray, end_latest: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """(customers that can be visited in time, mandatory mask, start of the direct end visit).

    Raises :class:`Infeasible` when a mandatory node cannot be visited in time, the end cannot be
    reached, or the deadline is shorter than the fastest trip.
    """
    n, s, e = p.n, p.start, p.end
    a, _ = windows(p)
    d = np.asarray(p.service, dtype=np.float64)
    t = np.asarray(p.travel, dtype=np.float64)
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
    return cust[reach[cust]], mandatory, direct_start


def arcs(
    p: Problem,
    active: np.ndarray,
    service: np.ndarray,
    dep: float,
    earliest: np.ndarray,
    latest: np.ndarray,
    end_latest: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(tails, heads) of the arcs that fit in time; ``service`` is each node's least service."""
    s, e, E = p.start, p.end, p.n
    t = np.asarray(p.travel, dtype=np.float64)
    tails, heads = [], []
    for i in [s, *active.tolist()]:
        leave = (dep if i == s else earliest[i]) + service[i]
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
    return np.asarray(tails, dtype=np.int64), np.asarray(heads, dtype=np.int64)


def add_route_cols(model: RouteModel, active: np.ndarray, mandatory: np.ndarray) -> np.ndarray:
    """Arc binaries ``x`` (returned) and visit binaries ``y`` (fixed to 1 where mandatory)."""
    x = model.add_cols(len(model.tails), 0.0, 1.0, integer=True)
    model.y_col[active] = model.add_cols(
        len(active), np.where(mandatory[active], 1.0, 0.0), 1.0, integer=True
    )
    return x


def add_time_cols(
    model: RouteModel,
    active: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray, float, float],
    end_cost: float = 0.0,
) -> None:
    """Service starts of the customers and of the end; ``bounds`` = (earliest, latest,
    least end start, latest end start)."""
    earliest, latest, lo_e, end_latest = bounds
    model.tau_col[active] = model.add_cols(
        len(active), np.minimum(earliest[active], latest[active]), latest[active]
    )
    model.tau_col[model.problem.n] = model.add_cols(
        1, min(lo_e, end_latest), end_latest, cost=end_cost
    )[0]


def add_pos_cols(model: RouteModel, active: np.ndarray) -> int:
    """Position columns ``0 .. |active| - 1``; returns the MTZ big-M ``max(|active|, 1)``."""
    nc = len(active)
    model.pos_col[active] = model.add_cols(nc, 0.0, float(max(nc - 1, 0)))
    return max(nc, 1)


def flow_rows(model: RouteModel, x: np.ndarray, active: np.ndarray, families: tuple) -> None:
    """(C1)/(G1) leave the start once, (C2)/(G2) reach the end once, (C3)/(G3) flow at each
    customer: in = out = ``y_i``. ``families`` names the two blocks."""
    tails, heads, s, E = model.tails, model.heads, model.problem.start, model.problem.n
    first = len(model.rows)
    model.row(x[tails == s], np.ones(int((tails == s).sum())), 1.0, 1.0)
    model.row(x[heads == E], np.ones(int((heads == E).sum())), 1.0, 1.0)
    model.block(families[0], first)
    first = len(model.rows)
    for i in active:
        into, out = x[heads == i], x[tails == i]
        model.row([*into, model.y_col[i]], [*np.ones(len(into)), -1.0], 0.0, 0.0)
        model.row([*out, model.y_col[i]], [*np.ones(len(out)), -1.0], 0.0, 0.0)
    model.block(families[1], first)


def start_time_row(model: RouteModel, col: int, tj: int, dep: float, leg: float) -> None:
    """(C4)/(G5) on an arc out of the start: ``tau_j >= dep + leg`` if the arc is used."""
    lo_j = model.lower[tj]
    big_m = dep + leg - lo_j
    if big_m > 0:
        model.row([tj, col], [1.0, -big_m], lo_j, INF)


def mtz_rows(model: RouteModel, x: np.ndarray, active: np.ndarray, big: int, family: str) -> None:
    """(C5)/(G6) MTZ positions from the end: ``pos_i >= pos_j + 1`` if ``x_ij`` (i before j),
    and ``pos_i = 0`` off the route; no subtours also when a cycle has zero transit."""
    s, E = model.problem.start, model.problem.n
    first = len(model.rows)
    for col, i, j in zip(x, model.tails, model.heads, strict=True):
        if i == s or j == E:
            continue
        pi, pj = model.pos_col[i], model.pos_col[j]
        model.row([pi, pj, col], [1.0, -1.0, -float(big)], 1.0 - big, INF)
    for i in active:
        model.row([model.pos_col[i], model.y_col[i]], [1.0, -(big - 1.0)], -INF, 0.0)
    model.block(family, first)


def budget_row(model: RouteModel, x: np.ndarray, active: np.ndarray, family: str) -> None:
    """(C6)/(G7) travel cost of the arcs plus visit cost of the customers within the budget."""
    p = model.problem
    if p.budget is None:
        return
    s, e = p.start, p.end
    first = len(model.rows)
    vc = np.asarray(p.visit_cost, dtype=np.float64)
    tc = np.asarray(p.travel_cost, dtype=np.float64)
    fixed = vc[s] + (vc[e] if e != s else 0.0)
    heads_real = np.where(model.heads == p.n, e, model.heads)
    model.row(
        [*x, *model.y_col[active]],
        [*tc[model.tails, heads_real], *vc[active]],
        -INF,
        float(p.budget) - fixed,
    )
    model.block(family, first)


def add_coverage_cols(model: RouteModel, cost) -> np.ndarray:
    """Gathered mass ``X_l`` (returned) and coverage ``h_l`` (capped by the last break) per label;
    ``h_l`` has objective ``cost``."""
    p = model.problem
    labels = np.asarray(p.label_mass).shape[1]
    cap = 1.0 - np.exp(-float(np.asarray(p.coverage_breaks)[-1]))
    xcol = model.add_cols(labels, 0.0, INF)
    model.h_col = model.add_cols(labels, 0.0, cap, cost=cost)
    return xcol


def coverage_cut_rows(model: RouteModel, xcol: np.ndarray, family: str) -> None:
    """(C8)/(G9) the concave coverage of each label: ``h_l <= a_k X_l + b_k`` per piece."""
    p = model.problem
    first = len(model.rows)
    for lab in range(len(xcol)):
        slope, intercept = coverage.pieces(float(p.coverage_scale[lab]), p.coverage_breaks)
        for ak, bk in zip(slope, intercept, strict=True):
            model.row([model.h_col[lab], xcol[lab]], [1.0, -ak], -INF, bk)
    model.block(family, first)


def route_values(model: RouteModel, val: np.ndarray, route: list[int]) -> dict | None:
    """Set the arc, visit and position values of ``route`` in ``val`` (others of those 0).

    Returns the arc index of each ``(tail, head)`` (the end as head ``n``), or None when the
    route uses an arc or a customer the model does not have.
    """
    p = model.problem
    arcs_at = {
        (int(i), int(j)): k for k, (i, j) in enumerate(zip(model.tails, model.heads, strict=True))
    }
    val[: len(model.tails)] = 0.0
    inner = route[1:-1]
    for i, j in zip(route[:-1], [*inner, p.n], strict=True):
        if (i, j) not in arcs_at:
            return None
        val[arcs_at[(i, j)]] = 1.0
    val[model.y_col[model.y_col >= 0]] = 0.0
    val[model.pos_col[model.pos_col >= 0]] = 0.0
    for q, v in enumerate(inner):
        if model.y_col[v] < 0:
            return None
        val[model.y_col[v]] = 1.0
        val[model.pos_col[v]] = len(inner) - 1 - q
    return arcs_at


def time_values(model: RouteModel, val: np.ndarray, route: list[int], starts) -> None:
    """Set the service-start values of ``route`` (the last node's in the end's column)."""
    for v, st in zip(route[1:], starts[1:], strict=True):
        col = model.tau_col[model.problem.n] if v == route[-1] else model.tau_col[v]
        if col >= 0:
            val[col] = st


def coverage_values(model: RouteModel, val: np.ndarray, gathered: np.ndarray) -> None:
    """Set ``X_l`` (the columns just before ``h``) and ``h_l`` from the gathered masses."""
    p = model.problem
    for lab, col in enumerate(model.h_col):
        val[col - len(model.h_col)] = gathered[lab]  # X_l precede h_l
        xs, g = coverage.curve(float(p.coverage_scale[lab]), p.coverage_breaks)
        val[col] = float(np.interp(gathered[lab], xs, g))
