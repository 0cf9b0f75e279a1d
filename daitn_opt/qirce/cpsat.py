"""QIRCE / Q-FAM with OR-Tools CP-SAT (single-source routing).

The model is the MILP of ``formulations/qirce.md`` with Boolean arc literals: ``exactly_one``
(serve-all) or ``at_most_one`` (admit) per demand, a linear throughput constraint per facility,
implications ``x -> y -> z`` and a memory constraint where memory binds.

CP-SAT needs integers. Costs are multiplied by a power of ten (at most 1e6; 1 for integer data)
and rounded; loads are scaled the same way and rounded *up*, capacities rounded *down*, so every
solution CP-SAT accepts is feasible in real arithmetic (for integer data the model is exact).
The reported objective is recomputed from the real arrays. Splittable routing needs continuous
variables, which CP-SAT does not have: use ``highs`` or ``pyomo`` for it.
"""

from __future__ import annotations

import numpy as np

from ..registry import SolveOptions, register
from ..result import Result, Status, TracePoint
from .milp import infeasible_result, trivial_result
from .problem import Problem
from .solution import arcs_from_solution, build_solution, internal_objective


def _scale(values: np.ndarray, limit: float = 1e12) -> int:
    """Smallest power of ten (<= 1e6) making ``values`` integral, capped so scaled sums fit."""
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max(initial=0.0))
    for k in range(7):
        s = 10**k
        if np.all(np.abs(finite * s - np.round(finite * s)) <= 1e-9 * s) or top * s * 10 > limit:
            return s
    return 10**6


def _supports(problem: Problem) -> str | None:
    if not problem.single_source:
        return "splittable routing needs continuous variables; use highs or pyomo"
    return None


@register(
    "qirce",
    "cpsat",
    exact=True,
    description="CP-SAT over Boolean arc literals (single-source), hinted by the best heuristic",
    supports=_supports,
)
def solve_cpsat(problem: Problem, options: SolveOptions) -> Result:
    """Params: ``warm_start`` (default True), ``workers`` (default ``threads``)."""
    from ortools.sat.python import cp_model  # imported here: OR-Tools is slow to import

    bad = infeasible_result(problem, "cpsat") or trivial_result(problem, "cpsat")
    if bad is not None:
        return bad
    p = problem
    w = p.internal_arc_weight()
    fo = p.internal_open_weight()
    cost_scale = _scale(np.concatenate([w, fo]))
    wi = np.round(w * cost_scale).astype(np.int64)
    foi = np.round(fo * cost_scale).astype(np.int64)
    load_scale = _scale(np.concatenate([p.arc_load, p.capacity]))
    li = np.ceil(p.arc_load * load_scale - 1e-9).astype(np.int64)
    capi = np.floor(p.capacity * load_scale + 1e-9).astype(np.int64)

    m = cp_model.CpModel()
    x = [m.new_bool_var(f"x{a}") for a in range(p.num_arcs)]
    for a in np.flatnonzero(li > capi[p.arc_facility]):
        m.add(x[a] == 0)
    by_demand = np.argsort(p.arc_demand, kind="stable")
    starts = np.searchsorted(p.arc_demand[by_demand], np.arange(p.num_demands + 1))
    for d in range(p.num_demands):
        lits = [x[a] for a in by_demand[starts[d] : starts[d + 1]]]
        if p.mode == "serve_all":
            m.add_exactly_one(lits)
        elif lits:
            m.add_at_most_one(lits)
    z = {int(f): m.new_bool_var(f"z{f}") for f in np.flatnonzero(fo > 0)}
    by_fac = np.argsort(p.arc_facility, kind="stable")
    fstarts = np.searchsorted(p.arc_facility[by_fac], np.arange(p.num_facilities + 1))
    for f in range(p.num_facilities):
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
            if k not in y:
                y[k] = m.new_bool_var(f"y{k}")
            m.add_implication(x[a], y[k])
        mem_scale = _scale(np.concatenate([p.model_memory, p.facility_memory]))
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

    trace: list[TracePoint] = []
    x0 = arcs_from_solution(p, options.initial)
    if x0 is None and options.params.get("warm_start", True):
        from .heuristics import best_heuristic, warm_start_budget

        x0 = best_heuristic(p, warm_start_budget(p, options.remaining()), options.seed)
    if x0 is not None:
        trace.append(TracePoint(options.elapsed(), p.reported(internal_objective(p, x0)), None))
        for a in range(p.num_arcs):
            m.add_hint(x[a], bool(x0[a] > 0.5))

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, options.remaining())
    solver.parameters.num_workers = int(options.params.get("workers", max(1, options.threads)))
    solver.parameters.random_seed = options.seed

    class Progress(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            trace.append(
                TracePoint(
                    options.elapsed(),
                    p.reported(self.objective_value / cost_scale),
                    p.reported(self.best_objective_bound / cost_scale),
                )
            )

    status = solver.solve(m, Progress())
    stats = {
        "cost_scale": cost_scale,
        "load_scale": load_scale,
        "branches": solver.num_branches,
        "conflicts": solver.num_conflicts,
    }
    if status == cp_model.INFEASIBLE:
        return Result(
            problem="qirce",
            solver="cpsat",
            status=Status.INFEASIBLE,
            sense=p.objective_sense,
            message="no single-source routing serves all demand within capacity and memory",
            stats=stats,
            trace=trace,
        )
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Result(
            problem="qirce",
            solver="cpsat",
            status=Status.NO_SOLUTION,
            sense=p.objective_sense,
            message=f"CP-SAT: {solver.status_name(status)}",
            stats=stats,
            trace=trace,
        )
    xs = np.array([solver.boolean_value(v) for v in x], dtype=np.float64)
    internal = internal_objective(p, xs)
    exact_data = cost_scale == 1 or np.array_equal(wi, w * cost_scale)
    optimal = status == cp_model.OPTIMAL
    if optimal and exact_data:
        bound = p.reported(internal)
    else:
        bound = p.reported(solver.best_objective_bound / cost_scale)
    trace.append(TracePoint(options.elapsed(), p.reported(internal), bound))
    return Result(
        problem="qirce",
        solver="cpsat",
        status=Status.OPTIMAL if optimal else Status.FEASIBLE,
        sense=p.objective_sense,
        objective=p.reported(internal),
        bound=bound,
        solution=build_solution(p, xs),
        stats=stats,
        trace=trace,
    )
