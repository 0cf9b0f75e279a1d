"""The admission cascade, in numbers: what happens when requests are admitted without capacity
accounting, replayed on a shared network clock.

DA-ITN (arXiv 2501.05323) warns that admitting training requests one by one, each checked only
against its own deadline on an otherwise idle network, over-commits nodes: jobs queue for a
node's training slots, every delay propagates down the rest of a route, and admitted requests
miss their deadlines. :func:`replay` executes admitted plans event by event: each training job
waits for its node's window and for one of the node's ``compute.slots`` concurrent slots
(first come, first served by ready time), travel takes the view's transfer times. It knows
nothing of time slots or of the admission model, so it checks the admission independently.

:func:`cascade_demo` compares, on one batch and the same candidate plans,

- ``naive``: first come, first served *without* capacity accounting: every request whose best
  plan meets its deadline on an idle network is admitted and started at once;
- ``tfam``: the admission chosen by a T-FAM solver, each plan started at its planned time.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..drrt.instance import Instance
from ..drrt.view import View
from ..registry import solve
from .plans import Candidate, candidates, default_route_solver, default_slot_seconds
from .plans import spec_from_candidates as _spec
from .problem import from_spec


@dataclass
class Job:
    """An admitted plan to execute: a route of training steps, or parallel federated clients."""

    request: str
    release: float
    """Absolute time the plan starts (arrival + planned delay)."""
    due: float
    """Absolute deadline (inf: none)."""
    mode: str
    steps: list[tuple[str, float, float, float]] = field(default_factory=list)
    """(node, travel before, training seconds, earliest start (absolute)) in route order; for
    federated, travel before is the download."""
    tail: list[float] = field(default_factory=list)
    """Sequential: [travel to the end + verification]; federated: upload per client."""
    verify: float = 0.0


def job_of(c: Candidate, v: View, arrival: float, deadline: float | None) -> Job:
    """The executable job of candidate ``c`` built from its request's view."""
    pos = {x: i for i, x in enumerate(v.ids)}
    release = arrival + c.delay
    due = arrival + (math.inf if deadline is None else deadline)
    job = Job(c.request, release, due, c.mode, verify=v.verify_time)
    if c.mode == "sequential":
        route = [pos[x] for x in c.nodes]
        travel = 0.0
        for prev, node in zip([None, *route[:-1]], route, strict=True):
            if prev is not None:
                travel += float(v.transfer[prev, node])
            if v.train_time[node] > 0:
                job.steps.append(
                    (
                        v.ids[node],
                        travel,
                        float(v.train_time[node]),
                        arrival + float(v.window_open[node]),
                    )
                )
                travel = 0.0
        job.tail = [travel + v.verify_time]
    else:
        for x in c.nodes:
            i = pos[x]
            job.steps.append(
                (
                    x,
                    float(v.transfer[v.start, i]),
                    float(v.train_time[i]),
                    arrival + float(v.window_open[i]),
                )
            )
            job.tail.append(float(v.transfer[i, v.end]))
    return job


def replay(jobs: list[Job], slots: dict[str, int]) -> dict[str, float]:
    """Execute ``jobs`` on nodes with ``slots[node]`` concurrent training slots; finish times.

    Event-driven: a training step becomes ready when the model arrives; it starts at the
    earliest of its node's free slots (after its window opens) in order of readiness.
    """
    free: dict[str, list[float]] = {n: [0.0] * max(1, k) for n, k in slots.items()}
    for n, k in slots.items():
        if k <= 0:
            free[n] = [math.inf]
    finish: dict[str, float] = {}
    pending_clients: dict[int, int] = {}
    events: list[tuple[float, int, int, int]] = []  # (ready time, seq, job index, step index)
    seq = 0
    for j, job in enumerate(jobs):
        if job.mode == "sequential":
            if job.steps:
                heapq.heappush(events, (job.release + job.steps[0][1], seq, j, 0))
            else:
                finish[job.request] = job.release + job.tail[0]
            seq += 1
        else:
            pending_clients[j] = len(job.steps)
            finish[job.request] = job.release
            for s, step in enumerate(job.steps):
                heapq.heappush(events, (job.release + step[1], seq, j, s))
                seq += 1
    while events:
        ready, _, j, s = heapq.heappop(events)
        job = jobs[j]
        node, _, seconds, earliest = job.steps[s]
        slot_free = heapq.heappop(free.setdefault(node, [0.0]))
        start = max(ready, earliest, slot_free)
        end = start + seconds
        heapq.heappush(free[node], end)
        if job.mode == "sequential":
            if s + 1 < len(job.steps):
                heapq.heappush(events, (end + job.steps[s + 1][1], seq, j, s + 1))
                seq += 1
            else:
                finish[job.request] = end + job.tail[0]
        else:
            finish[job.request] = max(finish[job.request], end + job.tail[s])
            pending_clients[j] -= 1
            if pending_clients[j] == 0:
                finish[job.request] += job.verify
    return finish


def cascade_demo(
    instance: Instance,
    *,
    solver: str = "highs",
    time_limit: float = 30.0,
    plans_per_request: int = 4,
    slot_seconds: float | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Admit ``instance``'s requests naively and with T-FAM; replay both; count missed deadlines.

    Returns a dict with, per policy, the admitted requests, their value, and the admitted
    requests that miss their deadline in the replay (and by how much in total).
    """
    slot = slot_seconds or default_slot_seconds(instance)
    route_solver = default_route_solver()
    found: dict[str, list[Candidate]] = {}
    views: dict[str, View] = {}
    for req in instance.requests:
        found[req.id], views[req.id] = candidates(
            instance, req, count=plans_per_request, slot_seconds=slot, route_solver=route_solver
        )
    requests = {r.id: r for r in instance.requests}
    slots = {n.id: n.compute.slots for n in instance.snapshot.nodes if n.compute is not None}

    def outcome(chosen: dict[str, Candidate]) -> dict[str, Any]:
        jobs = [
            job_of(c, views[rid], requests[rid].arrival, requests[rid].deadline)
            for rid, c in chosen.items()
        ]
        done = replay(jobs, slots)
        late = {j.request: done[j.request] - j.due for j in jobs if done[j.request] > j.due + 1e-6}
        return {
            "admitted": len(chosen),
            "value": float(sum(c.value for c in chosen.values())),
            "missed": len(late),
            "missed_requests": sorted(late),
            "total_lateness": float(sum(late.values())),
        }

    order = sorted(instance.requests, key=lambda r: r.arrival)
    naive = {r.id: found[r.id][0] for r in order if found[r.id]}
    spec = _spec(instance, found, slot)
    problem = from_spec(spec, name=instance.name)
    result = solve(problem, solver, time_limit=time_limit, seed=seed)
    admitted = result.solution.get("admitted", {})
    tfam = {rid: found[rid][k] for rid, k in admitted.items()}
    return {
        "requests": len(instance.requests),
        "plannable": sum(bool(v) for v in found.values()),
        "plans": int(problem.n_plans),
        "resources": int(problem.n_resources),
        "slot_seconds": slot,
        "naive": outcome(naive),
        "tfam": outcome(tfam)
        | {"solver": solver, "status": result.status.value, "gap": result.gap},
        "oversubscribed_resources": int(np.count_nonzero(_naive_load(problem) > problem.capacity)),
    }


def _naive_load(problem: Any) -> np.ndarray:
    """(K,) load if every request took its first plan: how over-subscribed the batch is."""
    first = problem.plan_start[:-1]
    return np.asarray(problem.use[first].sum(axis=0)).ravel()
