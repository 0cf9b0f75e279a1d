"""Feasibility of one training request: can its target be reached by its deadline within budget?

The answer is *feasible* with a plan, or *infeasible* with the binding reasons in words
(``formulations/tfam.md``, Sec. "Feasibility of one request"):

- which data nodes the request's view excluded and why (modality, task, quality, age, trust,
  down, no compute, unreachable), and whether the eligible data together can reach the target;
- the shortest time in which the target can be reached versus the deadline;
- the budget needed versus the budget given.

**Federated** requests (one round: download, local training, upload; the slowest client sets the
round time) are decided exactly: the fastest client set reaching the target is the prefix of the
clients sorted by their own round time, and the cheapest set within the deadline is a small
covering 0-1 program (``scipy.optimize.milp``). **Sequential** requests search for a route with
the candidate-plan generator (an MTRCE heuristic); without one, the shortest time is bracketed by
the best route found without deadline (an upper bound) and a fractional covering bound (a lower
bound: each visited node costs at least its training time plus its cheapest incoming leg), and
the exact MTRCE solver ``cpsat`` (when registered) decides utility and sample targets.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from ..drrt.instance import Instance
from ..drrt.requests import Target, TrainingRequest
from ..drrt.view import View, build_view
from ..io import json_safe
from ..mtrce.solution import schedule
from .plans import (
    Candidate,
    candidates,
    client_times,
    collected,
    default_route_solver,
    meets_target,
    modality_reasons,
    route_cost,
)


@dataclass
class FeasibilityReport:
    """The verdict on one request, with the numbers behind it."""

    request: str
    mode: str
    feasible: bool
    proven: bool
    """True when the verdict is certain (always for feasible; for infeasible, when proved)."""
    reasons: list[str] = field(default_factory=list)
    """The binding reasons, one sentence each (empty when feasible)."""
    plan: dict[str, Any] | None = None
    target: str = ""
    available: float | None = None
    """What training at every eligible node would collect, in the target's unit."""
    shortest_time: float | None = None
    """Seconds of the fastest plan found that reaches the target (ignoring the deadline)."""
    shortest_time_lower: float | None = None
    """A proved lower bound on that time (equal to it for federated requests)."""
    deadline: float | None = None
    budget_needed: float | None = None
    budget: float | None = None
    eligible: list[str] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))

    def lines(self) -> list[str]:
        """The report as sentences a user reads."""
        head = f"request {self.request} ({self.mode}): " + (
            "FEASIBLE" if self.feasible else ("INFEASIBLE" if self.proven else "NO PLAN FOUND")
        )
        out = [head, f"target: {self.target}"]
        if self.plan:
            out.append(
                f"plan: {self.plan['label']}; finishes at {self.plan['finish']:.4g} s"
                + (f" (deadline {self.deadline:g} s)" if self.deadline is not None else "")
                + f"; collects {self.plan['collected']:.4g}; costs {self.plan['cost']:.4g}"
                + (f" (budget {self.budget:g})" if self.budget is not None else "")
            )
        out.extend(f"reason: {r}" for r in self.reasons)
        out.append(
            f"eligible data nodes ({len(self.eligible)}): {', '.join(self.eligible) or 'none'}"
        )
        for node, why in self.excluded.items():
            out.append(f"excluded {node}: {why}")
        return out


def _target_text(target: Target | None) -> str:
    if target is None:
        return "none (any route with at least one training visit)"
    unit = {
        "utility": "utility (samples x quality)",
        "samples": "usable samples",
        "coverage": "distinct labels",
    }
    return f"{target.amount:g} {unit[target.kind]}"


def _amounts(v: View, target: Target | None) -> np.ndarray:
    """Per-node contribution in the target's unit (labels per node for coverage: an over-count)."""
    kind = "utility" if target is None else target.kind
    if kind == "samples":
        return v.samples.copy()
    if kind == "coverage":
        return (v.label_counts > 0).sum(axis=1).astype(np.float64)
    return v.utility.copy()


def _fractional_cover(cost: np.ndarray, amount: np.ndarray, need: float) -> float:
    """min sum c x s.t. sum a x >= need, 0 <= x <= 1 (inf when impossible): a valid lower bound."""
    if need <= 0:
        return 0.0
    ok = amount > 0
    ratio = np.where(ok, cost / np.where(ok, amount, 1.0), np.inf)
    total = 0.0
    for i in np.argsort(ratio, kind="stable"):
        if not ok[i]:
            break
        take = min(1.0, need / amount[i])
        total += take * cost[i]
        need -= take * amount[i]
        if need <= 1e-12:
            return total
    return math.inf


def _plan_dict(c: Candidate, v: View, request: TrainingRequest) -> dict[str, Any]:
    pos = {x: i for i, x in enumerate(v.ids)}
    inner = [pos[n] for n in c.nodes if v.train_time[pos[n]] > 0]
    return {
        "label": c.label or ">".join(c.nodes),
        "mode": c.mode,
        "nodes": c.nodes,
        "finish": c.finish,
        "collected": collected(v, inner, request.target),
        "utility": c.utility,
        "cost": c.cost,
        "start_delay": c.delay,
    }


# -- federated ---------------------------------------------------------------------------------------
def _cheapest_clients(
    v: View, clients: np.ndarray, target: Target | None
) -> tuple[float, list[int]] | None:
    """The cheapest client set reaching the target (0-1 covering program); None if none does."""
    cost = (
        v.visit_cost[clients] + v.travel_cost[v.start, clients] + v.travel_cost[clients, v.end]
    ).astype(np.float64)
    n = clients.size
    if target is None:
        i = int(np.argmin(cost))
        return float(cost[i]), [int(clients[i])]
    if target.kind == "coverage":
        present = v.label_counts[clients] > 0  # (n, L)
        labels = present.shape[1]
        # Variables: x (clients), y (labels covered); y_l <= sum_i present[i,l] x_i; sum y >= amount.
        c = np.concatenate([cost, np.zeros(labels)])
        a1 = np.hstack([-present.T.astype(float), np.eye(labels)])
        a2 = np.concatenate([np.zeros(n), np.ones(labels)])[None, :]
        cons = [LinearConstraint(a1, -np.inf, 0.0), LinearConstraint(a2, target.amount, np.inf)]
        res = milp(c, constraints=cons, integrality=np.ones(n + labels), bounds=Bounds(0, 1))
    else:
        amount = (v.samples if target.kind == "samples" else v.utility)[clients]
        cons = [LinearConstraint(amount[None, :], target.amount - 1e-9, np.inf)]
        res = milp(cost, constraints=cons, integrality=np.ones(n), bounds=Bounds(0, 1))
    if res.status != 0 or res.x is None:
        return None
    chosen = [int(clients[i]) for i in np.flatnonzero(res.x[:n] > 0.5)]
    return float(cost[res.x[:n] > 0.5].sum()), chosen


def _federated(report: FeasibilityReport, request: TrainingRequest, v: View) -> None:
    clients = np.array(
        [i for i in range(v.n) if i not in (v.start, v.end) and v.train_time[i] > 0], dtype=np.int64
    )
    tau = client_times(v)
    deadline = math.inf if request.deadline is None else request.deadline
    if clients.size == 0:
        report.reasons.append("no eligible client: every data node is excluded (see below)")
        return
    order = clients[np.argsort(tau[clients], kind="stable")]
    fastest = None
    for k in range(1, order.size + 1):
        if meets_target(v, order[:k].tolist(), request.target):
            fastest = order[:k]
            break
    if fastest is None:
        report.reasons.append(
            f"all {clients.size} eligible clients together collect {report.available:g}, "
            f"short of the target {request.target.amount:g}"
        )
        return
    report.shortest_time = report.shortest_time_lower = float(tau[fastest].max())
    if report.shortest_time > deadline + 1e-9:
        slow = v.ids[int(fastest[np.argmax(tau[fastest])])]
        report.reasons.append(
            f"the fastest client set reaching the target needs a round of "
            f"{report.shortest_time:.4g} s (slowest client {slow}) > deadline {deadline:g} s"
        )
        return
    within = clients[tau[clients] <= deadline + 1e-9]
    cheapest = _cheapest_clients(v, within, request.target)
    if cheapest is None:  # cannot happen once the fastest set fits; kept for safety
        report.reasons.append("no client set within the deadline reaches the target")
        return
    report.budget_needed = cheapest[0]
    if request.budget is not None and cheapest[0] > request.budget + 1e-9:
        report.reasons.append(
            f"the cheapest client set reaching the target within the deadline costs "
            f"{cheapest[0]:.4g} > budget {request.budget:g}"
        )
        return
    chosen = cheapest[1] if request.budget is not None else fastest.tolist()
    cost = float(
        v.visit_cost[chosen].sum()
        + v.travel_cost[v.start, chosen].sum()
        + v.travel_cost[chosen, v.end].sum()
    )
    report.feasible = report.proven = True
    report.plan = {
        "label": "{" + ",".join(v.ids[i] for i in chosen) + "}",
        "mode": "federated",
        "nodes": [v.ids[i] for i in chosen],
        "finish": float(tau[chosen].max()),
        "collected": collected(v, chosen, request.target),
        "utility": collected(v, chosen, None),
        "cost": cost,
        "start_delay": 0.0,
    }


# -- sequential --------------------------------------------------------------------------------------
def _sequential(
    report: FeasibilityReport,
    instance: Instance,
    request: TrainingRequest,
    v: View,
    exact_seconds: float,
) -> None:
    from ..mtrce.problem import from_view

    found, _ = candidates(instance, request, count=1)
    if found:
        report.feasible = report.proven = True
        report.plan = _plan_dict(found[0], v, request)
        return
    inner = [i for i in range(v.n) if v.train_time[i] > 0 and i not in (v.start, v.end)]
    if not inner:
        report.reasons.append("no eligible data node: every data node is excluded (see below)")
        return
    need = 0.0 if request.target is None else request.target.amount
    if request.target is not None and report.available < need - 1e-9:
        report.reasons.append(
            f"training at all {len(inner)} eligible nodes collects {report.available:g}, "
            f"short of the target {need:g}"
        )
        return
    mp = from_view(v)
    _sequential_bounds(report, mp, v, request, np.asarray(inner))
    if report.proven:
        return
    exact = _exact_max(mp, v, request, exact_seconds)
    if exact is not None and exact < need - 1e-9:
        report.proven = True
        report.reasons.append(
            f"the exact MTRCE solver proves at most {exact:g} can be collected by the deadline"
            + (" within the budget" if request.budget is not None else "")
            + f", short of the target {need:g}"
        )
    _unproved_reasons(report, request)


def _sequential_bounds(
    report: FeasibilityReport, mp: Any, v: View, request: TrainingRequest, idx: np.ndarray
) -> None:
    """Bracket the shortest time (and the cost) of reaching the target; a bound beyond the
    deadline (or the budget) proves the request infeasible."""
    need = 0.0 if request.target is None else request.target.amount
    amount = _amounts(v, request.target)
    others = np.where(np.eye(v.n, dtype=bool), np.inf, v.transfer)
    min_in = others.min(axis=0)
    min_to_end = float(min(v.transfer[i, v.end] for i in idx.tolist()))
    t_lower = (
        _fractional_cover(v.train_time[idx] + min_in[idx], amount[idx], max(need, 1e-9))
        + min_to_end
        + v.verify_time
    )
    # Upper bound: the fastest route found reaching the target when the deadline is lifted.
    free = mp.replace(deadline=math.inf, budget=None, visit_cost=None, travel_cost=None)
    route = _route_to_target(free, v, request.target)
    report.shortest_time_lower = float(t_lower)
    if route is not None:
        report.shortest_time = schedule(free, route)[2]
        report.budget_needed = route_cost(mp, v, route)
    deadline = math.inf if request.deadline is None else request.deadline
    cost_lower = _fractional_cover(
        v.visit_cost[idx]
        + np.where(np.eye(v.n, dtype=bool), np.inf, v.travel_cost).min(axis=0)[idx],
        amount[idx],
        max(need, 1e-9),
    )
    if t_lower > deadline + 1e-9:
        report.proven = True
        report.reasons.append(
            f"reaching the target takes at least {t_lower:.4g} s (training plus the shortest legs) "
            f"> deadline {deadline:g} s"
        )
    if request.budget is not None and cost_lower > request.budget + 1e-9:
        report.proven = True
        report.reasons.append(
            f"reaching the target costs at least {cost_lower:.4g} > budget {request.budget:g}"
        )


def _unproved_reasons(report: FeasibilityReport, request: TrainingRequest) -> None:
    """Why no route was found, when infeasibility is not proved: what the best route missed."""
    deadline = math.inf if request.deadline is None else request.deadline
    if report.shortest_time is not None and report.shortest_time > deadline + 1e-9:
        report.reasons.append(
            f"the fastest route found reaching the target takes {report.shortest_time:.4g} s "
            f"(proved lower bound {report.shortest_time_lower:.4g} s) > deadline {deadline:g} s"
        )
    elif (
        report.shortest_time is not None
        and request.budget is not None
        and report.budget_needed is not None
    ):
        report.reasons.append(
            f"a route reaching the target in {report.shortest_time:.4g} s (deadline {deadline:g} s) "
            f"costs {report.budget_needed:.4g} > budget {request.budget:g}; no cheaper one was found"
        )
    if not report.reasons:
        report.reasons.append(
            "no route reaching the target by the deadline was found (not proved impossible)"
        )


def _route_to_target(mp: Any, v: View, target: Target | None) -> list[int] | None:
    """Insert nodes by contribution per added second until the target is met (no deadline)."""
    route = [mp.start, mp.end]
    free = {i for i in range(mp.n) if i not in (mp.start, mp.end) and v.train_time[i] > 0}
    amount = _amounts(v, target)
    while not meets_target(v, [j for j in route if v.train_time[j] > 0], target):
        base = schedule(mp, route)[2]
        best = None
        current = collected(v, [i for i in route if v.train_time[i] > 0], target)
        for i in free - set(route):
            gain = collected(v, [*[j for j in route if v.train_time[j] > 0], i], target) - current
            if gain <= 0 and amount[i] <= 0:
                continue
            for pos in range(1, len(route)):
                trial = [*route[:pos], i, *route[pos:]]
                _, _, done, ok = schedule(mp, trial)
                if not ok:
                    continue
                score = max(gain, 1e-9) / max(done - base, 1e-9)
                if best is None or score > best[0]:
                    best = (score, i, pos)
        if best is None:
            return None
        route.insert(best[2], best[1])
    return route


def _exact_max(mp: Any, v: View, request: TrainingRequest, seconds: float) -> float | None:
    """The optimum collected within deadline and budget by MTRCE ``cpsat`` (None if unproved)."""
    from ..registry import solve, solvers

    if seconds <= 0 or "cpsat" not in solvers("mtrce")["mtrce"]:
        return None
    kind = "utility" if request.target is None else request.target.kind
    if kind == "coverage":
        return None
    problem = mp if kind == "utility" else mp.replace(utility=v.samples.astype(np.float64))
    result = solve(problem, "cpsat", time_limit=seconds)
    if result.status.value == "optimal" and result.objective is not None:
        return float(result.objective)
    if result.status.value == "infeasible":
        return 0.0
    return None


def feasibility(
    instance: Instance, request_id: str | None = None, *, exact_seconds: float = 10.0
) -> FeasibilityReport:
    """Decide whether one request of ``instance`` can reach its target by its deadline.

    Parameters
    ----------
    instance : Instance
        The instance holding the snapshot and the request.
    request_id : str, optional
        The request (the first when None).
    exact_seconds : float
        Time the exact MTRCE solver may spend proving a sequential request infeasible (0: skip).

    Returns
    -------
    FeasibilityReport
        ``feasible`` with a plan (its label, finish, what it collects and costs), or not, with the
        binding reasons in words; ``proven`` says whether an infeasible verdict is certain;
        ``report.lines()`` is the report as a user reads it.

    Raises
    ------
    InputError
        Unknown request. (A modality no data node holds is a decision, not an error: the
        report says infeasible, with that reason.)

    Notes
    -----
    Federated requests are decided exactly (a sort of the clients by round time and a small
    covering 0-1 program for the budget). Sequential requests are feasible when a candidate route
    is found (heuristic); otherwise a time and a cost lower bound (fractional covering) or the
    exact MTRCE solver within ``exact_seconds`` may prove them infeasible, and the report says
    when it is not proved. See ``formulations/tfam.md``, Sec. "Feasibility of one request".

    Examples
    --------
    >>> from daitn_opt.drrt.generators import generate
    >>> instance = generate("healthcare", nodes=6, seed=0, requests=2)
    >>> report = feasibility(instance, instance.requests[1].id, exact_seconds=0)
    >>> report.mode, report.feasible, report.proven
    ('federated', True, True)
    >>> report.lines()[0]
    'request r2 (federated): FEASIBLE'
    """
    request = instance.request(request_id)
    blocked = modality_reasons(instance).get(request.id)
    if blocked is not None:  # valid input; the decision is "infeasible", for this reason
        return FeasibilityReport(
            request=request.id,
            mode=request.mode,
            feasible=False,
            proven=True,
            reasons=[blocked],
            target=_target_text(request.target),
            available=0.0,
            deadline=request.deadline,
            budget=request.budget,
        )
    v = build_view(instance.snapshot, request, instance.travel)
    inner = [i for i in range(v.n) if v.train_time[i] > 0 and i not in (v.start, v.end)]
    report = FeasibilityReport(
        request=request.id,
        mode=request.mode,
        feasible=False,
        proven=False,
        target=_target_text(request.target),
        available=collected(v, inner, request.target),
        deadline=request.deadline,
        budget=request.budget,
        eligible=[v.ids[i] for i in inner],
        excluded=dict(v.excluded),
    )
    if request.target is not None and report.available < request.target.amount - 1e-9:
        report.proven = True
        report.reasons.append(
            f"the {len(inner)} eligible data nodes together hold {report.available:g}, short of the "
            f"target {request.target.amount:g}; {len(v.excluded)} data nodes are excluded (see below)"
        )
        return report
    if request.mode == "federated":
        _federated(report, request, v)
        if not report.feasible:
            report.proven = True  # the federated decision is exact
    else:
        _sequential(report, instance, request, v, exact_seconds)
    return report


__all__ = ["FeasibilityReport", "default_route_solver", "feasibility"]
