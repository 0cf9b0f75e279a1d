"""The proof loops of ``cpsat``: one solve of an exact model, or a relaxation solved to a proof.

For real (non-integral) times the dense model rounds them down: a relaxation, whose bound and
proof of infeasibility hold for the problem. :func:`solve_relaxation` solves it until its optimum
is feasible in real arithmetic, cutting off (no-good) route sets that are not; :func:`refine`
solves it again in finer time units while the rounding leaves a gap above the tolerance.
:func:`solve_once` is the single solve of an exact model or of the sparse restriction.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..registry import SolveOptions
from ..result import Status
from .cpsat_model import CpsatModel, add_hint, add_no_good, build_model, real_bound
from .cpsat_search import CpsatSearch
from .integer_data import UNBOUNDED, IntegerTimes, integer_times, true_violations
from .problem import Problem
from .solution import objective
from .warm_routes import route_set_cost

FINER = 100.0
"""Factor by which the relaxation's time units are refined when its rounding leaves a gap."""

MAX_SCALE = 1e10
"""Finest time units (per time unit) of a refined relaxation (its times also stay below a
quarter of :data:`UNBOUNDED`)."""


def cheapest(problem: Problem, *candidates: list[list[int]] | None) -> list[list[int]] | None:
    """The candidate route set of least cost (None when all are None or empty)."""
    present = [c for c in candidates if c]
    return min(present, key=lambda r: route_set_cost(problem, r)) if present else None


def _finer_pays(
    problem: Problem,
    status: Status,
    routes: list[list[int]] | None,
    bound: float | None,
    it: IntegerTimes,
    options: SolveOptions,
    build_time: float,
) -> bool:
    """A proved relaxation of ``min_time`` with windows whose gap exceeds the tolerance, which
    finer time units could close within the time left."""
    if status != Status.OPTIMAL or problem.objective != "min_time" or not problem.has_windows:
        return False
    # the finer times must stay well below the stand-in for "no limit"
    close = it.close[it.close < UNBOUNDED]
    largest = max(
        it.end_limit if it.end_limit < UNBOUNDED else 0,
        int(close.max()) if close.size else 0,
        int(np.maximum(it.transit, 0).max(axis=1).sum()),
    )
    return (
        not closed_gap(problem, routes, bound)
        and it.scale * FINER <= MAX_SCALE
        and largest * FINER < UNBOUNDED / 4
        and options.remaining() > 4 * build_time + 0.2
    )


def closed_gap(problem: Problem, routes: list[list[int]] | None, bound: float | None) -> bool:
    """The routes' objective is within the gap tolerance of ``bound``."""
    from ..result import relative_gap
    from .certify import GAP_TOL

    if not routes or bound is None:
        return False
    gap = relative_gap(objective(problem, routes), bound)
    return gap is not None and gap <= GAP_TOL


def solve_once(
    search: CpsatSearch, built: CpsatModel, it: IntegerTimes, plan: Any, stats: dict[str, Any]
) -> tuple[Status, float | None, list[list[int]] | None, Status, str]:
    """One solve of an exact model (integer data) or of a restriction (the sparse model, whose
    times are rounded up). Returns ``(status, bound, routes, claimed status, restriction)``."""
    problem, state, hint_routes = search.problem, search.state, search.hint_routes
    status, solver, recorder = search.solve(built, bound_valid=not plan.sparse)
    bound = real_bound(problem, built, solver.best_objective_bound) if status.has_solution else None
    routes = state.routes
    if status.has_solution and routes is None:
        # No solution beat the warm start; CP-SAT's final one is at best as good.
        routes = recorder.last
    if hint_routes and (
        routes is None
        or route_set_cost(problem, hint_routes) < route_set_cost(problem, routes) - 1e-9
    ):
        # The warm start is strictly better than anything CP-SAT returned (or CP-SAT returned
        # nothing): return it. A claim of optimality or infeasibility then held only for the
        # rounded model (the warm start is feasible in real arithmetic), so it is dropped.
        routes = hint_routes
        if status != Status.FEASIBLE:
            bound = None if status != Status.NO_SOLUTION else bound
            status = Status.FEASIBLE
    # A proof about the sparse model (a restriction of the problem) is no proof about the
    # problem: its bound goes to stats only.
    restricted = ""
    if plan.sparse:
        restricted = f"sparse model ({plan.neighbours} nearest neighbours per node)"
        if not it.exact:
            restricted += f", times scaled by {it.scale:g} and rounded up"
        stats["restricted_bound"] = bound
        bound = None
        if status == Status.INFEASIBLE:
            status = Status.NO_SOLUTION
    claimed = status
    return status, bound, routes, claimed, restricted


def solve_relaxation(
    search: CpsatSearch,
    built: CpsatModel,
    it: IntegerTimes,
    build_time: float,
    stats: dict[str, Any],
) -> tuple[Status, float | None, list[list[int]] | None, str]:
    """Solve the relaxation (times rounded down) until its optimum is feasible in real arithmetic.

    Every solve's bound is a bound of the problem (the relaxation admits every feasible route;
    a no-good cut only removes route sets that are infeasible in real arithmetic), and the
    tightest is kept. A solution of the relaxation becomes an incumbent only when it is feasible
    in real arithmetic. When the relaxation's optimum is not, it is cut off (with the other
    infeasible solutions seen) and the relaxation is solved again; while there is no incumbent
    at all, the restriction (times rounded up) is solved once for one. Returns ``(status,
    bound, routes, note)``: ``optimal`` when a relaxation was proved optimal with a feasible
    optimum (``settle`` then checks the gap), ``infeasible`` when the relaxation is.
    """
    problem, options, state = search.problem, search.options, search.state
    hint_routes = search.hint_routes
    sense = problem.sense
    bounds: list[float] = []
    cuts = 0
    proved = infeasible = False
    tried_restriction = False
    note = ""
    while True:
        status, solver, recorder = search.solve(built, verify=True)
        raw = real_bound(problem, built, solver.best_objective_bound)
        if status == Status.INFEASIBLE:
            infeasible = True
            break
        if raw is not None and status in (Status.OPTIMAL, Status.FEASIBLE, Status.NO_SOLUTION):
            bounds.append(raw)
        if not status.has_solution or recorder.last is None:
            break
        late, over = true_violations(problem, recorder.last)
        if not late and not over:
            proved = status == Status.OPTIMAL
            break
        if status != Status.OPTIMAL or options.remaining() < 0.05:
            break
        # The relaxation's optimum fails in real arithmetic: cut it (and every other failing
        # solution of this solve) off, and solve again.
        failing = recorder.rejected
        if not any(routes == recorder.last for routes, _, _ in failing):
            failing = [*failing, (recorder.last, late, over)]
        for routes, bad, _ in failing:
            add_no_good(built, problem, routes, bad)
            cuts += 1
        built.model.clear_hints()
        best = state.routes or hint_routes
        if best:
            add_hint(problem, built, it, best)
        elif not tried_restriction and options.remaining() > 3 * build_time + 0.1:
            # No feasible routes yet: the restriction (times rounded up) gives some.
            tried_restriction = True
            up = build_model(problem, integer_times(problem, it.scale, up=True))
            search.solve(up, verify=True, bound_valid=False, limit=0.5 * options.remaining())
            stats["restriction_solved"] = True
            if state.routes:
                add_hint(problem, built, it, state.routes)
    stats["relaxation"] = {"cuts": cuts, "bounds": bounds}
    routes = state.routes or (hint_routes or None)
    bound = (min(bounds) if sense == "max" else max(bounds)) if bounds else None
    if infeasible:
        if routes is None:
            return Status.INFEASIBLE, None, None, ""
        # Cannot happen (the incumbent is feasible, so the relaxation admits it): say so.
        note = "the relaxation was reported infeasible although a feasible route is known"
        return Status.FEASIBLE, None, routes, note
    if routes is None:
        return Status.NO_SOLUTION, bound, None, ""
    if cuts:
        note = f"{cuts} route set(s) of the relaxation infeasible in real arithmetic cut off"
    from .check import check

    # The answer (and any claim resting on it) must pass the independent checker as well.
    if not check(problem, {"routes": [[problem.ids[v] for v in r] for r in routes]}).ok:
        proved = False
        routes = hint_routes or None  # the warm start passed it already
        if routes is None:
            return Status.NO_SOLUTION, bound, None, note
    return (Status.OPTIMAL if proved else Status.FEASIBLE), bound, routes, note


def refine(
    search: CpsatSearch, built: CpsatModel, it: IntegerTimes, build_time: float, stats: dict
) -> tuple[Status, float | None, list[list[int]] | None, str]:
    """:func:`solve_relaxation`, then again in finer time units while that pays.

    Completion times in units of ``1 / scale`` (``min_time`` with windows) can leave a proved
    relaxation's optimum feasible but with a gap above the tolerance: it is solved again in units
    :data:`FINER` times finer (every bound is the problem's). A claimed optimum whose gap stays
    open is reported ``feasible`` with a note. Returns ``(status, bound, routes, note)``.
    """
    problem, options, state = search.problem, search.options, search.state
    hint_routes = search.hint_routes
    status, bound, routes, note = solve_relaxation(search, built, it, build_time, stats)
    while _finer_pays(problem, status, routes, bound, it, options, build_time):
        t0 = time.perf_counter()
        it = integer_times(problem, it.scale * FINER, up=False)
        built = build_model(problem, it)
        build_time = time.perf_counter() - t0
        search.hint_routes = cheapest(problem, state.routes, hint_routes)
        if search.hint_routes:
            add_hint(problem, built, it, search.hint_routes)
        stats["time_scale"], stats["refined"] = it.scale, stats.get("refined", 0) + 1
        again, finer, found, note = solve_relaxation(search, built, it, build_time, stats)
        if finer is not None:
            bound = finer if bound is None else max(bound, finer)
        routes = found or routes
        status = again if again == Status.OPTIMAL else Status.FEASIBLE
    if status == Status.OPTIMAL and not closed_gap(problem, routes, bound):
        gap_note = (
            "the relaxation's optimum is feasible, but completion times in units of "
            f"1/{it.scale:g} leave a gap above the tolerance"
        )
        status, note = Status.FEASIBLE, "; ".join(m for m in (note, gap_note) if m)
    return status, bound, routes, note
