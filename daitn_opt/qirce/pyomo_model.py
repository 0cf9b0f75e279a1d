"""QIRCE / Q-FAM as a Pyomo model, solvable by any Pyomo MILP solver (HiGHS by default).

The same formulation as :mod:`.milp` (``formulations/qirce.md``, constraints (1)-(6)), written
algebraically so that users can hand it to Gurobi, CPLEX, CBC, SCIP, ... with
``solve(problem, "pyomo", pyomo_solver="gurobi")``. Slower to build than :mod:`.milp`; meant for
portability and for exporting (``model.write("qirce.lp")``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..highs_model import quiet_highs, reset_scheduler
from ..params import param
from ..registry import SolveOptions, register
from ..result import Result, Status, TracePoint
from ..tfam.bounds import settled
from ..tfam.budget import Clock, OutOfTime, pyomo_refusal, quiet_pyomo
from .bounds import integral_objective, internal_bound
from .problem import Problem
from .solution import build_solution, infeasible_result, internal_objective, trivial_result
from .warm_start import fallback_result, warm_start


def build_model(problem: Problem, clock: Clock | None = None) -> Any:
    """The Pyomo model: ``x[a]``, ``y[k]`` (k = model * F + facility, only where memory binds),
    ``z[f]`` (only facilities with an open cost). With ``clock``, the build stops with
    :class:`~daitn_opt.tfam.budget.OutOfTime` past its deadline."""
    import pyomo.environ as pyo  # imported here: Pyomo takes seconds to import

    check = clock.check if clock is not None else (lambda: None)

    p = problem
    n_f = p.num_facilities
    w = p.internal_arc_weight()
    fo = p.internal_open_weight()
    mdl = pyo.ConcreteModel(name=p.name)
    mdl.A = pyo.RangeSet(0, p.num_arcs - 1)
    domain = pyo.Binary if p.single_source else pyo.UnitInterval
    mdl.x = pyo.Var(mdl.A, domain=domain)
    closable = [int(f) for f in np.flatnonzero(fo > 0)]
    mdl.Z = pyo.Set(initialize=closable)
    mdl.z = pyo.Var(mdl.Z, domain=pyo.Binary)
    by_d: dict[int, list[int]] = {}
    by_f: dict[int, list[int]] = {}
    for a, (d, f) in enumerate(zip(p.arc_demand.tolist(), p.arc_facility.tolist(), strict=True)):
        by_d.setdefault(d, []).append(a)
        by_f.setdefault(f, []).append(a)
    mdl.D = pyo.Set(initialize=sorted(by_d))
    if p.mode == "serve_all":
        mdl.serve = pyo.Constraint(
            mdl.D, rule=lambda m, d: check() or sum(m.x[a] for a in by_d[d]) == 1
        )
    else:
        mdl.serve = pyo.Constraint(
            mdl.D, rule=lambda m, d: check() or sum(m.x[a] for a in by_d[d]) <= 1
        )
    mdl.F = pyo.Set(initialize=sorted(by_f))

    def capacity(m, f):
        check()
        lhs = sum(float(p.arc_load[a]) * m.x[a] for a in by_f[f])
        cap = float(p.capacity[f])
        return lhs <= cap * m.z[f] if f in m.Z else lhs <= cap

    mdl.capacity = pyo.Constraint(mdl.F, rule=capacity)
    linked = [a for a in range(p.num_arcs) if int(p.arc_facility[a]) in set(closable)]
    mdl.link = pyo.Constraint(
        linked, rule=lambda m, a: check() or m.x[a] <= m.z[int(p.arc_facility[a])]
    )
    if p.memory_binding:
        key = (p.arc_model * n_f + p.arc_facility).tolist()
        mdl.Y = pyo.Set(initialize=sorted(set(key)))
        mdl.y = pyo.Var(mdl.Y, domain=pyo.Binary)
        mdl.deployed = pyo.Constraint(mdl.A, rule=lambda m, a: check() or m.x[a] <= m.y[key[a]])
        per_f: dict[int, list[int]] = {}
        for k in sorted(set(key)):
            per_f.setdefault(k % n_f, []).append(k)
        finite = [f for f in per_f if np.isfinite(p.facility_memory[f])]

        def memory(m, f):
            lhs = sum(float(p.model_memory[k // n_f]) * m.y[k] for k in per_f[f])
            cap = float(p.facility_memory[f])
            return lhs <= cap * m.z[f] if f in m.Z else lhs <= cap

        mdl.memory = pyo.Constraint(finite, rule=memory)
    mdl.obj = pyo.Objective(
        expr=sum(float(w[a]) * mdl.x[a] for a in mdl.A)
        + sum(float(fo[f]) * mdl.z[f] for f in mdl.Z),
        sense=pyo.minimize,
    )
    return mdl


def _terms(p: Problem) -> int:
    """Linear terms of the model (rows (1), (2), (3), (6) and the objective), for its estimate."""
    linked = int(np.count_nonzero(p.internal_open_weight()[p.arc_facility] > 0))
    return 3 * p.num_arcs + 2 * linked + (2 * p.num_arcs if p.memory_binding else 0)


@dataclass(frozen=True)
class PyomoParams:
    """Parameters of the ``pyomo`` solver."""

    pyomo_solver: str = param(
        "appsi_highs", "Pyomo solver name (appsi_highs, gurobi, cplex, cbc, scip, ...)"
    )
    warm_start: bool = param(True, "start from the best heuristic solution (local search)")


@register(
    "qirce",
    "pyomo",
    exact=True,
    description="Pyomo MILP, any Pyomo solver (pyomo_solver=, default appsi_highs)",
    supports=lambda problem: (
        "the congestion model (queueing penalty) is not built in Pyomo; use highs"
        if problem.congestion != "none"
        else None
    ),
    params=PyomoParams,
)
@settled
def solve_pyomo(problem: Problem, options: SolveOptions) -> Result:
    """Params: ``pyomo_solver`` (default ``"appsi_highs"``), ``warm_start`` (default True)."""
    bad = infeasible_result(problem, "pyomo") or trivial_result(problem, "pyomo")
    if bad is not None:
        return bad

    p = problem
    name = options.params.pyomo_solver
    trace: list[TracePoint] = []
    x0, lb = warm_start(p, options)
    if x0 is not None:
        trace.append(TracePoint(options.elapsed(), p.reported(internal_objective(p, x0)), None))
    stats: dict = {"pyomo_solver": name}
    reserve = max(0.2, 0.1 * options.time_limit)
    n_vars = p.num_arcs + p.num_facilities * (1 + (p.num_models if p.memory_binding else 0))
    refusal = pyomo_refusal(_terms(p), n_vars, options.remaining() - reserve)

    def give_up(why: str) -> Result:  # the warm start, before any model ran
        return fallback_result(p, "pyomo", x0, lb, stats, trace, why, options=options)

    if refusal is not None:
        return give_up(refusal)
    import pyomo.environ as pyo

    t_build = time.perf_counter()
    try:
        # Half the time left for the build: translating the model takes about as long again.
        with quiet_pyomo():
            mdl = build_model(p, Clock(t_build + 0.5 * (options.remaining() - reserve)))
    except OutOfTime:
        return give_up("time limit reached while building the model")
    built = time.perf_counter() - t_build
    stats["build_seconds"] = built
    limit = options.remaining() - reserve - built  # translation takes about the build time
    if limit < 0.05:
        return give_up(f"the model took {built:.1f} s to build: no time left to solve")
    if name == "appsi_highs":
        quiet_highs()  # absorbs HiGHS's once-per-process banner (it would corrupt --json)
    if x0 is not None:
        for a in range(p.num_arcs):
            mdl.x[a].set_value(float(x0[a]))
    if name == "appsi_highs":
        # The APPSI interface directly: it reports the best bound and keeps the incumbent.
        from pyomo.contrib.appsi.solvers import Highs

        solver = Highs()
        solver.config.time_limit = limit
        solver.config.load_solution = False
        solver.highs_options = {"mip_rel_gap": 1e-7, "random_seed": options.seed}
        if integral_objective(p):
            solver.highs_options["mip_abs_gap"] = 1.0 - 1e-6
        reset_scheduler()  # Pyomo's HiGHS sets its own thread count
        res = solver.solve(mdl)
        term = str(res.termination_condition)
        has = res.best_feasible_objective is not None
        if has:
            res.solution_loader.load_vars()
        bound = res.best_objective_bound
    else:
        solver = pyo.SolverFactory(name)
        kwargs = {"load_solutions": False}
        if solver.warm_start_capable() and x0 is not None:
            kwargs["warmstart"] = True
        solver.options["time_limit"] = limit
        reset_scheduler()  # Pyomo's HiGHS sets its own thread count
        res = solver.solve(mdl, **kwargs)
        term = str(res.solver.termination_condition)
        has = len(res.solution) > 0
        if has:
            mdl.solutions.load_from(res)
        bound = getattr(res.problem, "lower_bound", None)
    stats["termination"] = term
    bound = bound if bound is not None and np.isfinite(bound) else None
    if lb is not None:
        bound = lb if bound is None else max(bound, lb)
    if not has:
        if "infeasible" in term.lower():
            return Result(
                problem="qirce",
                solver="pyomo",
                status=Status.INFEASIBLE,
                sense=p.sense,
                message=f"{name}: {term}",
                stats=stats,
                trace=trace,
            )
        return fallback_result(
            p, "pyomo", x0, bound, stats, trace, f"{name}: {term}", options=options
        )
    x = np.array([pyo.value(mdl.x[a]) or 0.0 for a in range(p.num_arcs)])
    if p.single_source:
        x = np.round(x)
    internal = internal_objective(p, x)
    if x0 is not None and internal_objective(p, x0) < internal:
        x, internal = x0, internal_objective(p, x0)
    optimal = "optimal" in term.lower()
    if optimal and bound is None:
        bound = internal
    bound = internal_bound(p, bound)
    rep_bound = p.reported(bound) if bound is not None else None
    trace.append(TracePoint(options.elapsed(), p.reported(internal), rep_bound))
    return Result(
        problem="qirce",
        solver="pyomo",
        status=Status.FEASIBLE,  # settle() proves optimality from the bound
        sense=p.sense,
        objective=p.reported(internal),
        bound=rep_bound,
        solution=build_solution(p, x),
        stats=stats,
        trace=trace,
    )
