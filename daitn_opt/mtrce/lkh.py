"""MTRCE ``min_time`` tours by LKH-3 (K. Helsgaun), through the ``elkai`` package: solver ``lkh``.

The problem: the visit-all family (TSP: ``objective == "min_time"``, one route, every node
mandatory, no windows, no budget): order the nodes so that the route from the start through every
node to the end is shortest. Service and verification times add the same amount to every order,
so only the travel matters. LKH (Helsgaun 2000, "An effective implementation of the Lin-Kernighan
traveling salesman heuristic", EJOR 126(1):106-130; LKH-3, Helsgaun 2017) is the strongest
published TSP heuristic; ``elkai`` (github ``fikisipi/elkai``) embeds it as a C extension.

How the problem becomes an LKH input:

- the travel matrix goes as an ``EXPLICIT`` ``FULL_MATRIX`` (``TYPE: TSP`` when symmetric, else
  ``ATSP``, which LKH solves through its symmetric transformation); LKH works in integers below
  :data:`MAX_WEIGHT`, so a matrix that is not integral (or too large) is multiplied by a power of
  ten (``scale``) and rounded; the returned route is then timed in real arithmetic by
  :func:`~daitn_opt.mtrce.solution.make_result`, so the objective is exact, while LKH's choice was
  made on the rounded weights;
- a start different from the end: a dummy node joined to the end (arc end -> dummy) and the start
  (dummy -> start) at cost 0 and to every other node at a "barrier" cost, the length of a
  nearest-neighbour path from the start to the end plus 1: a tour through a barrier arc is
  longer than the tour made of that path and the dummy, so the best tour passes
  end -> dummy -> start and, cut there, is the best path from the start to the end. (LKH's
  ``FIXED_EDGES_SECTION`` would say this directly, but crashes elkai 2.0.1.)

LKH's own parameters: ``SEED`` = the run's seed (same seed, same tour when the time limit does
not cut the search), ``RUNS`` (default 10), ``MAX_TRIALS`` (default n), and ``TOTAL_TIME_LIMIT``. LKH counts
that limit in CPU seconds while the run's limit is in wall seconds: on a loaded machine (measured
here: 0.78 CPU s took 2.8 wall s) it would overrun, so the limit given is 80 % of the wall time
left times the share of a core the process got while preparing the input. Its preprocessing
(the subgradient ascent that builds the candidate sets) is not interruptible. No bound
is reported (LKH's lower bound is not returned by ``elkai``), so the status is never ``optimal``.
A tour that misses the deadline is not a solution: the run reports none, with the length found.
``elkai`` is an optional dependency (extra ``lkh``); without it the solver says how to install
it. **Licence:** LKH's C code, and so ``elkai``, is free for non-commercial use only (elkai's
``LICENSE``), unlike daitn-opt (MIT): it must stay an opt-in extra, never a core dependency.
"""

from __future__ import annotations

import importlib.util
import io
import os
import time
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..params import param
from ..registry import SolveOptions, register
from ..result import Result, Status, TracePoint
from .problem import Problem
from .reachability import infeasibility_reason
from .solution import make_result, schedule

MAX_WEIGHT = 10_000_000
"""Largest weight given to LKH: it multiplies weights by its PRECISION (100) in C ints, and a
weight above ``(2**31 - 1) / 100`` fails its internal assertion (measured with elkai 2.0.1, LKH
3.0.8); the margin covers the node penalties it adds."""


ELKAI_MISSING = "needs the elkai package (pip install 'elkai>=2.0.1'; non-commercial licence)"


def _have_elkai() -> bool:
    try:
        return importlib.util.find_spec("elkai") is not None
    except (ImportError, ValueError):  # a broken or blocked installation
        return False


def supports(problem: Problem) -> str | None:
    """None when ``lkh`` handles ``problem``, else the reason (raised before running)."""
    if not _have_elkai():
        return ELKAI_MISSING
    if getattr(problem, "objective", None) != "min_time":
        return "lkh solves the visit-all family only (objective 'min_time'); use ils or cpsat"
    if problem.k != 1:
        return "lkh builds one route (k = 1)"
    if problem.window_open is not None or problem.window_close is not None:
        return "time windows are not supported by lkh"
    if problem.budget is not None:
        return "a cost budget is not supported by lkh"
    if not np.all(np.isfinite(problem.travel)):
        return "lkh needs a finite travel time between every two nodes"
    return None


@dataclass(frozen=True)
class LkhParams:
    """Parameters of the ``lkh`` MTRCE solver."""

    runs: int = param(10, "LKH RUNS: independent restarts (the best tour is kept)")
    max_trials: int | None = param(None, "LKH MAX_TRIALS per run (None: the number of nodes)")


@register(
    "mtrce",
    "lkh",
    exact=False,
    description="LKH-3 (Helsgaun) through elkai: visit-all tours (TSP/ATSP, any start and end)",
    supports=supports,
    params=LkhParams,
    package="elkai",
)
def solve_lkh(problem: Problem, options: SolveOptions) -> Result:
    """A shortest visit-all route of ``problem`` by LKH-3 (see the module docstring)."""
    since = (time.perf_counter(), time.process_time())
    params: LkhParams = options.params
    if params.runs < 1:
        raise InputError("runs", params.runs, "must be at least 1")
    if params.max_trials is not None and params.max_trials < 1:
        raise InputError("max_trials", params.max_trials, "must be at least 1 (or None)")
    reason = infeasibility_reason(problem)
    if reason is not None:
        return make_result(problem, "lkh", None, Status.INFEASIBLE, message=f"infeasible: {reason}")
    matrix, scale = lkh_matrix(problem)
    order = _order(problem, matrix, options, params, since)
    stats = {"scale": scale, "runs": params.runs, "nodes_given_to_lkh": len(matrix)}
    if order is None:
        message = (
            "LKH returned no complete tour within the time limit (its preprocessing cannot be "
            "interrupted); give it more time"
        )
        return make_result(problem, "lkh", None, Status.NO_SOLUTION, stats=stats, message=message)
    route = [problem.start, *order, problem.end]
    _, _, completion, ok = schedule(problem, route)
    elapsed = options.time_limit - options.remaining()
    if not ok:
        message = (
            f"LKH's route completes at {completion:g}, after the deadline {problem.deadline:g}; "
            "not a solution (no proof that none exists)"
        )
        return make_result(problem, "lkh", None, Status.NO_SOLUTION, stats=stats, message=message)
    scaled = "" if scale == 1 else f" (weights scaled by {scale:g} and rounded for LKH)"
    return make_result(
        problem,
        "lkh",
        [route],
        Status.FEASIBLE,
        trace=[TracePoint(elapsed, completion, None)],
        stats=stats,
        message=f"LKH-3 via elkai, {params.runs} run(s); no bound{scaled}",
    )


def lkh_matrix(problem: Problem) -> tuple[np.ndarray, float]:
    """The integer matrix LKH receives (with the dummy node when start != end) and its scale.

    A tour of the returned matrix visits the dummy (last index) between the end and the start.
    """
    travel = np.asarray(problem.travel, dtype=float)
    n = len(travel)
    path = problem.start != problem.end
    # the dummy's barrier is a feasible path's length: no tour through a barrier arc can win
    need = float(travel.max(initial=0.0))
    if path:
        need = max(need, _greedy_path_length(travel, problem.start, problem.end) + need)
    scale = 1.0
    if need * scale > MAX_WEIGHT or not np.array_equal(travel, np.round(travel)):
        scale = 10.0 ** min(6, int(np.floor(np.log10(MAX_WEIGHT / max(need, 1e-300)))))
    weights = np.round(travel * scale)
    if not path:
        return weights.astype(np.int64), scale
    barrier = _greedy_path_length(weights, problem.start, problem.end) + 1
    full = np.full((n + 1, n + 1), barrier)
    full[:n, :n] = weights
    full[problem.end, n] = full[n, problem.start] = 0
    if np.array_equal(travel, travel.T):  # keep it symmetric: the dummy is an undirected link
        full[n, problem.end] = full[problem.start, n] = 0
    np.fill_diagonal(full, 0)
    return full.astype(np.int64), scale


def _greedy_path_length(travel: np.ndarray, start: int, end: int) -> float:
    """Length of the nearest-neighbour path from ``start`` through every node to ``end``."""
    n = len(travel)
    left = np.ones(n, dtype=bool)
    left[[start, end]] = False
    at, total = start, 0.0
    for _ in range(int(left.sum())):
        row = np.where(left, travel[at], np.inf)
        nxt = int(np.argmin(row))
        total += float(row[nxt])
        left[nxt] = False
        at = nxt
    return total + float(travel[at, end])


def _order(
    problem: Problem,
    matrix: np.ndarray,
    options: SolveOptions,
    params: LkhParams,
    since: tuple[float, float],
) -> list[int] | None:
    """The customers (every node but the start and the end) in LKH's order (None: LKH gave no
    complete tour in the time it had)."""
    m = len(matrix)
    n = len(problem.travel)
    others = [v for v in range(n) if v not in (problem.start, problem.end)]
    if m < 4:  # LKH needs at least 3 nodes; with at most one customer every order is the same
        return others
    tour = _solve(matrix, options, params, since)
    if tour is None:
        return None
    dummy = n if m > n else problem.start
    k = tour.index(dummy)
    cycle = tour[k:] + tour[:k]  # starts at the dummy (or the start)
    if m > n and cycle[1] != problem.start:  # a symmetric tour may run the other way
        cycle = [cycle[0], *reversed(cycle[1:])]
    if m > n and (cycle[1], cycle[-1]) != (problem.start, problem.end):
        raise RuntimeError("LKH's tour crosses a barrier arc of the dummy node")
    wanted = set(others)
    return [v for v in cycle if v in wanted]


def _cpu_share(since: tuple[float, float]) -> float:
    """The share of a core this process got since ``since`` (wall, CPU clock; 0.05 to 1).

    LKH measures its time limit in CPU seconds (``getrusage``); on a loaded machine a CPU second
    takes several wall seconds, and the run's limit is in wall seconds. The share seen while the
    input was prepared converts one into the other.
    """
    wall = time.perf_counter() - since[0]
    cpu = time.process_time() - since[1]
    if wall < 0.02:  # too short to tell: assume the load average's share
        return min(1.0, max(0.05, (os.cpu_count() or 1) / max(1.0, os.getloadavg()[0])))
    return min(1.0, max(0.05, cpu / wall))


def _solve(
    matrix: np.ndarray, options: SolveOptions, params: LkhParams, since: tuple[float, float]
) -> list[int]:
    """LKH's tour of ``matrix`` (0-based, each node once)."""
    try:
        from elkai import _elkai
    except ImportError:  # pragma: no cover - depends on the environment
        raise InputError("solver", "lkh", ELKAI_MISSING) from None
    m = len(matrix)
    kind = "TSP" if np.array_equal(matrix, matrix.T) else "ATSP"
    text = io.StringIO()
    np.savetxt(text, matrix, fmt="%d")
    problem_text = (
        f"TYPE : {kind}\nDIMENSION : {m}\nEDGE_WEIGHT_TYPE : EXPLICIT\n"
        f"EDGE_WEIGHT_FORMAT : FULL_MATRIX\nEDGE_WEIGHT_SECTION\n{text.getvalue()}EOF\n"
    )
    seconds = max(0.01, 0.8 * options.remaining() * _cpu_share(since))
    lines = [
        "PROBLEM_FILE = :stdin:",
        f"RUNS = {params.runs}",
        f"SEED = {options.seed}",
        f"TOTAL_TIME_LIMIT = {seconds:.3f}",
        f"TIME_LIMIT = {seconds:.3f}",
    ]
    if params.max_trials is not None:
        lines.append(f"MAX_TRIALS = {params.max_trials}")
    tour = [int(v) - 1 for v in _elkai.solve_problem("\n".join(lines) + "\n", problem_text)]
    return tour if sorted(tour) == list(range(m)) else None
