"""The domain level of K-AS control: how a request's MTRCE problem splits into domains.

Given the view's problem and a node -> domain map (:mod:`.partition`), this module states each
domain's members, the border-to-border transfer time between every two domains (with the exit
node that achieves it), and a fast estimate of what a domain is worth: the utility a route
inside it collects against the time it spends there, as a concave curve read off one greedy
route. The start and the end of the request belong to no domain.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..mtrce.problem import Problem


@dataclass(frozen=True)
class Domains:
    """Domain members of one problem and the border table between them.

    Rows and columns ``0..m-1`` of ``border`` are the domains, ``m`` is the start and ``m + 1``
    the end; ``border[a, b]`` is the least transfer time from a node of ``a`` to a node of
    ``b``; ``exit[a, b]`` is the node ``x`` of ``a`` with the least service plus transfer time to
    ``b`` (``d_x + min_j t_xj``), where a leg in ``a`` ends before the route moves on to ``b``.
    """

    members: list[np.ndarray]
    border: np.ndarray
    exit: np.ndarray

    @property
    def count(self) -> int:
        return len(self.members)


def supported(problem: Problem) -> None:
    """Refuse what the hierarchical planner does not split: several routes, mandatory nodes, a
    money budget and the coverage objectives (their value is not a sum over domains)."""
    if problem.objective != "max_utility":
        raise InputError("objective", problem.objective, "K-AS plans max_utility requests only")
    if problem.k != 1:
        raise InputError("k", problem.k, "K-AS plans one route")
    if len(problem.mandatory):
        raise InputError("mandatory", problem.mandatory.tolist(), "K-AS takes no mandatory nodes")
    if problem.budget is not None:
        raise InputError("budget", problem.budget, "K-AS does not split a money budget")


def domains_of(problem: Problem, domain_of: dict[str, int]) -> Domains:
    """Members and border table of the domains that hold at least one of the view's nodes."""
    ends = {int(problem.start), int(problem.end)}
    groups: dict[int, list[int]] = {}
    for i, node_id in enumerate(problem.ids):
        if i in ends:
            continue
        if node_id not in domain_of:
            raise InputError("domain_of", node_id, "a view node is in no domain")
        groups.setdefault(domain_of[node_id], []).append(i)
    members = [np.asarray(groups[d], dtype=np.int64) for d in sorted(groups)]
    sets = [*members, np.array([problem.start]), np.array([problem.end])]
    m = len(sets)
    border = np.full((m, m), np.inf)
    exit_ = np.full((m, m), -1, dtype=np.int64)
    for a, rows in enumerate(sets):
        from_a = problem.travel[rows]  # (|a|, n): one slice per domain keeps memory at |a| x n
        for b, cols in enumerate(sets):
            if a == b:
                continue
            best = from_a[:, cols].min(axis=1)
            border[a, b] = best.min()
            # The exit is served where the leg ends: a node of long service is a poor exit.
            exit_[a, b] = rows[int(np.argmin(best + problem.service[rows]))]
    return Domains(members, border, exit_)


@dataclass(frozen=True)
class Curve:
    """Utility against time spent inside a domain, at increasing levels (both cumulative)."""

    time: np.ndarray
    prize: np.ndarray


def estimate(problem: Problem, members: np.ndarray, horizon: float, levels: int) -> Curve:
    """A domain's worth at ``levels`` time levels, from one greedy route inside it.

    The greedy route runs from the domain's most central node back to it within the whole
    horizon; its data nodes, taken by utility per service time (best first), give the curve:
    at each level the utility of a prefix against its service plus the route's mean hop time
    per node. Greedy is the estimate because it is one pass (milliseconds per hundred nodes);
    the estimate only has to rank domains and share time, the route itself is planned later.
    """
    from ..registry import solve
    from .subproblem import slice_problem

    sample = members[:: max(1, len(members) // 50)]
    centre = int(members[np.argmin(problem.travel[np.ix_(members, sample)].sum(axis=1))])
    idx = np.concatenate([[centre], members[members != centre]])
    sub = slice_problem(problem, idx, 0, 0, deadline=horizon, verify_time=0.0)
    result = solve(sub, "greedy", time_limit=5.0, seed=0)
    if not result.status.has_solution:
        return Curve(np.zeros(1), np.zeros(1))
    route = [sub.ids.index(v) for v in result.solution["routes"][0]]
    hops = sum(sub.travel[a, b] for a, b in itertools.pairwise(route))
    inner = [v for v in route if v != 0]
    if not inner:
        return Curve(np.zeros(1), np.zeros(1))
    per_hop = hops / len(inner)
    inner.sort(key=lambda v: -sub.utility[v] / max(sub.service[v] + per_hop, 1e-9))
    time = np.cumsum([sub.service[v] + per_hop for v in inner])
    prize = np.cumsum([sub.utility[v] for v in inner])
    cut = np.unique(np.ceil(np.linspace(1, len(inner), min(levels, len(inner)))).astype(int)) - 1
    return Curve(time[cut], prize[cut])
