"""Independent checker of the coverage objectives (``formulations/mtrce.md``, outcome-aligned).

Route validity (windows, deadline, budget, mandatory nodes, ids) is the MTRCE checker's
(:func:`daitn_opt.mtrce.check.check`); this module recomputes the objective from the problem's
arrays and the route's node ids alone. It imports no solver, no formulation and not the solver-side
evaluation in :mod:`daitn_opt.mtrce.coverage`, so that a shared bug cannot hide itself:

- gathered mass ``X_l = sum over the route's distinct nodes of weight * label_mass[i, l]``, with
  weight ``recency ** p`` for the customer ``p`` places from the last one under
  ``max_recency_coverage`` (1 otherwise, and for the start and the end);
- coverage ``sum_l w_l * interp(X_l / s_l, breaks, 1 - exp(-breaks))`` (flat after the last
  breakpoint);
- ``min_time_to_target``: the objective is the completion time (earliest-start schedule: service
  at ``max(arrival, open)``; completion = service start at the end + its service + verification),
  and the plain coverage must reach ``target``;
- ``min_expected_time_to_target``: the expected time at which one replay first reaches
  ``target_accuracy``, censored at the deadline ``H``: checkpoint 0 is the untrained model at time
  0, checkpoint ``k`` the end of training at the k-th trained node (the customers in order, then
  the end when its utility is positive), with gathered mass ``X <- node_decay[v] X +
  label_mass[v]`` and prediction ``p_k = a + b * coverage(X) * h(S_k) - skew * TV(X) +
  node_effect[v]``, where ``h(S) = 1 - exp(-S / warm_scale)`` of the steps ``S_k`` trained so far
  (1 when ``warm_scale = 0``) and ``TV(X) = 0.5 sum_l |X_l / sum X - skew_prior_l|`` (0 when
  nothing is gathered); given the shared error ``z`` it reaches the target with probability
  ``Phi((p_k + shared_sd z - A) / checkpoint_sd)`` (a step when ``checkpoint_sd = 0``), and
  ``E = sum_z w_z [sum_k min(t_k, H) q_k prod_{j<k} (1 - q_j) + H prod_k (1 - q_k)]`` over the
  Gauss-Hermite points of a standard normal. With a persistent share ``persistent`` of the
  checkpoint variance (an AR(1) of coefficient ``phi``), the persistent part is the Rouwenhorst
  chain of ``persistent_states`` states, written here in closed form (the number of "on" among
  ``N - 1`` two-state chains that each keep their state with probability ``(1 + phi) / 2``:
  binomial stationary law, states ``-sqrt(N - 1) .. sqrt(N - 1)``), and ``q_k`` is conditioned
  on the chain's state, carried forward from one checkpoint to the next. Written here as plain
  loops with ``math.erf``, apart from the solvers' :mod:`daitn_opt.mtrce.anytime`.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ..checking import CheckReport
from .check import check as check_routes
from .problem import COVERAGE_OBJECTIVES, EXPECTED_TIME, Problem

_TOL = 1e-6


def _weights(problem: Problem) -> np.ndarray:
    labels = np.asarray(problem.label_mass).shape[1]
    if problem.label_weight is None:
        return np.full(labels, 1.0 / labels)
    return np.asarray(problem.label_weight, dtype=np.float64)


def _curve_value(problem: Problem, gathered: np.ndarray) -> float:
    """``sum_l w_l interp(X_l / s_l, breaks, 1 - exp(-breaks))``."""
    weight = _weights(problem)
    breaks = np.asarray(problem.coverage_breaks, dtype=np.float64)
    value = 0.0
    for lab in range(len(gathered)):
        z = gathered[lab] / float(problem.coverage_scale[lab])
        value += weight[lab] * float(np.interp(z, breaks, 1.0 - np.exp(-breaks)))
    return value


def _coverage(problem: Problem, idx: list[int], recency: bool) -> float:
    mass = np.asarray(problem.label_mass, dtype=np.float64)
    inner = idx[1:-1]
    gathered = np.zeros(mass.shape[1])
    for p, node in enumerate(reversed(inner)):
        factor = problem.recency**p if recency else 1.0
        gathered += factor * mass[node]
    gathered += mass[problem.start]
    if problem.end != problem.start:
        gathered += mass[problem.end]
    return _curve_value(problem, gathered)


def _starts(problem: Problem, idx: list[int]) -> list[float]:
    """Earliest service start at each position of the route (windows waited for)."""
    a = np.zeros(problem.n) if problem.window_open is None else problem.window_open
    starts = [max(0.0, float(a[idx[0]]))]
    for prev, node in itertools.pairwise(idx):
        arrive = starts[-1] + float(problem.service[prev]) + float(problem.travel[prev, node])
        starts.append(max(arrive, float(a[node])))
    return starts


def _completion(problem: Problem, idx: list[int]) -> float:
    return _starts(problem, idx)[-1] + float(problem.service[idx[-1]]) + float(problem.verify_time)


def _predictions(problem: Problem, idx: list[int]) -> tuple[list[float], list[float]]:
    """Checkpoint times and predicted accuracies of the index route ``idx``."""
    trained = list(idx[1:-1])
    end = idx[-1]
    if len(idx) >= 2 and float(problem.utility[end]) > 0 and end not in trained:
        trained.append(end)
    starts = _starts(problem, idx)
    a, b = float(problem.accuracy_intercept), float(problem.accuracy_slope)
    mass = np.asarray(problem.label_mass, dtype=np.float64)
    decay = np.asarray(problem.node_decay, dtype=np.float64)
    effect = np.zeros(problem.n) if problem.node_effect is None else problem.node_effect
    steps = np.zeros(problem.n) if problem.node_steps is None else problem.node_steps
    scale, skew = float(problem.warm_scale), float(problem.skew)
    gathered = np.zeros(mass.shape[1])
    times, preds = [0.0], [a + b * _curve_value(problem, gathered)]
    done = 0.0
    for k, node in enumerate(trained, start=1):
        gathered = decay[node] * gathered + mass[node]
        done += float(steps[node])
        warm = 1.0 - math.exp(-done / scale) if scale > 0 else 1.0
        pred = a + b * _curve_value(problem, gathered) * warm + float(effect[node])
        total = float(gathered.sum())
        if skew > 0 and total > 0:
            prior = np.asarray(problem.skew_prior, dtype=np.float64)
            gap = sum(
                abs(float(x) / total - float(r)) for x, r in zip(gathered, prior, strict=True)
            )
            pred -= skew * 0.5 * gap
        pos = min(k, len(idx) - 1)  # the end trains at the route's last position
        times.append(starts[pos] + float(problem.service[idx[pos]]))
        preds.append(pred)
    return times, preds


def _chain(problem: Problem) -> tuple[list[float], list[float], list[list[float]]]:
    """States, stationary law and transition matrix of the persistent part (one state at 0
    when nothing persists)."""
    if float(problem.persistent) == 0 or float(problem.checkpoint_sd) == 0:
        return [0.0], [1.0], [[1.0]]
    m = max(2, int(problem.persistent_states)) - 1  # two-state chains
    keep = (1.0 + float(problem.phi)) / 2.0
    flip = 1.0 - keep
    states = [-math.sqrt(m) + 2.0 * math.sqrt(m) * i / m for i in range(m + 1)]
    law = [math.comb(m, i) / 2.0**m for i in range(m + 1)]
    move = [[0.0] * (m + 1) for _ in range(m + 1)]
    for i in range(m + 1):  # i chains on; c of them stay on, j - c of the m - i off ones turn on
        for j in range(m + 1):
            for c in range(max(0, j - (m - i)), min(i, j) + 1):
                on = math.comb(i, c) * keep**c * flip ** (i - c)
                off = math.comb(m - i, j - c) * flip ** (j - c) * keep ** (m - i - (j - c))
                move[i][j] += on * off
    return states, law, move


def _expected_time(problem: Problem, idx: list[int]) -> float:
    """``min_expected_time_to_target`` of the index route ``idx`` (see the module docstring)."""
    times, preds = _predictions(problem, idx)
    horizon = float(problem.deadline)
    target = float(problem.target_accuracy)
    sd_new, sd_shared = float(problem.checkpoint_sd), float(problem.shared_sd)
    states, law, move = _chain(problem)
    share = float(problem.persistent) if len(states) > 1 else 0.0
    sd_fresh = sd_new * math.sqrt(1.0 - share)
    points, weights = np.polynomial.hermite_e.hermegauss(int(problem.quadrature_nodes))
    weights = weights / weights.sum()
    total = 0.0
    for z, wz in zip(points, weights, strict=True):
        alive, value = list(law), 0.0
        for k, (t, p) in enumerate(zip(times, preds, strict=True)):
            if k:  # the persistent part moves on between checkpoints
                alive = [
                    sum(alive[i] * move[i][j] for i in range(len(states)))
                    for j in range(len(states))
                ]
            for s, u in enumerate(states):
                level = p + sd_shared * float(z) + sd_new * math.sqrt(share) * u - target
                if sd_fresh > 0:
                    reach = 0.5 * (1.0 + math.erf(level / (sd_fresh * math.sqrt(2.0))))
                else:
                    reach = 1.0 if level >= -1e-12 else 0.0
                value += min(t, horizon) * reach * alive[s]
                alive[s] *= 1.0 - reach
        total += float(wz) * (value + horizon * sum(alive))
    return total


def check(problem: Problem, solution: dict[str, Any]) -> CheckReport:
    """Check an MTRCE solution (any objective, or a TAG plan) against ``problem``.

    The package exports this function as ``daitn_opt.mtrce.check``, so that ``daitn-opt check``,
    the bench and the tests check every objective. For ``max_utility`` and ``min_time`` it is
    :func:`daitn_opt.mtrce.check.check` unchanged; a :class:`~daitn_opt.mtrce.tag.TagProblem`
    goes to :func:`daitn_opt.mtrce.tag_check.check`.

    Parameters
    ----------
    problem : Problem or TagProblem
        The problem the solution answers.
    solution : dict
        ``{"routes": [[node ids...], ...]}`` (and ``"epochs"`` for TAG); other keys are ignored.

    Returns
    -------
    CheckReport
        The route checker's violations plus, for ``min_time_to_target``, a violation when the
        route's coverage misses the target; the objective is recomputed from the arrays: the
        utility, the summed completion times, the coverage (recency-weighted under
        ``max_recency_coverage``) or the completion time (``min_time_to_target``).

    Notes
    -----
    O(n + route length + labels). Independent of every solver (imports none).

    Examples
    --------
    >>> from daitn_opt.mtrce import Problem, check
    >>> p = Problem(ids=["s", "a"], start=0, end=0, travel=[[0, 1], [1, 0]], service=[0, 1],
    ...             utility=[0, 3], deadline=2)
    >>> report = check(p, {"routes": [["s", "a", "s"]]})
    >>> report.ok, report.objective
    (False, 3.0)
    >>> report.violations
    ["route 1: completes at 's' at 3, after the deadline 2"]
    """
    if not isinstance(problem, Problem):  # a TAG problem (route + epochs) has its own checker
        from .tag_check import check as check_tag

        return check_tag(problem, solution)
    report = check_routes(problem, solution)
    if report.objective is None or problem.objective not in COVERAGE_OBJECTIVES:
        return report
    position = {node_id: i for i, node_id in enumerate(problem.ids)}
    routes = solution["routes"]
    if len(routes) != 1:
        report.violations.append(f"{len(routes)} routes; the coverage objectives take one")
        return CheckReport(None, report.violations)
    idx = [position[v] for v in routes[0]]
    if problem.objective == EXPECTED_TIME:
        return _check_expected(problem, idx, report)
    recency = problem.objective == "max_recency_coverage"
    value = _coverage(problem, idx, recency)
    if problem.objective == "min_time_to_target":
        plain = value
        target = float(problem.target)
        if plain < target - _TOL * max(1.0, abs(target)):
            report.violations.append(f"coverage {plain:.10g} misses the target {target:.10g}")
        value = _completion(problem, idx)
        if not math.isfinite(value):
            report.violations.append("the route's completion time is not finite")
    return CheckReport(value, report.violations)


def _check_expected(problem: Problem, idx: list[int], report: CheckReport) -> CheckReport:
    missing = [
        name
        for name in ("node_decay", "accuracy_intercept", "accuracy_slope", "target_accuracy")
        if getattr(problem, name) is None
    ]
    if missing:
        report.violations.append(f"{', '.join(missing)} missing: needs a fitted outcome model")
        return CheckReport(None, report.violations)
    if not math.isfinite(float(problem.deadline)):
        report.violations.append("the expected time to target needs a finite deadline")
        return CheckReport(None, report.violations)
    return CheckReport(_expected_time(problem, idx), report.violations)
