"""The problem packages' common furniture, looked up by kind.

Each problem package (``daitn_opt.mtrce``, ``daitn_opt.tfam``, ``daitn_opt.qirce``) exposes:

- ``Problem``: a frozen class with ``kind`` and the arrays its solvers read;
- ``from_instance(instance, request_id=None) -> Problem``: build it from an instance file;
- ``check(problem, solution) -> CheckReport``: the independent checker;

and registers its solvers with :func:`daitn_opt.registry.register` when imported.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from .checking import CheckReport
from .drrt.instance import Instance
from .errors import InputError
from .registry import PROBLEM_PACKAGES
from .result import Result


def package(kind: str) -> ModuleType:
    """The package of problem ``kind``; an :class:`InputError` naming the known kinds."""
    if kind not in PROBLEM_PACKAGES:
        raise InputError("problem", kind, f"expected one of {sorted(PROBLEM_PACKAGES)}")
    return importlib.import_module(PROBLEM_PACKAGES[kind])


def problem_from_instance(kind: str, instance: Instance, request_id: str | None = None) -> Any:
    """Build the ``kind`` problem of ``instance`` (for one request where the kind needs one)."""
    return package(kind).from_instance(instance, request_id)


def check_result(problem: Any, result: Result) -> CheckReport:
    """Check ``result``'s solution against ``problem`` and compare the claimed objective."""
    report = package(problem.kind).check(problem, result.solution)
    if result.status.has_solution:
        report.compare_objective(result.objective)
    return report
