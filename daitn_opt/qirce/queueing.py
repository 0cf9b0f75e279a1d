"""Queueing terms of congestion-aware QIRCE (``congestion="md1"``), shared by the solvers.

Model (``formulations/qirce.md``, section "Congestion"): every facility is a FIFO station fed
by Poisson arrivals (the superposition of the demands routed there) with ``c`` parallel servers,
a query of model ``m`` holding one for the deterministic time ``s_m``; like the serving replay,
a facility of throughput ``T_f`` serving model ``m`` has ``c_fm = max(1, round(T_f s_m))``
servers. The station is read as one fast server with service ``sigma_fm = s_m / c_fm``
(M/D/1; exact with ``c = 1``, and an over-estimate of the M/D/c wait otherwise). Its
utilisation is ``rho_f = sum_a r_d sigma_a x_a`` and must stay at most ``rho_max``. A
facility serves models of one server count only (the replay sets ``c`` from the mix's mean
service time, which for a mix of counts is neither).

A query on arc ``a`` misses its SLO when it waits longer than its budget
``b_a = SLO_d - (RTT + s_m)`` (``slo_ms - arc_latency``). The model's probability of that is

    V(rho; s, b) = rho * exp(-2 (1 - rho) b / s),

``P(W > 0) = rho`` times Lundberg's bound ``exp(-theta b)`` with the decay rate
``theta >= 2 (1 - rho) / s`` of M/D/1 (the exact heavy-traffic rate); ``s`` is the longest
``sigma`` routed to the facility (a conservative residual for mixes). ``V`` is convex and
increasing in ``rho``; the model charges the maximum of its tangents at ``TANGENTS`` points of
``[0, rho_max]`` (an under-estimate by at most the tangent gap, exact at the points), so that the
MILP is linear. The expected number of violating queries per second is
``sum_a r_d x_a Vhat_a(rho_f)``; ``violation_weight`` times it is added to the objective.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # only annotations: problem.py uses these terms
    from .problem import Problem

TANGENTS = 12
"""Tangent points of the violation probability on ``[0, rho_max]``."""
RHO_TOL = 1e-7
"""Slack on ``rho <= rho_max`` when testing whether a placement fits."""


def tangent_points(rho_max: float) -> np.ndarray:
    """The utilisations where the violation probability is linearised."""
    return np.linspace(0.0, rho_max, TANGENTS)


def violation_probability(rho: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """``V = rho exp(-2 (1 - rho) ratio)`` with ``ratio = b / s`` (budget over service)."""
    return rho * np.exp(-2.0 * (1.0 - rho) * ratio)


def violation_slope(rho: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """``dV / drho = exp(-2 (1 - rho) ratio) (1 + 2 rho ratio)``."""
    return np.exp(-2.0 * (1.0 - rho) * ratio) * (1.0 + 2.0 * rho * ratio)


def tangents(ratio: np.ndarray, rho_max: float) -> tuple[np.ndarray, np.ndarray]:
    """(intercepts, slopes), each (..., TANGENTS): tangent ``k`` is ``c_k + g_k rho``."""
    pts = tangent_points(rho_max)
    r = np.asarray(ratio, dtype=np.float64)[..., None]
    finite = np.isfinite(r)
    r = np.where(finite, r, 0.0)  # an infinite ratio (no service, no SLO) never violates
    slope = np.where(finite, violation_slope(pts, r), 0.0)
    return np.where(finite, violation_probability(pts, r), 0.0) - slope * pts, slope


def linearised_violation(rho: np.ndarray, ratio: np.ndarray, rho_max: float) -> np.ndarray:
    """The model's violation probability: ``max(0, max_k c_k + g_k rho)``."""
    c, g = tangents(ratio, rho_max)
    return np.maximum(0.0, (c + g * np.asarray(rho, dtype=np.float64)[..., None]).max(axis=-1))


def ratio(service_s: np.ndarray, budget_s: np.ndarray) -> np.ndarray:
    """``b / s``: ``inf`` without service time (never waits long), 0 for a zero budget."""
    s = np.asarray(service_s, dtype=np.float64)
    b = np.asarray(budget_s, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s > 0, np.maximum(b, 0.0) / np.where(s > 0, s, 1.0), np.inf)


def servers(problem: Problem) -> np.ndarray:
    """(F, M) servers of facility f serving model m: ``max(1, round(T_f s_m))``."""
    s = problem.service_ms / 1000.0
    return np.maximum(1.0, np.round(problem.throughput[:, None] * s[None, :]))


def arc_sigma(problem: Problem) -> np.ndarray:
    """(A,) fast-server service time of each arc: ``s_m / c_fm`` in seconds."""
    c = servers(problem)[problem.arc_facility, problem.arc_model]
    return problem.service_ms[problem.arc_model] / 1000.0 / c


def arc_work(problem: Problem) -> np.ndarray:
    """(A,) utilisation the whole demand of each arc adds to its facility: ``r_d sigma_a``."""
    return problem.rate[problem.arc_demand] * arc_sigma(problem)


def arc_budget_s(problem: Problem) -> np.ndarray:
    """(A,) time each arc's queries may wait in queue within the SLO, in seconds."""
    return (problem.slo_ms[problem.arc_demand] - problem.arc_latency) / 1000.0


def facility_state(problem: Problem, x: np.ndarray, tol: float = 1e-9) -> tuple[np.ndarray, ...]:
    """(rho, s_max) per facility for arc fractions ``x``: the routed utilisation and the longest
    fast-server service time ``sigma`` (s) routed there (0 where nothing is)."""
    p = problem
    rho = np.bincount(p.arc_facility, weights=arc_work(p) * x, minlength=p.num_facilities)
    used = np.flatnonzero(x > tol)
    s_max = np.zeros(p.num_facilities)
    np.maximum.at(s_max, p.arc_facility[used], arc_sigma(p)[used])
    return rho, s_max


def expected_violations(problem: Problem, x: np.ndarray) -> np.ndarray:
    """(A,) model's violating queries per second of each arc: ``r_d x_a Vhat_a(rho_f)``."""
    p = problem
    rho, s_max = facility_state(p, x)
    f = p.arc_facility
    prob = linearised_violation(rho[f], ratio(s_max[f], arc_budget_s(p)), p.rho_max)
    return p.rate[p.arc_demand] * x * prob


def congestion_term(problem: Problem, x: np.ndarray) -> float:
    """``violation_weight`` times the expected violating queries per second (0 without)."""
    if problem.congestion == "none" or problem.num_arcs == 0:
        return 0.0
    return float(problem.violation_weight * expected_violations(problem, x).sum())


def congestion_ok(problem: Problem, x: np.ndarray, tol: float = RHO_TOL) -> bool:
    """Whether arc fractions ``x`` keep every facility's utilisation within ``rho_max``."""
    if problem.congestion == "none":
        return True
    rho, _ = facility_state(problem, x)
    if np.any(rho > problem.rho_max + tol):
        return False
    return not mixed_servers(problem, x).size


def mixed_servers(problem: Problem, x: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Facilities whose routed models have different server counts (the replay would give
    them the count of the mix's mean service time, not each model's)."""
    p = problem
    used = np.flatnonzero(x > tol)
    cls = servers(p)[p.arc_facility[used], p.arc_model[used]]
    hi = np.full(p.num_facilities, -np.inf)
    lo = np.full(p.num_facilities, np.inf)
    np.maximum.at(hi, p.arc_facility[used], cls)
    np.minimum.at(lo, p.arc_facility[used], cls)
    return np.flatnonzero(np.isfinite(hi) & (hi != lo))


def md1_mean_wait(rho: float, service_s: float) -> float:
    """Mean waiting time in queue of M/D/1 (Pollaczek-Khinchine): ``rho s / (2 (1 - rho))``."""
    if not 0 <= rho < 1:
        return float("inf")
    return rho * service_s / (2.0 * (1.0 - rho))
