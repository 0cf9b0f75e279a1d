"""The cutting-plane loop of the MTRCE MILP: subtour cuts separated lazily (HiGHS, Pyomo).

Subtour elimination constraints are not in the model (:mod:`.milp_model`). The loop first
separates them on the LP relaxation (minimum cuts, :mod:`daitn_opt.mtrce.separation`) until no
violated cut is left (:func:`lp_phase`), then solves the MIP, adds the subtours of every integer
solution found, and solves again with all cuts kept and the best feasible routes as a start,
until the MIP's optimum has no subtour or the time runs out (:func:`mip_phase`). Every MIP's dual
bound is a bound of the true problem (the model with fewer cuts is a relaxation); a reported
bound that crosses a checked incumbent is nevertheless discarded (solver tolerances), and the
status is ``optimal`` exactly when the gap is at most 1e-6 (:mod:`daitn_opt.mtrce.certify`).

:class:`CutRun` holds the state of one run (incumbent, bounds, cuts, trace); the HiGHS-specific
steps are :func:`pass_model`, :func:`add_cuts`, :func:`lp_phase` and :func:`mip_phase`; the
separation helpers (:func:`lp_cuts`, :func:`integer_round`) serve the Pyomo loop as well.

Example
-------
>>> import numpy as np
>>> from daitn_opt.mtrce.problem import Problem
>>> from daitn_opt.mtrce.milp_model import build_model
>>> from daitn_opt.registry import SolveOptions
>>> xs = np.array([0.0, 1.0, 2.0])
>>> problem = Problem(ids=["s", "a", "b"], travel=np.abs(xs[:, None] - xs[None, :]),
...                   utility=np.array([0.0, 1.0, 2.0]), service=np.zeros(3),
...                   start=0, end=0, deadline=4.0)
>>> run = CutRun(build_model(problem), SolveOptions(time_limit=5.0))
>>> run.offer([[0, 1, 2, 0]]), run.best_value
(True, 3.0)
>>> run.tighten(3.0000001); run.closed()
True
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, fields
from typing import Any

import highspy
import numpy as np

from ..exact import Outcome
from ..registry import SolveOptions
from ..result import Status, TracePoint, relative_gap
from . import certify, op_cuts, separation, tour_repair
from .milp_columns import column_values, routes_from_x
from .milp_model import MilpModel
from .solution import objective, windows
from .support import feasible_routes

RESERVE = 0.1
"""Seconds of the limit kept back from each HiGHS run for the extraction and the result."""


@dataclass(frozen=True)
class CpuOptions(SolveOptions):
    """:class:`SolveOptions` whose clock is the process's CPU time (``time.process_time``).

    ``time_limit`` is the CPU budget (``cpu_limit``), so every share of the limit the solver
    computes (warm start, LP phase, reserve) is a share of CPU seconds; ``wall_limit`` (the
    caller's ``time_limit``) stays a wall-clock cap. :meth:`remaining` is the smaller of the CPU
    and the wall seconds left, :meth:`elapsed` the CPU seconds used (the trace's times). On a
    shared machine a result then means "so many seconds of solver CPU", whatever the load.
    """

    wall_limit: float = math.inf
    cpu_start: float = field(default_factory=time.process_time)

    def cpu_used(self) -> float:
        return time.process_time() - self.cpu_start

    def wall_remaining(self) -> float:
        """Wall seconds left of the cap (what HiGHS's own ``time_limit`` counts)."""
        return max(0.0, self.wall_limit - (time.perf_counter() - self.start))

    def remaining(self) -> float:
        return max(0.0, min(self.time_limit - self.cpu_used(), self.wall_remaining()))

    def elapsed(self) -> float:
        return self.cpu_used()


def cpu_options(options: SolveOptions, cpu_limit: float) -> CpuOptions:
    """``options`` on the CPU clock: ``cpu_limit`` CPU seconds from now, the caller's
    ``time_limit`` as the wall cap."""
    kept = {f.name: getattr(options, f.name) for f in fields(SolveOptions)}
    kept["time_limit"] = float(cpu_limit)
    return CpuOptions(**kept, wall_limit=options.time_limit)


def wall_remaining(options: SolveOptions) -> float:
    """Wall seconds left: the cap of :class:`CpuOptions`, else :meth:`SolveOptions.remaining`."""
    if isinstance(options, CpuOptions):
        return options.wall_remaining()
    return options.remaining()


@dataclass
class CutRun:
    """State of one cutting-plane run: incumbent, bounds, cuts added, trace and stats."""

    model: MilpModel
    options: SolveOptions
    best: list[list[int]] | None = None
    best_value: float | None = None
    bound: float | None = None
    trace: list[TracePoint] = field(default_factory=list)
    cut_keys: set = field(default_factory=set)
    row_keys: list = field(default_factory=list)
    """Key of each cut row added to HiGHS, in row order (after the model's own rows)."""
    stats: dict[str, Any] = field(default_factory=dict)
    bounds: list[float] = field(default_factory=list)
    """Every bound a solve reported (rounded if the objective is integral), in order."""
    retries: int = 0
    """MIP rounds solved again because a better checked incumbent voided the solver's proof."""

    @property
    def maximize(self) -> bool:
        return self.model.maximize

    def better(self, value: float) -> bool:
        if self.best_value is None:
            return True
        return value > self.best_value + 1e-9 if self.maximize else value < self.best_value - 1e-9

    def offer(self, routes: list[list[int]]) -> bool:
        """Keep ``routes`` if feasible and better than the incumbent."""
        if not feasible_routes(self.model.problem, routes):
            return False
        value = objective(self.model.problem, routes)
        if self.better(value):
            self.best, self.best_value = [list(r) for r in routes], value
            self._settle_bound()
            self.point()
            return True
        return False

    def tighten(self, bound: float | None) -> None:
        """Record a bound reported by a solve and keep the tightest valid one.

        A bound of an integral objective is rounded (:func:`certify.round_bound`). A bound that
        crosses a checked incumbent (beyond :data:`certify.GAP_TOL`) cannot be valid, whatever
        the solver claimed: it is never kept (``stats["discarded_bounds"]`` counts them).
        """
        if bound is None or not math.isfinite(bound):
            return
        step = self.model.objective_step
        if step:  # a multiple of the step from the offset
            off = self.model.offset
            bound = off + step * certify.round_bound((bound - off) / step, self.model.sense)
        self.bounds.append(float(bound))
        self._settle_bound()

    def _settle_bound(self) -> None:
        sense = self.model.sense
        valid = [
            b
            for b in self.bounds
            if self.best_value is None or not certify.crosses(sense, self.best_value, b)
        ]
        discarded = len(self.bounds) - len(valid)
        if discarded:
            self.stats["discarded_bounds"] = discarded
        if not valid:
            self.bound = None
        else:
            self.bound = min(valid) if self.maximize else max(valid)

    def crossed(self) -> bool:
        """The last bound reported crosses the incumbent (it was discarded)."""
        return bool(
            self.bounds
            and self.best_value is not None
            and certify.crosses(self.model.sense, self.best_value, self.bounds[-1])
        )

    def point(self) -> None:
        bound = None if self.model.sparse else self.bound  # a restricted bound is no bound
        self.trace.append(TracePoint(self.options.elapsed(), self.best_value, bound))

    def closed(self) -> bool:
        if self.best_value is None or self.bound is None:
            return False
        gap = relative_gap(self.best_value, self.bound)
        return gap is not None and gap <= certify.GAP_TOL

    def after_round(self, clean_optimum: bool, solver: str) -> tuple[str, str]:
        """What the loop does after a MIP round (its bound recorded): ``("stop", message)``
        when the gap is closed, or the round's optimum has no subtour and its bound holds (or
        crossed the incumbent twice); ``("again", "")`` when that optimum's proof is void
        because a better checked solution exists (repaired, or the warm start): solve again
        with it as the start, whose cutoff then comes from it; ``("cut", "")`` otherwise."""
        self.point()
        if self.closed():
            return "stop", ""
        if not clean_optimum:
            return "cut", ""
        if not self.crossed():
            return "stop", ""
        if self.retries >= 2:
            return "stop", f"{solver} bound crossed the incumbent twice; no proof"
        self.retries += 1
        self.stats["bound_retries"] = self.retries
        return "again", ""

    def outcome(self, status: Status | None, message: str) -> Outcome:
        """What the run proved, for the exact-solver skeleton: infeasible, no solution, or the
        incumbent with the bound :func:`certify.settle` accepts (the skeleton marks it optimal
        exactly when that bound closes the gap)."""
        problem = self.model.problem
        bound = self.bound
        if self.model.sparse:
            # a bound of the restricted model is not a bound of the problem
            self.stats["restricted_bound"] = bound
            bound = None
            if status == Status.INFEASIBLE:
                status, message = None, f"the sparse model is infeasible ({message})"
        if status == Status.INFEASIBLE:
            return Outcome(infeasible=True, message=message)
        if self.best is None:
            message = message or "no feasible route found within the time limit"
            return Outcome(bound=bound, message=message)
        value = objective(problem, self.best)
        final, bound, note = certify.settle(problem.sense, value, bound, Status.FEASIBLE)
        if final == Status.OPTIMAL:
            message = ""
        text = "; ".join(m for m in (message, note, self.stats.get("model_note", "")) if m)
        return Outcome(solution=self.best, bound=bound, message=text)


# --------------------------------------------------------------------------------------------
# separation, shared with the Pyomo loop


def _support_point(model: MilpModel, x: np.ndarray) -> separation.Point:
    p = model.problem
    y = np.ones(p.n)
    has = model.y_col >= 0
    y[has] = x[model.y_col[has]]
    vals = x[: model.num_arc]
    return separation.Point(p.n, model.tails, model.heads, vals, y, p.customers, p.start, p.end)


def integer_cuts(model: MilpModel, x: np.ndarray) -> list[separation.Cut]:
    """The subtours of an integer point ``x``."""
    return separation.integer_cuts(_support_point(model, x))


def lp_cuts(model: MilpModel, x: np.ndarray, options: SolveOptions) -> list[separation.Cut]:
    """Violated cuts of an LP point: the 2-node cuts (``max_utility``), then the subtour cuts
    of :func:`separation.fractional_cuts` (at most half of the time left)."""
    cuts = edge_cuts(model, x) if model.problem.objective == "max_utility" else []
    if op_cuts.applies(model):
        y = _support_point(model, x).y
        cuts += op_cuts.cover_cuts(model, y, max_cuts=2 * model.problem.n)
        cuts += op_cuts.count_cuts(model, y)
    return cuts + separation.fractional_cuts(
        _support_point(model, x),
        directed=model.directed,
        max_cuts=max(20, model.problem.n),
        deadline=time.perf_counter() + 0.5 * options.remaining(),
    )


def edge_cuts(model: MilpModel, x: np.ndarray, tol: float = 1e-3) -> list[separation.Cut]:
    """The 2-node cuts ``x_ij <= y_i`` (S = {i, j}, k = j), checked for every edge at once."""
    p = model.problem
    y = _support_point(model, x).y
    cust = np.zeros(p.n, dtype=bool)
    cust[p.customers] = True
    i, j = model.tails, model.heads
    xv = x[: model.num_arc]
    if model.directed:
        xv = xv + x[model.edge_id[j, i]] * (model.edge_id[j, i] >= 0)
    both = cust[i] & cust[j]
    cuts = []
    for lhs_node, other in ((i, j), (j, i)):
        viol = both & (xv > y[lhs_node] + tol)
        for a_id in np.flatnonzero(viol)[: 4 * p.n]:
            pair = tuple(sorted((int(i[a_id]), int(j[a_id]))))
            cuts.append(separation.Cut(pair, int(other[a_id])))
    return cuts


def integer_round(run: CutRun, x: np.ndarray) -> tuple[list[separation.Cut], bool]:
    """The subtour cuts of an integer point and whether it had none (no stray customer
    either); its routes are offered as an incumbent (dropping the subtours keeps them
    feasible)."""
    cuts = integer_cuts(run.model, x)
    routes, stray = routes_from_x(run.model, x)
    run.offer(routes)
    return cuts, not cuts and not stray


def fresh_cuts(run: CutRun, cuts: list[separation.Cut]) -> list[separation.Cut]:
    """The cuts not added before, now marked as added (a cut found twice in ``cuts`` is kept
    twice, as the loop always did: the rows HiGHS sees stay the same)."""
    fresh = [c for c in cuts if c.key not in run.cut_keys]
    run.cut_keys.update(c.key for c in fresh)
    return fresh


# --------------------------------------------------------------------------------------------
# HiGHS


def pass_model(h: highspy.Highs, model: MilpModel) -> None:
    """Give ``model`` (columns, row-wise matrix, integrality, sense, offset) to ``h``."""
    lp = highspy.HighsLp()
    lp.num_col_ = model.num_col
    lp.num_row_ = model.num_row
    lp.col_cost_ = model.cost
    lp.col_lower_ = model.lower
    lp.col_upper_ = model.upper
    lp.row_lower_ = np.asarray(model.row_lower, dtype=np.float64)
    lp.row_upper_ = np.asarray(model.row_upper, dtype=np.float64)
    start, index, value = model.csr()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = model.num_col
    lp.a_matrix_.num_row_ = model.num_row
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    lp.sense_ = highspy.ObjSense.kMaximize if model.sense == "max" else highspy.ObjSense.kMinimize
    lp.offset_ = model.offset
    h.passModel(lp)
    cols = np.flatnonzero(model.integrality).astype(np.int32)
    h.changeColsIntegrality(len(cols), cols, model.integrality[cols].astype(np.uint8))


def add_cuts(h: highspy.Highs, run: CutRun, cuts: list[separation.Cut]) -> int:
    """Add the cuts not added before (to HiGHS and to the model's rows); return how many."""
    model = run.model
    fresh = fresh_cuts(run, cuts)
    if not fresh:
        return 0
    rows = [model.cut_row(c) for c in fresh]
    idx = [r[0] for r in rows]
    val = [r[1] for r in rows]
    lo = np.array([r[2] for r in rows])
    hi = np.array([r[3] for r in rows])
    model.add_rows("subtour_cuts", "x(E(S)) <= sum_S y - y_k", idx, val, lo, hi)
    run.row_keys.extend(c.key for c in fresh)
    starts = np.zeros(len(rows), dtype=np.int32)
    if len(rows) > 1:
        np.cumsum([len(i) for i in idx[:-1]], out=starts[1:])
    h.addRows(
        len(rows),
        lo,
        hi,
        int(sum(len(i) for i in idx)),
        starts,
        np.concatenate(idx).astype(np.int32),
        np.concatenate(val).astype(np.float64),
    )
    return len(fresh)


def set_start(h: highspy.Highs, run: CutRun) -> None:
    """Give HiGHS the incumbent routes as a MIP start (none when the model excludes an arc)."""
    if run.best is None:
        return
    try:
        cols = column_values(run.model, run.best)
    except ValueError:
        return
    sol = highspy.HighsSolution()
    sol.col_value = cols
    sol.value_valid = True
    h.setSolution(sol)


class CpuGuard:
    """Interrupts HiGHS (simplex, interior point, MIP) once a :class:`CpuOptions` budget is
    spent (HiGHS's own ``time_limit`` counts wall seconds, which on a loaded machine run out
    long before the CPU seconds), or once the run's clock passes ``until`` (a phase's share of
    the limit, on the run's own clock). A wall-clock run without ``until`` needs neither, and its
    HiGHS calls stay free of Python callbacks until :meth:`subscribe`."""

    def __init__(self, h: highspy.Highs, options: SolveOptions) -> None:
        self.h, self.options, self.fired = h, options, False
        self.until = math.inf
        self.on = False
        if isinstance(options, CpuOptions):
            self.subscribe()

    def subscribe(self) -> None:
        """Listen to HiGHS's interrupt callbacks (once)."""
        if not self.on:
            for event in (self.h.cbSimplexInterrupt, self.h.cbIpmInterrupt, self.h.cbMipInterrupt):
                event.subscribe(self.check)
            self.on = True

    def check(self, event: Any) -> None:
        # the flag is always written: HiGHS keeps the callback's input between calls, so a
        # phase's interrupt would otherwise stop every later solve (the early-stop callback of
        # _Solutions subscribes after this one and may still set it)
        fire = self.options.remaining() <= RESERVE or self.options.elapsed() >= self.until
        self.fired = self.fired or fire
        event.data_in.user_interrupt = fire

    def close(self) -> None:
        if self.on:
            for event in (self.h.cbSimplexInterrupt, self.h.cbIpmInterrupt, self.h.cbMipInterrupt):
                event.unsubscribe(self.check)


def highs_seconds(options: SolveOptions) -> float:
    """HiGHS's ``time_limit`` for one run: the wall seconds left, less :data:`RESERVE` (with a
    CPU budget the :class:`CpuGuard` stops HiGHS first)."""
    return max(0.01, wall_remaining(options) - RESERVE)


def lp_phase(
    h: highspy.Highs, run: CutRun, max_rounds: int, share: float = 1.0
) -> tuple[Status | None, str]:
    """Separate subtour cuts on the LP relaxation until none is violated (C1/C2), for at most
    ``share`` of the time left (the bound's slow tail is then left to the MIP)."""
    model, options = run.model, run.options
    h.setOptionValue("solve_relaxation", True)
    lp_time, sep_time, rounds, last = 0.0, 0.0, 0, None
    stall = 0
    stop_at = options.elapsed() + share * options.remaining()
    for rounds in range(1, max_rounds + 1):
        if options.remaining() <= 0.05 or (rounds > 1 and options.elapsed() > stop_at):
            break
        h.setOptionValue("time_limit", highs_seconds(options))
        t0 = time.perf_counter()
        h.run()
        lp_time += time.perf_counter() - t0
        ms = h.getModelStatus()
        if ms == highspy.HighsModelStatus.kInfeasible:
            run.stats.update(lp_rounds=rounds, lp_seconds=lp_time)
            return (
                Status.INFEASIBLE,
                "the LP relaxation is infeasible: no route meets every constraint",
            )
        if ms != highspy.HighsModelStatus.kOptimal:
            break
        value = h.getInfo().objective_function_value
        run.tighten(value)
        run.point()
        solution = h.getSolution()
        x = np.asarray(solution.col_value)
        if getattr(options.params, "rc_fixing", True):
            reduced_cost_fixing(h, run, value, x, np.asarray(solution.col_dual))
        t0 = time.perf_counter()
        cuts = lp_cuts(model, x, options)
        sep_time += time.perf_counter() - t0
        if add_cuts(h, run, cuts) == 0:
            break
        if last is not None and abs(value - last) <= 1e-7 * max(1.0, abs(value)):
            stall += 1
            if stall >= 10:
                break
        else:
            stall = 0
        last = value
    st = run.stats
    st["lp_rounds"] = st.get("lp_rounds", 0) + rounds
    st["lp_seconds"] = st.get("lp_seconds", 0.0) + lp_time
    st["separation_seconds"] = st.get("separation_seconds", 0.0) + sep_time
    st.setdefault("lp_cuts", len(run.cut_keys))
    st.setdefault("root_bound", run.bound)
    return None, ""


def reduced_cost_fixing(
    h: highspy.Highs, run: CutRun, value: float, x: np.ndarray, dual: np.ndarray
) -> int:
    """Fix to 0 the edge and visit columns that no solution better than the incumbent can use.

    LP duality with the optimal duals of the relaxation (valid for every integer solution: its
    rows are the model's and cuts valid for all routes) gives, for every solution ``x'``,
    ``obj(x') <= value + sum_j d_j (x'_j - x_j)``. A column ``j`` at 0 in the LP point whose
    reduced cost ``d_j`` makes ``value - |d_j|`` fall below the incumbent plus 1 (integral
    objective) can be 1 only in solutions no better than the incumbent, so it is fixed to 0.
    Dual infeasibilities (reduced costs of the wrong sign, within HiGHS's tolerance) are counted
    against the margin. Columns the incumbent uses are never fixed: the incumbent stays feasible
    in the restricted model, so every bound HiGHS reports on it stays a bound of the problem
    (it is at least the incumbent). Returns the number of columns fixed now
    (``stats["rc_fixed"]`` sums them).
    """
    model = run.model
    if run.best is None or not model.integral_objective or model.sparse:
        return 0
    try:
        used = column_values(model, run.best)
    except ValueError:
        return 0
    sign = 1.0 if model.maximize else -1.0
    # the most each column's term d_j (x'_j - x_j) can move the bound the wrong way: 0 for an
    # optimal basis, HiGHS's dual tolerance otherwise (counted, so the fixing stays valid)
    lo, up = model.lower, model.upper
    with np.errstate(invalid="ignore", over="ignore"):
        swing = np.maximum(sign * dual * (up - x), sign * dual * (lo - x))
    swing = np.where(dual == 0.0, 0.0, np.nan_to_num(swing, nan=np.inf, posinf=np.inf))
    margin = float(np.clip(swing, 0.0, None).sum()) + 1e-6 * max(1.0, abs(value)) + 1e-2
    ncols = model.num_arc + int((model.y_col >= 0).sum())  # x, then y
    target = run.best_value + sign * model.objective_step  # what a better solution must reach
    reach = value + dual[:ncols]  # the bound with the column raised from 0 to 1
    at_zero = (x[:ncols] <= 1e-9) & (lo[:ncols] == 0.0) & (up[:ncols] > 0.0)
    cut_off = sign * (target - reach) > margin
    fix = np.flatnonzero(at_zero & cut_off & (used[:ncols] <= 1e-9))
    if not len(fix):
        return 0
    model.upper[fix] = 0.0
    h.changeColsBounds(len(fix), fix.astype(np.int32), model.lower[fix], model.upper[fix])
    run.stats["rc_fixed"] = run.stats.get("rc_fixed", 0) + len(fix)
    return len(fix)


def _repair_tour(run: CutRun, x: np.ndarray) -> None:
    """Incumbent from an integer point with subtours (edge model).

    TSP: patch the cycles into one tour and 2-opt it. OP (one route, no windows): 2-opt the
    root route, then insert the nodes of the subtours (and any other customer) greedily while
    the route time allows.
    """
    model = run.model
    p = model.problem
    if model.directed or p.has_windows:
        return
    if p.objective == "max_utility":
        _repair_op(run, x)
        return
    if p.start != p.end:
        return
    cycles = tour_repair.cycles_of(p.n, model.tails, model.heads, x[: model.num_arc])
    t = np.asarray(p.travel, dtype=np.float64)
    tour = tour_repair.patch(t, cycles)
    seconds = min(1.0, 0.05 * run.options.remaining())
    tour = tour_repair.two_opt(t, tour, seconds=seconds)
    at = tour.index(p.start)
    tour = tour[at:] + tour[:at]
    if run.offer([[*tour, p.start]]):
        run.stats["repaired_incumbents"] = run.stats.get("repaired_incumbents", 0) + 1


REPAIRS_PER_ROUND = 5
"""Most integer solutions with subtours of one MIP round turned into routes (the final one and
the best others by their value with the subtours)."""


def _repair_best(run: CutRun, broken: list[np.ndarray], final_x: np.ndarray | None) -> None:
    """Repair (:func:`_repair_tour`) the round's final solution when it has subtours, and the
    others of highest value: each is a route plus subtours whose nodes the repair inserts (2-opt,
    then greedy insertion within the budget). Meant for HiGHS's sub-MIP heuristics off
    (``sub_mip_heuristics``), where the tree's node solutions are the only ones; it did not make
    up for them there (OPLib kroA200-gen1-50 still ended at 116, one below the best known that
    the heuristics reach)."""
    if not broken:
        return
    model = run.model
    sign = 1.0 if model.maximize else -1.0
    others = [x for x in broken if x is not final_x]
    others.sort(key=lambda x: -sign * float(model.cost @ x))
    chosen = [x for x in broken if x is final_x] + others
    for x in chosen[:REPAIRS_PER_ROUND]:
        _repair_tour(run, x)


def _repair_op(run: CutRun, x: np.ndarray) -> None:
    model = run.model
    p = model.problem
    if p.budget is not None or len(p.mandatory):
        return
    routes, _ = routes_from_x(model, x)
    t = np.asarray(p.travel, dtype=np.float64)
    d = np.asarray(p.service, dtype=np.float64)
    path = tour_repair.two_opt_path(t, routes[0], seconds=min(0.2, 0.02 * run.options.remaining()))
    a, _ = windows(p)
    dep_s = max(0.0, a[p.start]) + d[p.start]
    capacity = min(float(p.deadline) - d[p.end] - p.verify_time, np.inf) - dep_s
    yv = x[model.y_col[p.customers]]
    order = p.customers[np.argsort(-yv, kind="stable")]  # subtour nodes (y = 1) first
    path = tour_repair.insert_greedily(t, path, order.tolist(), p.utility, d, capacity)
    path = tour_repair.two_opt_path(t, path, seconds=min(0.2, 0.02 * run.options.remaining()))
    if run.offer([path]):
        run.stats["repaired_incumbents"] = run.stats.get("repaired_incumbents", 0) + 1


class _Solutions:
    """The integer solutions HiGHS reports during one MIP round (callback), and the optional
    early stop: past the root, an integer solution with a subtour interrupts the round, since
    proving it optimal is wasted work (its cuts must be added anyway)."""

    def __init__(self, h: highspy.Highs, model: MilpModel, early: bool) -> None:
        self.h, self.model, self.early = h, model, early
        self.found: list[np.ndarray] = []
        self.stop = False
        h.cbMipSolution.subscribe(self.on_solution)
        if early:
            h.cbMipInterrupt.subscribe(self.on_interrupt)

    def on_solution(self, event: Any) -> None:
        x = np.array(event.data_out.mip_solution, dtype=np.float64)
        self.found.append(x)
        if self.early and event.data_out.mip_node_count >= 1 and integer_cuts(self.model, x):
            self.stop = True

    def on_interrupt(self, event: Any) -> None:
        if self.stop:
            event.data_in.user_interrupt = True

    def reset(self) -> None:
        self.found.clear()
        self.stop = False

    def close(self) -> None:
        self.h.cbMipSolution.unsubscribe(self.on_solution)
        if self.early:
            self.h.cbMipInterrupt.unsubscribe(self.on_interrupt)


def _read_round(h: highspy.Highs, run: CutRun, found: list[np.ndarray]) -> tuple[list, bool]:
    """Cuts of every integer solution of a round (final one included) and whether the final
    solution is clean (no subtour); a final solution with subtours is repaired."""
    info = h.getInfo()
    final_x = None
    if info.primal_solution_status == highspy.kSolutionStatusFeasible:
        final_x = np.asarray(h.getSolution().col_value)
        found.append(final_x)
    cuts: list[separation.Cut] = []
    final_clean = False
    broken = []
    for x in found:
        c, clean = integer_round(run, x)
        cuts.extend(c)
        if x is final_x and clean:
            final_clean = True
        elif not clean:
            broken.append(x)
    _repair_best(run, broken, final_x)
    ms = h.getModelStatus()
    if ms == highspy.HighsModelStatus.kOptimal:
        run.tighten(
            info.mip_dual_bound
            if math.isfinite(info.mip_dual_bound)
            else info.objective_function_value
        )
    elif math.isfinite(info.mip_dual_bound):
        run.tighten(info.mip_dual_bound)
    return cuts, final_clean


def mip_phase(
    h: highspy.Highs, run: CutRun, guard: CpuGuard | None = None, until: float = math.inf
) -> tuple[Status | None, str]:
    """Solve the MIP, cut the subtours of every integer solution found, repeat (C3); stop when
    the run's clock (``options.elapsed()``) passes ``until`` (needs ``guard``)."""
    if guard is not None:
        guard.until, guard.fired = until, False
        if math.isfinite(until):
            guard.subscribe()
    options, params = run.options, run.options.params
    h.setOptionValue("solve_relaxation", False)
    sols = _Solutions(h, run.model, params.early_stop)
    mip_time, rounds, nodes = 0.0, 0, 0
    message = ""
    status: Status | None = None
    Model = highspy.HighsModelStatus
    while options.remaining() > 0.05 and options.elapsed() < until:
        rounds += 1
        set_start(h, run)
        h.setOptionValue("time_limit", highs_seconds(options))
        sols.reset()
        t0 = time.perf_counter()
        h.run()
        mip_time += time.perf_counter() - t0
        nodes += int(h.getInfo().mip_node_count)
        ms = h.getModelStatus()
        if ms == Model.kInfeasible:
            if run.best is None:
                status = Status.INFEASIBLE
                message = "no route satisfies every constraint (MIP infeasible)"
            else:
                message = "HiGHS reported the MIP infeasible although a checked route exists"
            break
        cuts, final_clean = _read_round(h, run, sols.found)
        step, message = run.after_round(ms == Model.kOptimal and final_clean, "HiGHS's")
        if step == "stop":
            break
        if step == "again":
            continue
        interrupted = sols.stop and ms == Model.kInterrupt
        if ms != Model.kOptimal and not interrupted:
            if guard is not None and guard.fired:
                message = "CPU time limit reached"
            elif ms == Model.kTimeLimit:
                message = "time limit reached"
            else:
                message = f"HiGHS stopped: {h.modelStatusToString(ms)}"
            break
        if add_cuts(h, run, cuts) == 0:
            message = "no new subtour cut separated; stopping"
            break
        # the new integer cuts change the LP: separate on it again before the next MIP
        lp_phase(h, run, params.lp_rounds_between, params.lp_share)
        h.setOptionValue("solve_relaxation", False)
    else:
        message = "time limit reached"
    sols.close()
    if guard is not None:
        guard.until = math.inf
    run.stats.update(mip_rounds=rounds, mip_seconds=mip_time, mip_nodes=nodes)
    return status, message
