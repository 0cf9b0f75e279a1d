"""Running CP-SAT on an MTRCE model: the solves of one run, their incumbent and trace.

:class:`CpsatSearch` runs the solves of one ``cpsat`` run under its time limit (workers, seed,
deterministic interleaving, probing) and keeps their statistics; the solution callback
(:func:`recorder`) decodes each solution, judges it in real arithmetic when the model is a
relaxation, and records the anytime trace of the :class:`Incumbent`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..registry import SolveOptions
from ..result import Status, TracePoint
from .cpsat_model import CpsatModel, decode_routes, real_bound
from .integer_data import true_violations
from .problem import Problem
from .warm_routes import route_set_cost

MAX_CUTS_PER_SOLVE = 64
"""Solutions of a relaxation that fail in real arithmetic kept per solve, each cut off next."""


@dataclass
class Incumbent:
    """The best routes of a run over all its CP-SAT solves, and the anytime trace."""

    trace: list[TracePoint]
    best: float = math.inf
    """Cost (objective, negated when maximising) of the best routes, the warm start's at first."""
    routes: list[list[int]] | None = None
    """The best routes found by CP-SAT (None while nothing beat the warm start)."""


def recorder(
    problem: Problem,
    built: CpsatModel,
    options: SolveOptions,
    state: Incumbent,
    *,
    verify: bool = False,
    bound_valid: bool = True,
):
    """A :class:`_Recorder` (its base class lives in OR-Tools, imported on first use).

    ``verify``: the model is a relaxation, so each solution is first evaluated in real
    arithmetic (:func:`true_violations`); only feasible ones become incumbents, the others are
    kept (``rejected``) for no-good cuts. ``bound_valid``: CP-SAT's bound is a bound of the
    problem (not of a restriction) and goes into the trace.
    """
    return _recorder_class()(problem, built, options, state, verify, bound_valid)


@functools.cache
def _recorder_class():
    from ortools.sat.python import cp_model

    class _Recorder(cp_model.CpSolverSolutionCallback):
        """Records the anytime trace and the best routes (decoded from the raw solution vector)."""

        def __init__(self, problem, built, options, state, verify, bound_valid) -> None:
            super().__init__()
            self.problem, self.built, self.options = problem, built, options
            self.state, self.verify, self.bound_valid = state, verify, bound_valid
            self.index = np.asarray([v.index for v in built.arc_vars], dtype=np.int64)
            self.last: list[list[int]] | None = None
            """Routes of CP-SAT's latest (so, at the end, its final) solution."""
            self.rejected: list[tuple[list[list[int]], list[int], bool]] = []
            """Solutions infeasible in real arithmetic: (routes, late routes, over budget)."""

        def on_solution_callback(self) -> None:
            values = np.asarray(self.response_proto.solution, dtype=np.int64)
            routes = decode_routes(self.problem, self.built, values[self.index])
            self.last = routes
            if self.verify:
                late, over = true_violations(self.problem, routes)
                if late or over:
                    if len(self.rejected) < MAX_CUTS_PER_SOLVE:
                        self.rejected.append((routes, late, over))
                    return
            cost = route_set_cost(self.problem, routes)
            state = self.state
            if cost >= state.best - 1e-9:
                return  # the trace is of the incumbent: keep only improvements (on the warm start too)
            state.best, state.routes = cost, routes
            bound = (
                real_bound(self.problem, self.built, self.best_objective_bound)
                if self.bound_valid
                else None
            )
            incumbent = cost if self.problem.sense == "min" else -cost
            state.trace.append(TracePoint(self.options.elapsed(), incumbent, bound))
            if self.options.callback is not None:
                self.options.callback("incumbent", {"objective": incumbent, "bound": bound})

    return _Recorder


def status_of(code: int) -> Status:
    """The :class:`Status` of a CP-SAT status code."""
    from ortools.sat.python import cp_model

    return {
        cp_model.OPTIMAL: Status.OPTIMAL,
        cp_model.FEASIBLE: Status.FEASIBLE,
        cp_model.INFEASIBLE: Status.INFEASIBLE,
        cp_model.UNKNOWN: Status.NO_SOLUTION,
        cp_model.MODEL_INVALID: Status.ERROR,
    }.get(code, Status.ERROR)


class CpsatSearch:
    """Runs CP-SAT solves under one time limit and keeps their statistics."""

    def __init__(
        self,
        problem: Problem,
        options: SolveOptions,
        state: Incumbent,
        hint_routes: list[list[int]],
    ) -> None:
        params = options.params  # CpsatParams
        self.problem, self.options, self.state, self.hint_routes = (
            problem,
            options,
            state,
            hint_routes,
        )
        self.deterministic, self.workers = params.deterministic, params.worker_count
        self.probing = params.probing
        self.runs: list[dict[str, Any]] = []

    def solve(
        self,
        built: CpsatModel,
        *,
        verify: bool = False,
        bound_valid: bool = True,
        limit: float | None = None,
    ) -> tuple[Status, Any, Any]:
        """One CP-SAT solve of ``built`` within the time left (or ``limit``): the status, the
        solver and the recorder."""
        from ortools.sat.python import cp_model

        options, params = self.options, self.options.params
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = self.workers
        solver.parameters.random_seed = int(options.seed)
        left = options.remaining() if limit is None else min(limit, options.remaining())
        solver.parameters.max_time_in_seconds = max(0.01, left)
        if built.times and not self.probing:
            # Measured: with time variables presolve probing alone took over 10 s on a
            # 100-customer OPTW (Solomon c101) and nothing was found in 20 s; without it c101
            # and r101 are proved optimal. Without time variables (OP, TSP) probing pays.
            solver.parameters.cp_model_probing_level = 0
        if self.deterministic:
            solver.parameters.interleave_search = True
            if params.deterministic_time is not None:
                solver.parameters.max_deterministic_time = float(params.deterministic_time)
        rec = recorder(
            self.problem, built, options, self.state, verify=verify, bound_valid=bound_valid
        )
        code = solver.solve(built.model, rec)
        self.runs.append(
            {
                "cp_status": solver.status_name(code),
                "conflicts": solver.num_conflicts,
                "branches": solver.num_branches,
                "wall_time": solver.wall_time,
                "deterministic_time": getattr(solver, "deterministic_time", None),
            }
        )
        return status_of(code), solver, rec

    def stats(self) -> dict[str, Any]:
        """Totals over the solves (the CP-SAT status of the last one)."""
        if not self.runs:
            return {}
        out: dict[str, Any] = {
            "cp_status": self.runs[-1]["cp_status"],
            "solves": len(self.runs),
        }
        for key in ("conflicts", "branches", "wall_time", "deterministic_time"):
            values = [r[key] for r in self.runs if r[key] is not None]
            out[key] = sum(values) if values else None
        return out
