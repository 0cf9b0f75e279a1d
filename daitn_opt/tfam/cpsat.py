"""T-FAM admission with OR-Tools CP-SAT.

The same 0-1 program as :mod:`daitn_opt.tfam.milp` (``formulations/tfam.md`` (1)-(4)): one Boolean
per plan, one linear capacity constraint per resource that could be over-subscribed,
``AddAtMostOne`` / ``AddExactlyOne`` per request with several plans. CP-SAT needs integer
coefficients: values and each capacity row are multiplied by the smallest power of ten (up to
10^6) that makes them integral. When none does, uses are rounded up and capacities down (the
admission stays feasible, but optimality then refers to the rounded problem and is not claimed).
Solution hints come from the local search's best admission.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..registry import SolveOptions, register
from ..result import Result, Status, TracePoint
from .milp import (
    better,
    combine_bounds,
    infeasible_result,
    model_arrays,
    start_and_bound,
)
from .problem import Problem
from .solution import make_result, must_admit_conflict


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


@register("tfam", "cpsat", exact=True, description="0-1 program with OR-Tools CP-SAT, hinted")
def solve_cpsat(problem: Problem, options: SolveOptions) -> Result:
    from ortools.sat.python import cp_model  # imported here: OR-Tools is slow to import

    t0 = time.perf_counter()
    if must_admit_conflict(problem) is not None:
        return infeasible_result(problem, "cpsat", options.remaining())
    initial, lagrangian = start_and_bound(problem, options)
    arrays = model_arrays(problem)
    a = arrays["A"].tocsr()
    n_res = arrays["resource_rows"].size
    exact = True
    v_scale = decimal_scale(problem.value)
    if v_scale is None:
        v_scale, exact = 10**6, False
    values = np.round(problem.value * v_scale).astype(np.int64)

    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{p}") for p in range(problem.n_plans)]
    for row in range(a.shape[0]):
        lo, hi = a.indptr[row], a.indptr[row + 1]
        cols = a.indices[lo:hi].tolist()
        if row < n_res:
            coefs = a.data[lo:hi]
            cap = arrays["row_upper"][row]
            scale = decimal_scale(np.append(coefs, cap))
            if scale is None:
                scale, exact = 10**6, False
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
        for p in range(problem.n_plans):
            model.add_hint(x[p], bool(chosen[p]))
    t_build = time.perf_counter() - t0

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, options.remaining() - 0.2)
    solver.parameters.num_workers = max(1, int(options.threads))
    solver.parameters.random_seed = int(options.seed)
    status = solver.solve(model, _trace_callback(v_scale, options.start, trace))
    stats = {
        "build_seconds": t_build,
        "branches": int(solver.num_branches),
        "conflicts": int(solver.num_conflicts),
        "cpsat_status": solver.status_name(status),
        "integer_scaling_exact": exact,
    }
    if status == cp_model.INFEASIBLE:
        return infeasible_result(problem, "cpsat", options.remaining())
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if initial is not None:
            return make_result(
                problem, "cpsat", initial, status=Status.FEASIBLE, bound=lagrangian, stats=stats
            )
        return make_result(problem, "cpsat", None, status=Status.NO_SOLUTION, stats=stats)
    xs = np.array([solver.boolean_value(v) for v in x], dtype=bool)
    chosen = np.flatnonzero(xs)
    choice = better(problem, chosen, initial)
    optimal = status == cp_model.OPTIMAL and exact
    bound = combine_bounds(solver.best_objective_bound / v_scale if exact else None, lagrangian)
    return make_result(
        problem,
        "cpsat",
        choice,
        status=Status.OPTIMAL if optimal else Status.FEASIBLE,
        bound=bound,
        trace=trace,
        stats=stats,
    )
