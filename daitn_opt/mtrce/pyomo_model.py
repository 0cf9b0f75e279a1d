"""The MTRCE MILP in Pyomo: any Pyomo solver (HiGHS by default), MPS/LP export.

:func:`build_pyomo` writes the model of :func:`daitn_opt.mtrce.build_model` (the same
columns, the same constraint families, ``formulations/mtrce.md``) as a Pyomo ``ConcreteModel``
with named components: ``x[i, j]`` (arcs or edges, node ids), ``y[i]``, ``z``, ``tau[i]``,
``w[i]``, one indexed constraint per family and a ``ConstraintList`` ``cuts``.

The ``pyomo`` solver separates subtour cuts the same lazy way as ``highs`` (LP relaxation
rounds, then MIP rounds with the subtours of the optimum cut), re-solving through a persistent
interface (``appsi_highs``, default) so that each round only sends the new rows; any other
Pyomo solver name (``gurobi``, ``cplex``, ``scip``, ``cbc``, ``glpk``, ``highs``) is called
through Pyomo's legacy interface. Model build and translation time count against the time limit
and are reported in ``stats``.

:func:`export_model` writes a *compact* model (Miller-Tucker-Zemlin order variables instead of
lazy cuts, so that the file is a complete MILP) to ``.mps`` or ``.lp`` for users who bring
Gurobi, SCIP or CPLEX.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..exact import Outcome, OutOfTime, Run, register_exact
from ..highs_model import quiet_highs, reset_scheduler
from ..params import param
from ..registry import SolveOptions
from ..result import Result, Status
from .milp_cuts import CutRun, fresh_cuts, integer_round, lp_cuts
from .milp_exact import PlannedSupport, RouteMilpParams, RouteMilpSolver
from .milp_model import MilpModel, build_model
from .problem import Problem

PYOMO_IMPORT_SECONDS = 2.5
"""Seconds to import ``pyomo.environ`` and the appsi solvers (measured 1.7-1.8 s under load)."""

APPSI = {
    "appsi_highs": "Highs",
    "appsi_gurobi": "Gurobi",
    "appsi_cplex": "Cplex",
    "appsi_cbc": "Cbc",
}
TIME_OPTION = {"gurobi": "TimeLimit", "cplex": "timelimit", "cbc": "seconds", "glpk": "tmlim",
               "scip": "limits/time", "highs": "time_limit"}  # fmt: skip


@dataclass(frozen=True)
class PyomoParams(RouteMilpParams):
    """Parameters of the ``pyomo`` MTRCE solver (warm start and model as for ``highs``)."""

    pyomo_solver: str = param(
        "appsi_highs",
        "Pyomo solver: appsi_highs, appsi_gurobi, gurobi, cplex, scip, cbc, glpk, highs",
    )
    lp_rounds: int = param(100, "most rounds of subtour separation on the LP relaxation")


def build_pyomo(problem: Problem, compact: bool = False, model: MilpModel | None = None):
    """A Pyomo ``ConcreteModel`` of ``problem`` (the columns and rows of ``build_model``).

    Parameters
    ----------
    compact
        Add MTZ order rows (arc model) so the model is complete without lazy cuts.
    model
        A prebuilt :class:`~daitn_opt.mtrce.MilpModel` (built here if None).

    The returned model carries ``_milp`` (the array model) and ``_cols`` (Pyomo variable per
    column) for the solve loop.
    """
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    mm = model if model is not None else build_model(problem, compact=compact)
    p = mm.problem
    ids = p.ids
    m = pyo.ConcreteModel(name=p.name)
    arcs = [(ids[i], ids[j]) for i, j in zip(mm.tails.tolist(), mm.heads.tolist(), strict=True)]
    cols: list[Any] = [None] * mm.num_col
    domain = {0: pyo.Reals, 1: pyo.Integers}
    m.A = pyo.Set(initialize=arcs, dimen=2, ordered=True)
    m.x = pyo.Var(m.A, domain=pyo.NonNegativeIntegers)
    for c, key in enumerate(arcs):
        cols[c] = m.x[key]

    def node_var(name: str, col_of: np.ndarray) -> None:
        nodes = np.flatnonzero(col_of >= 0)
        if not len(nodes):
            return
        index = pyo.Set(initialize=[ids[i] for i in nodes], ordered=True)
        m.add_component(f"{name}_index", index)
        var = pyo.Var(index)
        m.add_component(name, var)
        for i in nodes:
            cols[col_of[i]] = var[ids[i]]

    node_var("y", mm.y_col)
    node_var("tau", mm.tau_col)
    node_var("w", mm.w_col)
    node_var("order", mm.order_col)
    if mm.z_col >= 0:
        m.z = pyo.Var()
        cols[mm.z_col] = m.z
    for c, v in enumerate(cols):
        v.domain = domain[int(mm.integrality[c])]
        lo, hi = mm.lower[c], mm.upper[c]
        v.setlb(None if not math.isfinite(lo) else float(lo))
        v.setub(None if not math.isfinite(hi) else float(hi))
    for name, first, last, meaning in mm.blocks:
        rows = range(first, last)

        def rule(_m, r, first=first):
            return _row_expr(mm, cols, first + r)

        comp = pyo.Constraint(range(len(rows)), rule=rule)
        comp.doc = meaning
        m.add_component(_unique(m, name), comp)
    expr = LinearExpression(
        constant=float(mm.offset),
        linear_coefs=mm.cost[mm.cost != 0].tolist(),
        linear_vars=[cols[c] for c in np.flatnonzero(mm.cost)],
    )
    m.obj = pyo.Objective(expr=expr, sense=pyo.maximize if mm.sense == "max" else pyo.minimize)
    m.cuts = pyo.ConstraintList()
    m._milp = mm
    m._cols = cols
    return m


def _unique(m, name: str) -> str:
    k, out = 1, name
    while m.component(out) is not None:
        k += 1
        out = f"{name}_{k}"
    return out


def _row_expr(mm: MilpModel, cols: list[Any], r: int):
    from pyomo.core.expr.numeric_expr import LinearExpression

    idx, val = mm.row_index[r], mm.row_value[r]
    lo, hi = mm.row_lower[r], mm.row_upper[r]
    body = LinearExpression(
        constant=0.0, linear_coefs=val.tolist(), linear_vars=[cols[c] for c in idx.tolist()]
    )
    lo = None if not math.isfinite(lo) else lo
    hi = None if not math.isfinite(hi) else hi
    if lo is not None and hi is not None and lo == hi:
        return body == lo
    return (lo, body, hi)


def export_model(problem: Problem, path: str | Path) -> Path:
    """Write the compact (complete) MILP of ``problem`` to ``path`` (``.mps`` or ``.lp``).

    The compact model replaces the lazily separated subtour cuts by MTZ order rows, so that an
    external solver (Gurobi, SCIP, CPLEX) gets a complete, exact model. Names follow the Pyomo
    components (``x(i,j)``, ``y(i)``, ...).
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("mps", "lp"):
        raise InputError("path", str(path), "expected a file name ending in .mps or .lp")
    m = build_pyomo(problem, compact=True)
    m.write(str(path), io_options={"symbolic_solver_labels": True})
    return path


def translate(model, solver: str = "appsi_highs") -> _Backend:
    """Hand ``model`` to ``solver`` (for a persistent solver: translate it now, timed apart)."""
    return _Backend(solver, model)


class _Backend:
    """One Pyomo solver, persistent (appsi) or legacy, with a uniform solve()."""

    def __init__(self, name: str, model) -> None:
        self.name = name
        self.model = model
        self.persistent = name in APPSI
        if self.persistent:
            from pyomo.contrib.appsi import solvers as appsi_solvers

            self.opt = getattr(appsi_solvers, APPSI[name])()
            if not self.opt.available():
                raise InputError("pyomo_solver", name, "this Pyomo solver is not available")
            self.opt.config.load_solution = False
            self.opt.config.stream_solver = False
            self.opt.set_instance(model)
        else:
            import pyomo.environ as pyo

            self.opt = pyo.SolverFactory(name)
            if self.opt is None or not self.opt.available(exception_flag=False):
                raise InputError("pyomo_solver", name, "this Pyomo solver is not available")

    def solve(self, time_limit: float) -> tuple[str, float | None, bool]:
        """Solve; load the solution if any. Returns (status, bound, has_solution)."""
        if self.persistent:
            from pyomo.contrib.appsi.base import TerminationCondition as TC

            self.opt.config.time_limit = max(0.01, time_limit)
            reset_scheduler()  # Pyomo's HiGHS sets its own thread count
            res = self.opt.solve(self.model)
            has = res.best_feasible_objective is not None
            if has:
                res.solution_loader.load_vars()
            tc = res.termination_condition
            status = (
                "optimal" if tc == TC.optimal else "infeasible" if tc == TC.infeasible else "limit"
            )
            bound = res.best_objective_bound
            return status, None if bound is None or not math.isfinite(bound) else bound, has
        from pyomo.opt import TerminationCondition as LTC

        options = {TIME_OPTION[self.name]: max(1, time_limit)} if self.name in TIME_OPTION else {}
        reset_scheduler()  # Pyomo's HiGHS sets its own thread count
        res = self.opt.solve(self.model, load_solutions=False, options=options)
        tc = res.solver.termination_condition
        has = len(res.solution) > 0
        if has:
            self.model.solutions.load_from(res)
        status = (
            "optimal" if tc == LTC.optimal else "infeasible" if tc == LTC.infeasible else "limit"
        )
        sense_max = self.model._milp.sense == "max"
        b = res.problem.upper_bound if sense_max else res.problem.lower_bound
        bound = float(b) if b is not None and math.isfinite(float(b)) else None
        return status, bound, has

    def add_cut(self, con) -> None:
        if self.persistent:
            self.opt.add_constraints([con])

    def relax(self, relaxed: bool) -> None:
        """Integer columns become continuous (LP rounds) or integer again."""
        import pyomo.environ as pyo

        mm = self.model._milp
        ints = np.flatnonzero(mm.integrality)
        for c in ints.tolist():
            self.model._cols[c].domain = pyo.Reals if relaxed else pyo.Integers
        if self.persistent:
            self.opt.update_variables([self.model._cols[c] for c in ints.tolist()])


def _values(model) -> np.ndarray:
    return np.array([v.value if v.value is not None else 0.0 for v in model._cols])


def _import_overhead() -> float:
    """Importing Pyomo takes about 2 s on the shared machine: it counts against the limit."""
    return 0.0 if "pyomo.environ" in sys.modules else PYOMO_IMPORT_SECONDS


@dataclass
class _PyomoRun:
    """The cutting-plane run, its Pyomo model and the solver holding it."""

    cut: CutRun
    model: Any
    backend: _Backend

    def add(self, cuts) -> int:
        """Add the cuts not added before to the model (and the persistent solver)."""
        from pyomo.core.expr.numeric_expr import LinearExpression

        fresh = fresh_cuts(self.cut, cuts)
        for c in fresh:
            idx, val, lo, _ = self.cut.model.cut_row(c)
            body = LinearExpression(
                constant=0.0,
                linear_coefs=val.tolist(),
                linear_vars=[self.model._cols[i] for i in idx],
            )
            self.backend.add_cut(self.model.cuts.add(body >= lo))
        return len(fresh)


def _lp_rounds(pr: _PyomoRun, max_rounds: int) -> tuple[Status | None, str]:
    """Separate subtour cuts on the LP relaxation (formulations/mtrce.md, C1/C2)."""
    import pyomo.environ as pyo

    run, options = pr.cut, pr.cut.options
    pr.backend.relax(True)
    status, message, rounds = None, "", 0
    for rounds in range(1, max_rounds + 1):  # noqa: B007
        if options.remaining() <= 0.1:
            break
        st, _, has = pr.backend.solve(options.remaining())
        if st == "infeasible":
            status, message = Status.INFEASIBLE, "the LP relaxation is infeasible"
            break
        if st != "optimal" or not has:
            break
        x = _values(pr.model)
        run.tighten(pyo.value(pr.model.obj))
        run.point()
        if pr.add(lp_cuts(run.model, x, options)) == 0:
            break
    run.stats["lp_rounds"] = rounds
    pr.backend.relax(False)
    return status, message


def _mip_rounds(pr: _PyomoRun) -> tuple[Status | None, str]:
    """Solve the MIP, cut the subtours of its solution, repeat (C3)."""
    import pyomo.environ as pyo

    run, options = pr.cut, pr.cut.options
    status, message = None, ""
    mip_rounds = 0
    while (remaining := options.remaining()) > 0.1:
        mip_rounds += 1
        st, bound, has = pr.backend.solve(remaining)
        if st == "infeasible":
            if run.best is None:
                status, message = Status.INFEASIBLE, "no route satisfies every constraint"
            else:
                message = "the solver reported the MIP infeasible although a checked route exists"
            break
        clean, cuts = False, []
        if has:
            cuts, clean = integer_round(run, _values(pr.model))
        if st == "optimal" and has:
            run.tighten(bound if bound is not None else pyo.value(pr.model.obj))
        else:
            run.tighten(bound)
        step, message = run.after_round(st == "optimal" and clean, "the solver's")
        if step == "stop":
            break
        if step == "again":
            continue
        if st != "optimal":
            message = "time limit reached"
            break
        if pr.add(cuts) == 0:
            message = "no new subtour cut separated; stopping"
            break
    else:
        message = "time limit reached"
    run.stats["mip_rounds"] = mip_rounds
    return status, message


@register_exact
class PyomoSolver(RouteMilpSolver):
    """Solve with Pyomo and ``pyomo_solver`` (default ``appsi_highs``) and lazy subtour cuts.

    The time limit covers the warm start, the array model, the Pyomo model, its translation for
    the solver, every LP and MIP round and the extraction. Pyomo builds about 12,000 columns a
    second here, so a view whose dense model would not fit 30 % of the limit gets the sparse
    model of :class:`daitn_opt.mtrce.milp.HighsSolver` (a restriction; its bound is reported in
    ``stats["restricted_bound"]`` only), and when even that does not fit, the warm start is
    returned with a message saying so.

    Parameters (``options.params``, :class:`PyomoParams`)
    -----------------------------------------------------
    pyomo_solver
        The Pyomo solver (default ``appsi_highs``).
    warm_start_solver, warm_start_time, undirected, sparse, neighbours, lp_rounds
        As for ``highs``.

    Raises
    ------
    InputError
        When ``pyomo_solver`` is not available.

    Notes
    -----
    Exact, with the same model and the same cut loop as ``highs`` (its MIP rounds cut the
    subtours of each round's optimum only); ``optimal`` exactly when the solver's bound closes
    the gap to a checked incumbent within 1e-6.

    Example
    -------
    Three nodes on a line, visited and back within the deadline (utility 1 + 2):

    >>> import numpy as np
    >>> from daitn_opt import solve
    >>> from daitn_opt.mtrce.problem import Problem
    >>> xs = np.array([0.0, 1.0, 2.0])
    >>> travel = np.abs(xs[:, None] - xs[None, :])
    >>> problem = Problem(ids=["s", "a", "b"], travel=travel, utility=np.array([0.0, 1.0, 2.0]),
    ...                   service=np.zeros(3), start=0, end=0, deadline=4.0)
    >>> solve(problem, "pyomo", time_limit=20, warm_start_solver=None).objective
    3.0
    """

    name = "pyomo"
    description = (
        "The highs MILP written in Pyomo (any Pyomo solver, appsi_highs by default), "
        "lazy subtour cuts"
    )
    support = PlannedSupport("pyomo", _import_overhead)
    Params = PyomoParams

    def build(self, run: Run) -> _PyomoRun | Outcome:
        cut = super().build(run)
        if isinstance(cut, Outcome):
            return cut
        name = run.params.pyomo_solver
        run.stats["pyomo_solver"] = name
        t0 = time.perf_counter()
        model = build_pyomo(run.problem, model=cut.model)
        run.stats["pyomo_build_seconds"] = time.perf_counter() - t0
        quiet_highs()  # the first Highs object of a process prints a banner: mute it here
        if run.options.remaining() <= 0.1:
            raise OutOfTime("time limit reached while building the Pyomo model")
        t0 = time.perf_counter()
        backend = _Backend(name, model)
        run.stats["translate_seconds"] = time.perf_counter() - t0
        return _PyomoRun(cut, model, backend)

    def run(self, run: Run, model: _PyomoRun | Outcome) -> tuple[Status | None, str]:
        if isinstance(model, Outcome):
            return None, ""
        status, message = _lp_rounds(model, run.params.lp_rounds)
        if status is None:
            status, message = _mip_rounds(model)
        model.cut.stats["cuts"] = len(model.cut.cut_keys)
        return status, message

    def extract(self, run: Run, model: _PyomoRun | Outcome, raw: Any) -> Outcome:
        if isinstance(model, Outcome):
            return model
        return model.cut.outcome(*raw)


def solve_pyomo(problem: Problem, options: SolveOptions) -> Result:
    """Solve ``problem`` with the ``pyomo`` solver (:class:`PyomoSolver`); ``options.params`` is
    a :class:`PyomoParams`."""
    return PyomoSolver().solve(problem, options)
