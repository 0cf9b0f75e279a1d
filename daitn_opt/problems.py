"""The problem packages' common furniture, looked up by kind.

Each problem package (``daitn_opt.mtrce``, ``daitn_opt.tfam``, ``daitn_opt.qirce``, or one added
through :func:`daitn_opt.kinds.register_kind`) exposes what :mod:`daitn_opt.kinds` lists:
``Problem``, ``from_instance``, ``check``, ``make_result`` and optionally ``DEFAULT_SOLVER`` and
``default_solver(problem)``. The functions here find them by kind, so that the command line, the
benchmark harness and the tests name no kind; nothing here imports a solver.

Example
-------
>>> from daitn_opt.problems import default_solver
>>> default_solver("tfam")
'ls'
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from types import ModuleType
from typing import Any

from .checking import CheckReport
from .drrt.instance import Instance
from .errors import InputError
from .kinds import get_kind
from .kinds import package as package
from .result import Result


def default_solver(kind: str, problem: Any = None) -> str:
    """The solver the command line uses for problem ``kind`` when none is named.

    Given the problem, the package's ``default_solver(problem)`` decides when it has one (MTRCE
    picks ``coverage-ils`` for the outcome-aligned objectives, ``tag-ils`` for TAG); otherwise its
    ``DEFAULT_SOLVER``.

    Raises
    ------
    InputError
        An unknown kind (the message lists the known ones), or a kind that names no default.
    """
    pkg = package(kind)
    choose = getattr(pkg, "default_solver", None)
    if problem is not None and callable(choose):
        return choose(problem)
    name = getattr(pkg, "DEFAULT_SOLVER", None)
    if name is None:
        raise InputError("solver", None, f"problem {kind} names no default solver; give one")
    return name


def problem_from_instance(
    kind: str,
    instance: Instance,
    request_id: str | None = None,
    *,
    time_limit: float | None = None,
    max_nodes: int | None = None,
) -> Any:
    """Build the ``kind`` problem of ``instance`` (for one request where the kind needs one).

    ``time_limit`` (seconds) bounds the kinds whose construction is itself a search (T-FAM
    generates candidate plans): it is passed when the kind's ``from_instance`` takes one.
    ``max_nodes`` caps the view of the kinds built on one (MTRCE); a kind whose
    ``from_instance`` takes no cap refuses it rather than ignoring it.
    """
    build = package(kind).from_instance
    takes = inspect.signature(build).parameters
    options: dict[str, Any] = {}
    if time_limit is not None and "time_limit" in takes:
        options["time_limit"] = time_limit
    if max_nodes is not None:
        if "max_nodes" not in takes:
            raise InputError("--max-nodes", max_nodes, f"the {kind} problem takes no view cap")
        options["max_nodes"] = max_nodes
    return build(instance, request_id, **options)


def _check_module(kind: str) -> ModuleType | None:
    """The kind's ``<package>.check`` module (its checker's shapes and hooks), if it has one."""
    name = f"{get_kind(kind).package}.check"
    try:
        found = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        found = None
    return importlib.import_module(name) if found is not None else None


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


def excluded_nodes(
    kind: str, instance: Instance, request_id: str | None = None
) -> dict[str, str] | None:
    """:func:`outside_view` for a kind whose checker explains nodes outside the problem (its
    ``check`` module has ``outside_view``, as MTRCE's does); None for the others."""
    module = _check_module(kind)
    if module is None or not hasattr(module, "outside_view"):
        return None
    return outside_view(instance, request_id)


def validate_solution(kind: str, solution: Any, field: str = "solution") -> None:
    """Raise an :class:`InputError` naming the field unless ``solution`` has the shape of a
    ``kind`` solution document (the checker's ``SOLUTION_SHAPE``; values are not checked)."""
    from .checking import shape_error

    module = _check_module(kind)
    shape = getattr(module, "SOLUTION_SHAPE", None) if module is not None else None
    err = None if shape is None else shape_error(solution, shape, field)
    if err is not None:
        raise err


def check_result(
    problem: Any, result: Result, excluded: dict[str, str] | None = None
) -> CheckReport:
    """Check ``result``'s solution against ``problem`` and compare the claimed objective.

    A result without a solution (infeasible, no solution, error) and an empty solution has nothing
    to check and passes; one that claims ``infeasible`` while carrying a valid solution does not.
    ``excluded`` (see :func:`excluded_nodes`) explains route nodes outside the problem: such a
    route is reported node by node, with the reason each one is not in the view, by the kind's
    ``check.outside_view(problem, solution, excluded)``.
    """
    if not result.status.has_solution and not result.solution:
        return CheckReport(None, [])
    if excluded:
        module = _check_module(problem.kind)
        explain = getattr(module, "outside_view", None) if module is not None else None
        # A route through a node outside the view cannot be scheduled: that is the verdict.
        outside = explain(problem, result.solution, excluded) if explain is not None else []
        if outside:
            return CheckReport(None, outside)
    report = package(problem.kind).check(problem, result.solution)
    if result.status.has_solution:
        report.compare_objective(result.objective)
    elif report.ok and result.status.value == "infeasible":
        report.violations.append("the result claims infeasible but carries a valid solution")
    return report
