"""QIRCE / Q-FAM as a MILP built straight into HiGHS (highspy) from sparse arrays.

Formulation ``formulations/qirce.md`` (constraints (1)-(6)): arc variables ``x`` (continuous
splittable, binary single-source), deployment variables ``y[m, f]`` only when some facility's
memory binds, open variables ``z[f]`` only for facilities with an open cost; everything is
assembled as COO triplets with numpy (no per-variable Python loops). The model is warm-started
from the best heuristic solution.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import highspy
import numpy as np
from scipy.sparse import coo_matrix

from ..highs_model import highs_consistent, quiet_highs, run_until
from ..params import param
from ..registry import SolveOptions, register
from ..result import Result, Status, TracePoint
from ..tfam.bounds import rounded_bound, settled
from .problem import Problem
from .solution import build_solution, internal_objective

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
        from ..errors import InputError

        raise InputError("linking", linking, "expected auto, strong or aggregated")
    strong = linking == "strong" or (linking == "auto" and problem.num_arcs <= STRONG_ARCS)
    p = problem
    n_a, n_d, n_f = p.num_arcs, p.num_demands, p.num_facilities
    w = p.internal_arc_weight()
    open_w = p.internal_open_weight()
    congested = p.congestion != "none"
    use_y = p.memory_binding or congested
    if use_y:
        key = p.arc_model * n_f + p.arc_facility
        pairs, pair_of_arc = np.unique(key, return_inverse=True)
    else:
        pairs, pair_of_arc = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    open_fac = np.flatnonzero(open_w > 0)
    z_of_fac = np.full(n_f, -1, dtype=np.int64)
    z_of_fac[open_fac] = np.arange(open_fac.size)
    lay = Layout(
        n_a,
        pairs,
        pair_of_arc,
        open_fac,
        z_of_fac,
        n_f if congested else 0,
        n_a if congested else 0,
    )

    rows, cols, vals, lo, hi = [], [], [], [], []
    n_rows = 0

    def block(r: np.ndarray, c: np.ndarray, v: np.ndarray, lower: np.ndarray, upper: np.ndarray):
        nonlocal n_rows
        rows.append(r + n_rows)
        cols.append(c)
        vals.append(v)
        lo.append(lower)
        hi.append(upper)
        n_rows += lower.size

    arcs = np.arange(n_a)
    # (1) every demand served once (serve_all) or at most once (admit).
    block(
        p.arc_demand,
        arcs,
        np.ones(n_a),
        np.ones(n_d) if p.mode == "serve_all" else np.zeros(n_d),
        np.ones(n_d),
    )
    # (2) throughput: load <= capacity (times z when the facility can be closed).
    zc = z_of_fac[open_fac] + lay.z0
    block(
        np.concatenate([p.arc_facility, open_fac]),
        np.concatenate([arcs, zc]),
        np.concatenate([p.arc_load, -p.capacity[open_fac]]),
        np.full(n_f, -INF),
        np.where(z_of_fac >= 0, 0.0, p.capacity),
    )
    if use_y:
        n_p = pairs.size
        pair_fac = pairs % n_f
        pair_mod = pairs // n_f
        if strong:
            # (3) route only to a deployment: x[a] <= y[m(a), f(a)].
            block(arcs, arcs, np.ones(n_a), np.full(n_a, -INF), np.zeros(n_a))
            rows[-1] = np.concatenate([rows[-1], rows[-1]])
            cols[-1] = np.concatenate([arcs, lay.y0 + pair_of_arc])
            vals[-1] = np.concatenate([np.ones(n_a), -np.ones(n_a)])
        else:
            # (3') the load routed to a deployment is at most the facility's capacity times y.
            block(
                np.concatenate([pair_of_arc, np.arange(n_p)]),
                np.concatenate([arcs, lay.y0 + np.arange(n_p)]),
                np.concatenate([p.arc_load, -p.capacity[pair_fac]]),
                np.full(n_p, -INF),
                np.zeros(n_p),
            )
        # (4) memory: sum_m mem[m] y[m, f] <= memory[f] (times z).
        finite = np.isfinite(p.facility_memory)
        mem_cap = np.where(finite, p.facility_memory, 0.0)
        block(
            np.concatenate([pair_fac, open_fac]),
            np.concatenate([lay.y0 + np.arange(n_p), zc]),
            np.concatenate([p.model_memory[pair_mod], -mem_cap[open_fac]]),
            np.full(n_f, -INF),
            np.where(z_of_fac >= 0, np.where(finite, 0.0, INF), np.where(finite, mem_cap, INF)),
        )
        # (5) a deployment needs its facility open: y <= z.
        linked = np.flatnonzero(z_of_fac[pair_fac] >= 0)
        if linked.size:
            r = np.arange(linked.size)
            block(
                np.concatenate([r, r]),
                np.concatenate([lay.y0 + linked, lay.z0 + z_of_fac[pair_fac[linked]]]),
                np.concatenate([np.ones(linked.size), -np.ones(linked.size)]),
                np.full(linked.size, -INF),
                np.zeros(linked.size),
            )
    # (6) strong linking x <= z for closable facilities (tightens the LP of facility location).
    linked = np.flatnonzero(z_of_fac[p.arc_facility] >= 0) if strong else np.zeros(0, int)
    if linked.size:
        r = np.arange(linked.size)
        block(
            np.concatenate([r, r]),
            np.concatenate([linked, lay.z0 + z_of_fac[p.arc_facility[linked]]]),
            np.concatenate([np.ones(linked.size), -np.ones(linked.size)]),
            np.full(linked.size, -INF),
            np.zeros(linked.size),
        )

    if congested:
        _congestion_rows(p, lay, block)

    n_cols = lay.n_cols
    mat = coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, n_cols),
    ).tocsc()
    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.col_cost_ = np.concatenate(
        [
            w,
            np.zeros(pairs.size),
            open_w[open_fac],
            np.zeros(lay.n_rho),
            np.full(lay.n_v, float(p.violation_weight)),
        ]
    )
    upper = np.ones(n_cols)
    if congested:
        upper[lay.rho0 : lay.v0] = p.rho_max  # (9) stability
        upper[lay.v0 :] = INF
    # A single-source demand can never use an arc whose load alone exceeds the capacity.
    if p.single_source:
        upper[:n_a] = np.where(p.arc_load > p.capacity[p.arc_facility] + 1e-9, 0.0, 1.0)
    lp.col_lower_ = np.zeros(n_cols)
    lp.col_upper_ = upper
    lp.row_lower_ = np.concatenate(lo)
    lp.row_upper_ = np.concatenate(hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
    lp.a_matrix_.index_ = mat.indices.astype(np.int32)
    lp.a_matrix_.value_ = mat.data
    lp.a_matrix_.num_col_ = n_cols
    lp.a_matrix_.num_row_ = n_rows
    if not relax:
        integer = np.ones(n_cols, dtype=bool)
        if not p.single_source:
            integer[:n_a] = False
        integer[lay.rho0 :] = False
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
            for i in integer
        ]
    return lp, lay


def _congestion_rows(p: Problem, lay: Layout, block) -> None:
    """Rows (7) and (8) of the congestion model (``formulations/qirce.md``, Congestion).

    (7) ``rho_f - sum_a r_d sigma_a x_a = 0``; (8) for every arc ``a`` at ``f``, every model
    ``m'`` that may be deployed at ``f`` with ``sigma_fm' >= sigma_a`` and every tangent ``k``:
    ``v_a >= r_d (c_k + g_k rho_f) - M_a (2 - x_a - y_m'f)`` with ``M_a = r_d V(rho_max)``.
    """
    from .queueing import (
        TANGENTS,
        arc_budget_s,
        arc_sigma,
        arc_work,
        ratio,
        servers,
        tangents,
        violation_probability,
    )

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
        from .queueing import expected_violations, facility_state

        col[lay.rho0 : lay.v0] = np.minimum(facility_state(problem, x)[0], problem.rho_max)
        col[lay.v0 :] = expected_violations(problem, x)
    return col


def new_highs(time_limit: float, seed: int = 0) -> highspy.Highs:
    """A silent HiGHS instance with a time limit and seed."""
    h = quiet_highs()
    h.silent()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(0.01, float(time_limit)))
    h.setOptionValue("random_seed", int(seed))
    return h


def infeasible_result(problem: Problem, solver: str) -> Result | None:
    """The infeasible result naming the demand that can never be served in full (serve_all)."""
    if problem.mode != "serve_all":
        return None
    bad = problem.unservable()
    if not bad:
        return None
    shown = "; ".join(f"{problem.demand_ids[d]}: {why}" for d, why in list(bad.items())[:5])
    more = "" if len(bad) <= 5 else f" (and {len(bad) - 5} more)"
    return Result(
        problem="qirce",
        solver=solver,
        status=Status.INFEASIBLE,
        sense=problem.sense,
        message=f"{len(bad)} demand(s) cannot be served: {shown}{more}",
        solution={"unservable": {problem.demand_ids[d]: why for d, why in bad.items()}},
    )


def trivial_result(problem: Problem, solver: str) -> Result | None:
    """The optimal result of a problem without eligible arcs (nothing to decide), else None:
    every demand refused (admit mode) or nothing to serve; objective 0."""
    if problem.num_arcs:
        return None
    bad = infeasible_result(problem, solver)
    if bad is not None:
        return bad
    return Result(
        problem="qirce",
        solver=solver,
        status=Status.OPTIMAL,
        sense=problem.sense,
        objective=0.0,
        bound=0.0,
        solution=build_solution(problem, np.zeros(0)),
        message="no eligible (demand, facility) pair: nothing to route",
    )


def integral_weights(problem: Problem) -> bool:
    """Whether every objective coefficient (arc weights, open costs) is an integer."""
    w = np.concatenate([problem.internal_arc_weight(), problem.internal_open_weight()])
    return bool(np.all(np.abs(w - np.round(w)) < 1e-9))


def integral_objective(problem: Problem) -> bool:
    """Whether every solution's objective is an integer: integer coefficients *and* integral
    routing (single-source). Splittable routing has fractional objectives even on integer data,
    so its bounds may not be rounded nor an absolute gap below 1 taken as proof."""
    return problem.single_source and problem.congestion == "none" and integral_weights(problem)


def internal_bound(problem: Problem, bound: float | None) -> float | None:
    """A valid internal (minimised) lower bound, rounded up when the objective is integral."""
    return rounded_bound(bound, "min", integral_objective(problem))


BUILD_SECONDS_PER_ARC = 2.5e-6
"""Build time of the MILP per arc (measured: 2.9 s for 1.2 million arcs with memory rows on a
loaded 2-core machine); a build that would overrun the time limit is not started."""
HIGHS_STOP_SECONDS_PER_NONZERO = 3e-6
"""How late HiGHS may notice its time limit, per nonzero of the model (measured: about 1.8 s on
a 730,000-nonzero QIRCE model on a loaded 2-core machine). Its time limit is set this much
earlier, and a model whose allowance exceeds the time left is not started."""


def fallback_result(
    problem: Problem,
    solver: str,
    x0: np.ndarray | None,
    lb: float | None,
    stats: dict,
    trace: list[TracePoint],
    message: str,
    options: SolveOptions | None = None,
) -> Result:
    """The warm start (or no solution) with the best known internal bound ``lb``, when an exact
    solver cannot run or finds nothing better; ``message`` says why. With ``options`` and no
    bound yet, the time left (less a reserve) goes into a Lagrangian bound."""
    reserve = 0.0 if options is None else max(0.1, 0.05 * options.time_limit)
    if x0 is None and options is not None and options.remaining() > 2 * reserve:
        # The model cannot run and the short warm start found nothing: the time the model would
        # have had goes to the heuristic, so that the run returns at least what `ls` would.
        from .heuristics import best_heuristic, fits

        x = best_heuristic(problem, options.remaining() - reserve, options.seed)
        if x is not None and fits(problem, x):
            x0 = x
            stats["warm_start"] = problem.reported(internal_objective(problem, x0))
            trace.append(TracePoint(options.elapsed(), stats["warm_start"], None))
    if lb is None and x0 is not None and options is not None and options.remaining() > 3 * reserve:
        from .lagrangian import lagrangian_bound

        deadline = time.perf_counter() + options.remaining() - reserve
        lb = lagrangian_bound(problem, internal_objective(problem, x0), deadline)
    bound = internal_bound(problem, lb)
    rep_bound = problem.reported(bound) if bound is not None else None
    if x0 is None:
        return Result(
            problem="qirce",
            solver=solver,
            status=Status.NO_SOLUTION,
            sense=problem.sense,
            bound=rep_bound,
            message=message,
            stats=stats,
            trace=trace,
        )
    return Result(
        problem="qirce",
        solver=solver,
        status=Status.FEASIBLE,
        sense=problem.sense,
        objective=problem.reported(internal_objective(problem, x0)),
        bound=rep_bound,
        solution=build_solution(problem, x0),
        stats=stats,
        trace=trace,
        message=message + "; returning the warm start",
    )


@dataclass(frozen=True)
class HighsParams:
    """Parameters of the ``highs`` solver."""

    warm_start: bool = param(True, "start from the best heuristic solution (local search)")
    mip_rel_gap: float = param(1e-7, "relative gap at which HiGHS stops")
    linking: Literal["auto", "strong", "aggregated"] = param(
        "auto",
        "arc-deployment linking rows: strong (per arc), aggregated (per deployment), "
        "auto (strong up to 50,000 arcs)",
    )


@register(
    "qirce",
    "highs",
    exact=True,
    description="MILP in HiGHS (highspy, sparse build), warm-started from the best heuristic",
    params=HighsParams,
)
@settled
def solve_highs(problem: Problem, options: SolveOptions) -> Result:
    """Solve QIRCE / Q-FAM with HiGHS (parameters: :class:`HighsParams`; ``linking``: see
    :func:`build`)."""
    bad = infeasible_result(problem, "highs") or trivial_result(problem, "highs")
    if bad is not None:
        return bad
    from .heuristics import fits, warm_start

    t0 = time.perf_counter()
    trace: list[TracePoint] = []
    x0, lb = warm_start(problem, options)
    warm_seconds = time.perf_counter() - t0
    start_obj = None
    if x0 is not None:
        start_obj = problem.reported(internal_objective(problem, x0))
        trace.append(TracePoint(options.elapsed(), start_obj, None))
    stats: dict = {"warm_start_seconds": warm_seconds, "warm_start": start_obj}

    def give_up(why: str) -> Result:  # the warm start, before any model ran
        return fallback_result(problem, "highs", x0, lb, stats, trace, why, options=options)

    # The build is not interruptible: do not start one that cannot finish in time.
    need = BUILD_SECONDS_PER_ARC * problem.num_arcs
    if options.remaining() - need < 0.1:
        return give_up(
            f"no time left to build the MILP ({problem.num_arcs:,} arcs) within the time limit"
        )
    t1 = time.perf_counter()
    lp, lay = build(problem, linking=options.params.linking)
    stats["build_seconds"] = time.perf_counter() - t1
    stats.update(columns=lay.n_cols, rows=int(lp.num_row_))
    # HiGHS notices its time limit only between iterations, which on large models can be
    # seconds apart: stop it early by an allowance that grows with the model, and do not start
    # it when the allowance and a reserve for extraction leave no time.
    nnz = len(lp.a_matrix_.value_)
    allowance = HIGHS_STOP_SECONDS_PER_NONZERO * nnz + max(0.05, 0.05 * options.time_limit)
    if options.remaining() - allowance < 0.1:
        return give_up(
            f"no time left to run HiGHS on the MILP ({nnz:,} nonzeros) within the time limit"
        )

    best: dict = {"closed": False}

    def improving(event) -> None:
        if best["closed"]:
            return
        out = event.data_out
        value = float(out.objective_function_value)
        trace.append(
            TracePoint(
                options.elapsed(), problem.reported(value), problem.reported(out.mip_dual_bound)
            )
        )
        if value < best.get("value", np.inf):
            sol = np.array(out.mip_solution, dtype=np.float64)
            best.update(value=value, x=sol[: lay.n_x], bound=float(out.mip_dual_bound))

    # Cancel at the deadline (less a reserve to build the result); a HiGHS that does not stop
    # within a grace period is left to stop in the background (run_until).
    reserve = max(0.1, 0.03 * options.time_limit)
    deadline = time.perf_counter() + options.remaining() - reserve

    def run(start: np.ndarray | None) -> highspy.Highs | None:
        h = new_highs(options.remaining() - allowance, options.seed)
        h.setOptionValue("mip_rel_gap", options.params.mip_rel_gap)
        if integral_objective(problem):
            # Integral objective: an absolute gap below 1 already proves optimality.
            h.setOptionValue("mip_abs_gap", 1.0 - 1e-6)
        h.passModel(lp)
        if start is not None:
            sol = highspy.HighsSolution()
            sol.col_value = start_vector(problem, lay, start).tolist()
            sol.value_valid = True
            h.setSolution(sol)
        h.cbMipImprovingSolution.subscribe(improving)
        return h if run_until(h, deadline, grace=min(0.3, 0.5 * reserve)) else None

    t2 = time.perf_counter()
    h = run(x0)
    if h is None:
        best["closed"] = True
        x = best.get("x")
        if problem.single_source and x is not None:
            x = np.round(x)
        if (
            x is not None
            and fits(problem, x)
            and (x0 is None or internal_objective(problem, x) < internal_objective(problem, x0))
        ):
            x0 = x
        hb = best.get("bound")
        lb = hb if lb is None else (lb if hb is None or not np.isfinite(hb) else max(lb, hb))
        return fallback_result(
            problem,
            "highs",
            x0,
            lb,
            stats,
            trace,
            "time limit reached (HiGHS overran its limit and was cancelled)",
            options=options,
        )
    if x0 is not None and not highs_consistent(h, lp.col_cost_):
        # HiGHS 1.16 can mis-evaluate a user start (its objective disagrees with its own columns)
        # and then prune with that value, "proving" a wrong optimum: its bound cannot be
        # trusted. Solve again without the start when there is time, else keep the start.
        stats["highs_start_misread"] = True
        h = run(None) if options.remaining() - allowance >= 0.1 else None
    if h is None or not highs_consistent(h, lp.col_cost_):
        return fallback_result(
            problem,
            "highs",
            x0,
            lb,
            stats,
            trace,
            "HiGHS's objective disagreed with its solution",
            options=options,
        )
    status = h.getModelStatus()
    info = h.getInfo()
    stats.update(highs_seconds=time.perf_counter() - t2, nodes=int(info.mip_node_count))
    has = info.primal_solution_status == 2
    x = np.asarray(h.getSolution().col_value[: lay.n_x]) if has else None
    is_mip = (
        lp.integrality_ is not None
        and len(lp.integrality_) > 0
        and any(v == highspy.HighsVarType.kInteger for v in lp.integrality_)
    )
    optimal = status == highspy.HighsModelStatus.kOptimal
    if is_mip:
        bound = info.mip_dual_bound if np.isfinite(info.mip_dual_bound) else None
    else:  # a pure LP (splittable, nothing to open or deploy): its optimum is its bound
        bound = info.objective_function_value if has and optimal else None
    if lb is not None:
        bound = lb if bound is None else max(bound, lb)
    bound = internal_bound(problem, bound)
    if status == highspy.HighsModelStatus.kInfeasible:
        return Result(
            problem="qirce",
            solver="highs",
            status=Status.INFEASIBLE,
            sense=problem.sense,
            message="no routing serves all demand within capacity and memory; "
            "use mode='admit' (Q-FAM) to admit the most demand",
            stats=stats,
            trace=trace,
        )
    reason = h.modelStatusToString(status)
    if status == highspy.HighsModelStatus.kInterrupt:
        reason = "time limit reached (HiGHS interrupted after overrunning it)"
    if x is None:
        return fallback_result(
            problem, "highs", x0, bound, stats, trace, f"HiGHS: {reason}", options=options
        )
    if problem.single_source:
        x = np.round(x)
    internal = internal_objective(problem, x)
    if x0 is not None and internal_objective(problem, x0) < internal:
        x, internal = x0, internal_objective(problem, x0)
    rep_bound = problem.reported(bound) if bound is not None else None
    if optimal and rep_bound is None:
        rep_bound = problem.reported(internal)
    trace.append(TracePoint(options.elapsed(), problem.reported(internal), rep_bound))
    return Result(
        problem="qirce",
        solver="highs",
        status=Status.FEASIBLE,  # settle() proves optimality from the bound
        sense=problem.sense,
        objective=problem.reported(internal),
        bound=rep_bound,
        solution=build_solution(problem, x),
        stats=stats,
        trace=trace,
        message="" if optimal else f"HiGHS: {reason}",
    )
