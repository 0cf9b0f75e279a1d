"""How large an MTRCE model the time limit allows: dense, sparse (candidate arcs), or none.

Before anything is built, :func:`plan_model` estimates the dense model's build time from its
column count and the machine's load (:func:`slowdown`); when it does not fit a share of the time
left, the model is written on candidate arcs only (:func:`candidate_arcs`: each node's nearest
neighbours, the arcs at the start and the end, the warm start's arcs), a restriction of the
problem. Used by ``highs``, ``pyomo`` and ``cpsat``.

Example
-------
>>> import numpy as np
>>> from daitn_opt.mtrce.problem import Problem
>>> xs = np.arange(6.0)
>>> problem = Problem(ids=[f"p{i}" for i in range(6)], travel=np.abs(xs[:, None] - xs[None, :]),
...                   utility=np.ones(6), service=np.zeros(6), start=0, end=0, deadline=10.0)
>>> plan_model(problem, 60.0).sparse
False
>>> tails, heads = candidate_arcs(problem, 1)
>>> sorted(zip(tails.tolist(), heads.tolist()))[:4]
[(0, 1), (0, 2), (0, 3), (0, 4)]
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..registry import SolveOptions
from .problem import Problem
from .support import solver_param

BUILD_RATE = {"highs": 250_000.0, "pyomo": 30_000.0, "cpsat": 40_000.0}
"""Columns per second of one free core that the model build (for Pyomo with its translation,
for CP-SAT the Python loop over arcs) manages; measured on rgg-2000 with the shared 2-core
machine at load 8 (110 k, 14 k and 10 k per second) and scaled by :func:`slowdown` at the time.
Used to decide, before building anything, whether the dense model fits the time limit."""

KNN_RATE = 1.0e8
"""Travel-matrix entries per second of one free core read by :func:`candidate_arcs` (4.3e7 at
load 6.5 on a 7,183-node view)."""


def slowdown() -> float:
    """How much slower than on a free core work runs now: the 1-minute load per CPU, at least 1.

    The build estimates are divided by it, so that a loaded machine picks the smaller model (or
    the warm start) instead of overrunning the limit.
    """
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform
        return 1.0
    return max(1.0, load / max(1, os.cpu_count() or 1))


DENSE_SHARE = 0.3
"""Share of the remaining time the dense model's build may take; beyond it the sparse one is built."""

MAX_COLUMNS = 4_000_000
"""Largest model built at all (about 1.5 GB with HiGHS); a larger one is refused."""

NEIGHBOURS = (4, 12)
"""Fewest and most nearest neighbours per node in a sparse model."""


@dataclass(frozen=True)
class ModelPlan:
    """How :func:`prepare` builds the model of a problem within the time left."""

    sparse: bool
    neighbours: int
    columns: int
    """Estimated columns of the model."""
    seconds: float
    """Estimated seconds to build it (and to find the candidate arcs)."""


def plan_model(problem: Problem, seconds: float, solver: str = "highs") -> ModelPlan:
    """Dense model if its estimated build fits ``DENSE_SHARE`` of ``seconds``, else sparse.

    The estimate counts every finite arc (the dense model keeps at most those); the sparse one
    has about ``2 k + 3`` arcs per node (``k`` nearest successors, their reverses, the arcs from
    the start and to the end). ``k`` is the most of :data:`NEIGHBOURS` whose build fits.
    """
    n = problem.n
    slow = slowdown()
    rate = BUILD_RATE.get(solver, BUILD_RATE["highs"]) / slow
    dense = n * (n - 1) + 2 * n
    if dense / rate <= DENSE_SHARE * seconds and dense <= MAX_COLUMNS:
        return ModelPlan(False, n - 1, dense, dense / rate)
    knn = n * n * slow / KNN_RATE
    lo, hi = NEIGHBOURS
    k = hi
    while k > lo and n * (2 * k + 3) / rate + knn > DENSE_SHARE * seconds:
        k -= 1
    columns = n * (2 * k + 3)
    return ModelPlan(True, min(k, n - 1), columns, columns / rate + knn)


def plan_for(
    problem: Problem, options: SolveOptions, solver: str, overhead: float = 0.0
) -> ModelPlan:
    """:func:`plan_model` for the time left, overridden by the ``sparse`` (True/False) and
    ``neighbours`` parameters of the solver (when it has them)."""
    want = solver_param(options, "sparse")
    neighbours = solver_param(options, "neighbours")
    plan = plan_model(problem, max(0.0, options.remaining() - overhead), solver)
    if want is not None and bool(want) != plan.sparse:
        k = int(neighbours if neighbours is not None else NEIGHBOURS[1]) if want else problem.n - 1
        k = max(1, min(k, problem.n - 1))
        plan = ModelPlan(bool(want), k, problem.n * (2 * k + 3), 0.0)
    elif neighbours is not None and plan.sparse:
        k = max(1, min(int(neighbours), problem.n - 1))
        plan = ModelPlan(True, k, problem.n * (2 * k + 3), plan.seconds)
    return plan


def candidate_arcs(
    problem: Problem, k: int, routes: list[list[int]] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Arcs of the sparse model: each node's ``k`` nearest successors (or predecessors, whichever
    the matrix's memory order reads faster) by travel time and the reverse of those arcs, every arc out of the start and into the end, and the arcs of
    ``routes`` (the warm start, so that the sparse model contains it). Reads the travel matrix
    in row blocks; never allocates an ``n x n`` array."""
    t = problem.travel
    n = problem.n
    k = max(1, min(k, n - 1))
    block = max(1, 2**21 // n)
    tails, heads = [], []

    def nearest(rows: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.array(rows, dtype=np.float64)
        r = np.arange(len(rows))
        rows[r, first + r] = np.inf
        if k < n - 1:
            # the k-th smallest per row by partition (twice as fast as argpartition), then
            # every entry up to it; ties beyond 2k per row fall back to argpartition
            kth = np.partition(rows, k - 1, axis=1)[:, k - 1 : k]
            mask = rows <= kth
            if mask.sum() <= 2 * k * len(rows):
                src, dst = np.nonzero(mask)
                src = src + first
            else:
                nb = np.argpartition(rows, k, axis=1)[:, :k]
                src, dst = np.repeat(first + r, k), nb.ravel()
        else:
            src, dst = np.repeat(first + r, n), np.tile(np.arange(n), len(rows))
        keep = np.isfinite(rows[src - first, dst])
        return src[keep], dst[keep]

    # read the matrix along its memory order: rows of a C-ordered matrix (nearest successors),
    # rows of the transpose of an F-ordered one (nearest predecessors); the reverses follow
    forward = t.flags.c_contiguous or not t.flags.f_contiguous
    base = t if forward else t.T
    for first in range(0, n, block):
        i, j = nearest(base[first : first + block], first)
        tails.append(i if forward else j)
        heads.append(j if forward else i)
    # the reversed arcs: with nearly symmetric travel a node's nearest successors are close to
    # its nearest predecessors, so every node gets short ways in as well as out
    tails, heads = tails + heads, heads + tails
    every = np.arange(n)
    tails += [np.full(n, problem.start), every]
    heads += [every, np.full(n, problem.end)]
    for r in routes or []:
        arr = np.asarray(r, dtype=np.int64)
        tails.append(arr[:-1])
        heads.append(arr[1:])
    ti, hj = np.concatenate(tails), np.concatenate(heads)
    keep = (ti != hj) & np.isfinite(t[ti, hj])
    key = np.unique(ti[keep] * n + hj[keep])
    return key // n, key % n
