"""One rule for the status and the bound every exact MTRCE solver reports.

A solver's own claim ("optimal", a dual bound) is checked against the incumbent it returns, whose
objective is recomputed from the problem's arrays:

- the bound must lie on the correct side of the objective (``min``: bound <= objective; ``max``:
  bound >= objective). A bound that crosses the objective by no more than :data:`GAP_TOL`
  (relative) is numerical noise around a proof, and is set to the objective; a bound that
  crosses it by more is not a valid bound (a solver's tolerances, a rounding, a cutoff) and is
  dropped, with a note saying so;
- the status is ``optimal`` exactly when the relative gap (:func:`daitn_opt.result.relative_gap`)
  is at most :data:`GAP_TOL`; a solver that claims optimality without such a bound reports
  ``feasible``.

Example
-------
>>> settle("min", 100.0, 99.99995, Status.FEASIBLE)[0].value  # gap 5e-7: proved
'optimal'
>>> settle("min", 100.0, 101.0, Status.OPTIMAL)[:2]  # a bound above a minimum is no bound
(<Status.FEASIBLE: 'feasible'>, None)
"""

from __future__ import annotations

import math

from ..result import Status, relative_gap

GAP_TOL = 1e-6
"""Relative gap at or below which a solution counts as proved optimal."""


def crosses(sense: str, objective: float, bound: float) -> bool:
    """The bound is strictly on the wrong side of the objective (beyond :data:`GAP_TOL`)."""
    wrong = bound > objective if sense == "min" else bound < objective
    gap = relative_gap(objective, bound)
    return wrong and gap is not None and gap > GAP_TOL


def settle(
    sense: str, objective: float | None, bound: float | None, status: Status
) -> tuple[Status, float | None, str]:
    """The consistent ``(status, bound, note)`` of a run that ends with ``objective``.

    ``note`` is empty unless the solver's claim had to be corrected; it is meant for the
    result's message.
    """
    status = Status(status)
    if bound is not None and not math.isfinite(bound):
        bound = None
    if objective is None or not status.has_solution:
        return status, bound, ""
    note = ""
    if bound is not None:
        wrong = bound > objective if sense == "min" else bound < objective
        if wrong and crosses(sense, objective, bound):
            note = (
                f"the solver's bound {bound:.10g} crosses the objective {objective:.10g}: "
                "not a valid bound (numerical tolerance), discarded"
            )
            bound = None
        elif wrong:
            bound = objective
    gap = relative_gap(objective, bound)
    proved = gap is not None and gap <= GAP_TOL
    if status == Status.OPTIMAL and not proved:
        note = note or "the solver reported optimal without a bound that proves it"
        status = Status.FEASIBLE
    elif status == Status.FEASIBLE and proved:
        status = Status.OPTIMAL
    return status, bound, note


def round_bound(bound: float, sense: str) -> float:
    """Round a valid bound of an integral objective to the integer it proves.

    The bound comes from floating-point LP and MIP solves whose tolerances make it exceed (min)
    the true value by a small relative amount, so it is first moved back by ``1e-6`` relative
    (and at least ``1e-6``) before rounding: rounding with an absolute ``1e-6`` turned 26524.00003
    into 26525 above the optimum 26524 of a relabelled kroA150.
    """
    slack = min(0.25, 1e-6 * max(1.0, abs(bound)))
    if sense == "min":
        return float(math.ceil(bound - slack))
    return float(math.floor(bound + slack))


ROUTE_OBJECTIVES = ("max_utility", "min_time")
"""Objectives the route models (highs, pyomo, cpsat, routing) are written for."""


def route_objective_reason(problem) -> str | None:
    """Why a route model cannot solve ``problem`` (its objective), or None."""
    objective = getattr(problem, "objective", None)
    if objective is None:  # e.g. a TAG problem: a route problem plus epoch choices
        return f"a {type(problem).__name__} is not a route problem; use its own solvers"
    if objective in ROUTE_OBJECTIVES:
        return None
    from .problem import solvers_of

    return (
        f"objective {problem.objective!r} is not modelled (only {', '.join(ROUTE_OBJECTIVES)}); "
        f"use {solvers_of(objective)}"
    )
