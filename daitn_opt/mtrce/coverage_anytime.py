"""Solvers of the expected time to target: ``anytime-ils`` and ``anytime-bnb`` (issue 12).

``min_expected_time_to_target`` (:mod:`daitn_opt.mtrce.anytime`) is an expectation over the
outcome model's prediction error, not a piecewise-linear coverage, so the coverage MILP and
CP-SAT models cannot express it. These two solvers plan it from a :class:`~.problem.Problem`
alone, once ``OutcomeModel.apply(problem, "min_expected_time_to_target")`` has written the model's
fields (its warm-up, label skew and persistent checkpoint error included: they evaluate what
``anytime.Objective(problem, model)`` evaluates):

- ``anytime-ils``: greedy insertion and iterated local search with seeded kicks
  (:func:`~daitn_opt.mtrce.anytime.plan_anytime`, at most ``50 + 5 n`` kicks, ending after
  ``20 + 2 n`` in a row without improvement: the function's own ``10 + n`` kicks stopped 2.9%
  above the optimum on healthcare-small r1 for half of the seeds; with these defaults all six
  healthcare-small requests and three random 11-node views reached the same value on 8 of 8
  seeds, the enumerated or branch-and-bound optimum where checked); no bound.
- ``anytime-bnb``: depth-first branch and bound (:func:`~daitn_opt.mtrce.anytime.solve_exact`)
  from the ``anytime-ils`` route found in at most ``warm_start`` (half) of the time limit, or
  the warm start given; ``optimal`` only when the search finished within the time limit, else
  ``feasible`` with the smallest bound of the subtrees left open.

Both answer one route, never miss the deadline, windows or budget, and leave mandatory nodes and
``k > 1`` to ``supports`` (refused). The empty route ``[s, e]`` (worth the deadline) is always a
candidate, so a problem whose direct trip is feasible always gets a route.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..params import param
from ..registry import SolveOptions
from ..result import Result, Status
from . import anytime
from .coverage import coverage_result
from .heuristics import infeasibility
from .plan import Arrays
from .problem import EXPECTED_TIME, Problem
from .route_solvers import no_route, proved_optimal, register_solvers

MARGIN = 0.05
"""Seconds kept back from the time limit for building the result."""


def supports(problem: Any) -> str | None:
    """Why the expected-time solvers cannot solve ``problem`` (None when they can)."""
    if not isinstance(problem, Problem):
        return f"a {type(problem).__name__} is not a route problem; use its own solvers"
    if problem.objective != EXPECTED_TIME:
        return (
            f"objective {problem.objective!r}: anytime-ils and anytime-bnb solve "
            f"{EXPECTED_TIME!r} only"
        )
    missing = anytime.missing_fields(problem)
    if missing is not None:
        return f"{missing} is missing: needs a fitted outcome model: OutcomeModel.apply"
    if problem.k != 1:
        return f"k = {problem.k} routes: the expected time to target is for one route"
    if len(problem.mandatory):
        return "mandatory nodes are not modelled by the expected time to target"
    if not math.isfinite(float(problem.deadline)):
        return "needs a finite deadline (a replay that never reaches the target costs it)"
    return None


def _incumbent(problem: Problem, options: SolveOptions) -> list[int] | None:
    """The warm start's single route as indices (None when there is none or it is unusable)."""
    routes = (options.initial or {}).get("routes")
    if not routes or len(routes) != 1:
        return None
    pos = {v: i for i, v in enumerate(problem.ids)}
    try:
        route = [pos[v] for v in routes[0]]
    except (KeyError, TypeError):
        return None
    ok = len(route) >= 2 and route[0] == problem.start and route[-1] == problem.end
    return route if ok else None


def _solve(problem: Problem, options: SolveOptions, name: str, exact: bool) -> Result:
    reason = infeasibility(problem, Arrays.of(problem))
    if reason is not None:
        return coverage_result(problem, name, None, Status.INFEASIBLE, message=reason)
    obj = anytime.Objective(problem)
    params = options.params
    n = len(obj.candidates())
    kicks = params.kicks if params.kicks is not None else 50 + 5 * n
    patience = params.patience if params.patience is not None else 20 + 2 * n
    if not exact:
        limit = max(0.01, options.remaining() - MARGIN)
        route, value = anytime.plan_anytime(
            obj, time_limit=limit, seed=options.seed, kicks=kicks, patience=patience
        )
        if not math.isfinite(value):
            return no_route(problem, name, "no feasible route found")
        return coverage_result(
            problem, name, route, Status.FEASIBLE, message=f"expected time {value:.6g}"
        )
    start = _incumbent(problem, options)
    if start is None and params.warm_start > 0:
        share = max(0.01, params.warm_start * options.remaining())
        start, _ = anytime.plan_anytime(
            obj, time_limit=share, seed=options.seed, kicks=kicks, patience=patience
        )
    limit = max(0.01, options.remaining() - MARGIN)
    res = anytime.solve_exact(obj, time_limit=limit, incumbent=start)
    result = coverage_result(
        problem,
        name,
        res.route,
        Status.FEASIBLE,
        bound=res.bound,
        stats={"nodes": res.nodes, "finished": res.optimal},
        message=(
            f"expected time {res.value:.6g}, bound {res.bound:.6g} "
            f"({res.nodes} search nodes{'' if res.optimal else ', time limit'})"
        ),
    )
    return proved_optimal(result, res.optimal)


KICKS_HELP = "most random kicks after the descent (None: 50 + 5 n for n candidate nodes)"
PATIENCE_HELP = "kicks in a row without improvement that end the search (None: 20 + 2 n)"


@dataclass(frozen=True)
class AnytimeIlsParams:
    """Parameters of the ``anytime-ils`` solver."""

    kicks: int | None = param(None, KICKS_HELP)
    patience: int | None = param(None, PATIENCE_HELP)

    def __post_init__(self) -> None:
        _check_kicks(self.kicks, self.patience)


@dataclass(frozen=True)
class AnytimeBnbParams:
    """Parameters of the ``anytime-bnb`` solver."""

    warm_start: float = param(
        0.5, "share of the time limit the anytime-ils incumbent may use (0: none)"
    )
    kicks: int | None = param(None, KICKS_HELP)
    patience: int | None = param(None, PATIENCE_HELP)

    def __post_init__(self) -> None:
        _check_kicks(self.kicks, self.patience)
        if not 0.0 <= float(self.warm_start) <= 1.0:
            raise InputError("param.warm_start", self.warm_start, "must lie in [0, 1]")


def _check_kicks(kicks: int | None, patience: int | None) -> None:
    for name, value in (("kicks", kicks), ("patience", patience)):
        if value is not None and value < 0:
            raise InputError(f"param.{name}", value, "must be >= 0 (None: the default)")


def _ils(problem: Any, options: SolveOptions) -> Result:
    return _solve(problem, options, "anytime-ils", exact=False)


def _bnb(problem: Any, options: SolveOptions) -> Result:
    return _solve(problem, options, "anytime-bnb", exact=True)


_ils.__name__ = _ils.__qualname__ = "solve_anytime_ils"
_bnb.__name__ = _bnb.__qualname__ = "solve_anytime_bnb"

register_solvers(
    supports,
    exact=False,
    solvers={
        "anytime-ils": (
            _ils,
            "expected time to target: greedy insertion + iterated local search, seeded kicks",
            AnytimeIlsParams,
        ),
    },
)
register_solvers(
    supports,
    exact=True,
    solvers={
        "anytime-bnb": (
            _bnb,
            "expected time to target: depth-first branch and bound (optimal when it finishes)",
            AnytimeBnbParams,
        ),
    },
)
