"""The ``highs`` solver: the QIRCE / Q-FAM MILP of :mod:`.milp` solved by HiGHS, warm-started
from the best heuristic solution.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import highspy
import numpy as np

from ..highs_model import highs_consistent, run_until
from ..params import param
from ..registry import SolveOptions, register
from ..result import Result, Status, TracePoint
from ..tfam.bounds import settled
from .bounds import integral_objective, internal_bound
from .milp import build, new_highs, start_vector
from .problem import Problem
from .solution import build_solution, infeasible_result, internal_objective, trivial_result
from .warm_start import fallback_result, fits, warm_start

BUILD_SECONDS_PER_ARC = 2.5e-6
"""Build time of the MILP per arc (measured: 2.9 s for 1.2 million arcs with memory rows on a
loaded 2-core machine); a build that would overrun the time limit is not started."""


HIGHS_STOP_SECONDS_PER_NONZERO = 3e-6
"""How late HiGHS may notice its time limit, per nonzero of the model (measured: about 1.8 s on
a 730,000-nonzero QIRCE model on a loaded 2-core machine). Its time limit is set this much
earlier, and a model whose allowance exceeds the time left is not started."""


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
