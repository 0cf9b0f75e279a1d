"""Independent checker of T-FAM admission solutions.

Recomputes every constraint of ``formulations/tfam.md`` from the problem arrays and the solution
alone (no solver or formulation code): the solution names known requests and plans, admits each
request at most once, admits every must-admit request, exceeds no capacity in any resource (a
(node, slot) pair or a knapsack dimension), and its objective is the sum of admitted plan values.
When the solution describes its plans (``solution["plans"]``), each description must be the
admitted plan's: its clients or route, start, finish and label as the problem holds them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checking import CheckReport, shape_error
from .problem import Problem

PLAN_SHAPE = {
    "request": "str",
    "?plan": "int",
    "?clients": ["str"],
    "?route": ["str"],
    "?start": "any",
    "?finish": "any",
    "?label": "str",
}
"""One entry of ``solution["plans"]``: what an admitted request's plan does."""

SOLUTION_SHAPE = {"admitted": ("map", "int"), "?refused": ["str"], "?plans": [PLAN_SHAPE]}
"""What a T-FAM solution document must look like before its values are checked: request id ->
integer plan index (its range is checked below), refused request ids, and optionally each
admitted plan's description (checked against the problem by :func:`plan_violations`)."""

TOL = 1e-6
"""Absolute tolerance on capacities, relative to max(1, capacity)."""


def check(problem: Problem, solution: dict[str, Any]) -> CheckReport:
    """Check an admission ``solution`` against ``problem``, sharing no code with any solver.

    Parameters
    ----------
    problem : Problem
        The batch the solution claims to admit from.
    solution : dict
        ``{"admitted": {request id: plan index within the request}, "refused": [ids],
        "plans": [...]}`` (``refused`` and ``plans`` optional; see :func:`plan_violations`).

    Returns
    -------
    CheckReport
        The recomputed objective (the admitted plans' values; None when the document is
        malformed) and every violation in words; ``report.ok`` when there is none.

    Notes
    -----
    O(R + admitted plans' uses + K). Capacities are compared with a tolerance of ``TOL``
    relative to ``max(1, capacity)``.

    Examples
    --------
    >>> from daitn_opt.tfam import build
    >>> p = build(["a", "b"], [0, 1], [3.0, 4.0], [[1.0], [1.0]], [1.0], resource_ids=["k"])
    >>> check(p, {"admitted": {"b": 0}, "refused": ["a"]}).objective
    4.0
    >>> check(p, {"admitted": {"a": 0, "b": 0}}).violations
    ["resource 'k' over capacity: 2 > 1"]
    """
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

    if "plans" in solution:
        violations.extend(plan_violations(problem, solution["plans"], admitted))
    objective = float(np.sum(problem.value[chosen])) if chosen else 0.0
    return CheckReport(objective, violations)


def _same_time(stated: Any, expected: float | None) -> bool:
    if expected is None or stated is None:
        return stated is None and expected is None
    if isinstance(stated, bool) or not isinstance(stated, int | float):
        return False
    return abs(float(stated) - expected) <= TOL * max(1.0, abs(expected))


def plan_violations(
    problem: Problem, plans: list[dict[str, Any]], admitted: dict[str, Any]
) -> list[str]:
    """Where ``plans`` (``solution["plans"]``) does not describe the admitted plans: one entry per
    admitted request, each naming its admitted plan, with that plan's clients or route, start,
    finish (seconds after the snapshot time: arrival plus the plan's completion) and label."""
    out: list[str] = []
    index = {rid: r for r, rid in enumerate(problem.request_ids)}
    described = [entry["request"] for entry in plans]
    for rid in sorted(set(admitted) - set(described)):
        out.append(f"admitted request {rid!r} has no plan in 'plans'")
    for entry in plans:
        rid = entry["request"]
        if rid not in admitted or rid not in index or described.count(rid) > 1:
            out.append(f"'plans' entry of {rid!r}: not one admitted request of the batch")
            continue
        r, k = index[rid], admitted[rid]
        if not isinstance(k, int) or not 0 <= k < problem.plan_start[r + 1] - problem.plan_start[r]:
            continue  # the admitted index itself is reported above
        if entry.get("plan", k) != k:
            out.append(f"'plans' entry of {rid!r}: plan {entry['plan']} but plan {k} is admitted")
        out.extend(f"'plans' entry of {rid!r}: {w}" for w in _entry_errors(problem, r, k, entry))
    return out


def _entry_errors(problem: Problem, r: int, k: int, entry: dict[str, Any]) -> list[str]:
    """What ``entry`` states about plan ``k`` of request ``r`` that the problem does not hold."""
    p = int(problem.plan_start[r]) + k
    errors = []
    detail = problem.plan_details[p] if problem.plan_details is not None else {}
    for key in ("clients", "route"):
        if key in entry and entry[key] != list(detail.get(key, [])):
            errors.append(f"{key} {entry[key]} differ from the plan's {detail.get(key)}")
    if "start" in entry and not _same_time(entry["start"], detail.get("start")):
        errors.append(f"start {entry['start']!r} is not the plan's {detail.get('start')!r}")
    finish = None if problem.finish is None else float(problem.finish[p])
    finish = None if finish is None or np.isnan(finish) else float(problem.arrival[r]) + finish
    if "finish" in entry and not _same_time(entry["finish"], finish):
        errors.append(f"finish {entry['finish']!r} is not the plan's {finish!r}")
    label = problem.plan_labels[p] if problem.plan_labels is not None else ""
    if "label" in entry and entry["label"] != label:
        errors.append(f"label {entry['label']!r} is not the plan's {label!r}")
    return errors
