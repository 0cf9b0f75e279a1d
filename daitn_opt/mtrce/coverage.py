"""Outcome-aligned MTRCE objectives: label coverage with diminishing returns, recency, target.

The old objective (``max_utility``) sums a constant per visited node, so a fifth hospital with the
same labels is worth as much as a first one with new labels, and the order of the visits does not
matter. The objectives here value what the model has *gathered* (``formulations/mtrce.md``,
section "Outcome-aligned objectives"):

- **effective label mass** ``m[i, l] = label_counts[i, l] * w_q(q_i) * w_a(age_i)``, with
  ``q_i`` the node's samples-weighted quality and label noise ``1 - q_i`` (the executor flips that
  share of the labels to another label). Under symmetric noise over ``L`` labels the expected
  one-hot target keeps a share ``(L q - 1) / (L - 1)`` of its signal, and an estimate's effective
  sample size scales with the square of the signal: ``w_q(q) = max(0, (L q - 1) / (L - 1)) ** 2``
  (``(2q - 1) ** 2`` for two labels; ``quality_weight="linear"`` uses ``q``). Age halves the
  mass every ``half_life_days`` (default 365): ``w_a = 0.5 ** (age / half_life)``.
- **coverage** of a route: ``sum_l w_l g_l(X_l)`` with ``X_l`` the mass gathered on the route
  and ``g_l`` the piecewise-linear interpolation of ``1 - exp(-x / s_l)`` at the breakpoints
  ``x = z_k s_l`` (``Problem.coverage_breaks``; flat after the last one). ``g_l`` is concave, so
  the marginal value of a label falls as it accumulates. Scale: ``s_l`` = a third of the label's
  total mass over the eligible nodes, so that gathering all of it reaches ``1 - e^-3 = 0.95`` of
  the label's value (a label that is rare in the view saturates with little mass: its first
  samples are worth the most). Weights: ``w_l = 1 / L`` (each label counts equally, as balanced
  accuracy does), so coverage lies in ``[0, 1]``.
- **recency** (``max_recency_coverage``): the mass of the customer at position ``p`` from the end
  of the route (``p = 0`` for the last one) counts ``recency ** p`` times; start and end nodes
  count once. It models the forgetting of sequential training under label skew (update-order
  sensitivity; cf. SFedKD, Xu et al. 2025): what later nodes teach weighs more.
- **time to target** (``min_time_to_target``): the earliest completion (arrival at the end plus
  verification) of a route whose coverage reaches ``target``; :func:`coverage_fields` sets the
  target to ``target_fraction`` (default 0.75) of the coverage of every eligible node together.

This module defines and evaluates the objectives (solver side); the independent checker is
:mod:`daitn_opt.mtrce.coverage_check`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InputError
from .problem import COVERAGE_BREAKS, EXPECTED_TIME, Problem

DEFAULT_RECENCY = 0.95
"""Per-position discount of ``max_recency_coverage`` set by :func:`coverage_fields`. In the first
calibration probe (``papers/outcomes/probe.md``, healthcare small and medium, breast-cancer) the
rank correlation of recency coverage with measured accuracy rose from 0.39 (0.5) and 0.56 (0.8)
to 0.66 at 0.95-0.98; plain coverage (1.0) had 0.68: forgetting per hop is mild there."""


def quality_weight(quality: np.ndarray, labels: int, kind: str = "squared") -> np.ndarray:
    """Effective-sample weight of data of quality ``q`` (label noise ``1 - q``)."""
    q = np.clip(np.asarray(quality, dtype=np.float64), 0.0, 1.0)
    if kind == "linear":
        return q
    if kind != "squared":
        raise InputError("quality_weight", kind, "expected 'squared' or 'linear'")
    if labels < 2:
        return q
    return np.maximum(0.0, (labels * q - 1.0) / (labels - 1.0)) ** 2


def coverage_fields(
    v: Any,
    quality: str = "squared",
    half_life_days: float = 365.0,
    recency: float = DEFAULT_RECENCY,
    target_fraction: float = 0.75,
) -> dict[str, Any]:
    """The coverage fields of :class:`~daitn_opt.mtrce.problem.Problem` for a view ``v``.

    Returns an empty dict when the view has no label histograms (the coverage objectives are then
    unavailable for it).
    """
    counts = np.asarray(v.label_counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[1] == 0:
        return {}
    if not half_life_days > 0:
        raise InputError("half_life_days", half_life_days, "must be positive")
    samples = np.asarray(v.samples, dtype=np.float64)
    q = np.divide(
        np.asarray(v.utility, dtype=np.float64),
        samples,
        out=np.zeros_like(samples),
        where=samples > 0,
    )
    age = np.zeros(len(samples)) if v.age_days is None else np.asarray(v.age_days, float)
    weight = quality_weight(q, counts.shape[1], quality) * 0.5 ** (age / half_life_days)
    mass = counts * weight[:, None]
    scale = np.maximum(mass.sum(axis=0) / 3.0, 1e-9)
    labels = mass.shape[1]
    fields: dict[str, Any] = {
        "label_mass": mass,
        "coverage_scale": scale,
        "label_weight": np.full(labels, 1.0 / labels),
        "coverage_breaks": COVERAGE_BREAKS.copy(),
        "recency": float(recency),
    }
    fields["target"] = float(target_fraction) * coverage_value(
        mass.sum(axis=0), scale, fields["label_weight"], fields["coverage_breaks"]
    )
    return fields


# -- evaluation (solver side) ------------------------------------------------------------------
def curve(scale: float, breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Breakpoints ``(x_k, g_k)`` of one label's piecewise-linear coverage curve."""
    z = np.asarray(breaks, dtype=np.float64)
    return z * scale, 1.0 - np.exp(-z)


def pieces(scale: float, breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slopes and intercepts ``(a_k, b_k)`` with ``g(x) = min_k a_k x + b_k`` for ``x >= 0``.

    One piece per segment between breakpoints plus the flat piece after the last one; concavity
    of ``g`` makes the minimum equal to the interpolation.
    """
    x, g = curve(scale, breaks)
    slope = np.diff(g) / np.diff(x)
    intercept = g[:-1] - slope * x[:-1]
    return np.append(slope, 0.0), np.append(intercept, g[-1])


def coverage_value(
    mass: np.ndarray, scale: np.ndarray, weight: np.ndarray, breaks: np.ndarray
) -> float:
    """``sum_l w_l g_l(mass_l)`` for gathered per-label masses ``mass`` (L,)."""
    total = 0.0
    for lab in range(len(mass)):
        x, g = curve(float(scale[lab]), breaks)
        total += float(weight[lab]) * float(np.interp(mass[lab], x, g))
    return total


def label_weights(problem: Problem) -> np.ndarray:
    """``label_weight``, or ``1 / L`` for each label when it is None."""
    labels = np.asarray(problem.label_mass).shape[1]
    if problem.label_weight is None:
        return np.full(labels, 1.0 / labels)
    return np.asarray(problem.label_weight, dtype=np.float64)


def position_weights(problem: Problem, route: Sequence[int]) -> np.ndarray:
    """(len(route),) weight of each route node's mass: ``recency ** p`` for the customer ``p``
    places from the last customer under ``max_recency_coverage``, else 1."""
    m = len(route)
    w = np.ones(m)
    if problem.objective == "max_recency_coverage" and m > 2:
        inner = m - 2
        w[1:-1] = problem.recency ** np.arange(inner - 1, -1, -1, dtype=np.float64)
    return w


def gathered(problem: Problem, route: Sequence[int]) -> np.ndarray:
    """(L,) mass gathered on ``route`` ``[s, ..., e]`` (start and end once, recency applied)."""
    r = np.asarray(route, dtype=np.int64)
    mass = np.asarray(problem.label_mass, dtype=np.float64)
    w = position_weights(problem, r)
    if problem.start == problem.end and len(r) >= 2 and r[-1] == r[0]:
        w[-1] = 0.0  # the tour returns to its start: its data counts once
    return (w[:, None] * mass[r]).sum(axis=0)


def route_coverage(problem: Problem, route: Sequence[int], plain: bool = False) -> float:
    """Coverage (recency-weighted under ``max_recency_coverage`` unless ``plain``) of one route."""
    if plain and problem.objective == "max_recency_coverage":
        problem = problem.replace(objective="max_coverage")
    return coverage_value(
        gathered(problem, route),
        np.asarray(problem.coverage_scale),
        label_weights(problem),
        np.asarray(problem.coverage_breaks),
    )


def max_coverage_bound(problem: Problem) -> float:
    """Coverage of every node at once (recency ignored): an upper bound of any route's coverage."""
    mass = np.asarray(problem.label_mass, dtype=np.float64).sum(axis=0)
    return coverage_value(
        mass,
        np.asarray(problem.coverage_scale),
        label_weights(problem),
        np.asarray(problem.coverage_breaks),
    )


def target_out_of_reach(problem: Problem) -> str:
    """The message of an infeasible time-to-target problem: its target and the most coverage
    (every eligible node together) that any route could reach."""
    best = max_coverage_bound(problem)
    return (
        f"no route reaches the coverage target {problem.target:.6g} within the deadline, "
        f"windows and budget (every eligible node together gives {best:.6g})"
    )


def supports(problem: Problem) -> str | None:
    """Why the coverage solvers cannot solve ``problem`` (None when they can)."""
    if not isinstance(problem, Problem):
        return f"a {type(problem).__name__} is not a route problem; use its own solvers"
    if problem.objective == EXPECTED_TIME:
        return (
            f"objective {EXPECTED_TIME!r} (an expectation over the outcome model's spread, "
            "not a piecewise-linear coverage) is not modelled by the coverage solvers; use "
            "anytime-ils or anytime-bnb"
        )
    if problem.objective not in ("max_coverage", "max_recency_coverage", "min_time_to_target"):
        return (
            f"objective {problem.objective!r} is not a coverage objective (max_coverage, "
            "max_recency_coverage, min_time_to_target); use highs, cpsat or ils"
        )
    if problem.k != 1:
        return f"k = {problem.k} routes: the coverage objectives are for one route"
    return None


def objective_value(problem: Problem, route: Sequence[int]) -> float:
    """The objective of one index route: its coverage, its completion for time to target, or
    its expected time to the target accuracy (:mod:`.anytime`)."""
    if problem.objective == EXPECTED_TIME:
        from .anytime import Objective

        return Objective(problem).value(route)
    if problem.objective == "min_time_to_target":
        from .solution import schedule

        return float(schedule(problem, route)[2])
    return route_coverage(problem, route)


def coverage_result(
    problem: Problem,
    solver: str,
    route: Sequence[int] | None,
    status: Any,
    bound: float | None = None,
    **kwargs: Any,
) -> Any:
    """A :class:`~daitn_opt.result.Result` of one route with the coverage objective filled in.

    ``solution["coverage"]`` is the route's coverage (plain, i.e. without recency) and
    ``solution["recency_coverage"]`` the recency-weighted one when the objective uses it.
    """
    from ..result import relative_gap
    from .solution import make_result

    routes = None if route is None else [list(map(int, route))]
    result = make_result(problem, solver, routes, status, bound=bound, **kwargs)
    if result.status.has_solution and routes is not None:
        result.objective = objective_value(problem, routes[0])
        result.solution["coverage"] = route_coverage(problem, routes[0], plain=True)
        if problem.objective == "max_recency_coverage":
            result.solution["recency_coverage"] = route_coverage(problem, routes[0])
        if result.bound is not None:
            # a bound a solver tolerance past the recomputed objective is the objective itself
            over = result.bound - result.objective
            wrong = over < 0 if problem.sense == "max" else over > 0
            if wrong and abs(over) <= 1e-6 * max(1.0, abs(result.objective)):
                result.bound = result.objective
        result.gap = relative_gap(result.objective, result.bound)
    return result
