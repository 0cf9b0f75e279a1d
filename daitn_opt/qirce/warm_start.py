"""The warm start of the exact QIRCE solvers, and the heuristic they fall back on.

:func:`warm_start`: ``options.initial`` when it fits the problem (:func:`fits`), else the local
search within :func:`warm_start_budget`, with the LP or Lagrangian bound it computed.
:func:`best_heuristic`: the heuristic solution an exact solver falls back on when its model
finds nothing (:meth:`daitn_opt.qirce.support.QirceSupport.rescue`).
"""

from __future__ import annotations

import numpy as np

from ..registry import SolveOptions
from .local_search import LARGE_DEMANDS, local_search
from .problem import Problem
from .queueing import congestion_ok
from .solution import arcs_from_solution, infeasible_result


def warm_start_budget(problem: Problem, remaining: float) -> float:
    """Seconds an exact solver spends on its heuristic warm start: a twentieth of its time
    (at most 1 s) on small instances, a fifth (at most 10 s) above ``LARGE_DEMANDS`` demands,
    where a good start matters more than early branching."""
    if problem.num_demands > LARGE_DEMANDS:
        return min(10.0, 0.2 * remaining)
    return min(1.0, 0.05 * remaining)


def fits(problem: Problem, x: np.ndarray, tol: float = 1e-7) -> bool:
    """Whether arc fractions ``x`` are a feasible solution: fractions in [0, 1] (0/1 when
    single-source), every demand served once (serve-all) or at most once, loads within
    capacity, deployed models within memory."""
    p = problem
    if x.shape != (p.num_arcs,) or np.any(x < -tol) or np.any(x > 1 + tol):
        return False
    if p.single_source and np.any(np.minimum(np.abs(x), np.abs(1 - x)) > tol):
        return False
    served = np.bincount(p.arc_demand, weights=x, minlength=p.num_demands)
    if np.any(served > 1 + tol) or (p.mode == "serve_all" and np.any(served < 1 - tol)):
        return False
    load = np.bincount(p.arc_facility, weights=p.arc_load * x, minlength=p.num_facilities)
    if np.any(load > p.capacity + tol * np.maximum(1.0, p.capacity)):
        return False
    used = x > tol
    if p.memory_binding and used.any():
        pairs = np.unique(p.arc_model[used] * p.num_facilities + p.arc_facility[used])
        mem = np.bincount(
            pairs % p.num_facilities,
            weights=p.model_memory[pairs // p.num_facilities],
            minlength=p.num_facilities,
        )
        if np.any(mem > p.facility_memory + tol):
            return False
    if p.congestion != "none":
        return congestion_ok(p, x)
    return True


def warm_start(problem: Problem, options: SolveOptions) -> tuple[np.ndarray | None, float | None]:
    """The exact solvers' start: (arc fractions, internal lower bound or None).

    ``options.initial`` when it fits the problem; otherwise (unless ``warm_start=False``) the
    local search within :func:`warm_start_budget`, with the LP or Lagrangian bound it computed.
    """

    x0 = arcs_from_solution(problem, options.initial)
    if x0 is not None and not fits(problem, x0):
        x0 = None  # an infeasible start is ignored
    if x0 is not None or not options.params.warm_start:
        return x0, None

    if problem.num_arcs == 0 or infeasible_result(problem, "ls") is not None:
        return None, None
    budget = warm_start_budget(problem, options.remaining())
    x, lb, _ = local_search(problem, budget, options.seed)
    return x, lb


def best_heuristic(problem: Problem, budget: float, seed: int = 0) -> np.ndarray | None:
    """Arc fractions of the best heuristic solution within ``budget`` seconds (a warm start)."""

    if problem.num_arcs == 0 or infeasible_result(problem, "ls") is not None:
        return None
    x, _, _ = local_search(problem, budget, seed)
    return x
