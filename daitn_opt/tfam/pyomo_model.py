"""T-FAM admission as a Pyomo model, solvable by any Pyomo MIP solver (HiGHS by default).

The algebraic form of ``formulations/tfam.md`` (1)-(4), written with Pyomo's indexed components so
that a user can add side constraints or hand the model to Gurobi, CPLEX, SCIP or CBC
(``solve(problem, "pyomo", pyomo_solver="gurobi")``). The rows are the ones
:func:`daitn_opt.tfam.milp.model_arrays` keeps; the model is warm-started from the local search.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..highs_model import reset_scheduler
from ..params import param
from ..registry import SolveOptions, register
from ..result import Result, Status
from .bounds import decided, settled
from .budget import Clock, OutOfTime, pyomo_refusal, quiet_pyomo
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

TIME_OPTION = {
    "appsi_highs": "time_limit",
    "highs": "time_limit",
    "gurobi": "TimeLimit",
    "gurobi_direct": "TimeLimit",
    "cplex": "timelimit",
    "cbc": "seconds",
    "glpk": "tmlim",
    "scip": "limits/time",
}
"""Each solver's name for the time limit option."""


def build_model(problem: Problem, clock: Clock | None = None) -> Any:
    """The Pyomo model: ``x[p]`` binary, objective (1), capacity rows (2), request rows (3).

    With ``clock``, the build stops with :class:`~daitn_opt.tfam.budget.OutOfTime` past its
    deadline.
    """
    import pyomo.environ as pyo  # imported here: Pyomo takes seconds to import

    check = clock.check if clock is not None else (lambda: None)
    arrays = model_arrays(problem)
    a = arrays["A"].tocsr()
    m = pyo.ConcreteModel(name=problem.name)
    m.P = pyo.RangeSet(0, problem.n_plans - 1)
    m.x = pyo.Var(
        m.P,
        domain=pyo.Binary,
        bounds=lambda _, p: (float(arrays["col_lower"][p]), float(arrays["col_upper"][p])),
    )
    value = problem.value.tolist()
    m.admitted_value = pyo.Objective(expr=sum(value[p] * m.x[p] for p in m.P), sense=pyo.maximize)
    m.ROWS = pyo.RangeSet(0, a.shape[0] - 1) if a.shape[0] else pyo.Set(initialize=[])
    lower, upper = arrays["row_lower"], arrays["row_upper"]

    def row_rule(model: Any, row: int) -> object:
        check()
        lo, hi = a.indptr[row], a.indptr[row + 1]
        expr = sum(
            float(c) * model.x[int(p)] for p, c in zip(a.indices[lo:hi], a.data[lo:hi], strict=True)
        )
        if np.isfinite(lower[row]) and lower[row] == upper[row]:
            return expr == float(upper[row])
        return expr <= float(upper[row])

    m.rows = pyo.Constraint(m.ROWS, rule=row_rule)
    return m


@dataclass(frozen=True)
class PyomoParams(ExactParams):
    """Parameters of the T-FAM solver ``pyomo``."""

    pyomo_solver: str = param(
        "appsi_highs", "the Pyomo solver to run (appsi_highs, gurobi, cplex, cbc, scip, ...)"
    )
    mip_rel_gap: float = param(0.0, "relative gap at which a HiGHS run stops (0: prove optimality)")


@register(
    "tfam",
    "pyomo",
    exact=True,
    description="Pyomo model, any MIP solver (HiGHS default)",
    params=PyomoParams,
)
@settled
@decided
def solve_pyomo(problem: Problem, options: SolveOptions) -> Result:
    import pyomo.environ as pyo
    from pyomo.opt import SolverStatus, TerminationCondition

    t0 = time.perf_counter()
    if must_admit_conflict(problem) is not None:
        return infeasible_result(problem, "pyomo", options.remaining())
    name = options.params.pyomo_solver
    opt = pyo.SolverFactory(name)
    if opt is None or not opt.available(exception_flag=False):
        raise InputError("pyomo_solver", name, "is not an available Pyomo solver")
    initial, lagrangian = start_and_bound(problem, options)
    stats: dict[str, Any] = {"pyomo_solver": name, "lagrangian_bound": lagrangian}
    # Keep a reserve for the solver's start-up and for loading the solution back.
    reserve = max(0.2, 0.1 * options.time_limit)
    terms = int(problem.use.nnz) + 2 * problem.n_plans
    refusal = pyomo_refusal(terms, problem.n_plans, options.remaining() - reserve)
    if refusal is not None:
        return fallback_result(problem, "pyomo", initial, lagrangian, stats, refusal)
    t_build = time.perf_counter()
    try:
        # The build may use half the time left: translating the model for the solver (which
        # cannot be interrupted) takes about as long again.
        with quiet_pyomo():
            model = build_model(problem, Clock(t_build + 0.5 * (options.remaining() - reserve)))
        if initial is not None:
            chosen = np.zeros(problem.n_plans)
            chosen[initial[initial >= 0]] = 1.0
            for p in model.P:
                model.x[p].value = float(chosen[p])
    except OutOfTime:
        stats["build_seconds"] = time.perf_counter() - t_build
        return fallback_result(
            problem,
            "pyomo",
            initial,
            lagrangian,
            stats,
            "time limit reached while building the Pyomo model",
        )
    built = time.perf_counter() - t_build
    stats["build_seconds"] = built
    limit = options.remaining() - reserve - built  # translation takes about the build time
    if limit < 0.05:
        return fallback_result(
            problem,
            "pyomo",
            initial,
            lagrangian,
            stats,
            f"the Pyomo model took {built:.1f} s to build: no time left to translate and solve it",
        )
    if name in TIME_OPTION:
        opt.options[TIME_OPTION[name]] = limit
    if name in ("appsi_highs", "highs"):
        opt.options["mip_rel_gap"] = float(options.params.mip_rel_gap)
        opt.options["threads"] = int(options.threads)
        opt.options["random_seed"] = int(options.seed)
    kwargs = {"load_solutions": False}
    if initial is not None and opt.warm_start_capable():
        kwargs["warmstart"] = True
    # Pyomo logs a warning when a time limit stops the solve; the result says so instead.
    logging.getLogger("pyomo").setLevel(logging.ERROR)
    reset_scheduler()  # Pyomo's HiGHS sets its own thread count
    results = opt.solve(model, **kwargs)
    term = results.solver.termination_condition
    stats.update(warm_start_seconds=t_build - t0, termination=str(term))
    if term == TerminationCondition.infeasible:
        return infeasible_result(problem, "pyomo", options.remaining())
    has_solution = len(results.solution) > 0 or (
        results.solver.status in (SolverStatus.ok, SolverStatus.aborted)
        and term in (TerminationCondition.optimal, TerminationCondition.maxTimeLimit)
    )
    try:
        model.solutions.load_from(results)
    except (ValueError, RuntimeError, AttributeError):
        has_solution = False
    bound = results.problem.upper_bound
    bound = combine_bounds(float(bound) if bound is not None else None, lagrangian, problem)
    if not has_solution or any(model.x[p].value is None for p in model.P):
        return fallback_result(
            problem, "pyomo", initial, bound, stats, f"{name}: no solution ({term})"
        )
    xs = np.array([model.x[p].value for p in model.P], dtype=np.float64)
    chosen = np.flatnonzero(xs > 0.5)
    choice = better(problem, chosen, initial)
    return make_result(
        problem,
        "pyomo",
        choice,
        status=Status.FEASIBLE,  # settle() proves optimality from the bound
        bound=bound,
        stats=stats,
    )
