"""Exact coverage objectives by CP-SAT: solver ``coverage-cpsat``.

One circuit (``add_circuit``) over a depot ``D`` (the start and the end merged) and the customers;
a customer's self-loop literal means it is skipped (mandatory customers have none) and ``D``'s
self-loop is the direct trip from the start to the end. Times are the integers of
:func:`daitn_opt.mtrce.integer_data.integer_times` (travel plus service rounded up, limits down: an
accepted route is feasible in real arithmetic; exact for data with at most four decimals),
propagated along the chosen arcs. Recency: a level variable per customer, 0 on the arc into the
end and one more than its successor's, one-hot encoded to weight the node's mass by
``recency ** level``. Coverage (``formulations/mtrce.md``, (C12)-(C14)): integer masses
``M[i, l] = ceil(Q m[i, l])`` and ``D h_l <= A_k X_l + B_k`` with every coefficient rounded up,
an over-estimate of ``R`` times the concave PWL coverage, so that the model is a relaxation in its
objective and the CP-SAT bound, corrected for the last unit, bounds the real coverage.

- ``max_coverage`` / ``max_recency_coverage``: the route's real coverage is recomputed; the
  status is ``optimal`` only when CP-SAT proved its (relaxed) optimum, the times are exact and
  the real gap is at most 1e-6.
- ``min_time_to_target``: the relaxed model (coverage over-estimated) is solved first; when its
  optimum reaches the target in real arithmetic it is optimal; otherwise a restricted model
  (masses and coefficients rounded down, so every accepted route truly reaches the target) gives
  a feasible route and the relaxed bound. An infeasible relaxation proves infeasibility.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # OR-Tools takes most of a second to import: the functions load it
    from ortools.sat.python import cp_model

from ..params import param
from ..registry import SolveOptions
from ..result import Result, Status
from . import coverage
from .integer_data import integer_times
from .problem import Problem
from .reachability import infeasibility_reason
from .route_solvers import no_route, proved_optimal, register_solvers
from .solution import schedule

MASS_UNITS = 1e6
"""At most this many integer units for the largest total label mass (a power of ten per unit
of mass, so that masses with few decimals are exact)."""
VALUE_UNITS = 1e9
"""Integer units of a coverage of 1 (``R``)."""
SLOPE_UNITS = 1e6
"""Multiplier ``D`` of the coverage variable in the cut rows (precision of the slopes)."""


def _round(values: np.ndarray, up: bool) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return (np.ceil(v - 1e-9) if up else np.floor(v + 1e-9)).astype(np.int64)


class _Built:
    def __init__(self) -> None:
        from ortools.sat.python import cp_model

        self.model = cp_model.CpModel()
        self.nodes: np.ndarray = np.zeros(0, dtype=np.int64)
        self.arcs: list[tuple[int, int, cp_model.IntVar]] = []
        self.h: list[cp_model.IntVar] = []
        self.weights: np.ndarray = np.zeros(0, dtype=np.int64)
        self.end_start: cp_model.IntVar | None = None
        self.exact_times = True
        """Times (and costs) are integers after scaling: the model is exact in them."""
        self.scale_w = 1.0
        """Real label weight = integer weight x scale_w."""
        self.exact_weights = True


def build_model(problem: Problem, up: bool = True, target_row: bool = True) -> _Built:
    """The CP-SAT model; ``up`` rounds the coverage up (relaxation) or down (restriction)."""
    p = problem
    it = integer_times(p)
    b = _Built()
    b.exact_times = it.exact
    lits, skip, idle = _circuit(p, it, b)
    _times(p, it, b, lits, idle)
    if p.budget is not None:
        _budget(p, b, lits, skip)
    levels = _levels(b, lits, skip) if p.objective == "max_recency_coverage" else {}
    _coverage(p, b, skip, levels, up, target_row)
    return b


def _circuit(p: Problem, it, b: _Built) -> tuple[dict, dict, cp_model.IntVar | None]:
    """The route as a circuit with optional nodes: (arc literals by model node pair, skip
    literals of the optional customers, the literal of the idle depot loop or None). Model node
    0 is the depot (the start, and the end on the arcs back to it)."""
    s, e = p.start, p.end
    m = b.model
    # customers that fit on a route of their own (integer times)
    keep = []
    for v in p.customers:
        if it.transit[s, v] < 0 or it.transit[v, e] < 0:
            continue
        arrive = max(it.start + it.transit[s, v], it.open[v])
        if arrive <= it.close[v] and max(arrive + it.transit[v, e], 0) <= it.end_limit:
            keep.append(int(v))
    mand = set(np.asarray(p.mandatory, dtype=np.int64).tolist()) - {s, e}
    nodes = np.asarray([s, *keep], dtype=np.int64)  # model node 0 is the depot D
    b.nodes = nodes
    nm = len(nodes)
    lits = {}
    arcs = []
    for a in range(nm):
        for c in range(nm):
            if a == c:
                continue
            i, j = int(nodes[a]), int(nodes[c])
            jj = e if c == 0 else j
            if it.transit[i, jj] < 0 and not (a == 0 and c == 0):
                continue
            lit = m.new_bool_var(f"x{a}_{c}")
            lits[(a, c)] = lit
            arcs.append((a, c, lit))
    skip = {}
    for c in range(1, nm):
        if int(nodes[c]) in mand:
            continue
        skip[c] = m.new_bool_var(f"skip{c}")
        arcs.append((c, c, skip[c]))
    idle = None
    if schedule(p, [s, e])[3]:
        idle = m.new_bool_var("idle")
        arcs.append((0, 0, idle))
    m.add_circuit(arcs)
    b.arcs = [(a, c, lit) for a, c, lit in arcs if a != c]
    return lits, skip, idle


def _times(p: Problem, it, b: _Built, lits: dict, idle: cp_model.IntVar | None) -> None:
    """Service starts: ``tau_c >= tau_a + transit`` on a used arc (integer times)."""
    s, e = p.start, p.end
    m, nodes = b.model, b.nodes
    horizon = int(min(it.end_limit, 2**40))
    tau = {}
    for c in range(1, len(nodes)):
        v = int(nodes[c])
        tau[c] = m.new_int_var(int(it.open[v]), int(min(it.close[v], horizon)), f"tau{c}")
    end_start = m.new_int_var(int(max(0, it.open[e])), horizon, "end_start")
    b.end_start = end_start
    for (a, c), lit in lits.items():
        i = int(nodes[a])
        jj = e if c == 0 else int(nodes[c])
        leg = int(it.transit[i, jj])
        src = it.start if a == 0 else tau[a]
        dst = end_start if c == 0 else tau[c]
        m.add(dst >= src + leg).only_enforce_if(lit)
    if idle is not None:
        direct = float(p.service[s]) + float(p.travel[s, e])
        leg = int(_round(it.scale * direct, True)) if math.isfinite(direct) else 0
        m.add(end_start >= it.start + leg).only_enforce_if(idle)


def _budget(p: Problem, b: _Built, lits: dict, skip: dict) -> None:
    """The budget (costs rounded up, the budget down: a restriction unless costs are integral)."""
    s, e = p.start, p.end
    nodes = b.nodes
    vc = np.asarray(p.visit_cost, dtype=np.float64)
    tc = np.asarray(p.travel_cost, dtype=np.float64)
    unit = 1e6
    fixed = vc[s] + (vc[e] if e != s else 0.0)
    terms = []
    for (a, c), lit in lits.items():
        i, jj = int(nodes[a]), (e if c == 0 else int(nodes[c]))
        terms.append(int(_round(unit * tc[i, jj], True)) * lit)
    for c in range(1, len(nodes)):
        cost = int(_round(unit * vc[nodes[c]], True))
        if cost:
            terms.append(cost * (1 - skip[c]) if c in skip else cost)
    b.model.add(sum(terms) <= int(_round(unit * (float(p.budget) - fixed), False)))
    values = np.concatenate([vc, tc[np.isfinite(tc)]]) * unit
    b.exact_times &= bool(np.all(np.abs(values - np.round(values)) < 1e-6))


def _levels(b: _Built, lits: dict, skip: dict) -> dict[int, list[cp_model.IntVar]]:
    """Recency: each customer's level (places from the end) as a one-hot list per model node."""
    m, nm = b.model, len(b.nodes)
    visit = {c: (skip[c].Not() if c in skip else None) for c in range(1, nm)}
    levels: dict[int, list[cp_model.IntVar]] = {}
    top = max(nm - 1, 1)
    lvl = {c: m.new_int_var(0, top - 1, f"lvl{c}") for c in range(1, nm)}
    for (a, c), lit in lits.items():
        if a == 0:
            continue
        if c == 0:
            m.add(lvl[a] == 0).only_enforce_if(lit)
        else:
            m.add(lvl[a] == lvl[c] + 1).only_enforce_if(lit)
    for c in range(1, nm):
        onehot = [m.new_bool_var(f"z{c}_{q}") for q in range(top)]
        levels[c] = onehot
        used = visit[c] if visit[c] is not None else 1
        m.add(sum(onehot) == used)
        m.add(sum(q * z for q, z in enumerate(onehot)) == lvl[c])
    return levels


def _coverage(p: Problem, b: _Built, skip: dict, levels: dict, up: bool, target_row: bool) -> None:
    """Gathered mass and PWL coverage per label (integer-scaled), the objective and the search
    strategy."""
    from ortools.sat.python import cp_model

    s, e = p.start, p.end
    m, nodes = b.model, b.nodes
    mass = np.asarray(p.label_mass, dtype=np.float64)
    q_units = 10.0 ** math.floor(math.log10(MASS_UNITS / max(float(mass.sum(axis=0).max()), 1e-9)))
    fixed_mass = mass[s] + (mass[e] if e != s else 0.0)
    recency = p.objective == "max_recency_coverage"
    rho = float(p.recency)
    weight = coverage.label_weights(p)
    w_int = np.round(weight / weight.max() * 1000).astype(np.int64)
    b.weights = w_int
    cap = 1.0 - math.exp(-float(np.asarray(p.coverage_breaks)[-1]))
    for lab in range(mass.shape[1]):
        base = int(_round(q_units * fixed_mass[lab], up))
        terms = []
        for c in range(1, len(nodes)):
            v = int(nodes[c])
            if recency:
                coef = _round(q_units * mass[v, lab] * rho ** np.arange(len(levels[c])), up)
                terms.extend(int(k) * z for k, z in zip(coef, levels[c], strict=True) if k)
            else:
                k = int(_round(q_units * mass[v, lab], up))
                if k:
                    terms.append(k * (1 - skip[c]) if c in skip else k)
        total_max = base + int(_round(q_units * mass[:, lab].sum(), True)) + 1
        xl = m.new_int_var(0, total_max, f"X{lab}")
        m.add(xl == base + sum(terms))
        h = m.new_int_var(0, int(VALUE_UNITS * cap) + 1, f"h{lab}")
        slope, intercept = coverage.pieces(float(p.coverage_scale[lab]), p.coverage_breaks)
        a_int = _round(SLOPE_UNITS * VALUE_UNITS * slope / q_units, up)
        b_int = _round(SLOPE_UNITS * VALUE_UNITS * intercept, up)
        for ak, bk in zip(a_int, b_int, strict=True):
            m.add(int(SLOPE_UNITS) * h <= int(ak) * xl + int(bk))
        b.h.append(h)
    scale_w = float(weight.max()) / 1000.0  # real weight ~= w_int * scale_w
    value = sum(int(w) * h for w, h in zip(w_int, b.h, strict=True))
    if p.objective == "min_time_to_target":
        goal = float(p.target) / scale_w * VALUE_UNITS
        need = math.floor(goal) - int(w_int.sum()) if up else math.ceil(goal) + int(w_int.sum())
        if target_row:
            m.add(value >= need)
        m.minimize(b.end_start)
    else:
        m.maximize(value)
    b.scale_w = scale_w
    # Decide the arcs first, then each label's coverage at its largest value: without this, one
    # worker fixes h at its smallest value and crawls up its huge domain (a 5-node instance took
    # over 10 s instead of 0.01 s).
    m.add_decision_strategy(
        [lit for _, _, lit in b.arcs], cp_model.CHOOSE_FIRST, cp_model.SELECT_MAX_VALUE
    )
    m.add_decision_strategy(b.h, cp_model.CHOOSE_FIRST, cp_model.SELECT_MAX_VALUE)
    b.exact_weights = bool(np.allclose(w_int * scale_w, weight, rtol=0, atol=1e-12))


def _route(problem: Problem, b: _Built, solver: cp_model.CpSolver) -> list[int]:
    nxt = {a: c for a, c, lit in b.arcs if solver.boolean_value(lit)}
    route, node = [problem.start], 0
    for _ in range(len(b.nodes) + 1):
        node = nxt.get(node, 0)
        if node == 0:
            break
        route.append(int(b.nodes[node]))
    route.append(problem.end)
    return route


def _solver(options: SolveOptions, limit: float) -> cp_model.CpSolver:
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, limit)
    solver.parameters.random_seed = int(options.seed)
    solver.parameters.num_workers = options.params.workers
    if solver.parameters.num_workers == 1:
        # measured: the automatic single-worker search stalled on a 5-node instance (> 10 s)
        # where the fixed arcs-then-coverage strategy proves the optimum in 0.01 s; on the
        # healthcare-small views it is also the fastest of fixed, automatic and portfolio
        solver.parameters.search_branching = cp_model.FIXED_SEARCH
    return solver


def solve_coverage_cpsat(problem: Problem, options: SolveOptions) -> Result:
    """Solve a coverage objective with CP-SAT (see the module docstring).

    Parameters (``options.params``, :class:`CoverageCpsatParams`): ``workers`` (CP-SAT workers,
    default 1: deterministic for a seed when the run ends by proof).
    """
    from ortools.sat.python import cp_model

    name = "coverage-cpsat"
    reason = infeasibility_reason(problem)
    if reason is not None:
        return no_route(problem, name, f"infeasible: {reason}", Status.INFEASIBLE)
    b = build_model(problem, up=True)
    solver = _solver(options, options.remaining() - 0.1)
    status = solver.solve(b.model)
    stats = {"cp_status": solver.status_name(status), "branches": solver.num_branches}
    exact = b.exact_times and b.exact_weights
    ttt = problem.objective == "min_time_to_target"
    if status == cp_model.INFEASIBLE:
        if ttt and exact:
            message = coverage.target_out_of_reach(problem)
            return no_route(problem, name, message, Status.INFEASIBLE, stats=stats)
        message = "the integer model is infeasible (times rounded: not a proof)"
        return no_route(problem, name, message, stats=stats)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return no_route(problem, name, "no route found in time", stats=stats)
    route = _route(problem, b, solver)
    proved = status == cp_model.OPTIMAL
    if ttt:
        it = integer_times(problem)
        raw = solver.best_objective_bound
        bound = (
            raw / it.scale + float(problem.service[problem.end]) + problem.verify_time
            if exact
            else None
        )
        plain = problem.replace(objective="max_coverage")
        if coverage.route_coverage(plain, route) < float(problem.target) - 1e-9:
            # the relaxation's route misses the real target: solve the restriction
            proved = False
            rb = build_model(problem, up=False)
            rs = _solver(options, options.remaining() - 0.1)
            rstatus = rs.solve(rb.model)
            stats["restricted"] = rs.status_name(rstatus)
            if rstatus not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                message = (
                    "the relaxed optimum misses the target and the restricted model found no route"
                )
                return no_route(problem, name, message, bound=bound, stats=stats)
            route = _route(problem, rb, rs)
        result = coverage.coverage_result(
            problem, name, route, Status.FEASIBLE, bound=bound, stats=stats
        )
        return proved_optimal(result, proved and exact)
    raw = solver.best_objective_bound
    bound = (raw + float(b.weights.sum())) * b.scale_w / VALUE_UNITS if exact else None
    result = coverage.coverage_result(
        problem, name, route, Status.FEASIBLE, bound=bound, stats=stats
    )
    return proved_optimal(result, proved and exact)


@dataclass(frozen=True)
class CoverageCpsatParams:
    """Parameters of the ``coverage-cpsat`` solver."""

    workers: int = param(
        1, "CP-SAT workers (1: deterministic for a seed when the run ends by proof)"
    )


coverage_cpsat = solve_coverage_cpsat
register_solvers(
    coverage.supports,
    exact=True,
    solvers={
        "coverage-cpsat": (
            coverage_cpsat,
            "coverage objectives: CP-SAT circuit with optional nodes, integer-scaled PWL "
            "coverage (levels for recency)",
            CoverageCpsatParams,
        )
    },
)
