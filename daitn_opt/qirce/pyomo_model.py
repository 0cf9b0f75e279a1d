"""QIRCE / Q-FAM as a Pyomo model, solvable by any Pyomo MILP solver (HiGHS by default).

The same formulation as :mod:`.milp` (``formulations/qirce.md``, constraints (1)-(6)), written
algebraically so that users can hand it to Gurobi, CPLEX, CBC, SCIP, ... with
``solve(problem, "pyomo", pyomo_solver="gurobi")``. Slower to build than :mod:`.milp`; meant for
portability and for exporting (``model.write("qirce.lp")``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..highs_model import quiet_highs
from ..registry import SolveOptions, register
from ..result import Result, Status, TracePoint
from .milp import infeasible_result, integral_weights, trivial_result
from .problem import Problem
from .solution import arcs_from_solution, build_solution, internal_objective


def build_model(problem: Problem) -> Any:
    """The Pyomo model: ``x[a]``, ``y[k]`` (k = model * F + facility, only where memory binds),
    ``z[f]`` (only facilities with an open cost)."""
    import pyomo.environ as pyo  # imported here: Pyomo takes seconds to import

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
        mdl.serve = pyo.Constraint(mdl.D, rule=lambda m, d: sum(m.x[a] for a in by_d[d]) == 1)
    else:
        mdl.serve = pyo.Constraint(mdl.D, rule=lambda m, d: sum(m.x[a] for a in by_d[d]) <= 1)
    mdl.F = pyo.Set(initialize=sorted(by_f))

    def capacity(m, f):
        lhs = sum(float(p.arc_load[a]) * m.x[a] for a in by_f[f])
        cap = float(p.capacity[f])
        return lhs <= cap * m.z[f] if f in m.Z else lhs <= cap

    mdl.capacity = pyo.Constraint(mdl.F, rule=capacity)
    linked = [a for a in range(p.num_arcs) if int(p.arc_facility[a]) in set(closable)]
    mdl.link = pyo.Constraint(linked, rule=lambda m, a: m.x[a] <= m.z[int(p.arc_facility[a])])
    if p.memory_binding:
        key = (p.arc_model * n_f + p.arc_facility).tolist()
        mdl.Y = pyo.Set(initialize=sorted(set(key)))
        mdl.y = pyo.Var(mdl.Y, domain=pyo.Binary)
        mdl.deployed = pyo.Constraint(mdl.A, rule=lambda m, a: m.x[a] <= m.y[key[a]])
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


@register(
    "qirce",
    "pyomo",
    exact=True,
    description="Pyomo MILP, any Pyomo solver (pyomo_solver=, default appsi_highs)",
)
def solve_pyomo(problem: Problem, options: SolveOptions) -> Result:
    """Params: ``pyomo_solver`` (default ``"appsi_highs"``), ``warm_start`` (default True)."""
    bad = infeasible_result(problem, "pyomo") or trivial_result(problem, "pyomo")
    if bad is not None:
        return bad
    import pyomo.environ as pyo

    p = problem
    name = options.params.get("pyomo_solver", "appsi_highs")
    trace: list[TracePoint] = []
    x0 = arcs_from_solution(p, options.initial)
    if x0 is None and options.params.get("warm_start", True):
        from .heuristics import best_heuristic, warm_start_budget

        x0 = best_heuristic(p, warm_start_budget(p, options.remaining()), options.seed)
    mdl = build_model(p)
    if name == "appsi_highs":
        quiet_highs()  # absorbs HiGHS's once-per-process banner (it would corrupt --json)
    if x0 is not None:
        trace.append(TracePoint(options.elapsed(), p.reported(internal_objective(p, x0)), None))
        for a in range(p.num_arcs):
            mdl.x[a].set_value(float(x0[a]))
    if name == "appsi_highs":
        # The APPSI interface directly: it reports the best bound and keeps the incumbent.
        from pyomo.contrib.appsi.solvers import Highs

        solver = Highs()
        solver.config.time_limit = max(0.01, options.remaining())
        solver.config.load_solution = False
        solver.highs_options = {"mip_rel_gap": 1e-6, "random_seed": options.seed}
        if integral_weights(p):
            solver.highs_options["mip_abs_gap"] = 1.0 - 1e-6
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
        solver.options["time_limit"] = max(0.01, options.remaining())
        res = solver.solve(mdl, **kwargs)
        term = str(res.solver.termination_condition)
        has = len(res.solution) > 0
        if has:
            mdl.solutions.load_from(res)
        bound = getattr(res.problem, "lower_bound", None)
    if not has:
        status = Status.INFEASIBLE if "infeasible" in term.lower() else Status.NO_SOLUTION
        return Result(
            problem="qirce",
            solver="pyomo",
            status=status,
            sense=p.objective_sense,
            message=f"{name}: {term}",
            trace=trace,
        )
    x = np.array([pyo.value(mdl.x[a]) or 0.0 for a in range(p.num_arcs)])
    if p.single_source:
        x = np.round(x)
    internal = internal_objective(p, x)
    optimal = "optimal" in term.lower()
    if optimal and (bound is None or integral_weights(p)):
        bound = internal
    rep_bound = p.reported(bound) if bound is not None and np.isfinite(bound) else None
    trace.append(TracePoint(options.elapsed(), p.reported(internal), rep_bound))
    return Result(
        problem="qirce",
        solver="pyomo",
        status=Status.OPTIMAL if optimal else Status.FEASIBLE,
        sense=p.objective_sense,
        objective=p.reported(internal),
        bound=rep_bound,
        solution=build_solution(p, x),
        stats={"pyomo_solver": name, "termination": term},
        trace=trace,
    )
