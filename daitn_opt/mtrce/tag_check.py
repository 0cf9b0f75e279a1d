"""Independent checker of TAG solutions (routes with local epochs per node).

It recomputes everything from the problem's arrays and the solution alone, sharing no code with
the solvers (:mod:`.tag`, :mod:`.tag_milp`, :mod:`.tag_heuristics`):

- ``solution["epochs"]`` must give every visited customer (not the start, not the end) an
  integer number of epochs in ``1..max_epochs``, and name no other node;
- the route's validity (ids, start and end, nodes visited once, windows, deadline, budget,
  mandatory nodes) is the MTRCE checker's (:func:`daitn_opt.mtrce.check.check`) on the base
  problem whose customers' service is ``epochs * epoch_time``;
- the objective: ``utility[s] + utility[e] + sum_i f(e_i) utility[i]`` (start and end once), or
  the coverage ``sum_l w_l interp(X_l / s_l, breaks, 1 - exp(-breaks))`` of the masses
  ``X_l = m_sl + m_el + sum_i f(e_i) m_il``, with ``f(e) = (1 - exp(-e/tau)) / (1 - exp(-1/tau))``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..checking import CheckReport
from .check import check as check_routes


def _factor(e: int, tau: float) -> float:
    return (1.0 - math.exp(-e / tau)) / (1.0 - math.exp(-1.0 / tau))


def check(problem: Any, solution: dict[str, Any]) -> CheckReport:
    """Check a TAG solution ``{"routes": [[ids...]], "epochs": {id: e}}`` against ``problem``.

    Returns the violations (one line each) and the recomputed objective (None when the route or
    the epochs cannot be read).
    """
    base = problem.base
    ids = list(base.ids)
    if not isinstance(solution, dict) or "routes" not in solution:
        return CheckReport(None, ["solution has no 'routes' list"])
    routes = solution["routes"]
    if not isinstance(routes, list) or len(routes) != 1 or not isinstance(routes[0], list):
        return CheckReport(None, ["TAG solutions have exactly one route (a list of node ids)"])
    epochs = solution.get("epochs")
    if not isinstance(epochs, dict):
        return CheckReport(None, ["solution has no 'epochs' dict {node id: epochs}"])
    route = routes[0]
    if not all(isinstance(v, str) and v in ids for v in route) or len(route) < 2:
        # let the MTRCE checker name the problem
        report = check_routes(base, {"routes": routes})
        return CheckReport(None, report.violations or ["the route cannot be read"])
    position = {v: i for i, v in enumerate(ids)}
    s_id, e_id = ids[base.start], ids[base.end]
    inner = [v for v in route[1:-1] if v not in (s_id, e_id)]
    violations: list[str] = []
    top = int(problem.max_epochs)
    for node, e in epochs.items():
        if node not in inner:
            violations.append(f"epochs given for {node!r}, which is not a visited customer")
        elif isinstance(e, bool) or not isinstance(e, int | np.integer) or not 1 <= e <= top:
            violations.append(f"epochs[{node!r}] = {e!r}: expected an integer in 1..{top}")
    missing = [v for v in inner if v not in epochs]
    if missing:
        violations.append(f"no epochs for the visited customers {missing}")
    if violations:
        return CheckReport(None, violations)
    service = np.asarray(base.service, dtype=np.float64).copy()
    t = np.asarray(problem.epoch_time, dtype=np.float64)
    for v in inner:
        service[position[v]] = int(epochs[v]) * t[position[v]]
    report = check_routes(base.replace(service=service), {"routes": routes})
    violations = list(report.violations)
    tau = float(problem.tau)
    fixed = [base.start] if base.start == base.end else [base.start, base.end]
    if base.objective == "max_utility":
        u = np.asarray(base.utility, dtype=np.float64)
        value = float(sum(u[i] for i in fixed))
        value += sum(_factor(int(epochs[v]), tau) * float(u[position[v]]) for v in inner)
        return CheckReport(value, violations)
    mass = np.asarray(base.label_mass, dtype=np.float64)
    labels = mass.shape[1]
    gathered = mass[fixed].sum(axis=0)
    for v in inner:
        gathered = gathered + _factor(int(epochs[v]), tau) * mass[position[v]]
    weight = (
        np.full(labels, 1.0 / labels)
        if base.label_weight is None
        else np.asarray(base.label_weight, dtype=np.float64)
    )
    breaks = np.asarray(base.coverage_breaks, dtype=np.float64)
    value = 0.0
    for lab in range(labels):
        z = gathered[lab] / float(base.coverage_scale[lab])
        value += float(weight[lab]) * float(np.interp(z, breaks, 1.0 - np.exp(-breaks)))
    return CheckReport(value, violations)
