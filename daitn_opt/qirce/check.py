"""Independent checker of QIRCE / Q-FAM solutions.

Recomputes every constraint and the objective from the problem arrays and the solution document
alone (no solver, no formulation): each route's pair is eligible (model fits the facility's
memory, latency within the SLO), each routed model is deployed where it is routed, every
deployment's facility is open, memory and throughput (with the utilisation cap) hold, every
demand is served or refused exactly once (fractions summing to one; one route of fraction one
with single-source routing; nothing refused when all demand must be served), and the objective
is recomputed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checking import CheckReport, shape_error
from .problem import Problem
from .queueing import TANGENTS

TOL = 1e-6

SOLUTION_SHAPE = {
    "?open": ["str"],
    "?deployments": [{"model": "str", "facility": "str"}],
    "?routes": [{"demand": "str", "facility": "str", "?fraction": "number"}],
    "?refused": [{"demand": "str", "?fraction": "number", "?reason": "any"}],
}
"""What a QIRCE solution document must look like before its values are checked."""


def check(problem: Problem, solution: dict[str, Any]) -> CheckReport:
    """Check ``solution`` against ``problem`` from the arrays and the document alone.

    Parameters
    ----------
    problem
        The QIRCE problem.
    solution
        A solution document (see :mod:`daitn_opt.qirce.solution`): ``routes``,
        ``deployments``, ``open``, ``refused``.

    Returns
    -------
    CheckReport
        The recomputed objective (in the reported sense, :attr:`Problem.sense`) and every
        violation found (empty when the solution is feasible). A document of the wrong shape
        gives no objective and one violation saying what is malformed.

    Notes
    -----
    Imports no solver and no formulation: the constraints are recomputed one by one (eligible
    pairs, deployments where routed, open facilities, memory, throughput, demand served or
    refused exactly once, queueing when modelled). Linear in the size of the document and the
    arrays.

    Example
    -------
    >>> import numpy as np
    >>> from daitn_opt.qirce import Problem, check
    >>> p = Problem(demand_ids=["d"], facility_ids=["f"], model_ids=["m"], demand_model=[0],
    ...             rate=[1.0], value=[1.0], slo_ms=[50.0], model_memory=[0.0],
    ...             facility_memory=[np.inf], capacity=[1.0], open_cost=[2.0], arc_demand=[0],
    ...             arc_facility=[0], arc_cost=[3.0], arc_load=[1.0], arc_latency=[5.0])
    >>> doc = {"routes": [{"demand": "d", "facility": "f", "fraction": 1.0}],
    ...        "deployments": [{"model": "m", "facility": "f"}], "open": ["f"], "refused": []}
    >>> report = check(p, doc)
    >>> report.ok, report.objective
    (True, 5.0)
    >>> check(p, {**doc, "open": []}).violations
    ["model 'm' deployed at 'f', which is not open"]
    """
    if not isinstance(solution, dict):
        return CheckReport(None, [f"solution is {type(solution).__name__}, not an object"])
    malformed = shape_error(solution, SOLUTION_SHAPE)
    if malformed is not None:
        return CheckReport(None, [str(malformed)])
    v: list[str] = []
    opened = _opened(problem, solution, v)
    deployed = _deployed(problem, solution, opened, v)
    served, arc_total, routed = _routes(problem, solution, deployed, v)
    refused = _refused(problem, solution, v)
    for d in np.flatnonzero(np.abs(served + refused - 1.0) > TOL):
        v.append(
            f"demand {problem.demand_ids[d]!r}: served {served[d]:.6g} + refused "
            f"{refused[d]:.6g} != 1"
        )
    penalty = _congestion(problem, routed, v) if problem.congestion != "none" else 0.0
    open_total = float(problem.open_cost[opened].sum())
    return CheckReport(_objective(problem, served, arc_total, open_total, penalty), v)


def _objective(
    problem: Problem, served: np.ndarray, arc_total: float, open_total: float, penalty: float
) -> float:
    """The objective in the reported sense from the recomputed totals."""
    if problem.cost_sense == "min":
        cost = arc_total + open_total
    else:
        cost = -(arc_total - open_total)
    if problem.mode == "serve_all":
        return float(cost + penalty if problem.cost_sense == "min" else -(cost + penalty))
    value = float(np.dot(problem.value * problem.rate, served))
    return float(value - problem.cost_weight * cost - penalty)


def _opened(problem: Problem, solution: dict[str, Any], v: list[str]) -> np.ndarray:
    """(F,) facilities the document opens (unknown ids are violations)."""
    f_index = {f: k for k, f in enumerate(problem.facility_ids)}
    opened = np.zeros(problem.num_facilities, dtype=bool)
    for f_id in solution.get("open", []):
        if f_id not in f_index:
            v.append(f"open: unknown facility {f_id!r}")
        else:
            opened[f_index[f_id]] = True
    return opened


def _deployed(
    problem: Problem, solution: dict[str, Any], opened: np.ndarray, v: list[str]
) -> np.ndarray:
    """(M, F) deployments of the document; each at an open facility, within memory."""
    f_index = {f: k for k, f in enumerate(problem.facility_ids)}
    m_index = {m: k for k, m in enumerate(problem.model_ids)}
    deployed = np.zeros((problem.num_models, problem.num_facilities), dtype=bool)
    for dep in solution.get("deployments", []):
        m, f = m_index.get(dep.get("model")), f_index.get(dep.get("facility"))
        if m is None or f is None:
            v.append(f"deployment {dep!r}: unknown model or facility")
            continue
        deployed[m, f] = True
        if not opened[f]:
            v.append(
                f"model {problem.model_ids[m]!r} deployed at {problem.facility_ids[f]!r}, "
                "which is not open"
            )
    mem_used = problem.model_memory @ deployed
    for f in np.flatnonzero(mem_used > problem.facility_memory * (1 + TOL) + TOL):
        v.append(
            f"memory of {problem.facility_ids[f]!r}: {mem_used[f]:g} GB deployed > "
            f"{problem.facility_memory[f]:g} GB"
        )
    return deployed


def _routes(
    problem: Problem, solution: dict[str, Any], deployed: np.ndarray, v: list[str]
) -> tuple[np.ndarray, float, list[tuple[int, int, int, float]]]:
    """(served fraction per demand, routing cost, routed (demand, facility, arc, fraction));
    each route eligible, deployed, within its SLO and the facility's throughput."""
    n_d, n_f = problem.num_demands, problem.num_facilities
    d_index = {d: k for k, d in enumerate(problem.demand_ids)}
    f_index = {f: k for k, f in enumerate(problem.facility_ids)}
    arcs = {
        (int(d), int(f)): a
        for a, (d, f) in enumerate(zip(problem.arc_demand, problem.arc_facility, strict=True))
    }
    served, load = np.zeros(n_d), np.zeros(n_f)
    routes_per = np.zeros(n_d, dtype=np.int64)
    arc_total = 0.0
    routed: list[tuple[int, int, int, float]] = []
    for r in solution.get("routes", []):
        d, f = d_index.get(r.get("demand")), f_index.get(r.get("facility"))
        frac = r.get("fraction", 1.0)
        if d is None or f is None:
            v.append(f"route {r!r}: unknown demand or facility")
            continue
        if not isinstance(frac, int | float) or not -TOL <= frac <= 1 + TOL:
            v.append(f"route {r!r}: fraction must be in [0, 1]")
            continue
        a = arcs.get((d, f))
        name = f"{problem.demand_ids[d]} -> {problem.facility_ids[f]}"
        if a is None:
            v.append(f"route {name}: not an eligible pair (memory, reachability or SLO)")
            continue
        _route_violations(problem, d, f, a, frac, deployed, name, v)
        served[d] += frac
        routes_per[d] += 1
        load[f] += problem.arc_load[a] * frac
        arc_total += problem.arc_cost[a] * frac
        if frac > TOL:
            routed.append((d, f, a, float(frac)))
    for f in np.flatnonzero(load > problem.capacity * (1 + TOL) + TOL):
        v.append(
            f"throughput of {problem.facility_ids[f]!r}: load {load[f]:.6g} > capacity "
            f"{problem.capacity[f]:.6g}"
        )
    if problem.single_source:
        for d in np.flatnonzero(routes_per > 1):
            v.append(f"demand {problem.demand_ids[d]!r} split over {routes_per[d]} facilities")
    return served, arc_total, routed


def _route_violations(
    problem: Problem,
    d: int,
    f: int,
    a: int,
    frac: float,
    deployed: np.ndarray,
    name: str,
    v: list[str],
) -> None:
    """The violations of one eligible route: SLO, memory, deployment, single source."""
    m = int(problem.demand_model[d])
    if problem.arc_latency[a] > problem.slo_ms[d] + 1e-9:
        v.append(
            f"route {name}: latency {problem.arc_latency[a]:g} ms > SLO {problem.slo_ms[d]:g} ms"
        )
    if problem.model_memory[m] > problem.facility_memory[f] + TOL:
        v.append(f"route {name}: model does not fit the facility's memory")
    if not deployed[m, f]:
        v.append(f"route {name}: model {problem.model_ids[m]!r} is not deployed there")
    if problem.single_source and abs(frac - 1.0) > TOL:
        v.append(f"route {name}: fraction {frac:g} with single-source routing")


def _refused(problem: Problem, solution: dict[str, Any], v: list[str]) -> np.ndarray:
    """(D,) refused fraction per demand; each refusal with a reason, none in serve-all mode."""
    d_index = {d: k for k, d in enumerate(problem.demand_ids)}
    refused = np.zeros(problem.num_demands)
    for r in solution.get("refused", []):
        d = d_index.get(r.get("demand"))
        if d is None:
            v.append(f"refused {r!r}: unknown demand")
            continue
        refused[d] += r.get("fraction", 1.0)
        if not r.get("reason"):
            v.append(f"refused demand {problem.demand_ids[d]!r} carries no reason")
    if problem.mode == "serve_all":
        for d in np.flatnonzero(refused > TOL):
            v.append(f"demand {problem.demand_ids[d]!r} refused but all demand must be served")
    return refused


def _congestion(problem: Problem, routed: list[tuple[int, int, int, float]], v: list[str]) -> float:
    """The congestion model recomputed from the routes: each facility's utilisation (routed
    work ``r s / c`` with ``c = max(1, round(T s))`` servers) within ``rho_max``, and the penalty ``violation_weight * sum r x Vhat`` with
    ``Vhat`` the maximum of the tangents of ``rho exp(-2 (1 - rho) b / s_max)`` at
    ``TANGENTS`` points of ``[0, rho_max]`` (``formulations/qirce.md``, Congestion)."""
    p = problem
    rho = np.zeros(p.num_facilities)
    s_max = np.zeros(p.num_facilities)
    for d, f, _, frac in routed:
        s = float(p.service_ms[p.demand_model[d]]) / 1000.0
        sigma = s / max(1.0, float(np.round(p.throughput[f] * s)))  # servers like the replay
        rho[f] += float(p.rate[d]) * sigma * frac
        s_max[f] = max(s_max[f], sigma)
    counts: dict[int, set[float]] = {}
    for d, f, _, _ in routed:
        s = float(p.service_ms[p.demand_model[d]]) / 1000.0
        counts.setdefault(f, set()).add(max(1.0, float(np.round(p.throughput[f] * s))))
    for f, cs in counts.items():
        if len(cs) > 1:
            v.append(
                f"facility {p.facility_ids[f]!r} serves models with different server counts "
                f"{sorted(cs)} (queueing)"
            )
    for f in np.flatnonzero(rho > p.rho_max + 1e-7):
        v.append(
            f"utilisation of {p.facility_ids[f]!r}: routed work {rho[f]:.6g} > rho_max "
            f"{p.rho_max:g} (queueing)"
        )
    pts = np.linspace(0.0, p.rho_max, TANGENTS)
    expected = 0.0
    for d, f, a, frac in routed:
        if s_max[f] <= 0:
            continue
        budget = max(0.0, float(p.slo_ms[d] - p.arc_latency[a]) / 1000.0)
        c = budget / s_max[f]
        decay = np.exp(-2.0 * (1.0 - pts) * c)
        tangent = pts * decay + decay * (1.0 + 2.0 * pts * c) * (rho[f] - pts)
        expected += float(p.rate[d]) * frac * max(0.0, float(tangent.max()))
    return float(p.violation_weight) * expected
