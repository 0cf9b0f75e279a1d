"""T-FAM admission with OR-Tools CP-SAT: the solver ``cpsat``.

The same 0-1 program as :mod:`.model_arrays` (``formulations/tfam.md`` (1)-(4)): one Boolean per
plan, one linear capacity constraint per resource that could be over-subscribed,
``AddAtMostOne`` / ``AddExactlyOne`` per request with several plans. CP-SAT needs integer
coefficients: values and each capacity row are multiplied by the smallest power of ten (up to
10^6) that makes them integral. When none does, values are rounded up (CP-SAT's bound stays an
upper bound on the real admitted value) and uses up and capacities down (every admission CP-SAT
accepts is feasible; its bound then refers to a restricted problem and only the Lagrangian bound
is reported). The model is built against the clock: when the time limit comes first, the
skeleton (:class:`daitn_opt.exact.ExactSolver`) returns the warm start with its bound and a
message saying so. Solution hints come from the warm start (the local search's best admission).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..budget import CPSAT_SECONDS_PER_TERM, build_refusal
from ..exact import Outcome, OutOfTime, Run, register_exact
from .model_arrays import ModelArrays, model_arrays
from .screening import infeasible_message
from .support import ExactParams, TfamExact, choice_of, start_vector


def decimal_scale(values: np.ndarray, max_digits: int = 6) -> int | None:
    """The smallest ``10**d`` (d <= max_digits) making every value integral, or None.

    >>> decimal_scale(np.array([0.5, 2.25])), decimal_scale(np.array([1 / 3]))
    (100, None)
    """
    values = np.asarray(values, dtype=np.float64)
    for digits in range(max_digits + 1):
        scaled = values * 10**digits
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-9 * np.maximum(1.0, np.abs(scaled))):
            return 10**digits
    return None


def scaled_up(values: np.ndarray) -> tuple[np.ndarray, int, bool]:
    """Integer ``values * scale`` (rounded up when no scale is exact), the scale, and exactness."""
    scale = decimal_scale(values)
    if scale is None:
        return np.ceil(values * 10**6 - 1e-9).astype(np.int64), 10**6, False
    return np.round(values * scale).astype(np.int64), scale, True


def scaled_row(coefs: np.ndarray, cap: float) -> tuple[np.ndarray, int, bool]:
    """Integer coefficients and capacity of one capacity row, and whether the scaling is exact.

    When no power of ten up to 10^6 makes the row integral, uses are rounded up and the capacity
    down: every admission the scaled row accepts fits the real one.
    """
    scale = decimal_scale(np.append(coefs, cap))
    if scale is None:
        ints = np.ceil(coefs * 10**6 - 1e-9).astype(np.int64)
        return ints, int(np.floor(cap * 10**6 + 1e-9)), False
    return np.round(coefs * scale).astype(np.int64), round(cap * scale), True


def _trace_callback(scale: float, run: Run) -> Any:
    """A CP-SAT solution callback adding (time, incumbent, bound) to the run's trace."""
    from ortools.sat.python import cp_model

    class _Trace(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            run.record(self.ObjectiveValue() / scale, self.BestObjectiveBound() / scale)

    return _Trace()


BUILD_CHECK = 512
"""Rows added between two looks at the clock while the model is built."""


@dataclass(frozen=True)
class CpsatParams(ExactParams):
    """Parameters of the T-FAM solver ``cpsat``."""


@dataclass
class _Model:
    model: Any
    x: list[Any]
    scale: int
    rows_exact: bool


DESCRIPTION = "0-1 program with OR-Tools CP-SAT, hinted"


@register_exact
class CpsatSolver(TfamExact, name="cpsat", params=CpsatParams, description=DESCRIPTION):
    """The 0-1 program in CP-SAT with integer-scaled coefficients, hinted (the module docstring)."""

    def build(self, run: Run) -> _Model:
        from ortools.sat.python import cp_model  # imported here: OR-Tools is slow to import

        problem = run.problem
        arrays = model_arrays(problem)
        run.stats["lagrangian_bound"] = run.start.bound
        terms = 2 * problem.n_plans + int(arrays.A.nnz)
        seconds = run.remaining() - 3 * self.margin(run) - 2 * run.reserve
        refusal = build_refusal("CP-SAT", terms, CPSAT_SECONDS_PER_TERM, seconds)
        if refusal is not None:
            raise OutOfTime(refusal)
        model = cp_model.CpModel()
        x = [model.new_bool_var(f"x{p}") for p in range(problem.n_plans)]
        rows_exact = self._rows(run, model, x, arrays)
        for p in np.flatnonzero(arrays.col_upper < 0.5).tolist():
            model.add(x[p] == 0)
        for p in np.flatnonzero(arrays.col_lower > 0.5).tolist():
            model.add(x[p] == 1)
        values, scale, values_exact = scaled_up(problem.value)
        model.maximize(cp_model.LinearExpr.weighted_sum(x, values.tolist()))
        if run.start.solution is not None:
            hints = start_vector(problem, run.start.solution) > 0.5
            for var, hint in zip(x, hints.tolist(), strict=True):
                model.add_hint(var, hint)
        run.stats["integer_scaling_exact"] = values_exact and rows_exact
        return _Model(model, x, scale, rows_exact)

    def _rows(self, run: Run, model: Any, x: list[Any], arrays: ModelArrays) -> bool:
        """Add the capacity and request rows; whether every capacity row was scaled exactly."""
        from ortools.sat.python import cp_model

        a = arrays.A.tocsr()
        n_res = arrays.resource_rows.size
        exact = True
        for row in range(a.shape[0]):
            if (
                row % BUILD_CHECK == BUILD_CHECK - 1
                and run.remaining() < 2 * self.margin(run) + run.reserve
            ):
                raise OutOfTime(
                    f"time limit reached while building the CP-SAT model ({row} of "
                    f"{a.shape[0]} rows)"
                )
            lo, hi = a.indptr[row], a.indptr[row + 1]
            chosen = [x[c] for c in a.indices[lo:hi].tolist()]
            if row < n_res:
                ints, cap_int, row_exact = scaled_row(a.data[lo:hi], arrays.row_upper[row])
                exact = exact and row_exact
                model.add(cp_model.LinearExpr.weighted_sum(chosen, ints.tolist()) <= cap_int)
            elif arrays.row_lower[row] >= 1:
                model.add_exactly_one(chosen)
            else:
                model.add_at_most_one(chosen)
        return exact

    def run(self, run: Run, model: _Model) -> tuple[Any, int]:
        from ortools.sat.python import cp_model

        left = run.remaining() - self.margin(run)
        if left < 0.05:
            raise OutOfTime("time limit reached after building the model")
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = left
        solver.parameters.num_workers = max(1, int(run.options.threads))
        solver.parameters.random_seed = int(run.options.seed)
        status = solver.solve(model.model, _trace_callback(model.scale, run))
        run.stats.update(
            branches=int(solver.num_branches),
            conflicts=int(solver.num_conflicts),
            cpsat_status=solver.status_name(status),
        )
        return solver, status

    def extract(self, run: Run, model: _Model, raw: tuple[Any, int]) -> Outcome:
        from ortools.sat.python import cp_model

        solver, status = raw
        problem = run.problem
        if status == cp_model.INFEASIBLE and model.rows_exact:
            return Outcome(infeasible=True, message=infeasible_message(problem, run.remaining()))
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return Outcome(message=f"CP-SAT: {solver.status_name(status)}")
        xs = np.array([solver.boolean_value(v) for v in model.x], dtype=bool)
        # CP-SAT's bound holds for the real problem when its rows are the real rows (capacities
        # scaled exactly); values rounded up keep it an upper bound.
        bound = solver.best_objective_bound / model.scale if model.rows_exact else None
        return Outcome(solution=choice_of(problem, np.flatnonzero(xs)), bound=bound)
