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


def domain_route(domains: Domains, curves: list[Curve], budget: float) -> tuple[list, list]:
    """Greedy orienteering over domains: the domain order and each one's level (index into
    its curve)."""
    m = domains.count
    s, e = m, m + 1
    order: list[int] = []
    level = [-1] * m
    used = float(domains.border[s, e])

    def insertion(d: int) -> tuple[float, int]:
        path = [s, *order, e]
        costs = [
            domains.border[a, d] + domains.border[d, b] - domains.border[a, b]
            for a, b in itertools.pairwise(path)
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
    order, level = domain_route(domains, kept, budget)
    if not order:
        return []
    m = domains.count
    path = [m, *order, m + 1]
    travel = sum(domains.border[a, b] for a, b in itertools.pairwise(path))
    inner = np.array([curves[d].time[level[d]] for d in order])
    share = inner + max(budget - travel - inner.sum(), 0.0) * inner / max(inner.sum(), 1e-9)
    out: list[Leg] = []
    entry, t0 = int(problem.start), 0.0
    for i, d in enumerate(order):
        last = i == len(order) - 1
        exit_ = int(problem.end) if last else int(domains.exit[d, order[i + 1]])
        start_service = problem.service[problem.start] if i == 0 else 0.0
        t1 = (
            float(problem.deadline)
            if last
            else t0 + start_service + domains.border[path[i], d] + share[i]
        )
        out.append(Leg(d, entry, exit_, t0, float(t1)))
        entry, t0 = exit_, float(t1)
    return out
