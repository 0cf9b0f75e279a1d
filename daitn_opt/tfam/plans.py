"""Candidate plans for T-FAM admission, generated from a DRRT snapshot.

For each training request, a few diverse plans that each reach the request's target by its
deadline within its budget, so that admission can trade one request's second-best plan for another
request's only plan (``formulations/tfam.md``, Sec. "Candidate plans"):

- **sequential** requests: MTRCE routes from the request's view (an MTRCE solver from the registry,
  ``greedy`` by default when registered, else a ratio-insertion fallback), then variants: the same
  route started one or more time slots later, and new routes that avoid the busiest node of the
  routes found so far (different subsets);
- **federated** requests (one FedAvg round by default: clients download the model, train their
  local epochs in parallel, upload; the round lasts as long as the slowest client): the fastest
  client set that reaches the target, the largest client set that fits the deadline, client sets
  avoiding one node, and delayed copies.

Each plan is converted to resource use per (node, slot): a node is busy (one of its
``compute.slots`` concurrent training slots) during every time slot its training interval
overlaps. Plan value: the request's ``value``; without a target, scaled by the plan's utility
relative to the request's best plan.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..drrt.instance import (
    AdmissionPlan,
    AdmissionRequest,
    AdmissionResource,
    AdmissionSpec,
    Instance,
)
from ..drrt.requests import Target, TrainingRequest
from ..drrt.view import View, build_view
from ..errors import InputError, UnsupportedError
from ..mtrce.problem import Problem as RouteProblem
from ..mtrce.problem import from_view
from ..mtrce.solution import schedule
from .problem import OUT_OF_TIME

SLOTS = 24
"""Default number of time slots the horizon is cut into."""


@dataclass(frozen=True)
class Step:
    """One training job of a plan: node, start and end (seconds after the snapshot time)."""

    node: str
    start: float
    end: float


@dataclass
class Candidate:
    """A candidate plan of one request: its jobs, completion, collected amount and value."""

    request: str
    mode: str
    nodes: list[str]
    steps: list[Step]
    delay: float
    finish: float
    """Seconds after the request's arrival at which the model is back and verified."""
    utility: float
    cost: float
    value: float = 0.0
    label: str = ""
    travel: list[float] = field(default_factory=list)
    """Sequential: travel time before each step and after the last (to the end node)."""


# -- targets ----------------------------------------------------------------------------------------
def collected(v: View, nodes: list[int], target: Target | None) -> float:
    """What training at view positions ``nodes`` collects, in the target's unit."""
    if not nodes:
        return 0.0
    idx = np.asarray(nodes, dtype=np.int64)
    kind = "utility" if target is None else target.kind
    if kind == "samples":
        return float(v.samples[idx].sum())
    if kind == "coverage":
        if v.label_counts.shape[1] == 0:
            return 0.0
        return float(np.count_nonzero(v.label_counts[idx].sum(axis=0) > 0))
    return float(v.utility[idx].sum())


def meets_target(v: View, nodes: list[int], target: Target | None) -> bool:
    return target is None or collected(v, nodes, target) >= target.amount - 1e-9


# -- sequential routes ------------------------------------------------------------------------------
# A route's timetable is MTRCE's one schedule (:func:`daitn_opt.mtrce.solution.schedule`).
def route_cost(mp: RouteProblem, v: View, route: list[int]) -> float:
    visit = float(v.visit_cost[route].sum())
    travel = float(sum(v.travel_cost[i, j] for i, j in itertools.pairwise(route)))
    return visit + travel


def ratio_insertion(mp: RouteProblem, v: View) -> list[int]:
    """Fallback route builder: insert the node with the best utility per added second while the
    route stays feasible (deadline, windows, budget). Returns ``[s, ..., e]``."""
    route = [mp.start, mp.end]
    if not schedule(mp, route)[3]:
        return route
    free = set(range(mp.n)) - {mp.start, mp.end}
    free = {i for i in free if mp.utility[i] > 0}
    while free:
        best: tuple[float, int, int] | None = None
        base = schedule(mp, route)[2]
        for i in free:
            for pos in range(1, len(route)):
                trial = [*route[:pos], i, *route[pos:]]
                _, _, done, ok = schedule(mp, trial)
                if not ok or (
                    mp.budget is not None and route_cost(mp, v, trial) > mp.budget + 1e-9
                ):
                    continue
                score = mp.utility[i] / max(done - base, 1e-9)
                if best is None or score > best[0]:
                    best = (score, i, pos)
        if best is None:
            break
        _, i, pos = best
        route.insert(pos, i)
        free.discard(i)
    return route


RouteSolver = Callable[[RouteProblem, View], list[int]]


def registry_route_solver(
    name: str, time_limit: float = 2.0, seed: int = 0, deadline: float | None = None
) -> RouteSolver | None:
    """An MTRCE solver from the registry as a route builder (None if ``name`` is not registered).

    ``deadline`` (``time.perf_counter()`` seconds) shortens each call's limit to the time left.
    """
    from ..registry import solve, solvers

    if name not in solvers("mtrce")["mtrce"]:
        return None

    def run(mp: RouteProblem, v: View) -> list[int]:
        limit = time_limit
        if deadline is not None:
            limit = min(limit, max(0.05, deadline - time.perf_counter()))
        try:
            result = solve(mp, name, time_limit=limit, seed=seed)
        except UnsupportedError:  # a variant this MTRCE solver refuses: use the fallback
            return ratio_insertion(mp, v)
        routes = result.solution.get("routes") if result.status.has_solution else None
        if not routes:
            return [mp.start, mp.end]
        pos = {node_id: i for i, node_id in enumerate(mp.ids)}
        return [pos[x] for x in routes[0]]

    return run


def default_route_solver(deadline: float | None = None) -> RouteSolver:
    """MTRCE ``greedy`` from the registry when available, else :func:`ratio_insertion`."""
    return registry_route_solver("greedy", deadline=deadline) or ratio_insertion


def _shifted(mp: RouteProblem, delay: float) -> RouteProblem:
    """The route problem for a start ``delay`` seconds later (windows and deadline move)."""
    changes: dict[str, object] = {"deadline": mp.deadline - delay}
    if mp.window_open is not None:
        changes["window_open"] = np.maximum(mp.window_open - delay, 0.0)
        changes["window_close"] = mp.window_close - delay
    return mp.replace(**changes)


@dataclass
class _Found:
    """The candidates of one request collected so far: distinct, affordable, at most ``count``."""

    request: TrainingRequest
    v: View
    count: int
    plans: list[Candidate] = field(default_factory=list)
    seen: set[tuple] = field(default_factory=set)

    def full(self) -> bool:
        return len(self.plans) >= self.count

    def affordable(self, cost: float) -> bool:
        return self.request.budget is None or cost <= self.request.budget + 1e-9

    def add(
        self,
        key: tuple,
        mode: str,
        nodes: list[int],
        trained: list[tuple[int, float]],
        delay: float,
        finish: float,
        cost: float,
        travel: list[float] | None = None,
    ) -> None:
        """Keep a plan visiting view positions ``nodes`` that trains at ``(node, start)`` of
        ``trained`` (start in seconds after the plan's own start)."""
        v, t0 = self.v, self.request.arrival + delay
        self.seen.add(key)
        inner = [i for i, _ in trained]
        self.plans.append(
            Candidate(
                request=self.request.id,
                mode=mode,
                nodes=[v.ids[i] for i in nodes],
                steps=[
                    Step(v.ids[i], t0 + st, t0 + st + float(v.train_time[i])) for i, st in trained
                ],
                delay=delay,
                finish=finish,
                utility=collected(v, inner, None),
                cost=cost,
                travel=travel or [],
            )
        )


def _delayed(
    found: _Found,
    items: list[list[int]],
    consider: Callable[[list[int], float], object],
    slot: float,
) -> None:
    """Delayed copies: each item started one, two, ... slots later, while any still fits."""
    shift = 1
    while not found.full() and found.plans and shift <= SLOTS:
        before = len(found.plans)
        for item in items:
            consider(item, shift * slot)
            if found.full():
                break
        if len(found.plans) == before:
            break
        shift += 1


def _diverse_routes(
    mp: RouteProblem,
    v: View,
    found: _Found,
    route_solver: RouteSolver,
    consider: Callable[[list[int]], bool],
) -> list[list[int]]:
    """Routes from ``route_solver``, each new one barred from the busiest node of the last."""
    banned: set[int] = set()
    routes: list[list[int]] = []
    for _ in range(found.count):
        problem = mp
        if banned:
            keep = np.ones(mp.n, dtype=bool)
            keep[list(banned)] = False
            problem = mp.replace(utility=np.where(keep, mp.utility, 0.0))
        route = route_solver(problem, v)
        route = [i for i in route if i not in banned or i in (mp.start, mp.end)]
        if not consider(route):
            break
        routes.append(route)
        inner = (i for i in route if i not in (mp.start, mp.end))
        banned.add(max(inner, key=lambda i: v.train_time[i]))
        if found.full():
            break
    return routes


def sequential_candidates(
    request: TrainingRequest,
    v: View,
    *,
    count: int,
    slot_seconds: float,
    route_solver: RouteSolver,
) -> list[Candidate]:
    """Up to ``count`` distinct routes (and delayed copies) that meet target, deadline, budget."""
    if request.replicas > 1:
        raise InputError(
            f"requests[{request.id!r}].replicas", request.replicas, "T-FAM plans one route"
        )
    mp = from_view(v)
    found = _Found(request, v, count)

    def consider(problem: RouteProblem, route: list[int], delay: float) -> bool:
        inner = [i for i in route if v.train_time[i] > 0 or i not in (v.start, v.end)]
        _, starts, done, ok = schedule(problem, route)
        if not ok or not inner or not meets_target(v, inner, request.target):
            return False
        cost = route_cost(problem, v, route)
        key = (tuple(route), round(delay, 6))
        if not found.affordable(cost) or key in found.seen:
            return False
        trained = [(i, float(starts[p])) for p, i in enumerate(route) if v.train_time[i] > 0]
        travel = [float(v.transfer[i, j]) for i, j in itertools.pairwise(route)]
        found.add(key, "sequential", route, trained, delay, delay + done, cost, travel)
        return True

    routes = _diverse_routes(mp, v, found, route_solver, lambda r: consider(mp, r, 0.0))
    _delayed(found, routes, lambda r, delay: consider(_shifted(mp, delay), r, delay), slot_seconds)
    return found.plans


# -- federated client sets --------------------------------------------------------------------------
def client_times(v: View, delay: float = 0.0) -> np.ndarray:
    """(n,) round time of each client alone, for a round starting ``delay`` s after arrival.

    Download, wait for the client's window to open, local training, upload, verification; inf
    when the window has closed before the model arrives.
    """
    start = np.maximum(v.transfer[v.start], v.window_open - delay)
    late = start > v.window_close - delay + 1e-6
    tau = start + v.train_time + v.transfer[:, v.end] + v.verify_time
    return np.where(late, np.inf, tau)


def federated_candidates(
    request: TrainingRequest, v: View, *, count: int, slot_seconds: float
) -> list[Candidate]:
    """Client sets whose round fits the deadline (and budget) and reaches the target."""
    clients = np.array([i for i in range(v.n) if i not in (v.start, v.end) and v.train_time[i] > 0])
    if clients.size == 0:
        return []
    tau = client_times(v)[clients]
    deadline = math.inf if request.deadline is None else request.deadline
    order = clients[np.argsort(tau, kind="stable")]
    sets: list[list[int]] = []
    # Fastest set reaching the target: clients by round time until the target is met.
    for k in range(1, order.size + 1):
        if meets_target(v, order[:k].tolist(), request.target):
            sets.append(order[:k].tolist())
            break
    fitting = [int(i) for i in order if client_times(v)[i] <= deadline + 1e-9]
    if fitting:
        sets.append(fitting)  # the largest set that fits the deadline
    for base in list(sets):
        for drop in sorted(base, key=lambda i: -v.train_time[i])[:count]:
            sets.append([i for i in base if i != drop])
    found = _Found(request, v, count)

    def consider(chosen: list[int], delay: float) -> None:
        key = (tuple(sorted(chosen)), round(delay, 6))
        if not chosen or found.full() or key in found.seen:
            return
        if not meets_target(v, chosen, request.target):
            return
        round_time = float(client_times(v, delay)[chosen].max())
        if delay + round_time > deadline + 1e-9:
            return
        starts = np.maximum(v.transfer[v.start, chosen], v.window_open[chosen] - delay)
        cost = float(
            v.visit_cost[chosen].sum()
            + v.travel_cost[v.start, chosen].sum()
            + v.travel_cost[chosen, v.end].sum()
        )
        if found.affordable(cost):
            trained = list(zip(chosen, starts.tolist(), strict=True))
            found.add(key, "federated", chosen, trained, delay, delay + round_time, cost)

    for chosen in sets:
        consider(chosen, 0.0)
    _delayed(found, sets, consider, slot_seconds)
    return found.plans


# -- batch ------------------------------------------------------------------------------------------
def modality_reasons(instance: Instance) -> dict[str, str]:
    """Requests whose modality no data node of the snapshot holds, with that binding reason.

    Such a request is valid input: the decision is that it cannot be planned (and is refused).
    """
    held = {d.modality for n in instance.snapshot.of_kind("data") for d in n.datasets}
    return {
        req.id: (
            f"no eligible data node: modality {req.modality!r} held by none (held: {sorted(held)})"
        )
        for req in instance.requests
        if req.modality not in held
    }


def default_slot_seconds(instance: Instance, slots: int = SLOTS) -> float:
    """Horizon (latest arrival + deadline) divided into ``slots`` slots."""
    ends = [
        r.arrival + (r.deadline if r.deadline is not None else 3600.0) for r in instance.requests
    ]
    horizon = max(ends) if ends else 3600.0
    return max(1.0, math.ceil(horizon / slots))


def candidates(
    instance: Instance,
    request: TrainingRequest,
    *,
    count: int = 4,
    slot_seconds: float | None = None,
    route_solver: RouteSolver | None = None,
) -> tuple[list[Candidate], View]:
    """Candidate plans of one request, best first, with the view they were built on."""
    v = build_view(instance.snapshot, request, instance.travel)
    slot = slot_seconds or default_slot_seconds(instance)
    if request.mode == "federated":
        found = federated_candidates(request, v, count=count, slot_seconds=slot)
    else:
        found = sequential_candidates(
            request,
            v,
            count=count,
            slot_seconds=slot,
            route_solver=route_solver or default_route_solver(),
        )
    if found:
        best = max(c.utility for c in found)
        for c in found:
            scale = 1.0 if request.target is not None or best <= 0 else c.utility / best
            c.value = float(request.value) * scale
            c.label = (
                ">".join(c.nodes) if c.mode == "sequential" else "{" + ",".join(c.nodes) + "}"
            ) + (f" +{c.delay:g}s" if c.delay else "")
    return found, v


def plan_use(c: Candidate, slot_seconds: float) -> dict[tuple[str, int], float]:
    """(node, slot) -> 1 for every slot a training job of ``c`` overlaps (half-open intervals)."""
    use: dict[tuple[str, int], float] = {}
    for step in c.steps:
        first = math.floor(step.start / slot_seconds + 1e-9)
        last = math.ceil(step.end / slot_seconds - 1e-9) - 1
        for s in range(first, max(first, last) + 1):
            use[(step.node, s)] = 1.0
    return use


def all_candidates(
    instance: Instance,
    *,
    plans_per_request: int = 4,
    slot_seconds: float | None = None,
    route_solver: RouteSolver | None = None,
    deadline: float | None = None,
    skipped: dict[str, str] | None = None,
) -> dict[str, list[Candidate]]:
    """Candidate plans of every training request (empty list: no plan meets its target).

    With ``deadline`` (``time.perf_counter()`` seconds), requests not reached by then get no
    plan; their ids go into ``skipped`` with the reason.
    """
    if not instance.requests:
        raise InputError("requests", [], "the instance has no training request to admit")
    blocked = modality_reasons(instance)
    slot = slot_seconds or default_slot_seconds(instance)
    solver = route_solver or default_route_solver(deadline)
    found: dict[str, list[Candidate]] = {}
    for req in instance.requests:
        if req.id in blocked:
            found[req.id] = []
        elif deadline is not None and time.perf_counter() > deadline:
            found[req.id] = []
            if skipped is not None:
                skipped[req.id] = f"not planned: {OUT_OF_TIME}"
        else:
            found[req.id] = candidates(
                instance, req, count=plans_per_request, slot_seconds=slot, route_solver=solver
            )[0]
            late = deadline is not None and time.perf_counter() > deadline
            if not found[req.id] and late and skipped is not None:
                skipped[req.id] = f"no plan found before {OUT_OF_TIME}"
    return found


def describe(c: Candidate, arrival: float) -> dict[str, Any]:
    """What candidate ``c`` of a request arriving at ``arrival`` does, as a solution states it.

    ``{"clients": [ids]}`` (federated) or ``{"route": [ids]}`` (sequential, start and end
    included: MTRCE's route form), ``"start"``: seconds after the snapshot time at which the plan
    starts (arrival plus its delay).
    """
    who = "clients" if c.mode == "federated" else "route"
    return {who: list(c.nodes), "start": float(arrival + c.delay)}


def spec_from_candidates(
    instance: Instance,
    found: dict[str, list[Candidate]],
    slot_seconds: float,
    unplannable: dict[str, str] | None = None,
    skipped: dict[str, str] | None = None,
    details: dict[str, list[dict[str, Any]]] | None = None,
) -> AdmissionSpec:
    """The admission batch of the given candidate plans (resources: the (node, slot) pairs used).

    Requests without a plan are left out (listed in ``unplannable`` when given); a must-admit
    request without a plan is an :class:`InputError` (``daitn-opt feasible`` explains why).
    ``details``, when given, receives each kept request's :func:`describe` of its plans.
    """
    capacity = {n.id: n.compute.slots for n in instance.snapshot.nodes if n.compute is not None}
    requests: list[AdmissionRequest] = []
    used: set[tuple[str, int]] = set()
    blocked = modality_reasons(instance) | (skipped or {})
    for req in instance.requests:
        plans_found = found.get(req.id, [])
        if not plans_found:
            if req.must_admit:
                raise InputError(
                    "request",
                    req.id,
                    "is must-admit but has no plan meeting its target by its deadline "
                    f"(run `daitn-opt feasible FILE --request {req.id}`)",
                )
            if unplannable is not None:
                unplannable[req.id] = blocked.get(
                    req.id, "no plan meets the target by the deadline within the budget"
                )
            continue
        plans = []
        if details is not None:
            details[req.id] = [describe(c, req.arrival) for c in plans_found]
        for c in plans_found:
            use = plan_use(c, slot_seconds)
            used.update(use)
            plans.append(
                AdmissionPlan(
                    value=c.value,
                    use={f"{n}@{s}": a for (n, s), a in use.items()},
                    label=c.label,
                    finish=c.finish,
                )
            )
        requests.append(
            AdmissionRequest(
                id=req.id,
                plans=plans,
                must_admit=req.must_admit,
                arrival=req.arrival,
                deadline=req.deadline,
            )
        )
    resources = [
        AdmissionResource(id=f"{n}@{s}", capacity=float(capacity.get(n, 0)), node=n, slot=s)
        for n, s in sorted(used)
    ]
    return AdmissionSpec(resources=resources, requests=requests, slot_seconds=slot_seconds)


def admission_spec(
    instance: Instance,
    *,
    plans_per_request: int = 4,
    slot_seconds: float | None = None,
    route_solver: RouteSolver | None = None,
    unplannable: dict[str, str] | None = None,
    time_limit: float | None = None,
    details: dict[str, list[dict[str, Any]]] | None = None,
) -> AdmissionSpec:
    """The admission batch of ``instance``'s training requests with generated candidate plans.

    ``time_limit`` (seconds) bounds plan generation: each route search is cut to the time left
    and requests not reached in time are left out (in ``unplannable``, saying so). Building a
    request's view is not interruptible: on very large snapshots one view can outlast it.

    Requests without any plan that meets their target by their deadline are left out (their
    ids and the reason go into ``unplannable`` when given); a must-admit request without a plan
    is an :class:`InputError` (``daitn-opt feasible`` explains why). ``details``, when given,
    receives what each plan does (:func:`describe`).
    """
    slot = slot_seconds or default_slot_seconds(instance)
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    skipped: dict[str, str] = {}
    found = all_candidates(
        instance,
        plans_per_request=plans_per_request,
        slot_seconds=slot,
        route_solver=route_solver,
        deadline=deadline,
        skipped=skipped,
    )
    return spec_from_candidates(instance, found, slot, unplannable, skipped, details)
