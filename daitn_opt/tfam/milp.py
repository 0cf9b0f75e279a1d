"""T-FAM admission as a 0-1 program solved directly with HiGHS (highspy): the solver ``highs``.

The program is :mod:`.model_arrays`' (``formulations/tfam.md`` (1)-(4)), passed column-wise in one
call. The backend runs in the exact-solver skeleton (:class:`daitn_opt.exact.ExactSolver`, with
:data:`.support.SUPPORT`): the skeleton screens the batch, warm-starts from the local search's
best admission, keeps the better of HiGHS's solution and the warm start, combines the bounds and
builds the Result. Two HiGHS behaviours are handled here:

- HiGHS has been seen to mis-evaluate a user-supplied start and prune with that value
  (:func:`daitn_opt.highs_model.highs_consistent`): the model is then solved again without it;
- HiGHS checks its clock only between phases, so a large model can overrun its limit: at the
  deadline it is cancelled (:func:`daitn_opt.highs_model.run_until`) and the incumbent its
  improving-solution callback reported is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import highspy
import numpy as np

from ..exact import Outcome, Run, register_exact
from ..highs_model import highs_consistent, run_until, set_threads
from ..params import param
from .model_arrays import ModelArrays, highs_lp, model_arrays
from .problem import Problem
from .screening import infeasible_message
from .support import ExactParams, TfamExact, choice_of, start_vector

_highs = highs_lp
"""The HiGHS model of given arrays (the name the large-batch benchmark imports)."""


def write_model(problem: Problem, path: str | Path) -> None:
    """Write the 0-1 program as MPS or LP (by the file's extension) for external solvers."""
    highs_lp(problem, model_arrays(problem)).writeModel(str(path))


@dataclass(frozen=True)
class HighsParams(ExactParams):
    """Parameters of the T-FAM solver ``highs``."""

    mip_rel_gap: float = param(0.0, "relative gap at which HiGHS stops (0: prove optimality)")


@dataclass
class _Model:
    """The arrays, the HiGHS instance and what its improving-solution callback recorded."""

    arrays: ModelArrays
    h: highspy.Highs
    best: dict[str, Any] = field(default_factory=lambda: {"closed": False})


DESCRIPTION = "0-1 program with HiGHS (highspy), warm-started"


@register_exact
class HighsSolver(TfamExact, name="highs", params=HighsParams, description=DESCRIPTION):
    """The 0-1 program in HiGHS, warm-started (the module docstring)."""

    def build(self, run: Run) -> _Model:
        arrays = model_arrays(run.problem)
        run.stats.update(
            rows=int(arrays.A.shape[0]),
            columns=run.problem.n_plans,
            nonzeros=int(arrays.A.nnz),
            lagrangian_bound=run.start.bound,
        )
        return _Model(arrays, highs_lp(run.problem, arrays))

    def _configure(self, run: Run, model: _Model, time_limit: float) -> None:
        h = model.h
        h.setOptionValue("time_limit", max(0.05, time_limit))
        set_threads(h, max(1, int(run.options.threads)))
        h.setOptionValue("random_seed", int(run.options.seed))
        h.setOptionValue("mip_rel_gap", float(run.params.mip_rel_gap))
        best = model.best

        def on_improve(event: Any) -> None:
            if best["closed"]:
                return
            out = event.data_out
            value, bound = float(out.objective_function_value), float(out.mip_dual_bound)
            run.record(value, bound)
            if value > best.get("value", -np.inf):
                best.update(value=value, x=np.array(out.mip_solution, dtype=np.float64))
                best["bound"] = bound

        h.cbMipImprovingSolution.subscribe(on_improve)

    def run(self, run: Run, model: _Model) -> bool:
        """Whether HiGHS finished (False: it overran the deadline and was abandoned)."""
        problem, start = run.problem, run.start.solution
        # HiGHS checks its clock only between phases: its own limit leaves a margin.
        left = run.remaining() + run.reserve
        self._configure(run, model, left - max(0.2, 0.05 * left))
        if start is not None:
            sol = highspy.HighsSolution()
            sol.col_value = start_vector(problem, start).tolist()
            model.h.setSolution(sol)
        grace = min(0.3, 0.5 * run.reserve)
        done = run_until(model.h, run.deadline, grace=grace)
        if done and start is not None and not highs_consistent(model.h, problem.value):
            # HiGHS mis-evaluated the start (see highs_consistent): solve again without it.
            model.h = highs_lp(problem, model.arrays)
            model.best.clear()
            model.best["closed"] = False
            self._configure(run, model, run.remaining() - run.reserve)
            done = run_until(model.h, run.deadline, grace=grace)
        return done

    def extract(self, run: Run, model: _Model, done: bool) -> Outcome:
        problem, h = run.problem, model.h
        if not done:
            # HiGHS is stopping in the background: read only what its callback reported.
            model.best["closed"] = True
            run.stats["highs"] = "abandoned"
            x = model.best.get("x")
            found = None
            if x is not None and x.shape == (problem.n_plans,):
                found = choice_of(problem, np.flatnonzero(x > 0.5))
            return Outcome(
                solution=found,
                bound=model.best.get("bound"),
                message="time limit reached (HiGHS overran its limit and was cancelled)",
            )
        if not highs_consistent(h, problem.value):
            return Outcome(message="HiGHS's objective disagreed with its solution")
        status, info = h.getModelStatus(), h.getInfo()
        run.stats.update(nodes=int(info.mip_node_count), highs_status=str(status))
        if status == highspy.HighsModelStatus.kInfeasible:
            return Outcome(infeasible=True, message=infeasible_message(problem, run.remaining()))
        dual = float(info.mip_dual_bound)
        if info.primal_solution_status != 2:
            return Outcome(bound=dual, message=f"HiGHS found no solution ({status})")
        x = np.asarray(h.getSolution().col_value)
        return Outcome(solution=choice_of(problem, np.flatnonzero(x > 0.5)), bound=dual)
