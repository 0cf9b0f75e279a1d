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

from ..budget import Clock, pyomo_refusal, quiet_pyomo
from ..exact import Outcome, OutOfTime, Run, register_exact
from ..highs_model import quiet_highs, reset_scheduler
from ..params import param
from .bounds import integral_objective, reported_bound
from .problem import Problem
from .support import QirceExact


def build_model(problem: Problem, clock: Clock | None = None) -> Any:
    """The Pyomo model: ``x[a]``, ``y[k]`` (k = model * F + facility, only where memory binds),
    ``z[f]`` (only facilities with an open cost). With ``clock``, the build stops with
    :class:`~daitn_opt.exact.OutOfTime` past its deadline."""
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


def _supports(problem: Problem) -> str | None:
    if problem.congestion != "none":
        return "the congestion model (queueing penalty) is not built in Pyomo; use highs"
    return None


@dataclass
class Solved:
    """What a Pyomo run left: termination, whether a solution was loaded, the best bound."""

    term: str
    has: bool
    bound: float | None


@register_exact
class PyomoSolver(QirceExact):
    """The algebraic model of :func:`build_model`, any Pyomo solver (parameters:
    :class:`PyomoParams`)."""

    name = "pyomo"
    description = "Pyomo MILP, any Pyomo solver (pyomo_solver=, default appsi_highs)"
    Params = PyomoParams
    supports = staticmethod(_supports)

    def reserve(self, run: Run) -> float:
        """Seconds kept back to read the solution (Pyomo's translation is slow to stop)."""
        return max(0.2, 0.1 * run.options.time_limit)

    def build(self, run: Run) -> Any:
        p, options = run.problem, run.options
        run.stats["pyomo_solver"] = run.params.pyomo_solver
        n_vars = p.num_arcs + p.num_facilities * (1 + (p.num_models if p.memory_binding else 0))
        refusal = pyomo_refusal(_terms(p), n_vars, options.remaining() - self.reserve(run))
        if refusal is not None:
            raise OutOfTime(refusal)
        t_build = time.perf_counter()
        try:
            # Half the time left for the build: translating the model takes about as long again.
            with quiet_pyomo():
                deadline = t_build + 0.5 * (options.remaining() - self.reserve(run))
                mdl = build_model(p, Clock(deadline))
        except OutOfTime:  # the build clock ran out: say where
            raise OutOfTime("time limit reached while building the model") from None
        built = time.perf_counter() - t_build
        if options.remaining() - self.reserve(run) - built < 0.05:
            raise OutOfTime(f"the model took {built:.1f} s to build: no time left to solve")
        if run.start.solution is not None:
            for a in range(p.num_arcs):
                mdl.x[a].set_value(float(run.start.solution[a]))
        return mdl

    def run(self, run: Run, model: Any) -> Solved:
        # Translation takes about the build time: the solver gets what is left after that.
        limit = run.options.remaining() - self.reserve(run) - run.stats["build_seconds"]
        name = run.params.pyomo_solver
        if name == "appsi_highs":
            quiet_highs()  # absorbs HiGHS's once-per-process banner (it would corrupt --json)
            solved = _appsi_highs(run, model, limit)
        else:
            solved = _factory(run, model, name, limit)
        run.stats["termination"] = solved.term
        return solved

    def extract(self, run: Run, model: Any, raw: Solved) -> Outcome:
        import pyomo.environ as pyo

        p, name = run.problem, run.params.pyomo_solver
        bound = raw.bound if raw.bound is not None and np.isfinite(raw.bound) else None
        bound = reported_bound(p, bound)
        if not raw.has:
            infeasible = "infeasible" in raw.term.lower()
            return Outcome(bound=bound, infeasible=infeasible, message=f"{name}: {raw.term}")
        x = np.array([pyo.value(model.x[a]) or 0.0 for a in range(p.num_arcs)])
        if p.single_source:
            x = np.round(x)
        optimal = "optimal" in raw.term.lower()
        run.record(self.support.value(p, x), bound)
        return Outcome(x, bound, proved=optimal)


def _appsi_highs(run: Run, mdl: Any, limit: float) -> Solved:
    """Solve through Pyomo's APPSI HiGHS interface: it reports the best bound and keeps the
    incumbent."""
    from pyomo.contrib.appsi.solvers import Highs

    solver = Highs()
    solver.config.time_limit = limit
    solver.config.load_solution = False
    solver.highs_options = {"mip_rel_gap": 1e-7, "random_seed": run.options.seed}
    if integral_objective(run.problem):
        solver.highs_options["mip_abs_gap"] = 1.0 - 1e-6
    reset_scheduler()  # Pyomo's HiGHS sets its own thread count
    res = solver.solve(mdl)
    has = res.best_feasible_objective is not None
    if has:
        res.solution_loader.load_vars()
    return Solved(str(res.termination_condition), has, res.best_objective_bound)


def _factory(run: Run, mdl: Any, name: str, limit: float) -> Solved:
    """Solve with ``pyo.SolverFactory(name)`` (warm-started when it can be)."""
    import pyomo.environ as pyo

    solver = pyo.SolverFactory(name)
    kwargs = {"load_solutions": False}
    if solver.warm_start_capable() and run.start.solution is not None:
        kwargs["warmstart"] = True
    solver.options["time_limit"] = limit
    reset_scheduler()  # Pyomo's HiGHS sets its own thread count
    res = solver.solve(mdl, **kwargs)
    has = len(res.solution) > 0
    if has:
        mdl.solutions.load_from(res)
    return Solved(
        str(res.solver.termination_condition), has, getattr(res.problem, "lower_bound", None)
    )
