"""Bounds of QIRCE objectives: when they may be rounded to the integer lattice."""

from __future__ import annotations

import numpy as np

from ..exact import rounded_bound
from .problem import Problem


def integral_weights(problem: Problem) -> bool:
    """Whether every objective coefficient (arc weights, open costs) is an integer."""
    w = np.concatenate([problem.internal_arc_weight(), problem.internal_open_weight()])
    return bool(np.all(np.abs(w - np.round(w)) < 1e-9))


def integral_objective(problem: Problem) -> bool:
    """Whether every solution's objective is an integer: integer coefficients *and* integral
    routing (single-source). Splittable routing has fractional objectives even on integer data,
    so its bounds may not be rounded nor an absolute gap below 1 taken as proof."""
    return problem.single_source and problem.congestion == "none" and integral_weights(problem)


def internal_bound(problem: Problem, bound: float | None) -> float | None:
    """A valid internal (minimised) lower bound, rounded up when the objective is integral."""
    return rounded_bound(bound, "min", integral_objective(problem))


def reported_bound(problem: Problem, internal: float | None) -> float | None:
    """A valid bound in the reported sense from an internal (minimised) lower bound, rounded to
    the integer lattice when every objective is integral (:func:`internal_bound`)."""
    bound = internal_bound(problem, internal)
    return None if bound is None else problem.reported(bound)
