"""T-FAM admission as a Pyomo model, solvable by any Pyomo MIP solver (HiGHS by default).

The algebraic form of ``formulations/tfam.md`` (1)-(4), written with Pyomo's indexed components so
that a user can add side constraints or hand the model to Gurobi, CPLEX, SCIP or CBC
(``solve(problem, "pyomo", pyomo_solver="gurobi")``). The rows are the ones
:func:`daitn_opt.tfam.model_arrays.model_arrays` keeps; the backend runs in the exact-solver
skeleton (:class:`daitn_opt.exact.ExactSolver`) and is warm-started from the local search.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..budget import Clock, pyomo_refusal, quiet_pyomo
from ..errors import InputError
from ..exact import Outcome, OutOfTime, Run, register_exact
from ..highs_model import reset_scheduler
from ..params import param
from .model_arrays import model_arrays
from .problem import Problem
from .screening import infeasible_message
from .support import ExactParams, TfamExact, choice_of, start_vector

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

    With ``clock``, the build stops with :class:`~daitn_opt.exact.OutOfTime` past its deadline.
    """
    import pyomo.environ as pyo  # imported here: Pyomo takes seconds to import

    check = clock.check if clock is not None else (lambda: None)
    arrays = model_arrays(problem)
    a = arrays.A.tocsr()
    m = pyo.ConcreteModel(name=problem.name)
    m.P = pyo.RangeSet(0, problem.n_plans - 1)
    m.x = pyo.Var(
        m.P,
        domain=pyo.Binary,
        bounds=lambda _, p: (float(arrays.col_lower[p]), float(arrays.col_upper[p])),
    )
    value = problem.value.tolist()
    m.admitted_value = pyo.Objective(expr=sum(value[p] * m.x[p] for p in m.P), sense=pyo.maximize)
    m.ROWS = pyo.RangeSet(0, a.shape[0] - 1) if a.shape[0] else pyo.Set(initialize=[])
    lower, upper = arrays.row_lower, arrays.row_upper

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


@dataclass
class _Model:
    model: Any
    opt: Any
    name: str
    warm: bool


DESCRIPTION = "Pyomo model, any MIP solver (HiGHS default)"


@register_exact
class PyomoSolver(TfamExact, name="pyomo", params=PyomoParams, description=DESCRIPTION):
    """The Pyomo model handed to ``pyomo_solver`` (the module docstring)."""

    start_up = (0.2, 0.1)

    def build(self, run: Run) -> _Model:
        import pyomo.environ as pyo

        problem, name = run.problem, run.params.pyomo_solver
        opt = pyo.SolverFactory(name)
        if opt is None or not opt.available(exception_flag=False):
            raise InputError("pyomo_solver", name, "is not an available Pyomo solver")
        run.stats.update(pyomo_solver=name, lagrangian_bound=run.start.bound)
        terms = int(problem.use.nnz) + 2 * problem.n_plans
        refusal = pyomo_refusal(terms, problem.n_plans, run.remaining() - self.margin(run))
        if refusal is not None:
            raise OutOfTime(refusal)
        # The build may use half the time left: translating the model for the solver (which
        # cannot be interrupted) takes about as long again.
        clock = Clock.after(0.5 * (run.remaining() - self.margin(run)))
        try:
            with quiet_pyomo():
                model = build_model(problem, clock)
        except OutOfTime:
            raise OutOfTime("time limit reached while building the Pyomo model") from None
        if run.start.solution is not None:
            chosen = start_vector(problem, run.start.solution)
            for p in model.P:
                model.x[p].value = float(chosen[p])
        warm = run.start.solution is not None and opt.warm_start_capable()
        return _Model(model, opt, name, warm)

    def run(self, run: Run, model: _Model) -> Any:
        built = float(run.stats["build_seconds"])
        limit = run.remaining() - self.margin(run) - built  # translation takes about as long
        if limit < 0.05:
            raise OutOfTime(
                f"the Pyomo model took {built:.1f} s to build: no time left to translate and "
                "solve it"
            )
        opt, name = model.opt, model.name
        if name in TIME_OPTION:
            opt.options[TIME_OPTION[name]] = limit
        if name in ("appsi_highs", "highs"):
            opt.options["mip_rel_gap"] = float(run.params.mip_rel_gap)
            opt.options["threads"] = int(run.options.threads)
            opt.options["random_seed"] = int(run.options.seed)
        # Pyomo logs a warning when a time limit stops the solve; the result says so instead.
        logging.getLogger("pyomo").setLevel(logging.ERROR)
        reset_scheduler()  # Pyomo's HiGHS sets its own thread count
        kwargs = {"load_solutions": False}
        if model.warm:
            kwargs["warmstart"] = True
        return opt.solve(model.model, **kwargs)

    def extract(self, run: Run, model: _Model, results: Any) -> Outcome:
        from pyomo.opt import SolverStatus, TerminationCondition

        problem, m = run.problem, model.model
        term = results.solver.termination_condition
        run.stats["termination"] = str(term)
        if term == TerminationCondition.infeasible:
            return Outcome(infeasible=True, message=infeasible_message(problem, run.remaining()))
        has_solution = len(results.solution) > 0 or (
            results.solver.status in (SolverStatus.ok, SolverStatus.aborted)
            and term in (TerminationCondition.optimal, TerminationCondition.maxTimeLimit)
        )
        try:
            m.solutions.load_from(results)
        except (ValueError, RuntimeError, AttributeError):
            has_solution = False
        bound = results.problem.upper_bound
        bound = None if bound is None else float(bound)
        if not has_solution or any(m.x[p].value is None for p in m.P):
            return Outcome(bound=bound, message=f"{model.name}: no solution ({term})")
        xs = np.array([m.x[p].value for p in m.P], dtype=np.float64)
        return Outcome(solution=choice_of(problem, np.flatnonzero(xs > 0.5)), bound=bound)
