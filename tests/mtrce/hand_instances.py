"""Hand-checkable MTRCE instances (4-6 nodes) whose optimum each docstring derives.

Every node sits on a line at position ``x``, travel time is ``|x_i - x_j|`` and ids are
``n0, n1, ...``. A closed route from 0 covering the leftmost point ``L <= 0`` and the rightmost
``R >= 0`` has length at least ``2 (R - L)``, reached by sweeping right then left; that is the
argument every derivation below uses.
"""

from __future__ import annotations

import numpy as np

from daitn_opt.mtrce import Problem


def line(positions, utility, *, start=0, end=None, **kw) -> Problem:
    """Nodes on a line at ``positions``; travel = distance; no service unless given."""
    x = np.asarray(positions, dtype=np.float64)
    n = len(x)
    kw.setdefault("service", np.zeros(n))
    return Problem(
        ids=[f"n{i}" for i in range(n)],
        start=start,
        end=start if end is None else end,
        travel=np.abs(x[:, None] - x[None, :]),
        utility=np.asarray(utility, dtype=np.float64),
        **kw,
    )


def tsp5() -> tuple[Problem, float]:
    """TSP on cities at 0, 3, 1, 4, 2: optimum 8.

    The tour must reach 4 and come back to 0: at least 8; 0-1-2-3-4-0 is 8.
    """
    p = line([0, 3, 1, 4, 2], np.zeros(5), objective="min_time", mandatory=np.arange(1, 5))
    return p, 8.0


def op5() -> tuple[Problem, float]:
    """OP, s = e at 0 (utility 1), customers at -2 (u 5), 1 (u 2), 3 (u 4), 4 (u 3); deadline 10.

    ``2 (R - L) <= 10``. L = -2 forces R <= 3: {-2, 1, 3} = 11; L = 0 allows R = 4: 2 + 4 + 3 = 9.
    Optimum 11 plus the start's own utility 1 (counted once): 12.
    """
    return line([0, -2, 1, 3, 4], [1, 5, 2, 4, 3], deadline=10.0), 12.0


def optw5() -> tuple[Problem, float]:
    """OPTW: the op5 line, service 1 at customers, windows [5, 6] at x = 1 and [0, 2] at x = 3.

    x = 3 is 3 away and closes at 2: never. -2 then 1: at -2 at 2, leave 3, at 1 at 6 (window
    ok), leave 7, home 8 <= 10: 5 + 2 = 7. Every other pair misses: 1 then -2 (wait to 5, leave 6,
    at -2 at 9, leave 10, home 12); -2 and 4 in either order (14); 1 then 4 (leave 6, at 4 at 9,
    leave 10, home 14); 4 then 1 (at 1 at 8 > 6). Singles give at most 5. Optimum 7 + start's 1 = 8.
    """
    p, _ = op5()
    a = np.array([0, 0, 5, 0, 0], dtype=np.float64)
    b = np.array([np.inf, np.inf, 6, 2, np.inf])
    return p.replace(service=np.array([0, 1, 1, 1, 1.0]), window_open=a, window_close=b), 8.0


def top6() -> tuple[Problem, float]:
    """TOP, k = 2, s = e at 0, customers at -3 (u 4), -1 (u 1), 2 (u 3), 3 (u 5), 4 (u 6); 6 each.

    A route needs ``2 (R - L) <= 6``: x = 4 is out; the best single routes are {2, 3} (u 8),
    {-3, -1} (u 5), {-1, 2} (u 4). Two disjoint routes: {2, 3} + {-3, -1} = 13, and no pair does
    better (any route with 3 also needs R - L <= 3, so L >= 0). Optimum 13.
    """
    return line([0, -3, -1, 2, 3, 4], [0, 4, 1, 3, 5, 6], deadline=6.0, k=2), 13.0


def budget4() -> tuple[Problem, float]:
    """OP with a budget: s = e at 0, customers at 1 (u 3), 2 (u 4), -1 (u 2); no deadline.

    Cost = travel distance + 1 per visited customer, budget 6. {1, 2}: 4 + 2 = 6 (u 7);
    {1, -1}: 4 + 2 = 6 (u 5); {2, -1}: 6 + 2 = 8; all three: 6 + 3 = 9. Optimum 7.
    """
    x = np.array([0, 1, 2, -1.0])
    return line(
        x,
        [0, 3, 4, 2],
        budget=6.0,
        visit_cost=np.array([0, 1, 1, 1.0]),
        travel_cost=np.abs(x[:, None] - x[None, :]),
    ), 7.0


def mandatory5() -> tuple[Problem, float]:
    """The op5 line with x = 4 mandatory: R = 4 forces ``L >= -1``, so L = 0: {1, 3, 4} = 9.

    With the start's utility 1: optimum 10 (instead of 12 without the mandatory node).
    """
    p, _ = op5()
    return p.replace(mandatory=np.array([4])), 10.0


def path6() -> tuple[Problem, float]:
    """OP from s at 0 to a different end e at 5; customers at 2 (u 3), -1 (u 4), 7 (u 10), 3 (u 2).

    A path from 0 to 5 reaching L <= 0 and R >= 5 has length ``5 - 2 L + 2 (R - 5)``; deadline 7.
    L = -1, R = 5: length 7, {2, -1, 3} = 9. Reaching 7 needs 9 > 7. L = 0: {2, 3} = 5.
    Optimum 9.
    """
    return line([0, 5, 2, -1, 7, 3], [0, 0, 3, 4, 10, 2], end=1, deadline=7.0), 9.0


SOLVABLE = {
    "tsp5": tsp5,
    "op5": op5,
    "optw5": optw5,
    "top6": top6,
    "budget4": budget4,
    "mandatory5": mandatory5,
    "path6": path6,
}
"""Name -> builder returning ``(problem, optimum)``."""


def infeasible_deadline() -> Problem:
    """s at 0, e at 5, deadline 3: the direct trip alone takes 5."""
    return line([0, 5, 2], [0, 0, 1], end=1, deadline=3.0)


def infeasible_mandatory() -> Problem:
    """The op5 line with deadline 7 and x = 4 mandatory: going there and back takes 8."""
    p, _ = op5()
    return p.replace(deadline=7.0, mandatory=np.array([4]))


INFEASIBLE = {"deadline": infeasible_deadline, "mandatory": infeasible_mandatory}
