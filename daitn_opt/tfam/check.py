"""Independent checker of T-FAM admission solutions.

Recomputes every constraint of ``formulations/tfam.md`` from the problem arrays and the solution
alone (no solver or formulation code): the solution names known requests and plans, admits each
request at most once, admits every must-admit request, exceeds no capacity in any resource (a
(node, slot) pair or a knapsack dimension), and its objective is the sum of admitted plan values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checking import CheckReport, shape_error
from .problem import Problem

SOLUTION_SHAPE = {"admitted": ("map", "int"), "?refused": ["str"]}
"""What a T-FAM solution document must look like before its values are checked: request id ->
integer plan index (its range is checked below), refused request ids."""

TOL = 1e-6
"""Absolute tolerance on capacities, relative to max(1, capacity)."""


def check(problem: Problem, solution: dict[str, Any]) -> CheckReport:
    """Check an admission ``solution`` (``{"admitted": {id: plan}, "refused": [...]}``)."""
    violations: list[str] = []
    if not isinstance(solution, dict) or not isinstance(solution.get("admitted"), dict):
        return CheckReport(None, ["solution has no 'admitted' mapping of request id -> plan index"])
    malformed = shape_error(solution, SOLUTION_SHAPE)
    if malformed is not None:
        return CheckReport(None, [str(malformed)])
    index = {rid: r for r, rid in enumerate(problem.request_ids)}
    admitted = solution["admitted"]
    refused = solution.get("refused", [])
    if not isinstance(refused, list):
        violations.append("'refused' is not a list")
        refused = []

    chosen: list[int] = []
    for rid, plan in admitted.items():
        if rid not in index:
            violations.append(f"admitted request {rid!r} is not in the batch")
            continue
        r = index[rid]
        n_plans = int(problem.plan_start[r + 1] - problem.plan_start[r])
        if isinstance(plan, bool) or not isinstance(plan, int | np.integer):
            violations.append(f"request {rid!r}: plan {plan!r} is not an integer index")
            continue
        if not 0 <= int(plan) < n_plans:
            violations.append(f"request {rid!r}: plan {plan} out of range 0..{n_plans - 1}")
            continue
        chosen.append(int(problem.plan_start[r]) + int(plan))

    seen_refused: set[str] = set()
    for rid in refused:
        if rid in admitted:
            violations.append(f"request {rid!r} is both admitted and refused")
        if rid in seen_refused:
            violations.append(f"request {rid!r} is refused twice")
        seen_refused.add(rid)
        if rid not in index:
            violations.append(f"refused request {rid!r} is not in the batch")

    for r in np.flatnonzero(problem.must_admit):
        rid = problem.request_ids[int(r)]
        if rid not in admitted:
            violations.append(f"must-admit request {rid!r} is not admitted")

    # Load of every resource: the sum of the chosen plans' rows of the use matrix.
    load = np.zeros(problem.n_resources)
    for p in chosen:
        lo, hi = problem.use.indptr[p], problem.use.indptr[p + 1]
        np.add.at(load, problem.use.indices[lo:hi], problem.use.data[lo:hi])
    over = np.flatnonzero(load > problem.capacity + TOL * np.maximum(1.0, problem.capacity))
    for k in over[:20]:
        violations.append(
            f"resource {problem.resource_ids[int(k)]!r} over capacity: "
            f"{load[k]:.10g} > {problem.capacity[k]:.10g}"
        )
    if len(over) > 20:
        violations.append(f"... and {len(over) - 20} more resources over capacity")

    objective = float(np.sum(problem.value[chosen])) if chosen else 0.0
    return CheckReport(objective, violations)
