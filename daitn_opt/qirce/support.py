"""What the exact-solver skeleton (:mod:`daitn_opt.exact`) needs to know about QIRCE.

:class:`QirceSupport` screens problems decided before any search (a serve-all demand that no
facility can carry is infeasible; a problem without eligible arcs is optimal with nothing
routed), builds the warm start (``options.initial`` when it fits, else the best heuristic
solution with the LP or Lagrangian bound found on the way), evaluates and checks arc fractions,
and builds results (:func:`~daitn_opt.qirce.solution.make_result`). Solutions are arc fractions
``x`` (A,), the arrays every QIRCE solver works on.

:class:`QirceExact` is the base of the three exact backends (``highs``, ``cpsat``, ``pyomo``):
when a backend ends without a solution (out of time before its model ran, or nothing found),
the time left goes to the heuristic (when the short warm start found nothing) and to a
Lagrangian bound (when no bound is known yet), so that the run returns at least what ``ls``
would.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..exact import ExactSolver, KindSupport, Outcome, Run, Start
from ..registry import SolveOptions
from ..result import Result
from .bounds import reported_bound
from .lagrangian import lagrangian_bound
from .problem import Problem
from .solution import infeasible_result, internal_objective, make_result, trivial_result
from .warm_start import best_heuristic, fits, warm_start


class QirceSupport(KindSupport):
    """Screening, warm start, objective, feasibility and results of QIRCE (see the module)."""

    def screen(self, problem: Problem, solver: str) -> Result | None:
        return infeasible_result(problem, solver) or trivial_result(problem, solver)

    def warm_start(self, problem: Problem, options: SolveOptions) -> Start:
        x, lb = warm_start(problem, options)
        objective = None if x is None else self.value(problem, x)
        return Start(x, objective, reported_bound(problem, lb))

    def value(self, problem: Problem, solution: np.ndarray) -> float:
        return problem.reported(internal_objective(problem, solution))

    def feasible(self, problem: Problem, solution: np.ndarray) -> bool:
        return fits(problem, solution)

    def result(
        self, problem: Problem, solver: str, solution: np.ndarray | None, **fields: Any
    ) -> Result:
        return make_result(problem, solver, solution, **fields)

    def rescue(self, run: Run, bound: float | None) -> None:
        """Spend the time left of a run whose backend found nothing on the warm start: the
        heuristic when there is no start yet, then a Lagrangian bound when neither the start
        nor the backend (``bound``, reported sense) has one. Updates ``run.start``."""
        problem, options, start = run.problem, run.options, run.start
        reserve = run.reserve
        if start.solution is None and options.remaining() > 2 * reserve:
            x = best_heuristic(problem, options.remaining() - reserve, options.seed)
            if x is not None and fits(problem, x):
                start.solution, start.objective = x, self.value(problem, x)
                run.stats["warm_start"] = start.objective
                run.record(start.objective, None)
        if (
            start.bound is None
            and bound is None
            and start.solution is not None
            and options.remaining() > 3 * reserve
        ):
            deadline = time.perf_counter() + options.remaining() - reserve
            lb = lagrangian_bound(problem, problem.to_internal(start.objective), deadline)
            start.bound = reported_bound(problem, lb)


SUPPORT = QirceSupport()


class QirceExact(ExactSolver):
    """Base of the QIRCE exact backends: the skeleton, plus :meth:`QirceSupport.rescue` when
    the backend ends without a solution."""

    kind = "qirce"
    support = SUPPORT

    def finish(self, run: Run, outcome: Outcome) -> Result:
        if outcome.solution is None and not outcome.infeasible:
            SUPPORT.rescue(run, outcome.bound)
        return super().finish(run, outcome)
