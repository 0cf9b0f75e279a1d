"""The independent checker of ``knapsack-lite`` solutions (imports no solver)."""

from __future__ import annotations

import math
from typing import Any

from daitn_opt.checking import CheckReport, shape_error

SOLUTION_SHAPE = {"chosen": ["str"]}
"""A solution: the ids of the chosen items."""


def check(problem: Any, solution: Any) -> CheckReport:
    """Every chosen id is an item, chosen once, and the weight fits the capacity."""
    err = shape_error(solution, SOLUTION_SHAPE)
    if err is not None:
        return CheckReport(None, [str(err)])
    index = {item: i for i, item in enumerate(problem.ids)}
    violations = [f"{item!r} is not an item" for item in solution["chosen"] if item not in index]
    chosen = [index[item] for item in solution["chosen"] if item in index]
    if len(set(chosen)) != len(chosen):
        violations.append("an item is chosen twice")
    weight = math.fsum(problem.weights[i] for i in set(chosen))
    if weight > problem.capacity * (1 + 1e-9) + 1e-9:
        violations.append(f"weight {weight:g} exceeds the capacity {problem.capacity:g}")
    return CheckReport(math.fsum(problem.values[i] for i in set(chosen)), violations)
