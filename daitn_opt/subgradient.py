"""Subgradient optimisation of a Lagrangian dual: the one routine behind every Lagrangian bound.

Relaxing the coupling rows of an integer program with multipliers ``y`` gives a function
``L(y)`` that bounds the optimum for every feasible ``y`` (an upper bound of a maximisation when
``L`` is minimised over ``y``; a lower bound of a minimisation when it is maximised). ``L`` is
piecewise linear and concave (or convex), so it is optimised by subgradient steps with Polyak's
step length ``theta * (L(y) - target) / ||g||^2`` (Polyak 1969; Held, Wolfe and Crowder 1974),
where ``target`` is the value of a known feasible solution, and ``theta`` halves whenever
``patience`` steps pass without improving the best bound. Every ``L(y)`` evaluated is a valid
bound, so the routine can stop at any time: it returns the best one seen.

T-FAM (:mod:`daitn_opt.tfam.bounds`, capacity rows relaxed, ``L`` minimised) and QIRCE
(:mod:`daitn_opt.qirce.lagrangian`, demand and memory rows relaxed, ``L`` maximised) use it.

Example
-------
Minimise ``L(y) = 4 + y * (3 - 5) = 4 - 2y`` over ``y in [0, 1]`` (bound of a toy program):

>>> import numpy as np
>>> def evaluate(y):
...     return 4.0 - 2.0 * y[0], np.array([-2.0 if y[0] < 1.0 else 0.0])
>>> best, y = subgradient(evaluate, np.zeros(1), maximise=False, target=2.0,
...                       project=lambda y: np.clip(y, 0.0, 1.0))
>>> round(float(best), 6), y.tolist()
(2.0, [1.0])
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np


def subgradient(
    evaluate: Callable[[np.ndarray], tuple[float, np.ndarray]],
    y0: np.ndarray,
    *,
    maximise: bool,
    target: float,
    project: Callable[[np.ndarray], np.ndarray],
    theta: float = 2.0,
    patience: int = 15,
    iterations: int = 300,
    deadline: float = math.inf,
    relative_tolerance: bool = False,
) -> tuple[float, np.ndarray]:
    """The best value of ``L`` found and the multipliers reaching it.

    Parameters
    ----------
    evaluate
        ``y -> (L(y), g)``: the Lagrangian's value and a subgradient at ``y``, with the
        components that cannot move (a multiplier at its limit whose step would leave the
        domain) already set to zero.
    y0
        The starting multipliers (feasible).
    maximise
        True when ``L`` is maximised (a lower bound of a minimisation), False when minimised.
    target
        The value of a known feasible solution (Polyak's step-length target).
    project
        Projection onto the multipliers' domain (e.g. ``np.maximum(y, 0)``).
    theta, patience
        Initial step factor; steps without improvement before it halves. The routine stops when
        it falls below 1e-4.
    iterations, deadline
        Stop after this many steps or at this ``time.perf_counter()`` value.
    relative_tolerance
        Whether an improvement must exceed ``1e-9 * max(1, |best|)`` (True) or 1e-9 (False).

    Returns
    -------
    (best, y)
        ``best`` is -inf (maximising) or +inf (minimising) when nothing was evaluated.

    Notes
    -----
    Each step costs one evaluation of ``L``; the routine is a heuristic for the dual (no
    convergence certificate), but every value it returns is a valid bound.
    """
    sign = 1.0 if maximise else -1.0
    best = -math.inf * sign
    y = np.array(y0, dtype=np.float64)
    best_y = y.copy()
    stall = 0
    for _ in range(iterations):
        if time.perf_counter() >= deadline:
            break
        value, grad = evaluate(y)
        tol = 1e-9 * (max(1.0, abs(best)) if relative_tolerance and math.isfinite(best) else 1.0)
        if sign * (value - best) > tol or not math.isfinite(best):
            best, best_y, stall = value, y.copy(), 0
        else:
            stall += 1
            if stall >= patience:
                theta, stall = theta / 2.0, 0
                if theta < 1e-4:
                    break
        norm = float(grad @ grad)
        if norm <= 1e-12:
            break  # y is optimal for the relaxation
        gap = sign * (target - value)
        step = theta * max(gap, 1e-9 * max(1.0, abs(target if maximise else value))) / norm
        y = project(y + sign * step * grad)
    return best, best_y
