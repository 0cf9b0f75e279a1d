"""QIRCE / Q-FAM as a MILP built straight into HiGHS (highspy) from sparse arrays.

Formulation ``formulations/qirce.md`` (constraints (1)-(6)): arc variables ``x`` (continuous
splittable, binary single-source), deployment variables ``y[m, f]`` only when some facility's
memory binds, open variables ``z[f]`` only for facilities with an open cost; everything is
assembled as COO triplets with numpy (no per-variable Python loops). The model (and its LP
relaxation) is used by the ``highs`` solver (:mod:`.highs`) and the heuristics' LP guide
(:mod:`.relaxation`).
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
from scipy.sparse import coo_matrix

from ..errors import InputError
from ..highs_model import quiet_highs, set_threads
from .problem import Problem
from .queueing import (
    TANGENTS,
    arc_budget_s,
    arc_sigma,
    arc_work,
    expected_violations,
    facility_state,
    ratio,
    servers,
    tangents,
    violation_probability,
)

INF = highspy.kHighsInf


@dataclass
class Layout:
    """Column and row blocks of the built model."""

    n_x: int
    pairs: np.ndarray
    """(P,) deployment pair keys ``m * F + f`` that have a ``y`` column (empty: no y)."""
    pair_of_arc: np.ndarray
    open_fac: np.ndarray
    """(K,) facilities with a ``z`` column."""
    z_of_fac: np.ndarray
    """(F,) column offset within the z block, -1 when the facility has no z."""
    n_rho: int = 0
    """Utilisation columns ``rho[f]`` (congestion only: F, else 0)."""
    n_v: int = 0
    """Expected-violation columns ``v[a]`` (congestion only: A, else 0)."""

    @property
    def y0(self) -> int:
        return self.n_x

    @property
    def z0(self) -> int:
        return self.n_x + self.pairs.size

    @property
    def rho0(self) -> int:
        return self.z0 + self.open_fac.size

    @property
    def v0(self) -> int:
        return self.rho0 + self.n_rho

    @property
    def n_cols(self) -> int:
        return self.v0 + self.n_v


STRONG_ARCS = 50_000
"""Up to this many arcs the per-arc linking rows (3) and (6) are used; above, aggregated rows."""


def build(
    problem: Problem, *, relax: bool = False, linking: str = "auto"
) -> tuple[highspy.HighsLp, Layout]:
    """The HiGHS model of ``problem`` (the LP relaxation when ``relax``).

    ``linking``: ``"strong"`` links every arc to its deployment and facility (rows (3) and (6):
    the tightest LP, one row per arc), ``"aggregated"`` links each deployment's total load to it
    (rows (3') ``sum_a w_a x_a <= K_f y_mf``, one row per deployment pair, no rows (6): a weaker
    LP that solves far faster on large instances); ``"auto"`` (default) is strong up to
    :data:`STRONG_ARCS` arcs.
    """
    if linking not in ("auto", "strong", "aggregated"):
        raise InputError("linking", linking, "expected auto, strong or aggregated")
    strong = linking == "strong" or (linking == "auto" and problem.num_arcs <= STRONG_ARCS)
    p = problem
    lay = layout(p)
    rows = Rows()
    _demand_rows(p, rows)
    _capacity_rows(p, lay, rows)
    if p.memory_binding or p.congestion != "none":
        _deployment_rows(p, lay, rows, strong)
    if strong:  # (6) x <= z for closable facilities (tightens the LP of facility location)
        linked = np.flatnonzero(lay.z_of_fac[p.arc_facility] >= 0)
        rows.at_most(linked, lay.z0 + lay.z_of_fac[p.arc_facility[linked]])
    if p.congestion != "none":
        _congestion_rows(p, lay, rows.block)
    return _highs_lp(p, lay, rows, relax), lay


def layout(p: Problem) -> Layout:
    """The column blocks of ``p``'s model: ``y`` only where memory binds (or congestion is
    modelled), ``z`` only for facilities with an open cost, ``rho`` and ``v`` with congestion."""
    n_a, n_f = p.num_arcs, p.num_facilities
    congested = p.congestion != "none"
    if p.memory_binding or congested:
        key = p.arc_model * n_f + p.arc_facility
        pairs, pair_of_arc = np.unique(key, return_inverse=True)
    else:
        pairs, pair_of_arc = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    open_fac = np.flatnonzero(p.internal_open_weight() > 0)
    z_of_fac = np.full(n_f, -1, dtype=np.int64)
    z_of_fac[open_fac] = np.arange(open_fac.size)
    return Layout(
        n_a,
        pairs,
        pair_of_arc,
        open_fac,
        z_of_fac,
        n_f if congested else 0,
        n_a if congested else 0,
    )


class Rows:
    """Constraint rows as COO triplets with their bounds, appended block by block."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.n = 0

    def block(
        self, r: np.ndarray, c: np.ndarray, v: np.ndarray, lower: np.ndarray, upper: np.ndarray
    ) -> None:
        """Rows ``lower <= A x <= upper``, entry ``(r[k], c[k]) = v[k]`` (``r`` from 0)."""
        self.rows.append(r + self.n)
        self.cols.append(c)
        self.vals.append(v)
        self.lo.append(lower)
        self.hi.append(upper)
        self.n += lower.size

    def at_most(self, left: np.ndarray, right: np.ndarray) -> None:
        """One row ``col[left[k]] - col[right[k]] <= 0`` per pair (a linking row)."""
        if left.size == 0:
            return
        r = np.arange(left.size)
        ones = np.ones(left.size)
        self.block(
            np.concatenate([r, r]),
            np.concatenate([left, right]),
            np.concatenate([ones, -ones]),
            np.full(left.size, -INF),
            np.zeros(left.size),
        )


def _demand_rows(p: Problem, rows: Rows) -> None:
    """(1) every demand served once (serve_all) or at most once (admit)."""
    n_d = p.num_demands
    rows.block(
        p.arc_demand,
        np.arange(p.num_arcs),
        np.ones(p.num_arcs),
        np.ones(n_d) if p.mode == "serve_all" else np.zeros(n_d),
        np.ones(n_d),
    )


def _capacity_rows(p: Problem, lay: Layout, rows: Rows) -> None:
    """(2) throughput: load <= capacity (times z when the facility can be closed)."""
    open_fac = lay.open_fac
    rows.block(
        np.concatenate([p.arc_facility, open_fac]),
        np.concatenate([np.arange(p.num_arcs), lay.z0 + lay.z_of_fac[open_fac]]),
        np.concatenate([p.arc_load, -p.capacity[open_fac]]),
        np.full(p.num_facilities, -INF),
        np.where(lay.z_of_fac >= 0, 0.0, p.capacity),
    )


def _deployment_rows(p: Problem, lay: Layout, rows: Rows, strong: bool) -> None:
    """(3) or (3') routing only to a deployment, (4) memory, (5) a deployment opens its
    facility."""
    n_a, n_f, n_p = p.num_arcs, p.num_facilities, lay.pairs.size
    pair_fac, pair_mod = lay.pairs % n_f, lay.pairs // n_f
    arcs = np.arange(n_a)
    if strong:  # (3) x[a] <= y[m(a), f(a)]
        rows.at_most(arcs, lay.y0 + lay.pair_of_arc)
    else:  # (3') the load routed to a deployment is at most the facility's capacity times y
        rows.block(
            np.concatenate([lay.pair_of_arc, np.arange(n_p)]),
            np.concatenate([arcs, lay.y0 + np.arange(n_p)]),
            np.concatenate([p.arc_load, -p.capacity[pair_fac]]),
            np.full(n_p, -INF),
            np.zeros(n_p),
        )
    # (4) memory: sum_m mem[m] y[m, f] <= memory[f] (times z).
    finite = np.isfinite(p.facility_memory)
    mem_cap = np.where(finite, p.facility_memory, 0.0)
    open_fac = lay.open_fac
    rows.block(
        np.concatenate([pair_fac, open_fac]),
        np.concatenate([lay.y0 + np.arange(n_p), lay.z0 + lay.z_of_fac[open_fac]]),
        np.concatenate([p.model_memory[pair_mod], -mem_cap[open_fac]]),
        np.full(n_f, -INF),
        np.where(lay.z_of_fac >= 0, np.where(finite, 0.0, INF), np.where(finite, mem_cap, INF)),
    )
    # (5) a deployment needs its facility open: y <= z.
    linked = np.flatnonzero(lay.z_of_fac[pair_fac] >= 0)
    rows.at_most(lay.y0 + linked, lay.z0 + lay.z_of_fac[pair_fac[linked]])


def _highs_lp(p: Problem, lay: Layout, rows: Rows, relax: bool) -> highspy.HighsLp:
    """The ``HighsLp`` of the rows: costs, column bounds, column-wise matrix, integrality."""
    n_a, n_cols = p.num_arcs, lay.n_cols
    mat = coo_matrix(
        (np.concatenate(rows.vals), (np.concatenate(rows.rows), np.concatenate(rows.cols))),
        shape=(rows.n, n_cols),
    ).tocsc()
    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = rows.n
    lp.col_cost_ = np.concatenate(
        [
            p.internal_arc_weight(),
            np.zeros(lay.pairs.size),
            p.internal_open_weight()[lay.open_fac],
            np.zeros(lay.n_rho),
            np.full(lay.n_v, float(p.violation_weight)),
        ]
    )
    upper = np.ones(n_cols)
    if lay.n_rho:
        upper[lay.rho0 : lay.v0] = p.rho_max  # (9) stability
        upper[lay.v0 :] = INF
    # A single-source demand can never use an arc whose load alone exceeds the capacity.
    if p.single_source:
        upper[:n_a] = np.where(p.arc_load > p.capacity[p.arc_facility] + 1e-9, 0.0, 1.0)
    lp.col_lower_ = np.zeros(n_cols)
    lp.col_upper_ = upper
    lp.row_lower_ = np.concatenate(rows.lo)
    lp.row_upper_ = np.concatenate(rows.hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
    lp.a_matrix_.index_ = mat.indices.astype(np.int32)
    lp.a_matrix_.value_ = mat.data
    lp.a_matrix_.num_col_ = n_cols
    lp.a_matrix_.num_row_ = rows.n
    if not relax:
        integer = np.ones(n_cols, dtype=bool)
        if not p.single_source:
            integer[:n_a] = False
        integer[lay.rho0 :] = False
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
            for i in integer
        ]
    return lp


def _congestion_rows(p: Problem, lay: Layout, block) -> None:
    """Rows (7) and (8) of the congestion model (``formulations/qirce.md``, Congestion).

    (7) ``rho_f - sum_a r_d sigma_a x_a = 0``; (8) for every arc ``a`` at ``f``, every model
    ``m'`` that may be deployed at ``f`` with ``sigma_fm' >= sigma_a`` and every tangent ``k``:
    ``v_a >= r_d (c_k + g_k rho_f) - M_a (2 - x_a - y_m'f)`` with ``M_a = r_d V(rho_max)``.
    """

    n_a, n_f = p.num_arcs, p.num_facilities
    arcs = np.arange(n_a)
    block(
        np.concatenate([np.arange(n_f), p.arc_facility]),
        np.concatenate([lay.rho0 + np.arange(n_f), arcs]),
        np.concatenate([np.ones(n_f), -arc_work(p)]),
        np.zeros(n_f),
        np.zeros(n_f),
    )
    count = servers(p)  # (F, M)
    sigma_fm = p.service_ms[None, :] / 1000.0 / count
    # (10) one server count per facility: y[m, f] + y[m', f] <= 1 when the counts differ.
    for m1 in range(p.num_models):
        for m2 in range(m1 + 1, p.num_models):
            k1 = np.searchsorted(lay.pairs, m1 * n_f + np.arange(n_f))
            k2 = np.searchsorted(lay.pairs, m2 * n_f + np.arange(n_f))
            k1c = np.minimum(k1, max(lay.pairs.size - 1, 0))
            k2c = np.minimum(k2, max(lay.pairs.size - 1, 0))
            fs = np.flatnonzero(
                (lay.pairs.size > 0)
                & (lay.pairs[k1c] == m1 * n_f + np.arange(n_f))
                & (lay.pairs[k2c] == m2 * n_f + np.arange(n_f))
                & (count[:, m1] != count[:, m2])
            )
            if fs.size:
                r = np.arange(fs.size)
                block(
                    np.concatenate([r, r]),
                    np.concatenate([lay.y0 + k1c[fs], lay.y0 + k2c[fs]]),
                    np.ones(2 * fs.size),
                    np.full(fs.size, -INF),
                    np.ones(fs.size),
                )
    own = arc_sigma(p)
    budget = arc_budget_s(p)
    rate = p.rate[p.arc_demand]
    for m2 in range(p.num_models):
        sig2 = sigma_fm[p.arc_facility, m2]
        key = m2 * n_f + p.arc_facility
        pos = np.minimum(np.searchsorted(lay.pairs, key), max(lay.pairs.size - 1, 0))
        ok = (lay.pairs.size > 0) & (lay.pairs[pos] == key)
        ok &= (sig2 > 0) & (sig2 >= own)
        sel = np.flatnonzero(ok)
        if sel.size == 0:
            continue
        rt = ratio(sig2[sel], budget[sel])
        c, g = tangents(rt, p.rho_max)  # (S, K)
        big = rate[sel] * violation_probability(p.rho_max, rt)
        n = sel.size * TANGENTS
        r = np.arange(n)
        a_rep = np.repeat(sel, TANGENTS)
        big_rep = np.repeat(big, TANGENTS)
        rate_rep = np.repeat(rate[sel], TANGENTS)
        block(
            np.concatenate([r, r, r, r]),
            np.concatenate(
                [
                    lay.v0 + a_rep,
                    lay.rho0 + p.arc_facility[a_rep],
                    a_rep,
                    lay.y0 + np.repeat(pos[sel], TANGENTS),
                ]
            ),
            np.concatenate([np.ones(n), -rate_rep * g.ravel(), -big_rep, -big_rep]),
            rate_rep * c.ravel() - 2.0 * big_rep,
            np.full(n, INF),
        )


def start_vector(problem: Problem, lay: Layout, x: np.ndarray) -> np.ndarray:
    """Full column vector (x, y, z) of arc fractions ``x``: deploy and open exactly what is used."""
    col = np.zeros(lay.n_cols)
    col[: lay.n_x] = x
    used = x > 1e-9
    if lay.pairs.size:
        col[lay.y0 + np.unique(lay.pair_of_arc[used])] = 1.0
    fac = np.unique(problem.arc_facility[used])
    fac = fac[lay.z_of_fac[fac] >= 0]
    col[lay.z0 + lay.z_of_fac[fac]] = 1.0
    if lay.n_rho:
        col[lay.rho0 : lay.v0] = np.minimum(facility_state(problem, x)[0], problem.rho_max)
        col[lay.v0 :] = expected_violations(problem, x)
    return col


def new_highs(time_limit: float, seed: int = 0, threads: int = 1) -> highspy.Highs:
    """A silent HiGHS instance with a time limit, seed and thread count.

    The threads go through :func:`~daitn_opt.highs_model.set_threads`: HiGHS keeps one scheduler
    per process, and a run that starts it with another count makes later runs of other kinds
    report bound 0 ("Not Set").
    """
    h = quiet_highs()
    set_threads(h, max(1, int(threads)))
    h.silent()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(0.01, float(time_limit)))
    h.setOptionValue("random_seed", int(seed))
    return h
