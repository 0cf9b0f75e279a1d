"""MTRCE by OR-Tools CP-SAT: circuit constraints with optional nodes and integer time variables.

The model (``formulations/mtrce.md``, section "CP-SAT") merges the start ``s`` and the end ``e``
into one depot node ``D`` and keeps one node per customer (every node other than ``s`` and
``e``). An arc literal ``x[i, j]`` says the route goes from i to j; a self-loop literal on a
customer says it is skipped (mandatory customers have none). For ``k = 1`` the arcs form one
circuit (``add_circuit``; a self-loop on ``D`` is the idle trip straight from ``s`` to ``e``); for
``k > 1`` they form up to ``k`` circuits through ``D`` (``add_multiple_circuit``).

Times are integers in units of ``1 / scale`` (:class:`IntegerTimes`); for integer data the scale
is 1 (for data with at most four decimals, the matching power of ten) and the model is exact. For
real data the dense model rounds every arc's travel plus service *down* and every limit (plus the
checker's tolerance) *down*: a **relaxation**, which admits every route feasible in real
arithmetic, so its bound and a proof of its infeasibility hold for the problem. Its solutions are
checked in real arithmetic (:func:`.integer_data.true_violations`): only feasible ones become incumbents; when
its proved optimum is feasible, that is a proof of optimality; when it is not, it is cut off (a
no-good on its arcs) and the relaxation solved again (:func:`.cpsat_relax.solve_relaxation`). The sparse
model, a restriction anyway, rounds the other way (transit up, limits down) so that its routes
are feasible. The reported objective is always recomputed from the real arrays.

Without windows and with one route the deadline is one linear constraint on the summed arc times
(strong in the LP relaxation); with windows, or with ``k > 1`` and a deadline, each customer has a
service-start variable propagated along the chosen arcs.

The solver runs on the exact-solver skeleton (:class:`daitn_opt.exact.ExactSolver`):
:class:`CpsatSupport` screens with the shortest-path proofs of :mod:`.reachability` and sizes the
model before the warm start; :class:`Cpsat` builds the model, runs the proof loop
(:mod:`.cpsat_relax`) and settles its claim (:func:`.certify.settle`); the skeleton keeps the
better of its routes and the warm start, checks them and builds the result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..exact import ExactSolver, Outcome, OutOfTime, Run, register_exact
from ..params import param
from ..registry import SolveOptions
from ..result import Result, Status
from .certify import route_objective_reason, settle
from .cpsat_model import CpsatModel, add_hint, build_model
from .cpsat_relax import refine, solve_once
from .cpsat_search import CpsatSearch, Incumbent
from .integer_data import IntegerTimes, integer_times
from .problem import Problem
from .reachability import infeasibility_reason
from .solution import make_result, objective
from .support import MtrceSupport, RouteStart
from .warm_routes import heuristic_start, route_set_cost

DENSE_RATE = 1e7
"""Entries of ``n x n`` integer-time arrays prepared per second on a free core (integer_times,
arc filter; 2.3e6 at load 8 on rgg-2000), scaled by :func:`daitn_opt.mtrce.milp.slowdown`."""

MAX_DENSE_BYTES = 4e9
"""Memory the integer-time matrices may take (about 40 n^2 bytes): beyond, only the warm start."""


@dataclass(frozen=True)
class CpsatParams:
    """Parameters of the ``cpsat`` MTRCE solver (see :func:`solve_cpsat`)."""

    workers: int | None = param(
        None,
        "CP-SAT workers (None: 8, or 1 when deterministic; 8 is much stronger, even on 2 cores)",
    )
    deterministic: bool = param(
        False, "interleaved search: the same seed gives the same search whatever the load"
    )
    deterministic_time: float | None = param(None, "CP-SAT's max_deterministic_time (None: none)")
    warm_start_solver: str | None = param(
        "auto",
        "heuristic whose routes hint CP-SAT ('auto': ils, greedy when deterministic; None: none)",
    )
    warm_start_time: float | None = param(
        None,
        "seconds for the warm-start heuristic (None: min(1, 10% of the limit), min(5, 10%) for "
        "the OPTW, more on large views)",
    )
    time_scale: float | None = param(
        None, "integer time units per time unit (None: 1 for integer data, else automatic)"
    )
    probing: bool = param(False, "keep CP-SAT's presolve probing on a model with time variables")
    sparse: bool | None = param(
        None, "force the sparse candidate-arc model (True) or the dense one (False)"
    )
    neighbours: int | None = param(None, "nearest neighbours per node in a sparse model")
    window_pairs: bool = param(
        False,
        "one route with windows: state the customers kept apart or in order by their windows "
        "(tighter bounds, slower proofs: measured on Solomon's OPTW, off by default)",
    )

    @property
    def warm_start_heuristic(self) -> str | None:
        """The warm-start heuristic ``'auto'`` stands for."""
        if self.warm_start_solver == "auto":
            return "greedy" if self.deterministic else "ils"
        return self.warm_start_solver or None

    def warm_start_seconds(self, default: float) -> float:
        """``warm_start_time``, or ``default`` when it is not given."""
        return default if self.warm_start_time is None else float(self.warm_start_time)

    @property
    def worker_count(self) -> int:
        """``workers``, or its default (1 when deterministic, else 8)."""
        return (1 if self.deterministic else 8) if self.workers is None else self.workers


def _hint_seconds(problem: Problem, limit: float) -> float:
    """Default seconds of the warm start: ``min(1, 10%)`` of the limit, ``min(5, 10%)`` for the
    OPTW (one route, windows), whose annealing search keeps improving for seconds while CP-SAT
    alone stays far below it (Solomon rc1 at 60 s, load ~20: 264 against 301 on rc104)."""
    from .optw_search import applies
    from .plan import Arrays

    windowed = problem.k == 1 and problem.window_open is not None
    if windowed and problem.objective == "max_utility" and applies(problem, Arrays.of(problem)):
        return min(5.0, 0.1 * limit)
    return min(1.0, 0.1 * limit)


@dataclass
class CpsatStart(RouteStart):
    """The warm start of a ``cpsat`` run, with the model plan it was sized for (dense or sparse)
    and why the run stops at the warm start (``stop``, "" when it goes on)."""

    plan: Any = None
    stop: str = ""


class CpsatSupport(MtrceSupport):
    """:class:`~daitn_opt.mtrce.support.MtrceSupport` for ``cpsat``: the shortest-path proofs
    screen (:func:`.reachability.infeasibility_reason`), and the warm start is sized by the model
    plan and checked by the independent checker (:func:`.warm_routes.heuristic_start`)."""

    def screen(self, problem: Problem, solver: str) -> Result | None:
        reason = infeasibility_reason(problem)
        if reason is None:
            return None
        return make_result(
            problem, solver, None, Status.INFEASIBLE, message=f"infeasible: {reason}"
        )

    def warm_start(self, problem: Problem, options: SolveOptions, seconds=None) -> CpsatStart:
        """Size the model, then run the warm start with the time the model leaves."""
        from .milp import plan_for, slowdown

        params: CpsatParams = options.params
        # Size first: the dense model has a Boolean per arc (3 M on rgg-2000: 105 s, 2.9 GB), so
        # a view whose dense model does not fit 30 % of the time left gets the sparse model; the
        # integer-time matrices are n x n whatever the model (about 40 n^2 bytes while built).
        n = problem.n
        hint_time = params.warm_start_seconds(_hint_seconds(problem, options.time_limit))
        plan = plan_for(problem, options, "cpsat")
        plan_seconds = plan.seconds + n * n * slowdown() / DENSE_RATE
        too_big = 40.0 * n * n > MAX_DENSE_BYTES
        remaining = options.remaining()
        if too_big or plan_seconds > 0.6 * remaining:
            hint_time = params.warm_start_seconds(0.85 * remaining)
        elif plan.sparse:
            hint_time = params.warm_start_seconds(0.45 * remaining)
        routes, source = heuristic_start(
            problem, options, params.warm_start_heuristic, min(hint_time, 0.9 * options.remaining())
        )
        value = objective(problem, routes) if routes else None
        model = "sparse" if plan.sparse else "dense"
        start = CpsatStart(routes or None, value, plan=plan)
        start.stats = {"model": model, "hint": source or None, "hint_objective": value}
        remaining = options.remaining()
        if too_big:
            start.stop = (
                f"stopped after the warm start: the integer-time matrices of {n} nodes would "
                f"need about {40.0 * n * n / 1e9:.1f} GB"
            )
        elif plan_seconds > 0.8 * remaining:
            start.stop = (
                f"stopped after the warm start: the {model} model ({plan.columns:,} arcs, about "
                f"{plan_seconds:.1f} s to build) does not fit the {remaining:.1f} s left"
            )
        return start


@dataclass
class _Built:
    """The model of a run: its integer times, the CP-SAT model, the seconds it took to build,
    whether it is the relaxation (real times rounded down) and the run's incumbent."""

    it: IntegerTimes
    model: CpsatModel
    seconds: float
    relax: bool
    state: Incumbent = field(default_factory=lambda: Incumbent(trace=[]))


@register_exact
class Cpsat(ExactSolver):
    """Solves ``problem`` exactly with CP-SAT (anytime; returns the incumbent at the limit).

    The limit covers the warm start, the model build and the search. A view whose dense model (a
    Boolean per arc) would take more than 30 % of the time left to build gets the sparse model on
    candidate arcs (:func:`daitn_opt.mtrce.milp.candidate_arcs`); it is a restriction of the
    problem, so its result is ``feasible`` and its bound is reported only as
    ``stats["restricted_bound"]``. When even the sparse model does not fit, or the ``n x n``
    integer times would exceed 4 GB, the checked warm start is returned with a message saying
    why. Real (non-integral) times on the dense model are rounded down, a relaxation solved
    until its optimum is feasible in real arithmetic (:func:`.cpsat_relax.solve_relaxation`;
    ``stats["rounding"]``, ``stats["relaxation"]`` with the cuts and the bound of each solve).

    Parameters (``options.params``, :class:`CpsatParams`)
    -----------------------------------------------------
    workers
        CP-SAT workers (``num_workers``). Default 8: CP-SAT's portfolio is much stronger at 8
        workers than at 2, even on 2 cores.
    deterministic
        Default False. When True, CP-SAT interleaves its subsolvers in batches
        (``interleave_search``), so the same seed gives the same search whatever the machine's
        load; ``workers`` then defaults to 1 (measured here on a 14-node OP: 1.1 s with one
        interleaved worker, 14 s with four). A run that ends by proof or by
        ``deterministic_time`` is reproducible; one cut by the wall-clock limit is not, so give a
        deterministic time below the wall-clock limit when a run may not finish. The warm start
        then defaults to the deterministic ``greedy`` construction.
    deterministic_time
        ``max_deterministic_time`` (default: none).
    warm_start_solver
        Heuristic solver whose solution warm-starts CP-SAT via ``add_hint`` (default ``"auto"``:
        ``"ils"``, ``"greedy"`` in deterministic mode; None disables); ``options.initial`` is used
        too.
    warm_start_time
        Seconds given to the warm-start heuristic. Default ``min(1, 10% of the time limit)``.
    time_scale
        Integer time units per time unit (default: 1 for integer data, else automatic).
    """

    kind = "mtrce"
    name = "cpsat"
    description = "OR-Tools CP-SAT: circuit constraints, optional nodes, integer time variables"
    support = CpsatSupport()
    Params = CpsatParams
    supports = staticmethod(route_objective_reason)

    def build(self, run: Run) -> _Built:
        """The dense model (the relaxation for real times) or the sparse restriction, hinted
        with the warm start; :class:`OutOfTime` when it cannot be built in the time left."""
        from .milp import candidate_arcs, slowdown

        problem, options, start = run.problem, run.options, run.start
        params: CpsatParams = options.params
        run.stats.update(start.stats)
        if start.stop:
            raise OutOfTime(start.stop)
        plan, routes = start.plan, start.solution or []
        t0 = time.perf_counter()
        # Inexact times on the dense model: round them down (a relaxation, whose bound and proof
        # of infeasibility hold for the problem) and check its routes in real arithmetic. On the
        # sparse model (a restriction anyway) round them up, so that its routes are feasible.
        it = integer_times(problem, params.time_scale, up=plan.sparse)
        candidates = candidate_arcs(problem, plan.neighbours, routes) if plan.sparse else None
        left = options.remaining()
        if left < 0.5 * plan.columns / (40_000.0 / slowdown()):
            # the preparation ran slower than estimated: the model would not be built in time
            raise OutOfTime(
                f"stopped after the warm start: {left:.1f} s left, too few to build the model"
            )
        model = build_model(problem, it, candidates, pairs=params.window_pairs)
        built = _Built(it, model, time.perf_counter() - t0, not it.exact and not plan.sparse)
        # The warm start is the first incumbent (the skeleton traced it); CP-SAT's solutions
        # count from when they beat it.
        built.state.trace = run.trace
        if routes:
            add_hint(problem, model, it, routes)
            built.state.best = route_set_cost(problem, routes)
        run.stats.update(_model_stats(built, params))
        return built

    def run(self, run: Run, model: _Built) -> tuple:
        """The proof loop: the relaxation solved until its optimum is feasible in real
        arithmetic (and refined), or one solve of the exact or sparse model."""
        search = CpsatSearch(run.problem, run.options, model.state, run.start.solution or [])
        if model.relax:
            status, bound, routes, note = refine(
                search, model.model, model.it, model.seconds, run.stats
            )
            restricted, claimed = "", status
        else:
            status, bound, routes, claimed, restricted = solve_once(
                search, model.model, model.it, run.start.plan, run.stats
            )
            note = ""
        run.stats.update(search.stats())
        return status, bound, routes, claimed, restricted, note

    def extract(self, run: Run, model: _Built, raw: tuple) -> Outcome:
        """The settled claim (:func:`.certify.settle`) and the message saying what was proved."""
        problem = run.problem
        status, bound, routes, claimed, restricted, note = raw
        value = objective(problem, routes) if status.has_solution and routes else None
        status, bound, settle_note = settle(problem.sense, value, bound, status)
        note = "; ".join(m for m in (note, settle_note) if m)
        message = _message(status, claimed, restricted, model.relax, run.stats)
        return Outcome(
            solution=routes if status.has_solution else None,
            bound=bound,
            proved=status == Status.OPTIMAL,
            infeasible=status == Status.INFEASIBLE,
            message="; ".join(m for m in (message, restricted, note) if m),
        )


solve_cpsat = Cpsat().solve
"""``cpsat`` as a function ``(problem, options) -> Result``."""


def _model_stats(built: _Built, params: CpsatParams) -> dict[str, Any]:
    """The stats of a run that built its model (the solves add theirs)."""
    it = built.it
    return {
        "time_scale": it.scale,
        "exact_scaling": it.exact,
        "rounding": "exact" if it.exact else ("down (relaxation)" if built.relax else "up"),
        "arcs": len(built.model.arc_vars),
        "time_variables": len(built.model.times),
        "build_time": built.seconds,
        "workers": params.worker_count,
        "deterministic": params.deterministic,
    }


def _message(
    status: Status, claimed: Status, restricted: str, relax: bool, stats: dict[str, Any]
) -> str:
    """What a run proved, by its settled ``status`` (``claimed``: the search's own status)."""
    if status == Status.OPTIMAL:
        relaxed = (
            " (times rounded down: a relaxation whose optimal routes are feasible in real "
            "arithmetic)"
        )
        return "proved optimal by CP-SAT" + (relaxed if relax else "")
    if status == Status.FEASIBLE:
        if claimed == Status.OPTIMAL and restricted:
            return "proved optimal for the restricted model only"
        return "not proved optimal within the limit"
    if status == Status.INFEASIBLE:
        return (
            "infeasible: CP-SAT proved that no set of routes meets the deadline, windows, budget "
            "and mandatory nodes"
        )
    if status == Status.NO_SOLUTION:
        if claimed == Status.INFEASIBLE:
            return "the restricted model is infeasible; nothing proved about the problem"
        return "no solution found within the time limit"
    return f"CP-SAT returned {stats.get('cp_status')}"
