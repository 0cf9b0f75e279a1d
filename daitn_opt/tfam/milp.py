"""T-FAM admission as a 0-1 program solved directly with HiGHS (highspy).

Formulation (``formulations/tfam.md``, constraints (1)-(4)): one binary ``x[p]`` per plan,

- (1) ``max sum_p v[p] x[p]``
- (2) ``sum_p U[p, k] x[p] <= c[k]`` for every resource k that could be over-subscribed
  (rows with ``sum_p U[p, k] <= c[k]`` can never bind and are dropped);
- (3) ``sum_{p of r} x[p] <= 1`` for every request with several plans (``= 1`` when must-admit);
  a single-plan must-admit request fixes ``x[p] = 1`` instead;
- (4) ``x[p] = 0`` for plans that exceed some capacity on their own.

The constraint matrix is assembled from the sparse plan x resource matrix with scipy and passed
column-wise in one call (no per-variable Python loop), so a batch of 10,000 requests over 12,000
(node, slot) resources builds in well under a second. The exact solvers are warm-started from the
local search's best admission.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import highspy
import numpy as np
from scipy import sparse

from ..highs_model import highs_consistent, quiet_highs, run_until, set_threads
from ..params import param
from ..registry import SolveOptions, register
from ..result import Result, Status, TracePoint
from .bounds import decided, rounded_bound, settled
from .heuristics import best_heuristic
from .problem import Problem
from .solution import from_solution, is_feasible, make_result, must_admit_conflict, slack
from .support import ExactParams


def model_arrays(problem: Problem) -> dict[str, Any]:
    """Column-wise arrays of the 0-1 program (constraints (2)-(4)); shared by the exact solvers.

    Returns a dict with ``A`` (csc, rows x plans), ``row_lower``, ``row_upper``, ``col_lower``,
    ``col_upper``, ``resource_rows`` (kept resource indices) and ``group_rows`` (request indices).
    """
    use = problem.use
    cap = problem.capacity
    total = np.asarray(use.sum(axis=0)).ravel()
    kept = np.flatnonzero(total > slack(problem))
    counts = np.diff(problem.plan_start)
    groups = np.flatnonzero(counts > 1)
    plan_req = problem.plan_request
    # Group matrix: row g has ones on the plans of request groups[g].
    in_group = np.isin(plan_req, groups)
    g_row = np.searchsorted(groups, plan_req[in_group])
    g_col = np.flatnonzero(in_group)
    group = sparse.csr_matrix(
        (np.ones(g_col.size), (g_row, g_col)), shape=(groups.size, problem.n_plans)
    )
    a = sparse.vstack([use.T.tocsr()[kept], group], format="csc")
    a.sort_indices()
    row_upper = np.concatenate([cap[kept], np.ones(groups.size)])
    row_lower = np.concatenate(
        [np.full(kept.size, -np.inf), problem.must_admit[groups].astype(np.float64)]
    )
    col_lower = np.zeros(problem.n_plans)
    col_upper = np.ones(problem.n_plans)
    single_must = problem.must_admit & (counts == 1)
    col_lower[problem.plan_start[:-1][single_must]] = 1.0
    rows = np.repeat(np.arange(problem.n_plans), np.diff(use.indptr))
    alone_bad = np.unique(rows[use.data > slack(problem)[use.indices]])
    col_upper[alone_bad] = 0.0
    return {
        "A": a,
        "row_lower": row_lower,
        "row_upper": row_upper,
        "col_lower": col_lower,
        "col_upper": col_upper,
        "resource_rows": kept,
        "group_rows": groups,
    }


def _highs(problem: Problem, arrays: dict[str, Any]) -> highspy.Highs:
    a = arrays["A"]
    lp = highspy.HighsLp()
    lp.num_col_ = problem.n_plans
    lp.num_row_ = a.shape[0]
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = problem.value.astype(np.float64)
    lp.col_lower_ = arrays["col_lower"]
    lp.col_upper_ = arrays["col_upper"]
    lp.row_lower_ = arrays["row_lower"]
    lp.row_upper_ = arrays["row_upper"]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(np.float64)
    lp.a_matrix_.num_col_ = problem.n_plans
    lp.a_matrix_.num_row_ = a.shape[0]
    lp.integrality_ = [highspy.HighsVarType.kInteger] * problem.n_plans
    h = quiet_highs()
    h.passModel(lp)
    return h


def write_model(problem: Problem, path: str | Path) -> None:
    """Write the 0-1 program as MPS or LP (by the file's extension) for external solvers."""
    h = _highs(problem, model_arrays(problem))
    h.writeModel(str(path))


def conflicting_must_admit(problem: Problem, time_limit: float = 10.0) -> list[str] | None:
    """An irreducible set of must-admit requests that cannot all be admitted together.

    Deletion filter: start from every must-admit request and drop each one whose removal leaves
    the rest still impossible; what remains is infeasible while every proper subset fits (as far
    as each small feasibility MIP decides within the time left). None when they do fit.
    """
    from .problem import build

    deadline = time.perf_counter() + time_limit
    must = np.flatnonzero(problem.must_admit).tolist()

    def infeasible(subset: list[int]) -> bool | None:
        plans = np.concatenate([np.arange(*problem.plan_start[[r, r + 1]]) for r in subset])
        sub = build(
            [problem.request_ids[r] for r in subset],
            np.repeat(np.arange(len(subset)), np.diff(problem.plan_start)[subset]),
            problem.value[plans],
            problem.use[plans],
            problem.capacity,
            resource_ids=problem.resource_ids,
            must_admit=np.ones(len(subset), bool),
        )
        h = _highs(sub, model_arrays(sub))
        h.setOptionValue("time_limit", max(0.1, deadline - time.perf_counter()))
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            return True
        if h.getInfo().primal_solution_status == 2:
            return False
        return None  # undecided within the time left

    if not must or infeasible(must) is not True:
        return None
    core = list(must)
    for r in list(must):
        if time.perf_counter() > deadline:
            break
        trial = [x for x in core if x != r]
        if trial and infeasible(trial) is True:
            core = trial
    return [problem.request_ids[r] for r in core]


def infeasible_result(problem: Problem, solver: str, time_limit: float) -> Result:
    """The ``infeasible`` result naming the must-admit requests that cannot all fit."""
    quick = must_admit_conflict(problem)
    if quick is not None:
        message = quick[1]
    else:
        core = conflicting_must_admit(problem, time_limit)
        message = (
            f"must-admit requests {core} cannot all be admitted together"
            if core
            else "the must-admit requests cannot all be admitted together"
        )
    return make_result(problem, solver, None, status=Status.INFEASIBLE, message=message)


LARGE = 5000
"""Plans from which the exact solvers also compute a Lagrangian bound before searching: on large
batches the MIP may end its time limit before its own root bound exists."""


def fallback_bound(problem: Problem, options: SolveOptions, lower: float) -> float | None:
    """A Lagrangian upper bound for large batches (None for small ones), within 10 % of the time."""
    if problem.n_plans < LARGE or not options.params.lagrangian:
        return None
    from .bounds import lagrangian_bound

    budget = min(10.0, 0.1 * options.remaining())
    return lagrangian_bound(problem, lower=lower, iterations=500, time_limit=budget)


def integral_values(problem: Problem) -> bool:
    """Whether every admission's value is an integer (integral plan values)."""
    return bool(np.all(problem.value == np.round(problem.value)))


def combine_bounds(
    solver_bound: float | None, fallback: float | None, problem: Problem | None = None
) -> float | None:
    """The tighter of two valid upper bounds (None when neither is finite), rounded down to an
    integer when ``problem`` has integral plan values (no admission is worth more)."""
    values = [b for b in (solver_bound, fallback) if b is not None and np.isfinite(b)]
    if not values:
        return None
    integral = problem is not None and integral_values(problem)
    return rounded_bound(min(values), "max", integral)


def fallback_result(
    problem: Problem,
    solver: str,
    initial: np.ndarray | None,
    lagrangian: float | None,
    stats: dict[str, Any],
    message: str,
) -> Result:
    """The warm start (feasible by construction) with the Lagrangian bound, or no solution,
    when an exact solver cannot run or finds nothing; ``message`` says why."""
    if initial is not None:
        return make_result(
            problem,
            solver,
            initial,
            status=Status.FEASIBLE,
            bound=combine_bounds(None, lagrangian, problem),
            stats=stats,
            message=message + "; returning the warm start",
        )
    return make_result(
        problem, solver, None, status=Status.NO_SOLUTION, stats=stats, message=message
    )


def better(problem: Problem, chosen: np.ndarray, initial: np.ndarray | None) -> np.ndarray:
    """``choice`` of the solver's chosen plans, or the warm start when that is worth more."""
    choice = np.full(problem.n_requests, -1, dtype=np.int64)
    choice[problem.plan_request[chosen]] = chosen
    if (
        initial is not None
        and problem.value[initial[initial >= 0]].sum() > problem.value[chosen].sum()
    ):
        return initial
    return choice


def warm_start(problem: Problem, options: SolveOptions) -> np.ndarray | None:
    """The warm start: ``options.initial`` when feasible, else the best heuristic admission."""
    if options.initial is not None:
        choice = from_solution(problem, options.initial)
        if is_feasible(problem, choice):
            return choice
    if not options.params.warm_start:
        return None
    return best_heuristic(problem, options, iterations=options.params.ls_iterations)


def start_and_bound(
    problem: Problem, options: SolveOptions
) -> tuple[np.ndarray | None, float | None]:
    """The warm start and, for large batches, a Lagrangian bound seeded with its value: what
    every exact T-FAM solver computes before its own search."""
    initial = warm_start(problem, options)
    lower = 0.0 if initial is None else float(problem.value[initial[initial >= 0]].sum())
    return initial, fallback_bound(problem, options, lower)


@dataclass(frozen=True)
class HighsParams(ExactParams):
    """Parameters of the T-FAM solver ``highs``."""

    mip_rel_gap: float = param(0.0, "relative gap at which HiGHS stops (0: prove optimality)")


@register(
    "tfam",
    "highs",
    exact=True,
    description="0-1 program with HiGHS (highspy), warm-started",
    params=HighsParams,
)
@settled
@decided
def solve_highs(problem: Problem, options: SolveOptions) -> Result:
    t0 = time.perf_counter()
    if must_admit_conflict(problem) is not None:
        return infeasible_result(problem, "highs", options.remaining())
    initial, lagrangian = start_and_bound(problem, options)
    t_heur = time.perf_counter() - t0
    arrays = model_arrays(problem)
    h = _highs(problem, arrays)
    t_build = time.perf_counter() - t0 - t_heur
    # HiGHS checks its clock only between phases, so a large model can overrun: leave a margin.
    left = options.remaining()
    h.setOptionValue("time_limit", max(0.05, left - max(0.2, 0.05 * left)))
    set_threads(h, max(1, int(options.threads)))
    h.setOptionValue("random_seed", int(options.seed))
    h.setOptionValue("mip_rel_gap", float(options.params.mip_rel_gap))
    trace: list[TracePoint] = []
    if initial is not None:
        x0 = np.zeros(problem.n_plans)
        x0[initial[initial >= 0]] = 1.0
        sol = highspy.HighsSolution()
        sol.col_value = x0.tolist()
        h.setSolution(sol)
        trace.append(
            TracePoint(time.perf_counter() - options.start, float(problem.value @ x0), None)
        )

    best: dict[str, Any] = {"closed": False}

    def on_improve(event: Any) -> None:
        if best["closed"]:
            return
        out = event.data_out
        value, bound = float(out.objective_function_value), float(out.mip_dual_bound)
        trace.append(TracePoint(time.perf_counter() - options.start, value, bound))
        if value > best.get("value", -np.inf):
            best.update(value=value, x=np.array(out.mip_solution, dtype=np.float64), bound=bound)

    # Cancel at the deadline, leaving a reserve to build the result.
    reserve = max(0.1, 0.03 * options.time_limit)
    deadline = time.perf_counter() + options.remaining() - reserve

    def run(model: highspy.Highs) -> bool:
        model.cbMipImprovingSolution.subscribe(on_improve)
        return run_until(model, deadline, grace=min(0.3, 0.5 * reserve))

    done = run(h)
    if done and initial is not None and not highs_consistent(h, problem.value):
        # HiGHS mis-evaluated the start (see highs_consistent): solve again without it.
        best.clear()
        best["closed"] = False
        h = _highs(problem, arrays)
        h.setOptionValue("time_limit", max(0.05, options.remaining() - 2 * reserve))
        set_threads(h, max(1, int(options.threads)))
        h.setOptionValue("random_seed", int(options.seed))
        h.setOptionValue("mip_rel_gap", float(options.params.mip_rel_gap))
        done = run(h)
    if not done:
        # HiGHS overran its limit and is stopping in the background: the best incumbent its
        # callback reported (checked), else the warm start.
        best["closed"] = True
        choice = initial
        x = best.get("x")
        if x is not None and x.shape == (problem.n_plans,):
            chosen = np.flatnonzero(x > 0.5)
            candidate = better(problem, chosen, initial)
            if is_feasible(problem, candidate):
                choice = candidate
        stats = {"heuristic_seconds": t_heur, "build_seconds": t_build, "highs": "abandoned"}
        return fallback_result(
            problem,
            "highs",
            choice,
            combine_bounds(best.get("bound"), lagrangian, problem),
            stats,
            "time limit reached (HiGHS overran its limit and was cancelled)",
        )
    if not highs_consistent(h, problem.value):
        return make_result(
            problem,
            "highs",
            initial,
            status=Status.FEASIBLE if initial is not None else Status.NO_SOLUTION,
            bound=combine_bounds(None, lagrangian, problem),
            message="HiGHS's objective disagreed with its solution; returning the warm start",
        )
    status = h.getModelStatus()
    info = h.getInfo()
    stats = {
        "build_seconds": t_build,
        "heuristic_seconds": t_heur,
        "rows": int(arrays["A"].shape[0]),
        "columns": problem.n_plans,
        "nonzeros": int(arrays["A"].nnz),
        "nodes": int(info.mip_node_count),
        "highs_status": str(status),
        "lagrangian_bound": lagrangian,
    }
    if status == highspy.HighsModelStatus.kInfeasible:
        return infeasible_result(problem, "highs", options.remaining())
    dual = float(info.mip_dual_bound)
    if info.primal_solution_status != 2:
        if initial is not None:
            return make_result(
                problem,
                "highs",
                initial,
                status=Status.FEASIBLE,
                bound=combine_bounds(dual, lagrangian, problem),
                trace=trace,
                stats=stats,
                message=f"HiGHS found no solution ({status}); returning the warm start",
            )
        return make_result(
            problem, "highs", None, status=Status.NO_SOLUTION, stats=stats, message=str(status)
        )
    x = np.asarray(h.getSolution().col_value)
    chosen = np.flatnonzero(x > 0.5)
    choice = better(problem, chosen, initial)
    bound = combine_bounds(dual, lagrangian, problem)
    optimal = status == highspy.HighsModelStatus.kOptimal
    return make_result(
        problem,
        "highs",
        choice,
        status=Status.OPTIMAL if optimal else Status.FEASIBLE,
        bound=bound,
        trace=trace,
        stats=stats,
    )
