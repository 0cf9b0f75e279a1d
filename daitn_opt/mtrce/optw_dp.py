"""``optw-dp``: exact orienteering with time windows (one route) by dynamic programming with
decremental state-space relaxation (DSSR), after Righini and Salani (2009, "Decremental state
space relaxation strategies and initialization heuristics for solving the orienteering problem
with time windows with dynamic programming", Comput. Oper. Res. 36(4): 1191-1203).

The problem: one route from the start ``s`` to the end ``e``, optional customers with scores,
service times and windows on the start of service (an early arrival waits), a deadline on the
completion; maximise the score collected (``formulations/mtrce.md``, section "OPTW by dynamic
programming").

**Labels.** A label is a partial route ``s -> ... -> i``: the node ``i``, the start of service
``T`` at ``i``, the score ``S`` collected, and the set of *critical* customers (the set ``Theta``)
it has visited or can no longer reach in time (``T`` plus the least transit to them is past
their latest start). Only a critical customer may not be visited twice: every other customer
may repeat, so the search solves a relaxation whose optimum bounds the OPTW's. Labels are
extended in order of ``T`` (label setting); a label is dropped when another at the same node
starts no later, has no less score and a subset of its critical set (dominance), or when its
score plus a completion bound cannot beat the incumbent.

**Completion bound.** A backward dynamic programme on a time grid (:func:`.optw_dp_kernels.
completion_bound`): the most score a route can collect after serving ``i`` at time ``T``, with
customers allowed to repeat but not in immediate returns ``i -> j -> i``; times are rounded down
to the grid, so the value bounds every time of its cell.

**DSSR.** ``Theta`` starts empty. When the best relaxed route visits a customer twice, the
customers it repeats join ``Theta`` and the search restarts; when it is elementary it is optimal;
when no relaxed route beats the incumbent (``ils``'s route, the warm start) the incumbent is
optimal. Each finished iteration's best relaxed score is an upper bound, so a run cut by the
time limit returns the best route found with the bound of the last finished iteration (or the
completion bound at the start). The label loop is compiled with numba.

The solver runs on the exact-solver skeleton (:class:`daitn_opt.exact.ExactSolver`): the warm
start and the final check of every route by the independent checker are the skeleton's.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..exact import ExactSolver, Outcome, Run, register_exact
from ..params import param
from ..registry import SolveOptions
from .problem import Problem, solvers_of
from .support import SUPPORT, MtrceSupport, RouteStart

EPS = 1e-6
"""Tolerance of time comparisons (the checker allows the same)."""

GRID_WORK = 2e8
"""Cells times successors the completion bound may take (about a second compiled)."""

GRID_RATE = 1e8
"""Cells times successors per second of the completion bound (compiled, a free core): the grid
takes at most a quarter of the time left."""

FLOYD_NODES = 600
"""Above this many nodes the least transit is bounded without Floyd-Warshall (O(n^3))."""


def unsupported_reason(problem: Any) -> str | None:
    """Why ``optw-dp`` cannot solve ``problem``, or None: it models one route maximising the
    collected score with windows and a deadline (no budget, no mandatory node, no other
    objective), with non-negative travel times and a finite horizon."""
    objective = getattr(problem, "objective", None)
    if objective is None:
        return f"a {type(problem).__name__} is not a route problem; use its own solvers"
    if objective != "max_utility":
        return (
            f"objective {objective!r} is not modelled: optw-dp maximises the collected utility "
            f"(the OPTW); use {solvers_of(objective)}"
        )
    if problem.k != 1:
        return f"{problem.k} routes: optw-dp models one route (use highs, cpsat or ils)"
    if problem.budget is not None:
        return "a budget on the route's cost is not modelled by optw-dp (use highs or cpsat)"
    if len(problem.mandatory):
        return "mandatory nodes are not modelled by optw-dp (use highs or cpsat)"
    travel = np.asarray(problem.travel, dtype=np.float64)
    if np.isnan(travel).any() or (travel < 0).any():
        return "optw-dp needs non-negative travel times"
    if np.any(np.asarray(problem.service, dtype=np.float64) < 0):
        return "optw-dp needs non-negative service times"
    closes = problem.window_close
    finite_windows = closes is not None and bool(np.isfinite(np.asarray(closes)).all())
    if not math.isfinite(problem.deadline) and not finite_windows:
        return "optw-dp needs a finite deadline or finite window closes (a bounded horizon)"
    return None


@dataclass(frozen=True)
class OptwDpParams:
    """Parameters of ``optw-dp``."""

    warm_start_solver: str | None = param(
        "ils", "heuristic whose route is the first incumbent (None: none)"
    )
    warm_start_time: float | None = param(
        None, "seconds for the warm start (None: min(5, 10% of the limit))"
    )
    grid: float | None = param(
        None, "time step of the completion bound (None: the finest within its work budget)"
    )
    max_memory_gb: float = param(3.0, "memory the labels may take; beyond, the search stops")
    chunk: int = param(
        2_000_000, "steps (successors tried, dominance tests) between two looks at the clock"
    )


class OptwDpSupport(MtrceSupport):
    """The MTRCE support with ``optw-dp``'s warm start: ``min(5 s, 10%)`` of the limit (the
    OPTW search keeps improving for seconds, and its value is the pruning threshold)."""

    def warm_start(
        self, problem: Problem, options: SolveOptions, seconds: float | None = None
    ) -> RouteStart:
        chosen = getattr(options.params, "warm_start_time", None)
        if seconds is None:
            seconds = chosen if chosen is not None else min(5.0, 0.1 * options.time_limit)
        return SUPPORT.warm_start(problem, options, seconds)


@dataclass
class Data:
    """The arrays of the search (see :func:`prepare`)."""

    s: int
    e: int
    cust: np.ndarray
    t: np.ndarray
    d: np.ndarray
    a: np.ndarray
    u: np.ndarray
    last: np.ndarray
    fin: np.ndarray
    sp: np.ndarray
    start_time: float
    base: float
    integral: bool
    stats: dict[str, Any] = field(default_factory=dict)


def prepare(problem: Problem) -> Data:
    """Times, windows, the least transit ``sp``, each customer's latest useful start ``last``
    (its window's close, and early enough to reach the end by any path) and ``fin``, the
    latest start at a node from which the end is reached directly in time."""
    from . import optw_dp_kernels as kern

    n = problem.n
    s, e = int(problem.start), int(problem.end)
    t = np.ascontiguousarray(problem.travel, dtype=np.float64)
    d = np.ascontiguousarray(problem.service, dtype=np.float64)
    u = np.ascontiguousarray(problem.utility, dtype=np.float64)
    if problem.window_open is None:
        a, b = np.zeros(n), np.full(n, np.inf)
    else:
        a = np.ascontiguousarray(problem.window_open, dtype=np.float64)
        b = np.ascontiguousarray(problem.window_close, dtype=np.float64)
    cust = np.asarray([v for v in range(n) if v not in (s, e)], dtype=np.int64)
    if n <= FLOYD_NODES:
        sp = kern.min_transit(t, d)
    else:  # a path i -> ... -> j leaves i on some arc and enters j on some arc
        off = t + np.where(np.eye(n, dtype=bool), np.inf, 0.0)
        out, inn = off.min(axis=1), off.min(axis=0)
        sp = d[:, None] + np.minimum(t, out[:, None] + inn[None, :])
        np.fill_diagonal(sp, 0.0)
    # the end: served at max(arrival, a[e]) <= b[e], completed by the deadline
    close_e = min(b[e], problem.deadline - problem.verify_time - d[e])
    arrive_by = close_e if a[e] <= close_e + EPS else -np.inf
    fin = arrive_by - d - t[:, e]
    last = np.minimum(b, arrive_by - sp[:, e])
    start_time = max(0.0, a[s])
    if start_time > b[s] + EPS:
        last[:] = -np.inf
    base = u[s] + (u[e] if e != s else 0.0)
    integral = bool(np.all(u[cust] == np.round(u[cust])))
    return Data(s, e, cust, t, d, a, u, last, fin, sp, start_time, base, integral)


def completion_grid(
    data: Data, step: float | None, seconds: float = math.inf
) -> tuple[np.ndarray, float, int]:
    """The completion bound ``r1`` on its grid ``(r1, h, cells)``; without ``step``, the finest
    grid whose work fits :data:`GRID_WORK` and a quarter of ``seconds``."""
    from . import optw_dp_kernels as kern

    horizon = float(np.max(data.last[data.cust], initial=0.0))
    horizon = max(horizon, 0.0) if math.isfinite(horizon) else 0.0
    m = max(1, len(data.cust))
    if step is None:
        work = max(1e6, min(GRID_WORK, 0.25 * seconds * GRID_RATE))
        step = max(0.1, (horizon + 1.0) * m * m / work)
    cells = int(horizon / step) + 2
    cap = float(np.clip(data.u[data.cust], 0.0, None).sum())
    r1, _, _ = kern.completion_bound(
        data.cust, data.t, data.d, data.a, data.u, data.last, data.fin, step, cells, cap
    )
    return r1, step, cells


class Labels:
    """The label arrays of one DSSR iteration (grown when full)."""

    def __init__(self, n: int, words: int, capacity: int) -> None:
        self.words = words
        self.lt = np.empty(capacity)
        self.ls = np.empty(capacity)
        self.lnode = np.empty(capacity, dtype=np.int32)
        self.lpar = np.empty(capacity, dtype=np.int32)
        self.lnext = np.empty(capacity, dtype=np.int32)
        self.lelem = np.empty(capacity, dtype=np.uint8)
        self.ldead = np.empty(capacity, dtype=np.uint8)
        self.lvis = np.empty((capacity, words), dtype=np.uint64)
        self.laug = np.empty((capacity, words), dtype=np.uint64)
        self.heap = np.empty(capacity, dtype=np.int32)
        self.head = np.full(n, -1, dtype=np.int32)

    @property
    def capacity(self) -> int:
        return len(self.lt)

    @staticmethod
    def bytes_per_label(words: int) -> int:
        return 8 + 8 + 4 * 4 + 2 + 16 * words

    def grow(self, capacity: int) -> None:
        for name in ("lt", "ls", "lnode", "lpar", "lnext", "lelem", "ldead", "heap"):
            old = getattr(self, name)
            new = np.empty(capacity, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)
        for name in ("lvis", "laug"):
            old = getattr(self, name)
            new = np.empty((capacity, self.words), dtype=np.uint64)
            new[: len(old)] = old
            setattr(self, name, new)

    def path(self, label: int) -> list[int]:
        nodes = []
        while label >= 0:
            nodes.append(int(self.lnode[label]))
            label = int(self.lpar[label])
        return nodes[::-1]


@dataclass
class Iteration:
    """What one DSSR iteration ended with."""

    finished: bool
    relaxed: float  # best relaxed score (customers only), -inf when none beat the incumbent
    relaxed_path: list[int] | None
    elementary: float
    elementary_path: list[int] | None
    labels: int
    pops: int
    dominated: int
    stopped: str = ""


def search(
    data: Data,
    r1: np.ndarray,
    h: float,
    cells: int,
    theta: list[int],
    incumbent: float,
    stop_at: float,
    params: OptwDpParams,
) -> Iteration:
    """One DSSR iteration: the best relaxed route whose customers' score beats ``incumbent``
    (customers only), repeats allowed outside ``theta``; stopped at ``stop_at``
    (``time.perf_counter()``) or at the memory limit."""
    from . import optw_dp_kernels as kern

    n = len(data.t)
    words = (n + 63) // 64
    per = Labels.bytes_per_label(words)
    most = int(params.max_memory_gb * 1e9 / per)
    lab = Labels(n, words, min(most, 1 << 16))
    theta_mask = np.zeros(words, dtype=np.uint64)
    for v in theta:
        theta_mask[v >> 6] |= np.uint64(1) << np.uint64(v & 63)
    delta = 0.5 if data.integral else 1e-9 * max(1.0, abs(incumbent))
    # the start label
    lab.lt[0], lab.ls[0], lab.lnode[0], lab.lpar[0] = data.start_time, 0.0, data.s, -1
    lab.lelem[0], lab.ldead[0], lab.lnext[0] = 1, 0, -1
    lab.lvis[0], lab.laug[0] = 0, 0
    lab.heap[0] = 0
    ctl = np.array([1, 1, -1, -1, 0, 0], dtype=np.int64)
    fctl = np.array([-np.inf, incumbent, incumbent + delta, delta])
    theta_list = np.asarray(sorted(theta), dtype=np.int64)
    stopped = ""
    while True:
        code = kern.label_chunk(
            data.cust, data.t, data.d, data.a, data.u, data.last, data.fin, data.sp,
            theta_list, theta_mask, r1, h, cells,
            lab.lt, lab.ls, lab.lnode, lab.lpar, lab.lnext, lab.lelem, lab.ldead,
            lab.lvis, lab.laug, lab.heap, lab.head, ctl, fctl, params.chunk,
        )  # fmt: skip
        if code == 0:
            break
        if code == 2:
            if lab.capacity >= most:
                stopped = f"the labels reached the memory limit ({params.max_memory_gb} GB)"
                break
            lab.grow(min(most, 2 * lab.capacity))
        if time.perf_counter() >= stop_at:
            stopped = "time limit"
            break
    best_rel, best_el = float(fctl[0]), float(fctl[1])
    rel_label, el_label = int(ctl[2]), int(ctl[3])
    return Iteration(
        finished=not stopped,
        relaxed=best_rel if rel_label >= 0 else -np.inf,
        relaxed_path=lab.path(rel_label) if rel_label >= 0 else None,
        elementary=best_el if el_label >= 0 else incumbent,
        elementary_path=lab.path(el_label) if el_label >= 0 else None,
        labels=int(ctl[0]),
        pops=int(ctl[4]),
        dominated=int(ctl[5]),
        stopped=stopped,
    )


def start_bound(data: Data, r1: np.ndarray, h: float, cells: int) -> float:
    """The completion bound at the start: the most customer score any route can collect."""
    best = 0.0 if data.start_time <= data.fin[data.s] + EPS else -np.inf
    leave = data.start_time + data.d[data.s]
    for j in data.cust:
        tj = max(leave + data.t[data.s, j], data.a[j])
        if tj <= data.last[j] + EPS:
            rest = r1[j, min(int(tj / h), cells - 1)]
            if rest > -np.inf:
                best = max(best, data.u[j] + rest)
    return best


@register_exact
class OptwDp(ExactSolver):
    """Exact OPTW (one route, windows, deadline) by DSSR dynamic programming (module docstring).

    Anytime: a run cut by the time limit returns the best route found (the warm start or an
    elementary route of the search) with the bound of the last finished DSSR iteration, or the
    completion bound when none finished. ``optimal`` only when the search finished.
    ``stats``: ``iterations`` (per DSSR iteration: critical set size, labels, extended, dominated,
    bound), ``theta`` (the final critical set), ``grid`` (the completion bound's time step).
    """

    kind = "mtrce"
    name = "optw-dp"
    description = (
        "OPTW (one route, windows): DSSR dynamic programming with dominance and a completion "
        "bound (Righini & Salani 2009)"
    )
    support = OptwDpSupport()
    Params = OptwDpParams
    supports = staticmethod(unsupported_reason)

    def build(self, run: Run) -> tuple[Data, np.ndarray, float, int]:
        t0 = time.perf_counter()
        data = prepare(run.problem)
        r1, h, cells = completion_grid(data, run.params.grid, run.remaining())
        run.stats["grid"] = h
        run.stats["prepare_seconds"] = time.perf_counter() - t0
        return data, r1, h, cells

    def run(self, run: Run, model: tuple) -> dict[str, Any]:
        data, r1, h, cells = model
        params: OptwDpParams = run.params
        sense_inc = run.start.objective
        incumbent = -np.inf if sense_inc is None else float(sense_inc) - data.base
        best_path: list[int] | None = None
        bound = start_bound(data, r1, h, cells)
        theta: list[int] = []
        history: list[dict[str, Any]] = []
        proved = infeasible = False
        message = ""
        while True:
            it = search(data, r1, h, cells, theta, incumbent, run.deadline, params)
            if it.elementary_path is not None and it.elementary > incumbent:
                incumbent, best_path = it.elementary, it.elementary_path
                run.record(incumbent + data.base, None)
            history.append(
                {
                    "theta": len(theta),
                    "labels": it.labels,
                    "extended": it.pops,
                    "dominated": it.dominated,
                    "relaxed": None if not it.finished else float(max(it.relaxed, incumbent)),
                }
            )
            if not it.finished:
                message = f"not proved optimal: {it.stopped} in DSSR iteration {len(history)}"
                break
            bound = min(bound, max(it.relaxed, incumbent))
            run.record(incumbent + data.base if incumbent > -np.inf else None, bound + data.base)
            if it.relaxed_path is None or it.relaxed <= incumbent + 1e-9:
                proved = incumbent > -np.inf
                infeasible = incumbent == -np.inf
                break
            repeated = _repeated(it.relaxed_path, data)
            if not repeated:  # cannot happen: an elementary best is the incumbent
                proved = True
                break
            theta = sorted(set(theta) | set(repeated))
        run.stats["iterations"] = history
        run.stats["theta"] = len(theta)
        return {
            "path": best_path,
            "bound": bound + data.base if bound > -np.inf else None,
            "proved": proved,
            "infeasible": infeasible,
            "message": message,
            "e": data.e,
        }

    def extract(self, run: Run, model: tuple, raw: dict[str, Any]) -> Outcome:
        path = raw["path"]
        route = None if path is None else [[*path, raw["e"]]]
        bound = raw["bound"]
        if bound is not None and model[0].integral:
            bound = math.floor(bound + 1e-9)
        if raw["infeasible"]:
            return Outcome(infeasible=True, message="no route meets the windows and deadline")
        message = "proved optimal by DSSR dynamic programming" if raw["proved"] else raw["message"]
        return Outcome(solution=route, bound=bound, proved=raw["proved"], message=message)


def _repeated(path: list[int], data: Data) -> list[int]:
    """The customers a relaxed route visits more than once."""
    seen: dict[int, int] = {}
    for v in path[1:]:
        seen[v] = seen.get(v, 0) + 1
    return [v for v, c in seen.items() if c > 1]
