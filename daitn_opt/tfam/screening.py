"""Batches decided before any search, and results that a restricted batch must qualify.

Every T-FAM solver, heuristic or exact, answers some batches without searching
(:func:`screen`): a must-admit request without a plan (``Problem.infeasible``) or must-admit
requests whose least uses alone over-subscribe a resource (:func:`~.solution.must_admit_conflict`)
make the batch ``infeasible``; a batch without any plannable request is ``optimal`` with nothing
admitted. :func:`restricted_by_time` withdraws a proof that holds only for a batch cut short by
plan generation's time limit. :func:`infeasible_message` names the must-admit requests that
cannot all be admitted together when a solver has proved the batch infeasible.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

import highspy
import numpy as np

from ..registry import SolveOptions
from ..result import Result, Status
from .model_arrays import highs_lp, model_arrays
from .problem import OUT_OF_TIME, Problem, build
from .solution import make_result, must_admit_conflict


def screen(problem: Problem, solver: str) -> Result | None:
    """The result of a batch decided before any search (None: search).

    ``infeasible`` with the reason when a must-admit request has no plan or the must-admit
    requests' least uses over-subscribe a resource; ``optimal`` with nothing admitted when no
    request has a plan (qualified by :func:`restricted_by_time`).
    """
    if problem.infeasible is not None:
        return make_result(
            problem, solver, None, status=Status.INFEASIBLE, message=problem.infeasible
        )
    if problem.n_requests == 0:
        empty = make_result(
            problem,
            solver,
            np.zeros(0, dtype=np.int64),
            status=Status.OPTIMAL,
            bound=0.0,
            message="no request has a plan: nothing to admit",
        )
        return restricted_by_time(problem, empty)
    conflict = must_admit_conflict(problem)
    if conflict is not None:
        return make_result(problem, solver, None, status=Status.INFEASIBLE, message=conflict[1])
    return None


def screened(
    fn: Callable[[Problem, SolveOptions], Result],
) -> Callable[[Problem, SolveOptions], Result]:
    """Decorator of a T-FAM solver function ``solve_<name>``: :func:`screen` first, and the
    search's result qualified by :func:`restricted_by_time`."""
    name = fn.__name__.removeprefix("solve_")

    @functools.wraps(fn)
    def run(problem: Problem, options: SolveOptions) -> Result:
        decided = screen(problem, name)
        if decided is not None:
            return decided
        return restricted_by_time(problem, fn(problem, options))

    return run


def restricted_by_time(problem: Problem, result: Result) -> Result:
    """Withdraw a proof that holds only for a batch cut short by plan generation's time limit.

    Requests that plan generation did not reach in time might have had plans: the batch is a
    restriction of the instance's, so its bound is no bound of the instance and its optimum is
    not the instance's. The bound moves to ``stats["restricted_bound"]``, the status becomes
    ``feasible`` and the message names how many requests were left out. Modifies ``result``.
    """
    timed_out = [r for r, why in (problem.unplannable or {}).items() if OUT_OF_TIME in why]
    if not timed_out or not result.status.has_solution:
        return result
    if result.bound is not None:
        result.stats["restricted_bound"] = result.bound
    result.bound = None
    result.gap = None
    result.status = Status.FEASIBLE
    note = (
        f"{len(timed_out)} request(s) not planned within the time limit "
        f"({', '.join(timed_out[:3])}{', ...' if len(timed_out) > 3 else ''}): "
        "the batch was restricted, optimality is not claimed"
    )
    result.message = f"{result.message}; {note}" if result.message else note
    return result


def conflicting_must_admit(problem: Problem, time_limit: float = 10.0) -> list[str] | None:
    """An irreducible set of must-admit requests that cannot all be admitted together.

    Deletion filter: start from every must-admit request and drop each one whose removal leaves
    the rest still impossible; what remains is infeasible while every proper subset fits (as far
    as each small feasibility MIP decides within the time left). None when they do fit.
    """
    deadline = time.perf_counter() + time_limit
    must = np.flatnonzero(problem.must_admit).tolist()

    def infeasible(subset: list[int]) -> bool | None:
        plans = np.concatenate([np.arange(*problem.plan_start[[r, r + 1]]) for r in subset])
        sub = build(
            [problem.request_ids[r] for r in subset],
            np.repeat(np.arange(len(subset)), np.diff(problem.plan_start)[subset]),
            problem.value[plans],
            problem.use[plans],
            problem.capacity,
            resource_ids=problem.resource_ids,
            must_admit=np.ones(len(subset), bool),
        )
        h = highs_lp(sub, model_arrays(sub))
        h.setOptionValue("time_limit", max(0.1, deadline - time.perf_counter()))
        h.run()
        if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
            return True
        if h.getInfo().primal_solution_status == 2:
            return False
        return None  # undecided within the time left

    if not must or infeasible(must) is not True:
        return None
    core = list(must)
    for r in list(must):
        if time.perf_counter() > deadline:
            break
        trial = [x for x in core if x != r]
        if trial and infeasible(trial) is True:
            core = trial
    return [problem.request_ids[r] for r in core]


def infeasible_message(problem: Problem, time_limit: float) -> str:
    """Why the batch is infeasible, naming the must-admit requests that cannot all fit."""
    quick = must_admit_conflict(problem)
    if quick is not None:
        return quick[1]
    core = conflicting_must_admit(problem, time_limit)
    if core:
        return f"must-admit requests {core} cannot all be admitted together"
    return "the must-admit requests cannot all be admitted together"
