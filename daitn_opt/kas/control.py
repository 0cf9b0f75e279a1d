"""Two-level (K-AS) planning of one MTRCE request: domain-level route, then one route per domain.

:func:`solve_hierarchical` partitions nothing itself: it takes a node -> domain map
(:func:`daitn_opt.kas.partition.partition`), plans the domain-level route (:mod:`.plan`), has
each domain's control centre route its leg with a registered MTRCE solver on the leg's own
problem (:mod:`.subproblem`), stitches the legs at their border nodes and checks the stitched
route with the MTRCE checker on the whole problem. The method is stated in
``formulations/kas.md``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..mtrce.check import check
from ..mtrce.problem import Problem
from ..mtrce.solution import make_result
from ..result import Result
from .domains import Domains, domains_of, estimate, supported
from .parallel import Runner
from .plan import Leg, horizon, legs
from .subproblem import leg_problem


def solve_leg(
    sub: Problem, solver: str, time_limit: float, seed: int, params: dict | None = None
) -> tuple[list, float] | None:
    """One domain's route (node ids) and its completion time, or None when it has none."""
    from ..registry import solve

    result = solve(sub, solver, time_limit=time_limit, seed=seed, **(params or {}))
    if not result.status.has_solution:
        return None
    return result.solution["routes"][0], float(result.solution["completion"][0])


def solve_hierarchical(
    problem: Problem,
    domain_of: dict[str, int],
    *,
    solver: str = "ils",
    time_limit: float = 10.0,
    seed: int = 0,
    levels: int = 8,
    runner: Runner | None = None,
    leg_params: dict[str, Any] | None = None,
) -> Result:
    """Plan ``problem`` in two levels over the domains of ``domain_of``.

    Parameters
    ----------
    problem : Problem
        A one-route ``max_utility`` MTRCE problem without mandatory nodes or money budget.
    domain_of : dict
        Node id -> domain (every view node but the start and the end must have one).
    solver : str
        Registered MTRCE solver each domain runs on its leg (``ils``, ``greedy``, ...).
    time_limit : float
        Seconds for all the leg solves together, shared in proportion to the legs' sizes.
    levels : int
        Time levels of each domain's utility curve (the domain level's granularity).
    runner : callable, optional
        Runs the legs' solves (in parallel); None runs them one after the other, each leg
        starting when the previous one actually ends (its unused time rolls over), which a
        parallel run cannot do.
    leg_params : dict, optional
        Parameters of every leg's solver (e.g. ``{"iterations": 200}`` for ``ils``: a fixed
        amount of work per leg rather than a share of the time).

    Returns
    -------
    Result
        The stitched route on the whole problem; ``stats`` hold the domain order, the seconds of
        each stage, and ``checked`` (the MTRCE checker found no violation) with any
        ``violations``.
    """
    supported(problem)
    clock = {"started": time.perf_counter()}
    doms = domains_of(problem, domain_of)
    curves = [estimate(problem, mem, horizon(problem), levels) for mem in doms.members]
    clock["estimated"] = time.perf_counter()
    skip: set[int] = set()
    while True:
        plan = legs(problem, doms, curves, skip)
        parts = _run(problem, doms, plan, (solver, time_limit, seed, leg_params), runner)
        failed = {leg.domain for leg, part in zip(plan, parts, strict=False) if part is None}
        if not failed:
            break
        skip |= failed  # a leg with no route: plan again without its domain
    clock["solved"] = time.perf_counter()
    route = [problem.ids[problem.start]]
    for part in parts:
        if part:  # () marks a domain passed over
            route += part[0][1:]
    if not plan:
        route.append(problem.ids[problem.end])
    where = {node_id: i for i, node_id in enumerate(problem.ids)}
    stats = {
        "domains": doms.count,
        "order": [leg.domain for leg, part in zip(plan, parts, strict=True) if part],
        "skipped": sorted(skip),
        "passed_over": [leg.domain for leg, part in zip(plan, parts, strict=True) if part == ()],
        "estimate_seconds": round(clock["estimated"] - clock["started"], 3),
        "legs_seconds": round(clock["solved"] - clock["estimated"], 3),
    }
    result = make_result(problem, f"kas-{solver}", [[where[v] for v in route]], "feasible")
    report = check(problem, result.solution)
    stats.update(checked=report.ok, violations=report.violations)
    result.stats = stats
    result.runtime = time.perf_counter() - clock["started"]
    return result


def _run(
    problem: Problem, doms: Domains, plan: list[Leg], how: tuple, runner: Runner | None
) -> list:
    solver, time_limit, seed, params = how
    sizes = np.array([len(doms.members[leg.domain]) for leg in plan], dtype=float)
    limits = [max(time_limit * s / max(sizes.sum(), 1.0), 0.05) for s in sizes]
    if runner is not None:
        subs = [
            leg_problem(
                problem,
                (leg.entry, doms.members[leg.domain], leg.exit),
                leg.t0,
                leg.t1,
                i == len(plan) - 1,
            )
            for i, leg in enumerate(plan)
        ]
        jobs = [
            (sub, solver, lim, seed, params) for sub, lim in zip(subs, limits, strict=True) if sub
        ]
        done = iter(runner(solve_leg, jobs))
        return [next(done) if sub is not None else None for sub in subs]
    parts: list = []
    entry, now = int(problem.start), 0.0  # unused time of a leg rolls over to the next one
    for i, leg in enumerate(plan):
        last = i == len(plan) - 1
        sub = leg_problem(problem, (entry, doms.members[leg.domain], leg.exit), now, leg.t1, last)
        part = solve_leg(sub, solver, limits[i], seed, params) if sub is not None else None
        if part is None and not last:
            # Pass the domain over: the next leg starts where this one would have started,
            # at least as early as planned, so the plan's later windows still hold.
            parts.append(())
            continue
        parts.append(part)
        if part is None:
            return parts
        entry, now = leg.exit, now + part[1]
    return parts
