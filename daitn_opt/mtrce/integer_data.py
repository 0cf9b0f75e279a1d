"""Integer time units for the OR-Tools models: scale and round the problem's times one way.

CP-SAT (:mod:`.cpsat`) and the routing library (:mod:`.routing`) work in integers. The problem's
times are scaled to units of ``1 / scale`` and rounded *up* (a restriction: every route accepted
in integers is feasible in real arithmetic) or *down* (a relaxation: every route the checker
accepts is accepted, so a bound or a proof of infeasibility holds for the problem);
:class:`IntegerTimes` states the induction. :func:`true_violations` judges routes in real
arithmetic with the independent checker's tolerance, which is how a relaxation's solutions are
accepted or cut off.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .problem import Problem
from .solution import schedule, windows

TARGET_RESOLUTION = 1e8
"""Auto scale: the largest power of ten (at most 1e6) that keeps the horizon below this."""


RELAX_TOL = 1e-6
"""The independent checker's tolerance on times and budgets (relative to ``max(1, |limit|)``)."""


UNBOUNDED = 2**40
"""Stand-in for an infinite integer limit (far below CP-SAT's int64 range)."""


# --- integer data ------------------------------------------------------------------------------
def is_integral(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return bool(np.all(np.abs(finite - np.round(finite)) <= 1e-9))


def ceil_units(x: np.ndarray | float) -> np.ndarray:
    # Subtract a hair before ceil so that 3.0000000000004 (float noise on integer data) stays 3.
    return np.ceil(np.asarray(x, dtype=np.float64) - 1e-9)


def floor_units(x: np.ndarray | float) -> np.ndarray:
    return np.floor(np.asarray(x, dtype=np.float64) + 1e-9)


@dataclass(frozen=True)
class IntegerTimes:
    """The problem's times as integers in units of ``1 / scale``, rounded one way.

    Rounded up (``up``, a restriction): ``transit[i, j] = ceil(scale * (service[i] +
    travel[i, j]))`` (-1 where travel is infinite), ``open = ceil(scale * a)``, ``close =
    floor(scale * b)``, ``start = ceil(scale * max(0, a[s]))`` (service start at ``s``),
    ``end_limit = floor(scale * min(b[e], T - d[e] - verify))`` (latest arrival at ``e``) and
    ``end_tail = ceil(scale * (d[e] + verify))``. By induction along a route, ``scale *`` the
    real service start at every node is at most the integer one, so an accepted route is
    feasible in real arithmetic; a route whose slack is below about (arcs on it) / scale can be
    missed.

    Rounded down (``up`` False, a relaxation): transit, openings, the start and the tail
    rounded down, each limit ``L`` replaced by ``floor(scale * (L + 2e-6 max(1, |L|)))`` (twice
    the checker's tolerance). By the same induction the integer service start is at most
    ``scale *`` the real one, so every route the checker accepts is accepted; the model may also
    accept routes infeasible in real arithmetic, by up to about (arcs) / scale.

    With integer data ``scale == 1`` (with at most four decimals, the matching power of ten),
    nothing is rounded (``exact``) and both directions are the same model.
    """

    scale: float
    exact: bool
    transit: np.ndarray
    open: np.ndarray
    close: np.ndarray
    start: int
    end_limit: int
    end_tail: int
    up: bool = True
    """Rounded for safety (a restriction); False: rounded the other way (a relaxation)."""

    @property
    def finite(self) -> np.ndarray:
        return self.transit >= 0


def relax_slack(limit: float) -> float:
    """How far the relaxation lets a limit be exceeded: twice the checker's tolerance
    (``1e-6 * max(1, |limit|)``, :mod:`daitn_opt.mtrce.check`), the second half for
    floating-point error in the sums, so that every route the checker accepts stays feasible."""
    return 2.0 * RELAX_TOL * max(1.0, abs(limit))


def integer_times(problem: Problem, scale: float | None = None, up: bool = True) -> IntegerTimes:
    """Scale and round the problem's times (see :class:`IntegerTimes`).

    ``scale`` None picks the smallest power of ten (up to 1e4) that makes the data integer, else
    the largest power of ten up to 1e6 that keeps the horizon at most :data:`TARGET_RESOLUTION`
    units. ``up`` (default) rounds transit up and limits down (a restriction of the problem);
    ``up=False`` rounds transit, openings and the start down and limits (plus the checker's
    tolerance, :func:`relax_slack`) down, a relaxation: by induction along a route the integer
    service start at every node is at most ``scale`` times the real one, so every route
    feasible in real arithmetic (within the checker's tolerance) is accepted. For exact data
    both directions give the same integers.
    """
    a, b = windows(problem)
    travel = np.asarray(problem.travel, dtype=np.float64)
    service = np.asarray(problem.service, dtype=np.float64)
    s, e = problem.start, problem.end
    start_real = max(0.0, float(a[s]))
    deadline = float(problem.deadline)
    tail_real = float(service[e]) + float(problem.verify_time)
    end_real = min(float(b[e]), deadline - tail_real)
    values = np.concatenate(
        [
            travel.ravel(),
            service,
            a,
            b,
            [float(problem.deadline), float(problem.verify_time)],
        ]
    )
    # A sample rules out most scales at once; only a scale the sample passes is checked in full
    # (the full check is 5 passes over n^2 values: 1.3 s on rgg-2000).
    sample = values[:: max(1, len(values) // 4096)]
    decimals = next(
        (d for d in range(5) if is_integral(sample * 10.0**d) and is_integral(values * 10.0**d)),
        None,
    )
    exact = decimals is not None
    if scale is None:
        if exact:
            # Integer data, or data with at most 4 decimals (e.g. distances cut to 0.1): exact.
            scale = float(10**decimals)
        else:
            finite_travel = np.where(np.isfinite(travel), travel, 0.0)
            horizon = end_real if math.isfinite(end_real) else 0.0
            horizon = max(horizon, float(finite_travel.max(axis=1).sum() + service.sum()), 1.0)
            scale = float(
                10 ** int(np.clip(math.floor(math.log10(TARGET_RESOLUTION / horizon)), 0, 6))
            )
    exact = exact and float(scale).is_integer() and is_integral(values * scale)
    if up or exact:
        lower, upper = (
            ceil_units,
            floor_units,
        )  # round transit up, limits down (no-op for exact data)
        close_real, end_lim = b, end_real
    else:
        lower, upper = np.floor, floor_units  # transit and openings down, limits (+ slack) down
        slack_b = 2.0 * RELAX_TOL * np.maximum(1.0, np.abs(np.where(np.isfinite(b), b, 0.0)))
        close_real = b + slack_b
        end_lim = min(
            float(b[e]) + relax_slack(float(b[e])), deadline + relax_slack(deadline) - tail_real
        )
    with np.errstate(invalid="ignore"):
        transit = lower(scale * (service[:, None] + travel))
    transit = np.where(np.isfinite(transit), transit, -1).astype(np.int64)
    np.fill_diagonal(transit, -1)
    open_ = lower(scale * a).astype(np.int64)
    finite_b = np.isfinite(close_real)
    close = np.where(finite_b, upper(scale * np.where(finite_b, close_real, 0)), UNBOUNDED)
    end_limit = int(upper(scale * end_lim)) if math.isfinite(end_lim) else UNBOUNDED
    return IntegerTimes(
        scale=float(scale),
        exact=exact,
        transit=transit,
        open=open_,
        close=close.astype(np.int64),
        start=int(lower(scale * start_real)),
        end_limit=min(end_limit, UNBOUNDED),
        end_tail=int(lower(scale * tail_real)),
        up=up or exact,
    )


def integer_weights(values: np.ndarray, max_total: float = 1e12) -> tuple[np.ndarray, float]:
    """Integer weights ``round(values * factor)`` and the factor (1 for integer data)."""
    values = np.asarray(values, dtype=np.float64)
    if is_integral(values):
        return np.round(values).astype(np.int64), 1.0
    total = max(float(np.abs(values).sum()), 1e-12)
    factor = float(10 ** int(np.clip(math.floor(math.log10(max_total / total)), 0, 6)))
    return np.round(values * factor).astype(np.int64), factor


def is_late(problem: Problem, route: Sequence[int]) -> bool:
    """The route misses a window, a leg or the deadline beyond the checker's tolerance
    (:data:`RELAX_TOL` relative to ``max(1, |limit|)``), on the schedule of
    :func:`daitn_opt.mtrce.solution.schedule`."""
    _, starts, completion, _ = schedule(problem, route)
    _, b = windows(problem)
    close = b[np.asarray(route, dtype=np.int64)]
    tol = RELAX_TOL * np.maximum(1.0, np.abs(np.where(np.isfinite(close), close, 0.0)))
    deadline = float(problem.deadline)
    return bool(
        not np.all(np.isfinite(starts))
        or np.any(starts > close + tol)
        or not math.isfinite(completion)
        or completion > deadline + RELAX_TOL * max(1.0, abs(deadline))
    )


def true_violations(problem: Problem, routes: Sequence[Sequence[int]]) -> tuple[list[int], bool]:
    """Where index routes break the problem in real arithmetic, with the independent checker's
    tolerance (so that the relaxation, which admits every route the checker accepts, is only
    cut where the checker would refuse): the positions of the routes that miss a window, a leg
    or the deadline (:func:`is_late`), and whether the budget is exceeded."""
    from .solution import route_cost

    # the routes that run (as in used_routes): those with inner nodes, else the first idle one
    used = [k for k, r in enumerate(routes) if len(r) > 2] or ([0] if routes else [])
    late = [k for k in used if is_late(problem, routes[k])]
    over = False
    if problem.budget is not None:
        budget = float(problem.budget)
        over = route_cost(problem, routes) > budget + RELAX_TOL * max(1.0, abs(budget))
    return late, over
