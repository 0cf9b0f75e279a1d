"""The problem packages' common furniture, looked up by kind.

Each problem package (``daitn_opt.mtrce``, ``daitn_opt.tfam``, ``daitn_opt.qirce``) exposes:

- ``Problem``: a frozen class with ``kind`` and the arrays its solvers read;
- ``from_instance(instance, request_id=None) -> Problem``: build it from an instance file;
- ``check(problem, solution) -> CheckReport``: the independent checker;

and registers its solvers with :func:`daitn_opt.registry.register` when imported.
"""

from __future__ import annotations

import importlib
from typing import Any

from .checking import CheckReport
from .drrt.instance import Instance
from .kinds import get_kind
from .kinds import package as package
from .result import Result

DEFAULT_SOLVER = {"mtrce": "ils", "tfam": "ls", "qirce": "ls"}
"""Each problem's default solver: its best general-purpose heuristic (fast, any size, checked)."""


COVERAGE_DEFAULT_SOLVER = "coverage-ils"
"""The default MTRCE solver for the outcome-aligned (coverage) objectives."""


def default_solver(kind: str, problem: Any = None) -> str:
    """The default solver of problem ``kind`` (see :data:`DEFAULT_SOLVER`); given the problem, an
    MTRCE problem with a coverage objective gets :data:`COVERAGE_DEFAULT_SOLVER`."""
    package(kind)  # an InputError naming the known kinds
    if kind == "mtrce" and problem is not None:
        from .mtrce.problem import COVERAGE_OBJECTIVES

        if problem.objective in COVERAGE_OBJECTIVES:
            return COVERAGE_DEFAULT_SOLVER
    return DEFAULT_SOLVER[kind]


def problem_from_instance(
    kind: str, instance: Instance, request_id: str | None = None, *, time_limit: float | None = None
) -> Any:
    """Build the ``kind`` problem of ``instance`` (for one request where the kind needs one).

    ``time_limit`` (seconds) bounds the kinds whose construction is itself a search (T-FAM
    generates candidate plans); the other kinds build their view without one.
    """
    if time_limit is not None and kind == "tfam":
        return package(kind).from_instance(instance, request_id, time_limit=time_limit)
    return package(kind).from_instance(instance, request_id)


def outside_view(instance: Instance, request_id: str | None = None) -> dict[str, str]:
    """Node id -> why it is not in the MTRCE view of the request (excluded, or not a data node)."""
    from .drrt.view import view

    v = view(instance, request_id)
    inside = set(v.ids)
    reasons = {node_id: f"excluded ({why})" for node_id, why in v.excluded.items()}
    for node in instance.snapshot.nodes:
        if node.id not in inside and node.id not in reasons:
            reasons[node.id] = (
                f"a {node.kind} node; a route visits data nodes, the start and the end"
            )
    return reasons


def validate_solution(kind: str, solution: Any, field: str = "solution") -> None:
    """Raise an :class:`InputError` naming the field unless ``solution`` has the shape of a
    ``kind`` solution document (the checker's ``SOLUTION_SHAPE``; values are not checked)."""
    from .checking import shape_error

    shape = getattr(
        importlib.import_module(f"{get_kind(kind).package}.check"), "SOLUTION_SHAPE", None
    )
    err = None if shape is None else shape_error(solution, shape, field)
    if err is not None:
        raise err


def check_result(
    problem: Any, result: Result, excluded: dict[str, str] | None = None
) -> CheckReport:
    """Check ``result``'s solution against ``problem`` and compare the claimed objective.

    A result without a solution (infeasible, no solution, error) and an empty solution has nothing
    to check and passes; one that claims ``infeasible`` while carrying a valid solution does not.
    ``excluded`` (MTRCE only, see :func:`outside_view`) explains route nodes outside the problem:
    such a route is reported node by node, with the reason each one is not in the view.
    """
    if not result.status.has_solution and not result.solution:
        return CheckReport(None, [])
    if excluded and problem.kind == "mtrce":
        from .mtrce.check import outside_view as outside_violations

        # A route through a node outside the view cannot be scheduled: that is the verdict.
        outside = outside_violations(problem, result.solution, excluded)
        if outside:
            return CheckReport(None, outside)
    report = package(problem.kind).check(problem, result.solution)
    if result.status.has_solution:
        report.compare_objective(result.objective)
    elif report.ok and result.status.value == "infeasible":
        report.violations.append("the result claims infeasible but carries a valid solution")
    return report
