"""Solver-side helpers shared by every T-FAM solver: encode/decode solutions, loads, results.

A solution inside the solvers is ``choice``: an (R,) integer array holding, per request, the
global index of its chosen plan or -1 when refused. This module is solver code; the independent
checker (:mod:`daitn_opt.tfam.check`) shares nothing with it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import InputError
from ..result import Result, Status, TracePoint, bound_tolerance
from .problem import Problem

EPS = 1e-9
"""Slack on capacities when testing whether a plan fits (relative to max(1, capacity))."""


def slack(problem: Problem) -> np.ndarray:
    """(K,) capacities plus the numerical slack every solver allows."""
    return problem.capacity + EPS * np.maximum(1.0, problem.capacity)


def load_of(problem: Problem, choice: np.ndarray) -> np.ndarray:
    """(K,) resource load of the chosen plans."""
    plans = choice[choice >= 0]
    if plans.size == 0:
        return np.zeros(problem.n_resources)
    return np.asarray(problem.use[plans].sum(axis=0)).ravel()


def objective_of(problem: Problem, choice: np.ndarray) -> float:
    return math.fsum(problem.value[choice[choice >= 0]].tolist())


def plan_entry(problem: Problem, r: int, p: int) -> dict[str, Any]:
    """What plan ``p`` of request ``r`` does, as the solution states it (``solution["plans"]``).

    ``{"request", "plan" (index within the request), "clients" (federated) or "route"
    (sequential, start and end included), "start", "finish", "label"}``; ``start`` and ``finish``
    are seconds after the snapshot time (None when the batch does not know them), ``clients`` and
    ``route`` are present only for plans generated from a snapshot.
    """
    entry: dict[str, Any] = {
        "request": problem.request_ids[r],
        "plan": int(p - problem.plan_start[r]),
    }
    detail = problem.plan_details[p] if problem.plan_details is not None else {}
    for key in ("clients", "route"):
        if key in detail:
            entry[key] = list(detail[key])
    entry["start"] = detail.get("start")
    done = None if problem.finish is None else float(problem.finish[p])
    entry["finish"] = None if done is None or math.isnan(done) else float(problem.arrival[r]) + done
    entry["label"] = problem.plan_labels[p] if problem.plan_labels is not None else ""
    return entry


def to_solution(problem: Problem, choice: np.ndarray) -> dict[str, Any]:
    """``{"admitted": {id: plan_index_within_request}, "refused": [ids], "plans": [...]}``.

    ``plans`` describes each admitted request's plan (:func:`plan_entry`), in request order, so
    that the decision can be executed without the problem (replay reads it).
    """
    admitted: dict[str, int] = {}
    refused: list[str] = []
    plans: list[dict[str, Any]] = []
    for r, p in enumerate(choice.tolist()):
        if p >= 0:
            admitted[problem.request_ids[r]] = int(p - problem.plan_start[r])
            plans.append(plan_entry(problem, r, int(p)))
        else:
            refused.append(problem.request_ids[r])
    solution: dict[str, Any] = {"admitted": admitted, "refused": refused, "plans": plans}
    if problem.unplannable:
        solution["unplannable"] = dict(problem.unplannable)
    return solution


def from_solution(problem: Problem, solution: dict[str, Any]) -> np.ndarray:
    """Decode a solution (e.g. a warm start) into ``choice``; an InputError when malformed."""
    admitted = solution.get("admitted") if isinstance(solution, dict) else None
    if not isinstance(admitted, dict):
        raise InputError("initial", type(solution).__name__, "expected {'admitted': {...}}")
    index = problem.request_index()
    choice = np.full(problem.n_requests, -1, dtype=np.int64)
    for rid, k in admitted.items():
        if rid not in index:
            raise InputError("initial.admitted", rid, "is not a request of the batch")
        r = index[rid]
        n = int(problem.plan_start[r + 1] - problem.plan_start[r])
        if not isinstance(k, int) or not 0 <= k < n:
            raise InputError(f"initial.admitted[{rid!r}]", k, f"plan index must be in 0..{n - 1}")
        choice[r] = int(problem.plan_start[r]) + k
    return choice


def is_feasible(problem: Problem, choice: np.ndarray) -> bool:
    if np.any(problem.must_admit & (choice < 0)):
        return False
    return bool(np.all(load_of(problem, choice) <= slack(problem)))


def must_admit_conflict(problem: Problem) -> tuple[list[str], str] | None:
    """A quick certificate that the must-admit requests cannot all fit, or None.

    For every resource, each must-admit request uses at least the minimum of its plans' uses;
    when those minima alone exceed a capacity, no choice of plans fits. Returns the requests that
    use the resource and a sentence saying so.
    """
    must = np.flatnonzero(problem.must_admit)
    if must.size == 0:
        return None
    total = np.zeros(problem.n_resources)
    minima: list[tuple[np.ndarray, np.ndarray]] = []
    for r in must:
        block = problem.use[problem.plan_start[r] : problem.plan_start[r + 1]]
        cols = np.unique(block.indices)
        least = block[:, cols].toarray().min(axis=0) if cols.size else np.zeros(0)
        keep = least > 0
        minima.append((cols[keep], least[keep]))
        np.add.at(total, cols[keep], least[keep])
    over = np.flatnonzero(total > slack(problem))
    if over.size == 0:
        return None
    k = int(over[np.argmax(total[over] - problem.capacity[over])])
    names = [
        problem.request_ids[int(r)] for r, (cols, _) in zip(must, minima, strict=True) if k in cols
    ]
    reason = (
        f"must-admit requests {names} need at least {total[k]:g} of resource "
        f"{problem.resource_ids[k]!r} whose capacity is {problem.capacity[k]:g}"
    )
    return names, reason


def make_result(
    problem: Problem,
    solver: str,
    choice: np.ndarray | None,
    *,
    status: Status,
    bound: float | None = None,
    trace: list[TracePoint] | None = None,
    stats: dict[str, Any] | None = None,
    message: str = "",
) -> Result:
    """The :class:`Result` of an admission ``choice`` (None: no solution).

    Parameters
    ----------
    problem : Problem
        The batch.
    solver : str
        The solver's registered name.
    choice : (R,) int array or None
        Per request, the global index of its chosen plan, or -1 when refused.
    status, bound, trace, stats, message
        The result's fields; ``bound`` is an upper bound on the optimal admitted value.

    Returns
    -------
    Result
        Objective: the admitted plans' summed value; solution: ``admitted``, ``refused`` and the
        admitted ``plans`` described (:func:`to_solution`). A bound below the objective by at
        most the bound tolerance is clamped to it; a larger crossing is left for the contract.

    Examples
    --------
    >>> import numpy as np
    >>> from daitn_opt.result import Status
    >>> from daitn_opt.tfam import build
    >>> p = build(["a", "b"], [0, 1], [3.0, 4.0], [[1.0], [1.0]], [1.0])
    >>> r = make_result(p, "mine", np.array([-1, 1]), status=Status.FEASIBLE, bound=4.0)
    >>> r.objective, r.solution["admitted"], r.solution["refused"]
    (4.0, {'b': 0}, ['a'])
    """
    objective = None
    solution: dict[str, Any] = {}
    if choice is not None and status.has_solution:
        objective = objective_of(problem, choice)
        solution = to_solution(problem, choice)
        # A solver's bound can sit below the incumbent by its tolerance: clamp only that. A
        # larger crossing is left as it is, so that the result contract
        # (``enforce_contract``) drops it and records the defect: a wrong bound is a bug
        # to report, not to hide.
        if bound is not None and objective - bound_tolerance(objective) <= bound < objective:
            bound = objective
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
