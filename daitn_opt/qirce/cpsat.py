"""QIRCE / Q-FAM with OR-Tools CP-SAT (single-source routing).

The model is the MILP of ``formulations/qirce.md`` with Boolean arc literals: ``exactly_one``
(serve-all) or ``at_most_one`` (admit) per demand, a linear throughput constraint per facility,
implications ``x -> y -> z`` and a memory constraint where memory binds.

CP-SAT needs integers. Costs are multiplied by a power of ten (at most 1e6; 1 for integer data)
and rounded *down*, so that CP-SAT's bound stays a lower bound on the real cost; loads are scaled
the same way and rounded *up*, capacities rounded *down*, so every solution CP-SAT accepts is
feasible in real arithmetic (when that rounding is inexact the model is a restriction: its bound
is not reported and its infeasibility proves nothing). The reported objective is recomputed from
the real arrays. The model is built against the clock: past the time limit the warm start is
returned with the heuristic's bound and a message (the skeleton of
:class:`~daitn_opt.qirce.support.QirceExact`). Splittable routing needs continuous
variables, which CP-SAT does not have: use ``highs`` or ``pyomo`` for it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..budget import CPSAT_SECONDS_PER_TERM, Clock, build_refusal
from ..exact import Outcome, OutOfTime, Run, register_exact
from ..params import param
from .bounds import reported_bound
from .problem import Problem
from .support import QirceExact


def _scale(values: np.ndarray, limit: float = 1e12) -> int:
    """Smallest power of ten (<= 1e6) making ``values`` integral, capped so scaled sums fit."""
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max(initial=0.0))
    for k in range(7):
        s = 10**k
        if np.all(np.abs(finite * s - np.round(finite * s)) <= 1e-9 * s) or top * s * 10 > limit:
            return s
    return 10**6


def _exact(values: np.ndarray, scale: int) -> bool:
    finite = values[np.isfinite(values)] * scale
    return bool(np.all(np.abs(finite - np.round(finite)) <= 1e-9 * np.maximum(1.0, finite)))


def _supports(problem: Problem) -> str | None:
    if problem.congestion != "none":
        return "the congestion model (queueing penalty) is not built in CP-SAT; use highs"
    if not problem.single_source:
        return "splittable routing needs continuous variables; use highs or pyomo"
    return None


@dataclass(frozen=True)
class CpsatParams:
    """Parameters of the ``cpsat`` solver."""

    warm_start: bool = param(True, "hint CP-SAT with the best heuristic solution (local search)")
    workers: int | None = param(None, "CP-SAT search workers (default: the threads option)")


@dataclass(frozen=True)
class Scaled:
    """The integer data of the CP-SAT model and whether its rows are exact.

    Costs are rounded down: every solution's scaled cost is at most its real cost, so CP-SAT's
    lower bound on the scaled objective stays a lower bound on the real one. Loads rounded up
    and capacities down restrict the problem unless the scaling is exact (``rows_exact``): else
    CP-SAT's bound (and an infeasibility verdict) holds for the restricted problem only.
    """

    cost_scale: int
    load_scale: int
    wi: np.ndarray
    foi: np.ndarray
    li: np.ndarray
    capi: np.ndarray
    rows_exact: bool

    @classmethod
    def of(cls, p: Problem) -> Scaled:
        w, fo = p.internal_arc_weight(), p.internal_open_weight()
        cost_scale = _scale(np.concatenate([w, fo]))
        load_scale = _scale(np.concatenate([p.arc_load, p.capacity]))
        return cls(
            cost_scale,
            load_scale,
            np.floor(w * cost_scale + 1e-9).astype(np.int64),
            np.floor(fo * cost_scale + 1e-9).astype(np.int64),
            np.ceil(p.arc_load * load_scale - 1e-9).astype(np.int64),
            np.floor(p.capacity * load_scale + 1e-9).astype(np.int64),
            _exact(p.arc_load, load_scale) and _exact(p.capacity, load_scale),
        )


@dataclass
class Model:
    """The built CP-SAT model, its arc literals and what reading it back needs."""

    cp_model: Any
    model: Any
    x: list
    cost_scale: int
    rows_exact: bool
    reserve: float


@register_exact
class CpsatSolver(QirceExact):
    """CP-SAT over Boolean arc literals (parameters: :class:`CpsatParams`)."""

    name = "cpsat"
    description = "CP-SAT over Boolean arc literals (single-source), hinted by the best heuristic"
    Params = CpsatParams
    supports = staticmethod(_supports)

    def build(self, run: Run) -> Model:
        from ortools.sat.python import cp_model  # imported here: OR-Tools is slow to import

        p, options = run.problem, run.options
        scaled = Scaled.of(p)
        run.stats.update(cost_scale=scaled.cost_scale, load_scale=scaled.load_scale)
        reserve = max(0.1, 0.05 * options.time_limit)
        terms = 4 * p.num_arcs + (2 * p.num_arcs if p.memory_binding else 0)
        refusal = build_refusal(
            "CP-SAT", terms, CPSAT_SECONDS_PER_TERM, options.remaining() - 3 * reserve
        )
        if refusal is not None:
            raise OutOfTime(refusal)
        clock = Clock(time.perf_counter() + options.remaining() - 2 * reserve)
        try:
            built, x = _model(p, cp_model, scaled, clock)
            if run.start.solution is not None:
                for a in range(p.num_arcs):
                    if a % 4096 == 0:
                        clock.check()
                    built.model.add_hint(x[a], bool(run.start.solution[a] > 0.5))
        except OutOfTime:  # the build clock ran out: say where
            raise OutOfTime("time limit reached while building the model") from None
        rows_exact = scaled.rows_exact and run.stats.setdefault("memory_exact", built.memory_exact)
        return Model(cp_model, built.model, x, scaled.cost_scale, rows_exact, reserve)

    def run(self, run: Run, model: Model) -> tuple[Any, int]:
        left = run.options.remaining() - model.reserve
        if left < 0.05:
            raise OutOfTime("no time left to run CP-SAT")
        solver = model.cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = left
        solver.parameters.num_workers = run.params.workers or max(1, run.options.threads)
        solver.parameters.random_seed = run.options.seed
        p, scale = run.problem, model.cost_scale

        class Progress(model.cp_model.CpSolverSolutionCallback):
            def on_solution_callback(self) -> None:
                run.record(
                    p.reported(self.objective_value / scale),
                    p.reported(self.best_objective_bound / scale),
                )

        status = solver.solve(model.model, Progress())
        run.stats.update(branches=solver.num_branches, conflicts=solver.num_conflicts)
        return solver, status

    def extract(self, run: Run, model: Model, raw: tuple[Any, int]) -> Outcome:
        solver, status = raw
        cp_model, p = model.cp_model, run.problem
        if status == cp_model.INFEASIBLE and model.rows_exact:
            return Outcome(
                infeasible=True,
                message="no single-source routing serves all demand within capacity and memory",
            )
        bound = None
        if model.rows_exact:
            bound = reported_bound(p, solver.best_objective_bound / model.cost_scale)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return Outcome(bound=bound, message=f"CP-SAT: {solver.status_name(status)}")
        xs = np.array([solver.boolean_value(v) for v in model.x], dtype=np.float64)
        run.record(self.support.value(p, xs), bound)
        return Outcome(xs, bound)


class _Built:
    """The CP-SAT model and whether its memory rows are exact (not rounded)."""

    def __init__(self, model: object) -> None:
        self.model = model
        self.memory_exact = True


def _model(p: Problem, cp_model: Any, scaled: Scaled, clock: Clock) -> tuple[_Built, list]:
    """The CP-SAT model of ``p`` with integer data; raises OutOfTime past ``clock``."""
    wi, foi, li, capi = scaled.wi, scaled.foi, scaled.li, scaled.capi
    m = cp_model.CpModel()
    built = _Built(m)
    x = []
    for a in range(p.num_arcs):
        if a % 4096 == 0:
            clock.check()
        x.append(m.new_bool_var(f"x{a}"))
    for a in np.flatnonzero(li > capi[p.arc_facility]):
        m.add(x[a] == 0)
    by_demand = np.argsort(p.arc_demand, kind="stable")
    starts = np.searchsorted(p.arc_demand[by_demand], np.arange(p.num_demands + 1))
    for d in range(p.num_demands):
        if d % 1024 == 0:
            clock.check()
        lits = [x[a] for a in by_demand[starts[d] : starts[d + 1]]]
        if p.mode == "serve_all":
            m.add_exactly_one(lits)
        elif lits:
            m.add_at_most_one(lits)
    fo = p.internal_open_weight()
    z = {int(f): m.new_bool_var(f"z{f}") for f in np.flatnonzero(fo > 0)}
    by_fac = np.argsort(p.arc_facility, kind="stable")
    fstarts = np.searchsorted(p.arc_facility[by_fac], np.arange(p.num_facilities + 1))
    for f in range(p.num_facilities):
        clock.check()
        arcs = by_fac[fstarts[f] : fstarts[f + 1]]
        if arcs.size == 0:
            continue
        expr = cp_model.LinearExpr.weighted_sum([x[a] for a in arcs], li[arcs].tolist())
        if f in z:
            m.add(expr <= int(capi[f]) * z[f])
            for a in arcs:
                m.add_implication(x[a], z[f])
        else:
            m.add(expr <= int(capi[f]))
    y = {}
    if p.memory_binding:
        key = p.arc_model * p.num_facilities + p.arc_facility
        for a, k in enumerate(key.tolist()):
            if a % 4096 == 0:
                clock.check()
            if k not in y:
                y[k] = m.new_bool_var(f"y{k}")
            m.add_implication(x[a], y[k])
        mem_scale = _scale(np.concatenate([p.model_memory, p.facility_memory]))
        built.memory_exact = _exact(p.model_memory, mem_scale) and _exact(
            p.facility_memory, mem_scale
        )
        per_fac: dict[int, list[int]] = {}
        for k in y:
            per_fac.setdefault(k % p.num_facilities, []).append(k)
        for f, keys in per_fac.items():
            if not np.isfinite(p.facility_memory[f]):
                continue
            mem = [
                int(np.ceil(p.model_memory[k // p.num_facilities] * mem_scale - 1e-9)) for k in keys
            ]
            cap = int(np.floor(p.facility_memory[f] * mem_scale + 1e-9))
            expr = cp_model.LinearExpr.weighted_sum([y[k] for k in keys], mem)
            m.add(expr <= (cap * z[f] if f in z else cap))
    m.minimize(
        cp_model.LinearExpr.weighted_sum(x, wi.tolist())
        + cp_model.LinearExpr.weighted_sum(list(z.values()), [int(foi[f]) for f in z])
    )
    return built, x
