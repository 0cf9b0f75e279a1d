"""Independent checker of the coverage objectives (``formulations/mtrce.md``, outcome-aligned).

Route validity (windows, deadline, budget, mandatory nodes, ids) is the MTRCE checker's
(:func:`daitn_opt.mtrce.check.check`); this module recomputes the objective from the problem's
arrays and the route's node ids alone. It imports no solver, no formulation and not the solver-side
evaluation in :mod:`daitn_opt.mtrce.coverage`, so that a shared bug cannot hide itself:

- gathered mass ``X_l = sum over the route's distinct nodes of weight * label_mass[i, l]``, with
  weight ``recency ** p`` for the customer ``p`` places from the last one under
  ``max_recency_coverage`` (1 otherwise, and for the start and the end);
- coverage ``sum_l w_l * interp(X_l / s_l, breaks, 1 - exp(-breaks))`` (flat after the last
  breakpoint);
- ``min_time_to_target``: the objective is the completion time (earliest-start schedule: service
  at ``max(arrival, open)``; completion = service start at the end + its service + verification),
  and the plain coverage must reach ``target``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ..checking import CheckReport
from .check import check as check_routes
from .problem import COVERAGE_OBJECTIVES, Problem

_TOL = 1e-6


def _coverage(problem: Problem, idx: list[int], recency: bool) -> float:
    mass = np.asarray(problem.label_mass, dtype=np.float64)
    labels = mass.shape[1]
    weight = (
        np.full(labels, 1.0 / labels)
        if problem.label_weight is None
        else np.asarray(problem.label_weight, dtype=np.float64)
    )
    inner = idx[1:-1]
    gathered = np.zeros(labels)
    for p, node in enumerate(reversed(inner)):
        factor = problem.recency**p if recency else 1.0
        gathered += factor * mass[node]
    gathered += mass[problem.start]
    if problem.end != problem.start:
        gathered += mass[problem.end]
    breaks = np.asarray(problem.coverage_breaks, dtype=np.float64)
    value = 0.0
    for lab in range(labels):
        z = gathered[lab] / float(problem.coverage_scale[lab])
        value += weight[lab] * float(np.interp(z, breaks, 1.0 - np.exp(-breaks)))
    return value


def _completion(problem: Problem, idx: list[int]) -> float:
    a = np.zeros(problem.n) if problem.window_open is None else problem.window_open
    t = max(0.0, float(a[idx[0]]))
    for prev, node in itertools.pairwise(idx):
        t = max(
            t + float(problem.service[prev]) + float(problem.travel[prev, node]), float(a[node])
        )
    return t + float(problem.service[idx[-1]]) + float(problem.verify_time)


def check(problem: Problem, solution: dict[str, Any]) -> CheckReport:
    """Check an MTRCE solution (any objective, or a TAG plan) against ``problem``.

    The package exports this function as ``daitn_opt.mtrce.check``, so that ``daitn-opt check``,
    the bench and the tests check every objective. For ``max_utility`` and ``min_time`` it is
    :func:`daitn_opt.mtrce.check.check` unchanged; a :class:`~daitn_opt.mtrce.tag.TagProblem`
    goes to :func:`daitn_opt.mtrce.tag_check.check`.

    Parameters
    ----------
    problem : Problem or TagProblem
        The problem the solution answers.
    solution : dict
        ``{"routes": [[node ids...], ...]}`` (and ``"epochs"`` for TAG); other keys are ignored.

    Returns
    -------
    CheckReport
        The route checker's violations plus, for ``min_time_to_target``, a violation when the
        route's coverage misses the target; the objective is recomputed from the arrays: the
        utility, the summed completion times, the coverage (recency-weighted under
        ``max_recency_coverage``) or the completion time (``min_time_to_target``).

    Notes
    -----
    O(n + route length + labels). Independent of every solver (imports none).

    Examples
    --------
    >>> from daitn_opt.mtrce import Problem, check
    >>> p = Problem(ids=["s", "a"], start=0, end=0, travel=[[0, 1], [1, 0]], service=[0, 1],
    ...             utility=[0, 3], deadline=2)
    >>> report = check(p, {"routes": [["s", "a", "s"]]})
    >>> report.ok, report.objective
    (False, 3.0)
    >>> report.violations
    ["route 1: completes at 's' at 3, after the deadline 2"]
    """
    if not isinstance(problem, Problem):  # a TAG problem (route + epochs) has its own checker
        from .tag_check import check as check_tag

        return check_tag(problem, solution)
    report = check_routes(problem, solution)
    if report.objective is None or problem.objective not in COVERAGE_OBJECTIVES:
        return report
    position = {node_id: i for i, node_id in enumerate(problem.ids)}
    routes = solution["routes"]
    if len(routes) != 1:
        report.violations.append(f"{len(routes)} routes; the coverage objectives take one")
        return CheckReport(None, report.violations)
    idx = [position[v] for v in routes[0]]
    recency = problem.objective == "max_recency_coverage"
    value = _coverage(problem, idx, recency)
    if problem.objective == "min_time_to_target":
        plain = value
        target = float(problem.target)
        if plain < target - _TOL * max(1.0, abs(target)):
            report.violations.append(f"coverage {plain:.10g} misses the target {target:.10g}")
        value = _completion(problem, idx)
        if not math.isfinite(value):
            report.violations.append("the route's completion time is not finite")
    return CheckReport(value, report.violations)
