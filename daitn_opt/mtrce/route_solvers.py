"""What the one-route solvers share around their search: registering them, and their results.

Used by the coverage solvers (``coverage-greedy``, ``coverage-ils``, ``coverage-highs``,
``coverage-cpsat``) and the TAG solvers (``tag-greedy``, ``tag-ils``, ``tag-highs``): each module
registers its solvers from one table (kind ``mtrce``, with the family's ``supports`` check),
reports a run that ended without a route with :func:`no_route`, and marks a feasible result optimal
with :func:`proved_optimal`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..params import NoParams
from ..registry import SolveOptions, SolverFn, register
from ..result import Result, Status
from .coverage import coverage_result
from .tag import TagProblem, tag_result


def register_solvers(
    supports: Callable[[Any], str | None],
    exact: bool,
    solvers: dict[str, tuple[SolverFn, str, type]],
) -> None:
    """Register ``{name: (function, description, parameter class)}`` as ``mtrce`` solvers, in the
    table's order."""
    for name, (fn, description, params) in solvers.items():
        register(
            "mtrce", name, exact=exact, description=description, supports=supports, params=params
        )(fn)


def register_greedy_and_ils(
    family: str,
    supports: Callable[[Any], str | None],
    run: Callable[..., Result],
    descriptions: tuple[str, str],
    ils_params: type,
) -> None:
    """Register ``{family}-greedy`` (no parameters) and ``{family}-ils`` (``ils_params``), two
    heuristics that share one search: ``run(problem, options, name, ils=False / True)``."""
    greedy, ils = f"{family}-greedy", f"{family}-ils"
    register_solvers(
        supports,
        exact=False,
        solvers={
            greedy: (solver_named(run, greedy, ils=False), descriptions[0], NoParams),
            ils: (solver_named(run, ils, ils=True), descriptions[1], ils_params),
        },
    )


def solver_named(
    run: Callable[..., Result], name: str, **fixed: Any
) -> Callable[[Any, SolveOptions], Result]:
    """The solver function ``(problem, options)`` of ``run(problem, options, name, **fixed)``:
    one search serving several registered solvers, each with its own name (shown in tracebacks
    and by ``daitn-opt solvers``)."""

    def solve(problem: Any, options: SolveOptions) -> Result:
        return run(problem, options, name, **fixed)

    solve.__module__ = run.__module__
    solve.__name__ = solve.__qualname__ = "solve_" + name.replace("-", "_")
    return solve


def no_route(
    problem: Any, solver: str, message: str, status: Status = Status.NO_SOLUTION, **kwargs: Any
) -> Result:
    """The result of a run without a route (``status`` no_solution unless told), with ``message``.

    A :class:`.tag.TagProblem` gets :func:`.tag.tag_result`, a route problem
    :func:`.coverage.coverage_result`; ``kwargs`` (bound, stats) pass through.
    """
    if isinstance(problem, TagProblem):
        return tag_result(problem, solver, None, None, status, message=message, **kwargs)
    return coverage_result(problem, solver, None, status, message=message, **kwargs)


def proved_optimal(result: Result, proved: bool) -> Result:
    """Mark a feasible ``result`` optimal when its solver proved it and its gap is <= 1e-6."""
    if proved and result.gap is not None and result.gap <= 1e-6:
        result.status = Status.OPTIMAL
    return result
