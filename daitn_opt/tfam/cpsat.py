"""T-FAM admission with OR-Tools CP-SAT.

The same 0-1 program as :mod:`daitn_opt.tfam.milp` (``formulations/tfam.md`` (1)-(4)): one Boolean
per plan, one linear capacity constraint per resource that could be over-subscribed,
``AddAtMostOne`` / ``AddExactlyOne`` per request with several plans. CP-SAT needs integer
coefficients: values and each capacity row are multiplied by the smallest power of ten (up to
10^6) that makes them integral. When none does, values are rounded up (CP-SAT's bound stays an
upper bound on the real admitted value) and uses up and capacities down (every admission CP-SAT
accepts is feasible; its bound then refers to a restricted problem and only the Lagrangian bound
is reported). The model is built against the clock: when the time limit comes first, the warm
start is returned with its Lagrangian bound and a message saying so.
Solution hints come from the local search's best admission.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..registry import SolveOptions, register
from ..result import Result, Status, TracePoint
from .bounds import decided, settled
from .budget import CPSAT_SECONDS_PER_TERM, build_refusal
from .milp import (
    better,
    combine_bounds,
    fallback_result,
    infeasible_result,
    model_arrays,
    start_and_bound,
)
from .problem import Problem
from .solution import make_result, must_admit_conflict
from .support import ExactParams


def decimal_scale(values: np.ndarray, max_digits: int = 6) -> int | None:
    """The smallest ``10**d`` (d <= max_digits) making every value integral, or None."""
    values = np.asarray(values, dtype=np.float64)
    for digits in range(max_digits + 1):
        scaled = values * 10**digits
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-9 * np.maximum(1.0, np.abs(scaled))):
            return 10**digits
    return None


def _trace_callback(scale: float, start: float, trace: list[TracePoint]) -> Any:
    """A CP-SAT solution callback appending (time, incumbent, bound) to ``trace``."""
    from ortools.sat.python import cp_model

    class _Trace(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            trace.append(
                TracePoint(
                    time.perf_counter() - start,
                    self.ObjectiveValue() / scale,
                    self.BestObjectiveBound() / scale,
                )
            )

    return _Trace()


BUILD_CHECK = 512
"""Rows (and hints) added between two looks at the clock while the model is built."""


@dataclass(frozen=True)
class CpsatParams(ExactParams):
    """Parameters of the T-FAM solver ``cpsat``."""


@register(
    "tfam",
    "cpsat",
    exact=True,
    description="0-1 program with OR-Tools CP-SAT, hinted",
    params=CpsatParams,
)
@settled
@decided
def solve_cpsat(problem: Problem, options: SolveOptions) -> Result:
    from ortools.sat.python import cp_model  # imported here: OR-Tools is slow to import

    t0 = time.perf_counter()
    if must_admit_conflict(problem) is not None:
        return infeasible_result(problem, "cpsat", options.remaining())
    initial, lagrangian = start_and_bound(problem, options)
    arrays = model_arrays(problem)
    a = arrays["A"].tocsr()
    n_res = arrays["resource_rows"].size
    rows_exact = True
    v_scale = decimal_scale(problem.value)
    values_exact = v_scale is not None
    if v_scale is None:
        # Values rounded up: every admission is worth at most its scaled value, so the bound
        # CP-SAT proves on the scaled objective stays an upper bound on the real one.
        v_scale = 10**6
        values = np.ceil(problem.value * v_scale - 1e-9).astype(np.int64)
    else:
        values = np.round(problem.value * v_scale).astype(np.int64)
    # Keep a reserve for CP-SAT's own start-up and for extracting the solution.
    reserve = max(0.1, 0.05 * options.time_limit)

    stats: dict[str, Any] = {"lagrangian_bound": lagrangian}
    terms = 2 * problem.n_plans + int(a.nnz)
    refusal = build_refusal(
        "CP-SAT", terms, CPSAT_SECONDS_PER_TERM, options.remaining() - 3 * reserve
    )
    if refusal is not None:
        return fallback_result(problem, "cpsat", initial, lagrangian, stats, refusal)
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{p}") for p in range(problem.n_plans)]
    for row in range(a.shape[0]):
        if row % BUILD_CHECK == BUILD_CHECK - 1 and options.remaining() < 2 * reserve:
            stats["build_seconds"] = time.perf_counter() - t0
            return fallback_result(
                problem,
                "cpsat",
                initial,
                lagrangian,
                stats,
                f"time limit reached while building the CP-SAT model ({row} of {a.shape[0]} rows)",
            )
        lo, hi = a.indptr[row], a.indptr[row + 1]
        cols = a.indices[lo:hi].tolist()
        if row < n_res:
            coefs = a.data[lo:hi]
            cap = arrays["row_upper"][row]
            scale = decimal_scale(np.append(coefs, cap))
            if scale is None:
                scale, rows_exact = 10**6, False
                ints = np.ceil(coefs * scale - 1e-9).astype(np.int64)
                cap_int = int(np.floor(cap * scale + 1e-9))
            else:
                ints = np.round(coefs * scale).astype(np.int64)
                cap_int = round(cap * scale)
            model.add(
                cp_model.LinearExpr.weighted_sum([x[c] for c in cols], ints.tolist()) <= cap_int
            )
        elif arrays["row_lower"][row] >= 1:
            model.add_exactly_one([x[c] for c in cols])
        else:
            model.add_at_most_one([x[c] for c in cols])
    for p in np.flatnonzero(arrays["col_upper"] < 0.5).tolist():
        model.add(x[p] == 0)
    for p in np.flatnonzero(arrays["col_lower"] > 0.5).tolist():
        model.add(x[p] == 1)
    model.maximize(cp_model.LinearExpr.weighted_sum(x, values.tolist()))
    trace: list[TracePoint] = []
    if initial is not None:
        chosen = np.zeros(problem.n_plans, dtype=bool)
        chosen[initial[initial >= 0]] = True
        for var, hint in zip(x, chosen.tolist(), strict=True):
            model.add_hint(var, hint)
    stats["build_seconds"] = time.perf_counter() - t0
    stats["integer_scaling_exact"] = values_exact and rows_exact
    left = options.remaining() - reserve
    if left < 0.05:
        return fallback_result(
            problem,
            "cpsat",
            initial,
            lagrangian,
            stats,
            "time limit reached after building the model",
        )

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = left
    solver.parameters.num_workers = max(1, int(options.threads))
    solver.parameters.random_seed = int(options.seed)
    status = solver.solve(model, _trace_callback(v_scale, options.start, trace))
    stats.update(
        branches=int(solver.num_branches),
        conflicts=int(solver.num_conflicts),
        cpsat_status=solver.status_name(status),
    )
    if status == cp_model.INFEASIBLE and rows_exact:
        return infeasible_result(problem, "cpsat", options.remaining())
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return fallback_result(
            problem, "cpsat", initial, lagrangian, stats, f"CP-SAT: {solver.status_name(status)}"
        )
    xs = np.array([solver.boolean_value(v) for v in x], dtype=bool)
    chosen = np.flatnonzero(xs)
    choice = better(problem, chosen, initial)
    # CP-SAT's bound holds for the real problem when its rows are the real rows (capacities
    # scaled exactly); values rounded up keep it an upper bound. ``settle`` decides optimality.
    cp_bound = solver.best_objective_bound / v_scale if rows_exact else None
    return make_result(
        problem,
        "cpsat",
        choice,
        status=Status.FEASIBLE,
        bound=combine_bounds(cp_bound, lagrangian, problem),
        trace=trace,
        stats=stats,
    )
