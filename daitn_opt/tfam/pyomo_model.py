"""T-FAM admission as a Pyomo model, solvable by any Pyomo MIP solver (HiGHS by default).

The algebraic form of ``formulations/tfam.md`` (1)-(4), written with Pyomo's indexed components so
that a user can add side constraints or hand the model to Gurobi, CPLEX, SCIP or CBC
(``solve(problem, "pyomo", pyomo_solver="gurobi")``). The rows are the ones
:func:`daitn_opt.tfam.milp.model_arrays` keeps; the model is warm-started from the local search.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from ..errors import InputError
from ..registry import SolveOptions, register
from ..result import Result, Status
from .milp import (
    better,
    combine_bounds,
    infeasible_result,
    model_arrays,
    start_and_bound,
)
from .problem import Problem
from .solution import make_result, must_admit_conflict

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


def build_model(problem: Problem) -> Any:
    """The Pyomo model: ``x[p]`` binary, objective (1), capacity rows (2), request rows (3)."""
    import pyomo.environ as pyo  # imported here: Pyomo takes seconds to import

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
        lo, hi = a.indptr[row], a.indptr[row + 1]
        expr = sum(
            float(c) * model.x[int(p)] for p, c in zip(a.indices[lo:hi], a.data[lo:hi], strict=True)
        )
        if np.isfinite(lower[row]) and lower[row] == upper[row]:
            return expr == float(upper[row])
        return expr <= float(upper[row])

    m.rows = pyo.Constraint(m.ROWS, rule=row_rule)
    return m


@register("tfam", "pyomo", exact=True, description="Pyomo model, any MIP solver (HiGHS default)")
def solve_pyomo(problem: Problem, options: SolveOptions) -> Result:
    import pyomo.environ as pyo
    from pyomo.opt import SolverStatus, TerminationCondition

    t0 = time.perf_counter()
    if must_admit_conflict(problem) is not None:
        return infeasible_result(problem, "pyomo", options.remaining())
    name = str(options.params.get("pyomo_solver", "appsi_highs"))
    opt = pyo.SolverFactory(name)
    if opt is None or not opt.available(exception_flag=False):
        raise InputError("pyomo_solver", name, "is not an available Pyomo solver")
    initial, lagrangian = start_and_bound(problem, options)
    model = build_model(problem)
    if initial is not None:
        chosen = np.zeros(problem.n_plans)
        chosen[initial[initial >= 0]] = 1.0
        for p in model.P:
            model.x[p].value = float(chosen[p])
    t_build = time.perf_counter() - t0
    limit = max(0.05, options.remaining() - 0.5)
    if name in TIME_OPTION:
        opt.options[TIME_OPTION[name]] = limit
    if name in ("appsi_highs", "highs"):
        opt.options["mip_rel_gap"] = float(options.params.get("mip_rel_gap", 0.0))
        opt.options["threads"] = int(options.threads)
        opt.options["random_seed"] = int(options.seed)
    kwargs = {"load_solutions": False}
    if initial is not None and opt.warm_start_capable():
        kwargs["warmstart"] = True
    # Pyomo logs a warning when a time limit stops the solve; the result says so instead.
    logging.getLogger("pyomo").setLevel(logging.ERROR)
    results = opt.solve(model, **kwargs)
    term = results.solver.termination_condition
    stats = {"build_seconds": t_build, "pyomo_solver": name, "termination": str(term)}
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
    if not has_solution or any(model.x[p].value is None for p in model.P):
        if initial is not None:
            return make_result(
                problem, "pyomo", initial, status=Status.FEASIBLE, bound=lagrangian, stats=stats
            )
        return make_result(problem, "pyomo", None, status=Status.NO_SOLUTION, stats=stats)
    xs = np.array([model.x[p].value for p in model.P], dtype=np.float64)
    chosen = np.flatnonzero(xs > 0.5)
    choice = better(problem, chosen, initial)
    bound = results.problem.upper_bound
    bound = combine_bounds(float(bound) if bound is not None else None, lagrangian)
    optimal = term == TerminationCondition.optimal
    return make_result(
        problem,
        "pyomo",
        choice,
        status=Status.OPTIMAL if optimal else Status.FEASIBLE,
        bound=bound,
        stats=stats,
    )
