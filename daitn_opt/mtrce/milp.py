"""Exact MTRCE by mixed-integer programming with lazily separated subtour cuts (HiGHS): ``highs``.

The solver runs on the exact-solver skeleton (:class:`daitn_opt.exact.ExactSolver`); its parts
live in their own modules:

- :mod:`.milp_model`: the MILP as arrays (:func:`build_model`, :class:`MilpModel`): an edge
  model for symmetric travel without windows and one route (TSP, OP), an arc model with
  service-start variables and big-M time propagation otherwise (OPTW, TOP);
- :mod:`.milp_columns`: index routes <-> column values (:func:`routes_from_x`,
  :func:`column_values`);
- :mod:`.milp_cuts`: the cutting-plane loop (LP rounds of subtour separation, then MIP rounds
  that cut the subtours of every integer solution), the incumbent and the bounds
  (:class:`~.milp_cuts.CutRun`, :mod:`daitn_opt.mtrce.certify`);
- :mod:`.milp_plan`: the size of model the time limit allows (dense, sparse on candidate
  arcs, or only the warm start);
- :mod:`.milp_exact`: what ``highs`` and ``pyomo`` share on the skeleton (warm start sized by
  the plan, the model build, the outcome).

The names the rest of the package (and its tests) import from here are re-exported.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..exact import Run, register_exact
from ..highs_model import quiet_highs, set_threads
from ..params import param
from ..registry import SolveOptions
from ..result import Result, Status
from . import op_cuts
from .milp_branch import branch_phase
from .milp_columns import column_values, routes_from_x
from .milp_cuts import CpuGuard, CpuOptions, CutRun, cpu_options, lp_phase, mip_phase, pass_model
from .milp_exact import PlannedSupport, RouteMilpParams, RouteMilpSolver
from .milp_model import INF, TIME_EPS, ArcIndex, Infeasible, MilpModel, build_model
from .milp_plan import (
    BUILD_RATE,
    DENSE_SHARE,
    KNN_RATE,
    MAX_COLUMNS,
    NEIGHBOURS,
    ModelPlan,
    candidate_arcs,
    plan_for,
    plan_model,
    slowdown,
)
from .problem import Problem
from .support import feasible_routes, trivial_result

__all__ = [
    "BUILD_RATE",
    "DENSE_SHARE",
    "INF",
    "KNN_RATE",
    "MAX_COLUMNS",
    "NEIGHBOURS",
    "TIME_EPS",
    "ArcIndex",
    "CutRun",
    "HighsParams",
    "HighsSolver",
    "Infeasible",
    "MilpModel",
    "ModelPlan",
    "RouteMilpParams",
    "build_model",
    "candidate_arcs",
    "column_values",
    "feasible_routes",
    "plan_for",
    "plan_model",
    "routes_from_x",
    "slowdown",
    "solve_highs",
]

_Run = CutRun  # the name the tests of the bound rules use
_pass_model = pass_model  # the name the model benchmarks use


def _trivial(problem: Problem, options: SolveOptions) -> Result:
    """No customer: the only route is ``[s, e]`` (or ``[s]`` for a single node)."""
    return trivial_result(problem, "highs", options.elapsed())


@dataclass(frozen=True)
class HighsParams(RouteMilpParams):
    """Parameters of the ``highs`` MTRCE solver."""

    lp_rounds: int = param(200, "most rounds of subtour separation on the LP relaxation")
    lp_rounds_between: int = param(20, "most LP separation rounds between two MIP rounds")
    lp_share: float = param(
        0.3, "most share of the time left that one phase of LP separation rounds takes"
    )
    early_stop: bool = param(
        False, "stop a MIP round at its first integer solution with a subtour (past the root)"
    )
    heuristic_effort: float = param(0.01, "HiGHS's mip_heuristic_effort")
    # On by default: off, HiGHS explores far more nodes (OPLib bier127-gen4-45 proved in 35 s
    # of CPU, 553 nodes, where it had left it open at 60 s with 43), but it lost the routes
    # those heuristics had found: st70-gen4-85, pr136-gen3-50 and rat195-gen4-95, proved with
    # them, stayed open without (60 s of CPU, papers/routing/op-proofs.md, store check-93763ff)
    sub_mip_heuristics: bool = param(
        True,
        "run HiGHS's RINS, RENS, root reduced-cost and feasibility-jump heuristics on an "
        "orienteering route (off: more nodes of the tree, since on a model whose subtour cuts "
        "are added lazily they mostly find routes with subtours, but fewer good routes)",
    )
    highs_options: dict = param({}, "further HiGHS options, name -> value")  # noqa: RUF009
    log: bool = param(False, "show HiGHS's log")
    # Default 'highs': on Chao 64/66 at 60 s of CPU HiGHS's search proved 36 of 40, the Python
    # tree 34, 'auto' 2 of the 7 hardest (papers/routing/op-proofs.md); the others are opt-in.
    search: str = param(
        "highs",
        "the tree search after the root cut loop: 'highs' (HiGHS's branch and bound, MIP "
        "rounds), 'cuts' (branch and cut in Python, separation at every node; integral "
        "objectives only) or 'auto' (cuts for one orienteering route without windows with "
        "integral scores, after HiGHS's search for highs_share of the time; highs otherwise)",
    )
    highs_share: float = param(
        0.25,
        "with search='auto' on an orienteering route: share of the time left after the root "
        "given to HiGHS's search before the Python branch and cut",
    )
    rc_fixing: bool = param(
        False,
        "fix to 0 the columns the LP's reduced costs exclude from any better solution (off by "
        "default: sound, but its effect on HiGHS's search is not measured on the full sets)",
    )
    cpu_limit: float | None = param(
        None,
        "seconds of the process's CPU time the run may use (None: the wall-clock time_limit "
        "only); time_limit stays a wall-clock cap",
    )


@register_exact
class HighsSolver(RouteMilpSolver):
    """Solve an MTRCE problem exactly with HiGHS and lazily separated subtour cuts.

    Every step counts against ``options.time_limit``, from the call: the warm start, the model
    build, the LP and MIP rounds and the extraction. Before building,
    :func:`~.milp_plan.plan_model` estimates the model's size: when the dense model would take
    more than 30 % of the time left, the **sparse model** is built instead
    (:func:`candidate_arcs`: each node's nearest neighbours by travel time, the arcs at the start
    and the end, and the warm start's arcs). The sparse model is a restriction: it is exact only
    when its candidates hold every arc of an optimal solution, which is not checked, so its
    result is ``feasible`` and its bound (a bound of the restricted model, not of the problem)
    is left out of ``Result.bound`` and reported as ``stats["restricted_bound"]``. When even the
    sparse model cannot be built in the time left, the warm start is returned (``feasible``,
    with a message saying why).

    Parameters (``options.params``, :class:`HighsParams`)
    -----------------------------------------------------
    lp_rounds
        Maximum rounds of cut separation on the LP relaxation (default 200).
    warm_start_solver
        Name of a registered heuristic run first for a starting solution (default ``"ils"``
        when registered), or None.
    warm_start_time
        Seconds for the warm start (default ``min(2, 5% of the limit, 0.03 n)``; 45 % of the
        time for a sparse model).
    undirected
        Force the edge (True) or arc (False) model.
    sparse, neighbours
        Force the sparse (True) or dense (False) model, and the neighbours per node.

    Raises
    ------
    UnsupportedError
        When even the sparse model would be too large to hold in memory.

    Notes
    -----
    Exact: ``optimal`` exactly when the MIP's dual bound (over the cuts added so far, a
    relaxation) closes the gap to a checked incumbent within 1e-6; otherwise ``feasible`` with
    that bound. Worst case exponential (branch and bound, and one MIP round per set of subtours
    found); the TSPLIB and orienteering optima of the tests are reproduced.

    References
    ----------
    Fischetti, Salazar-Gonzalez and Toth (1998), Solving the orienteering problem through
    branch-and-cut; Padberg and Rinaldi (1991), A branch-and-cut algorithm for the resolution of
    large-scale symmetric traveling salesman problems.

    Example
    -------
    >>> import numpy as np
    >>> from daitn_opt import solve
    >>> from daitn_opt.mtrce.problem import Problem
    >>> xs = np.array([0.0, 1.0, 2.0, 3.0])
    >>> problem = Problem(ids=["s", "a", "b", "c"], travel=np.abs(xs[:, None] - xs[None, :]),
    ...                   utility=np.array([0.0, 1.0, 1.0, 5.0]), service=np.zeros(4),
    ...                   start=0, end=0, deadline=5.0)
    >>> result = solve(problem, "highs", time_limit=10, warm_start_solver=None)
    >>> result.status.value, result.objective, result.solution["routes"]
    ('optimal', 2.0, [['s', 'a', 'b', 's']])
    """

    name = "highs"
    description = (
        "MILP with HiGHS (highspy), subtour cuts separated lazily on the LP and after each MIP"
    )
    support = PlannedSupport("highs")
    Params = HighsParams

    def solve(self, problem: Problem, options: SolveOptions) -> Result:
        """:meth:`ExactSolver.solve`, on the CPU clock when the ``cpu_limit`` parameter is set
        (:class:`~.milp_cuts.CpuOptions`: the trace's times are then CPU seconds, and
        ``stats["clock"]`` says which clock the run used)."""
        if getattr(options.params, "search", "auto") not in ("auto", "highs", "cuts"):
            raise InputError(
                "param.search", options.params.search, "must be 'auto', 'highs' or 'cuts'"
            )
        cpu = getattr(options.params, "cpu_limit", None)
        if cpu is not None:
            if not cpu > 0:
                raise InputError("param.cpu_limit", cpu, "must be a number of seconds > 0")
            options = cpu_options(options, cpu)
        result = super().solve(problem, options)
        result.stats["clock"] = "cpu" if isinstance(options, CpuOptions) else "wall"
        if isinstance(options, CpuOptions):
            result.stats["cpu_seconds"] = options.cpu_used()
        return result

    def run(self, run: Run, model: Any) -> tuple[Status | None, str]:
        """The cutting-plane loop (:func:`lp_phase`, then :func:`mip_phase`) in one HiGHS."""
        if not isinstance(model, CutRun):
            return None, ""
        params = run.params
        h = quiet_highs()
        h.setOptionValue("output_flag", params.log)
        h.setOptionValue("random_seed", int(run.options.seed))
        set_threads(h, max(1, int(run.options.threads)))
        h.setOptionValue("mip_rel_gap", 1e-9)
        step = model.model.objective_step
        h.setOptionValue("mip_abs_gap", 0.999 * step if step else 1e-6)
        # HiGHS's primal heuristics re-run from scratch in every round and were the larger part
        # of a round's time on TSPLIB; the warm start and the routes of earlier rounds do their
        # job.
        h.setOptionValue("mip_heuristic_effort", params.heuristic_effort)
        if not params.sub_mip_heuristics and _orienteering(model.model):
            # each of them solves the model with only the cuts found so far: on OPLib
            # pr107-gen3-50 they ran 15 sub-MIPs in 70 of 96 s of HiGHS's root, found routes
            # with subtours only (which become HiGHS's cutoff), and no node of the tree was
            # explored
            for option in SUBTOUR_BLIND_HEURISTICS:
                h.setOptionValue(option, False)
        for key, value in params.highs_options.items():
            h.setOptionValue(key, value)
        t_pass = time.perf_counter()
        pass_model(h, model.model)
        run.stats["pass_seconds"] = time.perf_counter() - t_pass
        guard = CpuGuard(h, run.options)
        try:
            status, message = lp_phase(h, model, params.lp_rounds, params.lp_share)
            if status is None and _tree(params.search, model.model) == "cuts":
                if params.highs_share > 0 and params.search == "auto":
                    # HiGHS's own search first, for a share of the time: it proves some
                    # instances in seconds where the Python tree does not (Chao 66, budgets
                    # 75 and 85), and the tree the others (budgets 20-50)
                    opts = run.options
                    until = opts.elapsed() + params.highs_share * opts.remaining()
                    status, message = mip_phase(h, model, guard, until)
                    guard.fired = False
                    h.clearSolver()  # an interrupted MIP leaves no LP basis to start from
                if status is None and not model.closed():
                    status, message = branch_phase(h, model, guard)
            elif status is None:
                status, message = mip_phase(h, model, guard)
        finally:
            guard.close()
        return status, message


SUBTOUR_BLIND_HEURISTICS = (
    "mip_heuristic_run_rins",
    "mip_heuristic_run_rens",
    "mip_heuristic_run_root_reduced_cost",
    "mip_heuristic_run_feasibility_jump",
)
"""HiGHS's heuristics that ``sub_mip_heuristics=False`` turns off on an orienteering route."""


def _orienteering(model: MilpModel) -> bool:
    """One orienteering route without windows (where the budget's covers and counts apply)."""
    return model.problem.objective == "max_utility" and op_cuts.applies(model)


def _tree(search: str, model: MilpModel) -> str:
    """The tree search a run uses: ``cuts`` needs an integral objective (its pruning steps by
    the objective's step); ``auto`` picks it for one orienteering route without windows (where
    the budget's covers and counts apply), HiGHS's search otherwise."""
    if not model.objective_step:
        return "highs"
    if search == "auto":
        return "cuts" if _orienteering(model) else "highs"
    return search


def solve_highs(problem: Problem, options: SolveOptions) -> Result:
    """Solve ``problem`` with the ``highs`` solver (:class:`HighsSolver`); ``options.params`` is
    a :class:`HighsParams`."""
    return HighsSolver().solve(problem, options)
