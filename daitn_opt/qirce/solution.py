"""Turning solver arrays into the QIRCE solution document, shared by every solver.

A solution is a JSON object::

    {"routes": [{"demand": "u1/resnet", "facility": "f3", "fraction": 1.0}, ...],
     "deployments": [{"model": "resnet", "facility": "f3"}, ...],
     "open": ["f3", ...],
     "refused": [{"demand": "u9/bert", "fraction": 1.0, "reason": "..."}, ...]}

``routes`` carry the fraction of each demand sent to a facility (1 with single-source routing);
``refused`` the fraction not served and why (Q-FAM). The checker (:mod:`.check`) reads only this
document and the problem arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..result import Result, Status, TracePoint
from .problem import Problem
from .queueing import congestion_term

TOL = 1e-7


def internal_objective(problem: Problem, x: np.ndarray) -> float:
    """Internal (minimised) objective of arc fractions ``x``, facilities opened where used
    (plus the congestion term: weighted expected SLO violations, when modelled)."""
    used = np.zeros(problem.num_facilities, dtype=bool)
    used[problem.arc_facility[x > TOL]] = True
    base = float(problem.internal_arc_weight() @ x + problem.internal_open_weight()[used].sum())
    if problem.congestion == "none":
        return base

    return base + congestion_term(problem, np.where(x > TOL, x, 0.0))


def refusal_reason(problem: Problem, d: int) -> str:
    """Why (part of) demand ``d`` is not served, as a user reads it."""
    if d in problem.blocked:
        return problem.blocked[d]
    arcs = np.flatnonzero(problem.arc_demand == d)
    if problem.mode == "admit" and problem.cost_weight > 0:
        w = problem.internal_arc_weight()[arcs]
        if np.all(w >= 0):
            return "not worth serving: routing cost exceeds the demand's value"
    names = [problem.facility_ids[f] for f in problem.arc_facility[arcs][:5]]
    more = "" if arcs.size <= 5 else f" and {arcs.size - 5} more"
    return f"capacity: eligible facilities ({', '.join(names)}{more}) are full"


def build_solution(
    problem: Problem, x: np.ndarray, deployed: np.ndarray | None = None
) -> dict[str, Any]:
    """The solution document of arc fractions ``x`` (A,).

    ``deployed`` (M, F) bool adds deployments beyond those the routes need (a solver may deploy
    a model it routes nothing to); by default exactly the used (model, facility) pairs.
    """
    x = np.where(np.abs(x) < TOL, 0.0, np.clip(x, 0.0, 1.0))
    if problem.single_source:
        x = np.round(x)
    used = np.flatnonzero(x > 0)
    fac = problem.arc_facility[used]
    routes = [
        {
            "demand": problem.demand_ids[int(problem.arc_demand[a])],
            "facility": problem.facility_ids[int(f)],
            "fraction": float(x[a]),
        }
        for a, f in zip(used, fac, strict=True)
    ]
    pairs = set(zip(problem.arc_model[used].tolist(), fac.tolist(), strict=True))
    if deployed is not None:
        pairs |= set(zip(*np.nonzero(deployed), strict=True))
    deployments = [
        {"model": problem.model_ids[int(m)], "facility": problem.facility_ids[int(f)]}
        for m, f in sorted(pairs)
    ]
    open_f = sorted({int(f) for _, f in pairs})
    served = np.bincount(problem.arc_demand[used], weights=x[used], minlength=problem.num_demands)
    refused = [
        {
            "demand": problem.demand_ids[d],
            "fraction": float(round(1.0 - served[d], 12)),
            "reason": refusal_reason(problem, d),
        }
        for d in np.flatnonzero(served < 1.0 - 1e-6).tolist()
    ]
    return {
        "routes": routes,
        "deployments": deployments,
        "open": [problem.facility_ids[f] for f in open_f],
        "refused": refused,
    }


def arcs_from_solution(problem: Problem, solution: dict[str, Any] | None) -> np.ndarray | None:
    """Arc fractions (A,) of a solution document (a warm start); None when it does not fit."""
    if not solution or "routes" not in solution:
        return None
    d_index = {d: k for k, d in enumerate(problem.demand_ids)}
    f_index = {f: k for k, f in enumerate(problem.facility_ids)}
    key = problem.arc_demand * problem.num_facilities + problem.arc_facility
    order = np.argsort(key)
    x = np.zeros(problem.num_arcs)
    for route in solution["routes"]:
        d, f = d_index.get(route.get("demand")), f_index.get(route.get("facility"))
        if d is None or f is None:
            return None
        k = d * problem.num_facilities + f
        pos = np.searchsorted(key, k, sorter=order)
        if pos >= key.size or key[order[pos]] != k:
            return None
        x[order[pos]] = float(route.get("fraction", 1.0))
    return x


def make_result(
    problem: Problem,
    solver: str,
    x: np.ndarray | None,
    *,
    status: Status | None = None,
    bound: float | None = None,
    stats: dict[str, Any] | None = None,
    trace: list[TracePoint] | None = None,
    message: str = "",
    solution: dict[str, Any] | None = None,
) -> Result:
    """The :class:`Result` of arc fractions ``x`` (None: no solution), the one place a QIRCE
    result is built.

    The objective is recomputed from ``x`` in the reported sense (:attr:`Problem.sense`) and the
    solution document built by :func:`build_solution`; ``status`` defaults to ``feasible`` with
    a solution and ``no_solution`` without (``optimal`` is decided from the gap by
    :func:`daitn_opt.result.enforce_contract`). ``solution`` replaces the document (an
    infeasible result names the unservable demand there).

    Example
    -------
    >>> import numpy as np
    >>> from daitn_opt.qirce import Problem
    >>> p = Problem(demand_ids=["d"], facility_ids=["f"], model_ids=["m"], demand_model=[0],
    ...             rate=[1.0], value=[1.0], slo_ms=[50.0], model_memory=[0.0],
    ...             facility_memory=[np.inf], capacity=[1.0], open_cost=[0.0], arc_demand=[0],
    ...             arc_facility=[0], arc_cost=[3.0], arc_load=[1.0], arc_latency=[5.0])
    >>> r = make_result(p, "mine", np.ones(1))
    >>> r.status.value, r.sense, r.objective, r.solution["routes"][0]["facility"]
    ('feasible', 'min', 3.0, 'f')
    """
    objective = None
    if x is not None and (status is None or status.has_solution):
        objective = problem.reported(internal_objective(problem, x))
        if solution is None:
            solution = build_solution(problem, x)
    if status is None:
        status = Status.FEASIBLE if objective is not None else Status.NO_SOLUTION
    return Result.of(
        problem,
        solver,
        status,
        objective=objective,
        bound=bound,
        solution=solution,
        stats=stats,
        trace=trace,
        message=message,
    )


def infeasible_result(problem: Problem, solver: str) -> Result | None:
    """The infeasible result naming the demand that can never be served in full (serve_all)."""
    if problem.mode != "serve_all":
        return None
    bad = problem.unservable()
    if not bad:
        return None
    shown = "; ".join(f"{problem.demand_ids[d]}: {why}" for d, why in list(bad.items())[:5])
    more = "" if len(bad) <= 5 else f" (and {len(bad) - 5} more)"
    return make_result(
        problem,
        solver,
        None,
        status=Status.INFEASIBLE,
        message=f"{len(bad)} demand(s) cannot be served: {shown}{more}",
        solution={"unservable": {problem.demand_ids[d]: why for d, why in bad.items()}},
    )


def trivial_result(problem: Problem, solver: str) -> Result | None:
    """The optimal result of a problem without eligible arcs (nothing to decide), else None:
    every demand refused (admit mode) or nothing to serve; objective 0."""
    if problem.num_arcs:
        return None
    return infeasible_result(problem, solver) or make_result(
        problem,
        solver,
        np.zeros(0),
        status=Status.OPTIMAL,
        bound=0.0,
        message="no eligible (demand, facility) pair: nothing to route",
    )
