"""Cheap upper bounds on the admitted value: the Lagrangian relaxation of the capacities.

For multipliers ``y >= 0`` on the capacity rows (``formulations/tfam.md`` (2)), keeping the
one-plan-per-request rows (3),

    L(y) = sum_k c[k] y[k] + sum_r max(0, max_{p of r} (v[p] - sum_k U[p, k] y[k]))

(without the 0 for must-admit requests) is an upper bound on the optimum for every ``y >= 0``:
it is the optimum of a relaxation in which exceeding a capacity costs ``y[k]`` per unit. Because
the kept rows have the integrality property, ``min_y L(y)`` equals the LP relaxation's bound
(Geoffrion 1974). :func:`lagrangian_bound` minimises ``L`` by projected subgradient steps with
Polyak step lengths (Held, Wolfe and Crowder 1974; :func:`daitn_opt.subgradient.subgradient`, the
routine QIRCE's Lagrangian uses too): each step is two sparse matrix-vector products, so a
bound for 30,000 plans over 12,000 resources takes a fraction of a second per hundred steps,
where the LP itself can take minutes on a shared machine.

The reporting contract (status, bound and gap agree) is enforced on every result, in one
place, by :func:`daitn_opt.result.enforce_contract`.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..subgradient import subgradient
from .problem import Problem


def lagrangian_value(problem: Problem, y: np.ndarray) -> tuple[float, np.ndarray]:
    """``L(y)`` and the chosen plan per request (-1: none) of the relaxation."""
    reduced = problem.value - problem.use @ y
    starts = problem.plan_start[:-1]
    best = np.maximum.reduceat(reduced, starts)
    # Index of the best plan of each request: the first plan reaching the block maximum.
    hit = reduced >= np.repeat(best, np.diff(problem.plan_start)) - 1e-12
    first = np.minimum.reduceat(np.where(hit, np.arange(problem.n_plans), problem.n_plans), starts)
    take = (best > 0) | problem.must_admit
    value = float(problem.capacity @ y + np.sum(np.where(take, best, 0.0)))
    return value, np.where(take, first, -1)


def lagrangian_bound(
    problem: Problem,
    *,
    lower: float = 0.0,
    iterations: int = 300,
    time_limit: float = 5.0,
) -> float:
    """The best ``L(y)`` found: a valid upper bound on the optimal admitted value.

    Parameters
    ----------
    lower
        A known feasible value (e.g. a heuristic's), used for the Polyak step length.
    iterations, time_limit
        Stop after this many subgradient steps or seconds.
    """
    return lagrangian(problem, lower=lower, iterations=iterations, time_limit=time_limit)[0]


def lagrangian(
    problem: Problem,
    *,
    lower: float = 0.0,
    iterations: int = 300,
    time_limit: float = 5.0,
) -> tuple[float, np.ndarray]:
    """The best ``L(y)`` found and its multipliers ``y`` (resource prices, for heuristics).

    ``L`` is minimised by :func:`daitn_opt.subgradient.subgradient` from ``y = 0`` (where ``L``
    is the sum of each request's best plan value, itself a bound).
    """
    if problem.n_plans == 0:
        return 0.0, np.zeros(problem.n_resources)
    use_t = problem.use.T.tocsr()

    def evaluate(y: np.ndarray) -> tuple[float, np.ndarray]:
        value, choice = lagrangian_value(problem, y)
        x = np.zeros(problem.n_plans)
        x[choice[choice >= 0]] = 1.0
        grad = problem.capacity - use_t @ x  # dL/dy
        # Only coordinates that can move: y > 0, or a negative gradient (y grows).
        return value, np.where((y > 0) | (grad < 0), grad, 0.0)

    y0 = np.zeros(problem.n_resources)
    best, y = subgradient(
        evaluate,
        y0,
        maximise=False,
        target=lower,
        project=lambda v: np.maximum(v, 0.0),
        iterations=iterations,
        deadline=time.perf_counter() + time_limit,
    )
    if not math.isfinite(best):  # no step taken within the time: L(0) is a bound too
        return lagrangian_value(problem, y0)[0], y0
    return best, y
