"""The domain-level route of a request: which domains, in which order, with what time each.

An orienteering over domains, solved greedily: each domain offers its utility curve
(:func:`.domains.estimate`) as levels; a step either enters a new domain at its first level
(inserted where it lengthens the border-to-border path least) or raises a chosen domain to its
next level, whichever adds the most utility per second, while the path plus the time spent
inside the chosen domains fits the horizon. The time left over is then shared among the chosen
domains in proportion to their planned time, and the legs are cut at exit nodes: the node of a
domain nearest the next one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..mtrce.problem import Problem
from .domains import Curve, Domains


@dataclass(frozen=True)
class Leg:
    """One domain's part of the route: enter at ``entry``, leave at ``exit`` (problem indices),
    from ``t0`` to ``t1`` (planned seconds since the start)."""

    domain: int
    entry: int
    exit: int
    t0: float
    t1: float


def horizon(problem: Problem) -> float:
    """Time a route has for travel and data-node service: the deadline less the verification
    and the service at the start and the end."""
    ends = problem.service[problem.start] + (
        problem.service[problem.end] if problem.end != problem.start else 0.0
    )
    return float(problem.deadline - problem.verify_time - ends)


def exits(problem: Problem, domains: Domains, order: list[int]) -> list[int]:
    """Where each leg ends: the node of its domain nearest the next domain, the end for the
    last."""
    return [int(domains.exit[d, b]) for d, b in itertools.pairwise(order)] + [int(problem.end)]


def chain(problem: Problem, domains: Domains, order: list[int]) -> float:
    """Time of the straight trips start -> exit 1 -> exit 2 ... -> end with the exits' service:
    what crossing the domains in ``order`` costs at least (entering at the previous exit,
    leaving at this one)."""
    stops = [int(problem.start), *exits(problem, domains, order)]
    trips = sum(problem.travel[a, b] + problem.service[b] for a, b in itertools.pairwise(stops))
    return float(trips - problem.service[problem.end])  # the end's service is in the horizon


def domain_route(
    problem: Problem, domains: Domains, curves: list[Curve], budget: float
) -> tuple[list, list]:
    """Greedy orienteering over domains: the domain order and each one's level (index into
    its curve)."""
    m = domains.count
    order: list[int] = []
    level = [-1] * m
    used = chain(problem, domains, order)

    def insertion(d: int) -> tuple[float, int]:
        base = chain(problem, domains, order)
        costs = [
            chain(problem, domains, [*order[:at], d, *order[at:]]) - base
            for at in range(len(order) + 1)
        ]
        at = int(np.argmin(costs))
        return float(costs[at]), at

    while True:
        best: tuple[float, int, float, int] | None = None  # (rate, domain, added time, position)
        for d in range(m):
            curve, lv = curves[d], level[d]
            if lv + 1 >= len(curve.time) or curve.prize[-1] <= 0:
                continue
            if lv < 0:
                extra, at = insertion(d)
                dt, du = extra + curve.time[0], curve.prize[0]
            else:
                at = -1
                dt, du = curve.time[lv + 1] - curve.time[lv], curve.prize[lv + 1] - curve.prize[lv]
            if used + dt > budget or not np.isfinite(dt):
                continue
            rate = du / max(dt, 1e-9)
            if best is None or rate > best[0]:
                best = (rate, d, dt, at)
        if best is None:
            return order, level
        _, d, dt, at = best
        if level[d] < 0:
            order.insert(at, d)
        level[d] += 1
        used += dt


def legs(problem: Problem, domains: Domains, curves: list[Curve], skip: set[int]) -> list[Leg]:
    """The legs of the planned route (the domains in ``skip`` left out); empty when no domain
    fits, so the route goes straight from the start to the end."""
    budget = horizon(problem)
    kept = [c if d not in skip else Curve(np.zeros(1), np.zeros(1)) for d, c in enumerate(curves)]
    order, level = domain_route(problem, domains, kept, budget)
    if not order:
        return []
    travel = chain(problem, domains, order)
    inner = np.array([curves[d].time[level[d]] for d in order])
    share = inner + max(budget - travel - inner.sum(), 0.0) * inner / max(inner.sum(), 1e-9)
    ends = exits(problem, domains, order)
    entries = [int(problem.start), *ends[:-1]]
    start_service = float(problem.service[problem.start])
    length = problem.travel[entries, ends] + problem.service[ends] + share
    length[0] += start_service
    length[-1] = problem.deadline - length[:-1].sum()  # the last leg ends at the deadline
    # Each leg must at least go straight from its entry to its exit.
    need = problem.travel[entries, ends] + problem.service[ends]
    need[0] += start_service
    need[-1] += problem.verify_time
    out: list[Leg] = []
    t0 = 0.0
    for i, d in enumerate(order):
        t1 = t0 + float(_fitted(length, need)[i]) if i < len(order) - 1 else problem.deadline
        out.append(Leg(d, entries[i], ends[i], t0, float(t1)))
        t0 = float(t1)
    return out


def _fitted(length: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Leg lengths raised to what each leg needs, the time taken from the legs with more than
    they need in proportion to their surplus (unchanged when the surplus cannot cover it)."""
    short = np.maximum(need - length, 0.0).sum()
    surplus = np.maximum(length - need, 0.0)
    if short == 0 or surplus.sum() < short:
        return length
    return np.maximum(length, need) - surplus * (short / surplus.sum())
