"""Branch and cut in Python on HiGHS's LP: cut separation at every node (``search="cuts"``).

HiGHS 1.16 cannot add cuts during its own branch and bound (its lazy-constraint callback is
never called), so its tree sees only the cuts found before the MIP starts: on an orienteering
instance the LP of a node then spreads visits over fractional subtours again, and the tree grows
without closing the gap (Chao set 66, budget 20: 48 nodes in 20 s of CPU, bound 215 over the
optimum 205). :func:`branch_phase` runs the search itself, with HiGHS solving the node LPs
(dual simplex, hot-started from the previous node's basis):

- at each node the LP is solved and separated again (:func:`~.milp_cuts.lp_cuts`: the 2-node
  cuts, the budget's covers and counts, the subtour cuts by minimum cuts) until no cut is found
  or the bound stops moving (:data:`TAIL_ROUNDS` rounds gaining less than :data:`TAIL_GAIN`);
  every cut is valid for all routes and is kept for the whole tree;
- a node is pruned when its bound cannot beat the incumbent by one objective step
  (:attr:`MilpModel.objective_step`: 5 on Chao set 66), when its LP is infeasible, or when its
  LP optimum is integral without subtour (a route, offered as incumbent);
- otherwise it branches on the visit variable ``y_i`` closest to 1/2 (an edge variable when
  every ``y`` is integral); nodes are taken best bound first, the deeper first among equals;
- the global bound is the best of the open nodes' bounds and the incumbent
  (:meth:`CutRun.tighten`), so the search proves optimality when no node is left.

A node is a set of fixings (column -> 0 or 1) on top of the root's bounds (which
:func:`~.milp_cuts.reduced_cost_fixing` may have tightened); switching nodes changes only the
columns whose bounds differ.
"""

from __future__ import annotations

import heapq
import itertools
import math

import highspy
import numpy as np

from ..result import Status
from .milp_cuts import CpuGuard, CutRun, add_cuts, highs_seconds, integer_round, lp_cuts

TAIL_ROUNDS = 3
"""Separation rounds at a node whose bound gains less than :data:`TAIL_GAIN` before branching."""

TAIL_GAIN = 0.05
"""Share of one objective step (or absolute, when the objective is not integral) that counts as
progress of a node's bound."""

MAX_NODE_ROUNDS = 25
"""Most separation rounds at one node."""

PURGE_EVERY = 50
"""Nodes between two purges of the cut rows that are slack at the current node's LP."""


def purge(h: highspy.Highs, run: CutRun) -> int:
    """Delete the cut rows that are slack (activity above the row's bound, dual 0) at the LP
    point HiGHS holds; they leave the LP (its node solves slow down with every dense subtour
    row) and may be separated again later (their keys are forgotten). Returns how many."""
    model = run.model
    first = h.getNumRow() - len(run.row_keys)
    if first != model.num_row - len(run.row_keys) or not run.row_keys:
        return 0  # HiGHS's rows and the model's are out of step: leave them
    sol = h.getSolution()
    if len(sol.row_value) != h.getNumRow() or not sol.dual_valid:
        return 0  # rows added since the last solve
    act = np.asarray(sol.row_value)[first:]
    dual = np.asarray(sol.row_dual)[first:]
    lower = np.asarray(model.row_lower[first:], dtype=np.float64)
    slack = (act - lower > 1e-6 * np.maximum(1.0, np.abs(lower))) & (np.abs(dual) <= 1e-12)
    gone = np.flatnonzero(slack)
    if not len(gone):
        return 0
    h.deleteRows(len(gone), (first + gone).astype(np.int32))
    keep = np.ones(len(run.row_keys), dtype=bool)
    keep[gone] = False
    for k in gone.tolist():
        run.cut_keys.discard(run.row_keys[k])
    run.row_keys = [key for key, kept in zip(run.row_keys, keep, strict=True) if kept]
    for name in ("row_index", "row_value", "row_lower", "row_upper"):
        rows = getattr(model, name)
        rows[first:] = [r for r, kept in zip(rows[first:], keep, strict=True) if kept]
    run.stats["purged_cuts"] = run.stats.get("purged_cuts", 0) + len(gone)
    return len(gone)


class _Bounds:
    """The node fixings currently applied to HiGHS's columns, on top of the root's bounds."""

    def __init__(self, h: highspy.Highs, lower: np.ndarray, upper: np.ndarray) -> None:
        self.h, self.lower, self.upper = h, lower.copy(), upper.copy()
        self.applied: dict[int, float] = {}

    def apply(self, fixings: dict[int, float]) -> None:
        cols = set(self.applied) | set(fixings)
        changed = [c for c in cols if self.applied.get(c) != fixings.get(c)]
        if changed:
            idx = np.array(changed, dtype=np.int32)
            lo, up = self.lower[idx].copy(), self.upper[idx].copy()
            for k, c in enumerate(changed):
                if c in fixings:
                    lo[k] = up[k] = fixings[c]
            self.h.changeColsBounds(len(idx), idx, lo, up)
        self.applied = dict(fixings)


def _branch_column(run: CutRun, x: np.ndarray) -> int | None:
    """The visit column closest to 1/2, else the edge column closest to 1/2 (None: integral)."""
    model = run.model
    ycols = model.y_col[model.y_col >= 0]
    for cols in (ycols, np.arange(model.num_arc)):
        if not len(cols):
            continue
        frac = np.abs(x[cols] - np.rint(x[cols]))
        if frac.max() > 1e-6:
            return int(cols[int(np.argmin(np.abs(x[cols] - 0.5) + (frac <= 1e-6) * 2.0))])
    return None


def _integral(run: CutRun, x: np.ndarray) -> bool:
    cols = np.flatnonzero(run.model.integrality)
    return bool(np.all(np.abs(x[cols] - np.rint(x[cols])) <= 1e-6))


def _settle(run: CutRun, heap: list, sign: float) -> None:
    """The global bound: the best open node's bound, or the incumbent when it is better (every
    other node was pruned against it)."""
    bound = -sign * heap[0][0] if heap else None
    best = run.best_value
    if bound is None or (best is not None and sign * (bound - best) < 0):
        bound = best
    run.tighten(bound)


def branch_phase(
    h: highspy.Highs, run: CutRun, guard: CpuGuard | None = None
) -> tuple[Status | None, str]:
    """Branch and cut from the current LP (after :func:`~.milp_cuts.lp_phase`); see the module
    docstring. Returns ``(None, message)``: the bound and the incumbent are in ``run``."""
    model, options = run.model, run.options
    sign = 1.0 if model.maximize else -1.0
    step = model.objective_step
    # a better solution is a step above the incumbent; the LP's bound may fall short of it by
    # its tolerances, relative to the objective's size (as certify.round_bound allows)
    need = step - 1e-6 * max(1.0, abs(run.best_value or 0.0))
    gain = TAIL_GAIN * (step or 1.0)
    h.setOptionValue("solve_relaxation", True)
    bounds = _Bounds(h, model.lower, model.upper)
    order = itertools.count()
    root = run.bound if run.bound is not None else sign * math.inf
    # (minus the bound in the max sense, minus the depth, tie-break, depth, fixings)
    heap: list[tuple[float, int, int, int, dict[int, float]]] = [
        (-sign * root, 0, next(order), 0, {})
    ]
    nodes = rounds_total = 0
    message = ""
    failed = False

    def hopeless(value: float) -> bool:
        """No solution under this bound beats the incumbent by a step."""
        return run.best_value is not None and sign * (value - run.best_value) < need

    while heap:
        if options.remaining() <= 0.05:
            message = "CPU time limit reached" if guard is not None and guard.fired else ""
            message = message or "time limit reached"
            break
        key, _, _, depth, fixings = item = heapq.heappop(heap)
        parent = -sign * key
        if hopeless(parent):
            continue
        nodes += 1
        bounds.apply(fixings)
        value, x, last, stalled, done = parent, None, None, 0, False
        for _ in range(MAX_NODE_ROUNDS):
            h.setOptionValue("time_limit", highs_seconds(options))
            h.run()
            rounds_total += 1
            ms = h.getModelStatus()
            if ms == highspy.HighsModelStatus.kInfeasible:
                done = True
                break
            if ms != highspy.HighsModelStatus.kOptimal:
                heapq.heappush(heap, item)  # out of time (or HiGHS failed): the node stays open
                x = None
                if guard is not None and guard.fired:
                    message = "CPU time limit reached"
                elif options.remaining() > 0.05:
                    message = f"HiGHS stopped on a node LP: {h.modelStatusToString(ms)}"
                failed = True
                break
            value = h.getInfo().objective_function_value
            if hopeless(value):
                done = True
                break
            x = np.asarray(h.getSolution().col_value)
            if _integral(run, x):
                cuts, clean = integer_round(run, x)
                if clean:
                    done = True
                    break
                if add_cuts(h, run, cuts) == 0:
                    break
                continue
            if last is not None and sign * (last - value) < gain:
                stalled += 1
                if stalled >= TAIL_ROUNDS:
                    break
            else:
                stalled = 0
            last = value
            if add_cuts(h, run, lp_cuts(model, x, options)) == 0:
                break
        if not done and x is not None:
            col = _branch_column(run, x)
            if col is None:  # integral, subtours already cut (numerical trouble): stop, open
                heapq.heappush(heap, item)
                message = "an integral node point with known subtours; search stopped"
                break
            if nodes % PURGE_EVERY == 1:
                purge(h, run)
            for v in (1.0, 0.0):
                child = {**fixings, col: v}
                heapq.heappush(heap, (-sign * value, -(depth + 1), next(order), depth + 1, child))
        _settle(run, heap, sign)
        if not heap or run.closed() or failed:
            break
    bounds.apply({})
    run.point()
    st = run.stats
    st["bc_nodes"] = st.get("bc_nodes", 0) + nodes
    st["bc_lp_rounds"] = st.get("bc_lp_rounds", 0) + rounds_total
    st["bc_open"] = len(heap)
    return None, message
