"""Run a one-route MILP (:class:`.route_model.RouteModel`) in HiGHS and read the route back.

Shared by ``coverage-highs`` (:mod:`.coverage_milp`) and ``tag-highs`` (:mod:`.tag_milp`):
pass the CSR rows to HiGHS with a seeded single-thread setup and gaps of 1e-9, give a warm
start, run within the time left (:func:`solve`), and follow the chosen arcs from the start to
the end (:func:`route_from_x`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np

from ..exact import ExactSolver, KindSupport, Outcome, Start
from ..exact import Run as ExactRun
from ..highs_model import quiet_highs, set_threads
from ..registry import SolveOptions
from ..result import Status
from .route_model import Infeasible, RouteModel


def pass_model(h: highspy.Highs, model: RouteModel) -> None:
    """Give ``model`` (columns, row-wise matrix, integrality, sense, offset) to ``h``."""
    lp = highspy.HighsLp()
    ncol, nrow = len(model.cost), len(model.rows)
    lp.num_col_ = ncol
    lp.num_row_ = nrow
    lp.col_cost_ = np.asarray(model.cost)
    lp.col_lower_ = np.asarray(model.lower)
    lp.col_upper_ = np.asarray(model.upper)
    lp.row_lower_ = np.asarray([r[2] for r in model.rows], dtype=np.float64)
    lp.row_upper_ = np.asarray([r[3] for r in model.rows], dtype=np.float64)
    lengths = [len(r[0]) for r in model.rows]
    start = np.zeros(nrow + 1, dtype=np.int32)
    np.cumsum(lengths, out=start[1:])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = np.concatenate([r[0] for r in model.rows]).astype(np.int32)
    lp.a_matrix_.value_ = np.concatenate([r[1] for r in model.rows]).astype(np.float64)
    lp.a_matrix_.num_col_ = ncol
    lp.a_matrix_.num_row_ = nrow
    lp.offset_ = model.offset
    lp.sense_ = highspy.ObjSense.kMinimize if model.sense == "min" else highspy.ObjSense.kMaximize
    integrality = np.zeros(ncol, dtype=np.uint8)
    integrality[model.integer] = 1
    lp.integrality_ = [highspy.HighsVarType(int(v)) for v in integrality]
    h.passModel(lp)


def highs_for(model: RouteModel, seed: int) -> highspy.Highs:
    """A quiet, seeded, single-thread HiGHS holding ``model``, with MIP gaps of 1e-9."""
    h = quiet_highs()
    h.setOptionValue("random_seed", int(seed))
    set_threads(h, 1)  # through the process-wide scheduler (see highs_model.set_threads)
    h.setOptionValue("mip_rel_gap", 1e-9)
    h.setOptionValue("mip_abs_gap", 1e-9)
    pass_model(h, model)
    return h


@dataclass
class Run:
    """What a HiGHS run left: its model status, stats, column values (None without a solution),
    dual bound (None when not finite) and the warm start it was given (None without one)."""

    status: highspy.HighsModelStatus
    stats: dict
    values: np.ndarray | None
    bound: float | None
    start: Any = None

    @property
    def infeasible(self) -> bool:
        return self.status == highspy.HighsModelStatus.kInfeasible

    @property
    def proved(self) -> bool:
        return self.status == highspy.HighsModelStatus.kOptimal


def solve(
    model: RouteModel,
    options: SolveOptions,
    warm: Callable[[], tuple[Any, np.ndarray | None]] | None = None,
) -> Run:
    """Run ``model`` within the time left, after ``warm()`` (when given) found a start: it
    returns (the start, e.g. a route or a plan, or None; its column values or None)."""
    h = highs_for(model, options.seed)
    start = None
    if warm is not None:
        start, val = warm()
        if val is not None:
            sol = highspy.HighsSolution()
            sol.col_value = val
            h.setSolution(sol)
    h.setOptionValue("time_limit", max(0.05, options.remaining() - 0.05))
    h.run()
    info = h.getInfo()
    stats = {
        "columns": len(model.cost),
        "rows": len(model.rows),
        "mip_nodes": int(info.mip_node_count),
        "blocks": {b[0]: b[2] - b[1] for b in model.blocks},
    }
    values = None
    if info.primal_solution_status == 2:
        values = np.asarray(h.getSolution().col_value)
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
    return Run(h.getModelStatus(), stats, values, bound, start)


def route_from_x(model: RouteModel, xval: np.ndarray) -> list[int]:
    """Follow the chosen arcs from the start to the end."""
    p = model.problem
    chosen = {}
    for a_idx in np.flatnonzero(xval[: len(model.tails)] > 0.5):
        chosen[int(model.tails[a_idx])] = int(model.heads[a_idx])
    route, node = [p.start], p.start
    for _ in range(p.n + 1):
        nxt = chosen.get(node)
        if nxt is None:
            break
        if nxt == p.n:
            route.append(p.end)
            return route
        route.append(nxt)
        node = nxt
    raise RuntimeError("the MIP solution is not one path from the start to the end")


# --------------------------------------------------------------------------------------------
# the exact-solver skeleton for the one-route MILPs (coverage-highs, tag-highs)


class OneRouteSupport(KindSupport):
    """The skeleton's view of a one-route problem kind (coverage objectives, TAG).

    A subclass names its checker (``check``), its heuristic (:meth:`search`, run for at most
    ``share`` of the time limit when the solver's ``warm_start`` parameter is on), its
    objective (:meth:`value`) and its result document (:meth:`result`); feasibility is the
    checker's verdict on that document.
    """

    share: float = 0.1
    check: Callable[[Any, dict], Any]

    def search(self, problem: Any, seed: int, stop: Callable[[], bool]) -> Any:
        raise NotImplementedError

    def warm_start(self, problem: Any, options: SolveOptions) -> Start:
        if not options.params.warm_start:
            return Start()
        limit = self.share * options.time_limit
        found = self.search(problem, options.seed, lambda: options.elapsed() > limit)
        return Start() if found is None else Start(found, self.value(problem, found))

    def feasible(self, problem: Any, solution: Any) -> bool:
        document = self.result(problem, "check", solution, status=Status.FEASIBLE).solution
        return bool(self.check(problem, document).ok)


class RouteHighsSolver(ExactSolver):
    """A one-route MILP in HiGHS on the skeleton: ``build`` the model (an infeasible one is an
    :class:`Outcome` already), ``run`` it warm-started from the skeleton's start (:func:`solve`),
    ``extract`` the route. Subclasses give :meth:`model_of`, :meth:`start_values` and
    :meth:`decode`."""

    kind = "mtrce"

    def model_of(self, problem: Any) -> RouteModel:
        """The model; raises :class:`.route_model.Infeasible` when preprocessing proves none."""
        raise NotImplementedError

    def start_values(self, model: RouteModel, problem: Any, solution: Any) -> np.ndarray | None:
        """Column values of a warm-start solution (None when the model cannot take it)."""
        raise NotImplementedError

    def decode(self, model: RouteModel, values: np.ndarray) -> Any:
        """The solution (kind's internal form) of HiGHS's column values."""
        raise NotImplementedError

    def build(self, run: ExactRun) -> RouteModel | Outcome:
        try:
            return self.model_of(run.problem)
        except Infeasible as exc:
            return Outcome(infeasible=True, message=str(exc))

    def run(self, run: ExactRun, model: RouteModel | Outcome) -> Run | None:
        if isinstance(model, Outcome):
            return None
        start = run.start.solution

        def warm() -> tuple[Any, np.ndarray | None]:
            if start is None:
                return None, None
            return start, self.start_values(model, run.problem, start)

        return solve(model, run.options, warm)

    def extract(self, run: ExactRun, model: RouteModel | Outcome, raw: Run | None) -> Outcome:
        if isinstance(model, Outcome):
            return model
        run.stats.update(raw.stats)
        if raw.infeasible:
            return Outcome(infeasible=True, message=self.support.infeasible_message(run.problem))
        found = None if raw.values is None else self.decode(model, raw.values)
        message = ""
        if found is None and run.start.solution is None:
            message = "no route found within the time limit"
        return Outcome(solution=found, bound=raw.bound, proved=raw.proved, message=message)
