"""What the MTRCE MILP solvers ``highs`` and ``pyomo`` share on the exact-solver skeleton.

Both run :class:`daitn_opt.exact.ExactSolver`: screening and the result come from
:class:`~daitn_opt.mtrce.support.MtrceSupport`; :class:`PlannedSupport` sizes the model before
the warm start (:func:`~daitn_opt.mtrce.milp_plan.plan_for`: dense, sparse, or none at all) and
gives the warm start the share of the time that plan leaves; :class:`RouteMilpSolver` builds the
array model (:func:`~daitn_opt.mtrce.milp_model.build_model`) on the dense matrix or the
candidate arcs and turns the cutting-plane run into the skeleton's outcome. A backend adds its
``run`` (HiGHS: :mod:`.milp_cuts`; Pyomo: :mod:`.pyomo_model`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import UnsupportedError
from ..exact import ExactSolver, Outcome, OutOfTime, Run
from ..params import param
from ..registry import SolveOptions
from . import certify
from .milp_cuts import CutRun
from .milp_model import Infeasible, build_model
from .milp_plan import MAX_COLUMNS, ModelPlan, candidate_arcs, plan_for, slowdown
from .problem import Problem
from .support import MtrceSupport, RouteStart, solver_param, start_routes


@dataclass(frozen=True)
class RouteMilpParams:
    """Parameters shared by the MTRCE MILP solvers (``highs``, ``pyomo``): warm start and model."""

    warm_start_solver: str | None = param(
        "ils", "heuristic run first for a starting solution (None: only options.initial)"
    )
    warm_start_time: float | None = param(
        None, "seconds for the warm start (None: chosen from the model's size and the limit)"
    )
    undirected: bool | None = param(
        None, "force the edge (True) or arc (False) model (None: edges when travel is symmetric)"
    )
    sparse: bool | None = param(
        None, "force the sparse candidate-arc model (True) or the dense one (False)"
    )
    neighbours: int | None = param(None, "nearest neighbours per node in a sparse model")


@dataclass
class PlannedStart(RouteStart):
    """A warm start with the model plan it was sized for and the solver's extra overhead."""

    plan: ModelPlan | None = None
    overhead: float = 0.0


def start_seconds(problem: Problem, options: SolveOptions, plan: ModelPlan, overhead: float):
    """The warm start's share of the time left: all but a little when the model will not fit
    (it is then the answer), 45 % before a sparse model, else ``min(2, 5 % of the limit,
    0.03 n)`` times the machine's slowdown (:func:`~.milp_plan.slowdown`), at most 15 % of the
    limit."""
    remaining = options.remaining()
    if plan.seconds + overhead > 0.6 * remaining:
        return 0.85 * remaining
    if not plan.sparse:
        base = min(2.0, 0.05 * options.time_limit, 0.03 * problem.n)
        # on a loaded machine the warm start gets a share of a core: stretched by the slowdown,
        # up to 15 % of the limit (at load 28 on 2 cores, 2 s of ils found 515 where the root
        # bound of Chao 66, budget 40, was already the optimum 575)
        return min(base * slowdown(), max(base, 0.15 * options.time_limit))
    return 0.45 * remaining


class PlannedSupport(MtrceSupport):
    """:class:`MtrceSupport` whose warm start is sized by the plan of ``solver``'s model.

    ``overhead()`` is the time the solver needs besides the model (importing Pyomo), counted with
    the build.
    """

    def __init__(self, solver: str, overhead: Callable[[], float] = lambda: 0.0) -> None:
        self.solver = solver
        self.overhead = overhead

    def warm_start(self, problem: Problem, options: SolveOptions, seconds=None) -> PlannedStart:
        """The plan (:func:`plan_for`), then :func:`start_routes` for its share of the time.

        Raises
        ------
        UnsupportedError
            When even the sparse model would exceed :data:`MAX_COLUMNS` (it would not fit in
            memory).
        """
        overhead = self.overhead()
        plan = plan_for(problem, options, self.solver, overhead)
        if plan.columns > MAX_COLUMNS:
            raise UnsupportedError(
                f"{self.solver}: the sparse model of {problem.n} nodes would have about "
                f"{plan.columns:,} columns (limit {MAX_COLUMNS:,}); use a heuristic (greedy, ils)"
            )
        if seconds is None:
            seconds = start_seconds(problem, options, plan, overhead)
        start = start_routes(problem, options, seconds)
        start.stats["model"] = "sparse" if plan.sparse else "dense"
        if plan.sparse:
            start.stats["neighbours"] = plan.neighbours
        return PlannedStart(**vars(start), plan=plan, overhead=overhead)


def _supports(problem: Problem) -> str | None:
    return certify.route_objective_reason(problem)


class RouteMilpSolver(ExactSolver):
    """An MTRCE MILP backend: ``build`` makes the array model and the :class:`CutRun` (or, when
    preprocessing proves the dense model infeasible, the :class:`Outcome` saying so);
    ``extract`` turns the run into the skeleton's :class:`Outcome`. Subclasses set ``name`` and
    ``support`` (a :class:`PlannedSupport`) and implement ``run``, returning ``(status,
    message)`` of the cutting-plane loop."""

    kind = "mtrce"
    supports = staticmethod(_supports)

    def build(self, run: Run) -> CutRun | Outcome:
        problem, options, start = run.problem, run.options, run.start
        plan = start.plan
        run.stats.update(start.stats)
        remaining = options.remaining()
        if plan.seconds + start.overhead > 0.8 * remaining:
            what = "sparse model" if plan.sparse else "model"
            extra = f" plus {start.overhead:.1f} s to load {self.name}" if start.overhead else ""
            raise OutOfTime(
                f"stopped after the warm start: the {what} ({plan.columns:,} columns, about "
                f"{plan.seconds:.1f} s to build{extra}) does not fit the {remaining:.1f} s left"
            )
        t0 = time.perf_counter()
        candidates = (
            candidate_arcs(problem, plan.neighbours, start.solution) if plan.sparse else None
        )
        run.stats["candidate_seconds"] = time.perf_counter() - t0
        undirected = solver_param(options, "undirected")
        try:
            model = build_model(problem, undirected=undirected, candidates=candidates)
        except Infeasible as exc:
            if not plan.sparse:
                return Outcome(infeasible=True, message=str(exc))
            # infeasible over the candidate arcs only: not a proof; the warm start is the answer
            raise OutOfTime(f"the sparse model is infeasible: {exc}") from None
        run.stats.update(
            model_seconds=model.build_seconds,
            shape="undirected" if not model.directed else "directed",
            columns=model.num_col,
            rows=model.num_row,
        )
        if model.sparse:
            run.stats["model_note"] = (
                f"sparse model ({plan.neighbours} nearest neighbours per node): a restriction "
                "of the problem, its bound is not reported"
            )
        cut_run = CutRun(model, options, stats=run.stats, trace=run.trace)
        if start.solution is not None:
            cut_run.offer(start.solution)
        return cut_run

    def extract(self, run: Run, model: CutRun | Outcome, raw: Any) -> Outcome:
        if isinstance(model, Outcome):
            return model
        status, message = raw
        run.stats["cuts"] = len(model.cut_keys)
        run.stats["rows_final"] = model.model.num_row
        model.point()
        return model.outcome(status, message)
