"""The ``highs`` solver: the QIRCE / Q-FAM MILP of :mod:`.milp` solved by HiGHS, warm-started
from the best heuristic solution.

A backend of the exact-solver skeleton (:class:`~daitn_opt.qirce.support.QirceExact`): it
builds the model when the build fits the time left, runs HiGHS until the deadline and reads back
its solution and bound. Two HiGHS defects are handled here: a run that overruns its limit is
cancelled and left to stop in the background (:func:`~daitn_opt.highs_model.run_until`), and its
best solution is then the one the improving-solution callback recorded; a warm start that HiGHS
misreads (its objective disagrees with its own columns) makes its verdict untrustworthy, so the
model is solved again without the start.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal

import highspy
import numpy as np

from ..exact import Outcome, OutOfTime, Run, register_exact
from ..highs_model import highs_consistent, run_until
from ..params import param
from .bounds import integral_objective, reported_bound
from .milp import Layout, build, new_highs, start_vector
from .support import QirceExact

BUILD_SECONDS_PER_ARC = 2.5e-6
"""Build time of the MILP per arc (measured: 2.9 s for 1.2 million arcs with memory rows on a
loaded 2-core machine); a build that would overrun the time limit is not started."""
HIGHS_STOP_SECONDS_PER_NONZERO = 3e-6
"""How late HiGHS may notice its time limit, per nonzero of the model (measured: about 1.8 s on
a 730,000-nonzero QIRCE model on a loaded 2-core machine). Its time limit is set this much
earlier, and a model whose allowance exceeds the time left is not started."""


@dataclass(frozen=True)
class HighsParams:
    """Parameters of the ``highs`` solver."""

    warm_start: bool = param(True, "start from the best heuristic solution (local search)")
    mip_rel_gap: float = param(1e-7, "relative gap at which HiGHS stops")
    linking: Literal["auto", "strong", "aggregated"] = param(
        "auto",
        "arc-deployment linking rows: strong (per arc), aggregated (per deployment), "
        "auto (strong up to 50,000 arcs)",
    )


@dataclass
class Model:
    """The built model, its column layout and how early HiGHS must be told to stop."""

    lp: highspy.HighsLp
    lay: Layout
    allowance: float


class Incumbent:
    """What HiGHS's improving-solution callback saw: the best columns and bound (internal),
    and the anytime trace. ``closed`` stops recording once the run is abandoned."""

    def __init__(self, run: Run, lay: Layout) -> None:
        self.run, self.n_x = run, lay.n_x
        self.value = np.inf
        self.x: np.ndarray | None = None
        self.bound: float | None = None
        self.closed = False
        self._lock = threading.Lock()

    def improving(self, event: Any) -> None:
        with self._lock:
            if self.closed:
                return
            out, problem = event.data_out, self.run.problem
            value = float(out.objective_function_value)
            self.run.record(problem.reported(value), problem.reported(out.mip_dual_bound))
            if value < self.value:
                sol = np.array(out.mip_solution, dtype=np.float64)
                self.value, self.x, self.bound = value, sol[: self.n_x], float(out.mip_dual_bound)


@dataclass
class Raw:
    """How a run ended: the finished HiGHS (None when abandoned or distrusted) and why."""

    h: highspy.Highs | None
    incumbent: Incumbent
    abandoned: bool = False
    misread: bool = False


@register_exact
class HighsSolver(QirceExact):
    """MILP in HiGHS (parameters: :class:`HighsParams`; ``linking``: see :func:`.milp.build`)."""

    name = "highs"
    description = "MILP in HiGHS (highspy, sparse build), warm-started from the best heuristic"
    Params = HighsParams

    def build(self, run: Run) -> Model:
        problem, options = run.problem, run.options
        # The build is not interruptible: do not start one that cannot finish in time.
        if options.remaining() - BUILD_SECONDS_PER_ARC * problem.num_arcs < 0.1:
            raise OutOfTime(
                f"no time left to build the MILP ({problem.num_arcs:,} arcs) within the time limit"
            )
        lp, lay = build(problem, linking=run.params.linking)
        run.stats.update(columns=lay.n_cols, rows=int(lp.num_row_))
        # HiGHS notices its time limit only between iterations, which on large models can be
        # seconds apart: stop it early by an allowance that grows with the model, and do not
        # start it when the allowance and a reserve for extraction leave no time.
        nnz = len(lp.a_matrix_.value_)
        allowance = HIGHS_STOP_SECONDS_PER_NONZERO * nnz + max(0.05, 0.05 * options.time_limit)
        if options.remaining() - allowance < 0.1:
            raise OutOfTime(
                f"no time left to run HiGHS on the MILP ({nnz:,} nonzeros) within the time limit"
            )
        return Model(lp, lay, allowance)

    def _start(self, run: Run, model: Model, start: np.ndarray | None, inc: Incumbent):
        """Run HiGHS from ``start`` until the deadline; None when it had to be abandoned."""
        h = new_highs(
            run.options.remaining() - model.allowance, run.options.seed, run.options.threads
        )
        h.setOptionValue("mip_rel_gap", run.params.mip_rel_gap)
        if integral_objective(run.problem):
            # Integral objective: an absolute gap below 1 already proves optimality.
            h.setOptionValue("mip_abs_gap", 1.0 - 1e-6)
        h.passModel(model.lp)
        if start is not None:
            sol = highspy.HighsSolution()
            sol.col_value = start_vector(run.problem, model.lay, start).tolist()
            sol.value_valid = True
            h.setSolution(sol)
        h.cbMipImprovingSolution.subscribe(inc.improving)
        # Cancelled at the deadline; a HiGHS that does not stop within a grace period is left
        # to stop in the background.
        return h if run_until(h, run.deadline, grace=min(0.3, 0.5 * run.reserve)) else None

    def run(self, run: Run, model: Model) -> Raw:
        inc = Incumbent(run, model.lay)
        h = self._start(run, model, run.start.solution, inc)
        if h is None:
            return Raw(None, inc, abandoned=True)
        if run.start.solution is not None and not highs_consistent(h, model.lp.col_cost_):
            # HiGHS 1.16 can mis-evaluate a user start (its objective disagrees with its own
            # columns) and then prune with that value, "proving" a wrong optimum: its bound
            # cannot be trusted. Solve again without the start when there is time.
            run.stats["highs_start_misread"] = True
            h = None
            if run.options.remaining() - model.allowance >= 0.1:
                h = self._start(run, model, None, inc)
        if h is None or not highs_consistent(h, model.lp.col_cost_):
            return Raw(None, inc, misread=True)
        return Raw(h, inc)

    def extract(self, run: Run, model: Model, raw: Raw) -> Outcome:
        problem = run.problem
        if raw.abandoned:
            return self._abandoned(run, raw.incumbent)
        raw.incumbent.closed = True
        if raw.misread:
            return Outcome(message="HiGHS's objective disagreed with its solution")
        h = raw.h
        status, info = h.getModelStatus(), h.getInfo()
        run.stats["nodes"] = int(info.mip_node_count)
        if status == highspy.HighsModelStatus.kInfeasible:
            return Outcome(
                infeasible=True,
                message="no routing serves all demand within capacity and memory; "
                "use mode='admit' (Q-FAM) to admit the most demand",
            )
        has = info.primal_solution_status == 2
        optimal = status == highspy.HighsModelStatus.kOptimal
        if any(v == highspy.HighsVarType.kInteger for v in model.lp.integrality_ or ()):
            bound = info.mip_dual_bound if np.isfinite(info.mip_dual_bound) else None
        else:  # a pure LP (splittable, nothing to open or deploy): its optimum is its bound
            bound = info.objective_function_value if has and optimal else None
        bound = reported_bound(problem, bound)
        reason = h.modelStatusToString(status)
        if status == highspy.HighsModelStatus.kInterrupt:
            reason = "time limit reached (HiGHS interrupted after overrunning it)"
        if not has:
            return Outcome(bound=bound, message=f"HiGHS: {reason}")
        x = np.asarray(h.getSolution().col_value[: model.lay.n_x])
        if problem.single_source:
            x = np.round(x)
        run.record(self.support.value(problem, x), bound)
        return Outcome(x, bound, proved=optimal, message="" if optimal else f"HiGHS: {reason}")

    @staticmethod
    def _abandoned(run: Run, inc: Incumbent) -> Outcome:
        """HiGHS overran its limit and was left to stop: the callback's incumbent and bound."""
        with inc._lock:
            inc.closed = True
            x, bound = inc.x, inc.bound
        if x is not None and run.problem.single_source:
            x = np.round(x)
        finite = bound is not None and np.isfinite(bound)
        return Outcome(
            solution=x,
            bound=reported_bound(run.problem, bound) if finite else None,
            message="time limit reached (HiGHS overran its limit and was cancelled)",
        )
