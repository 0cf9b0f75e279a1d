"""MTRCE tours and orienteering routes by PyVRP (Wouda, Lan & Kool 2024): solver ``pyvrp``.

The problem: a peer to compare the MTRCE heuristics with, on the two families PyVRP models
directly (one route, no windows, no cost budget):

- the visit-all family (TSP, ``objective == "min_time"``): every node a required client, the
  route's length minimised;
- orienteering (OP, ``objective == "max_utility"``): every node an optional client whose prize is
  its utility, one vehicle whose ``max_distance`` is the deadline. PyVRP minimises distance plus
  uncollected prizes; the prizes are multiplied by ``max_distance + 1`` so that one unit of score
  outweighs any change of length (the score is maximised first, the length breaks ties).

PyVRP (github ``PyVRP/PyVRP``, an iterated local search in C++) works in integers: the travel
matrix is multiplied by a power of ten (``scale``; 1 when it is already integral) and rounded, and
``max_distance`` is the deadline scaled and rounded down. Service times are folded into the arcs
(the arc ``i -> j`` costs ``service[i] + travel[i, j]``; the end's service and the verification
time come off the deadline). Rounding can let a route that PyVRP accepts overrun the real deadline
by a few units of the last digit: the route is then timed in real arithmetic and nodes are
dropped (the one losing least utility per unit of time saved first) until it fits; the message
says how many. The route is built with PyVRP's ``Model`` (depots, clients, one vehicle type) and
the matrix set on its ``ProblemData`` as a numpy array (``Model.add_edge`` per arc takes seconds
at a thousand nodes). PyVRP reports no bound, so the status is never ``optimal``. ``pyvrp`` is an
optional dependency (extra ``peers``, ``pyvrp>=0.14``: routes are read as activities, an API of
0.14); without it the solver says how to install it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..params import param
from ..registry import SolveOptions, register
from ..result import Result, Status, TracePoint
from .certify import route_objective_reason
from .milp_plan import slowdown
from .problem import Problem
from .reachability import infeasibility_reason
from .solution import make_result, objective, schedule

PYVRP_MISSING = "needs the pyvrp package (pip install 'daitn-opt[peers]')"
MAX_SCALED = 10**9
"""Largest scaled route length: prizes times ``max_distance + 1`` must stay well inside int64."""


def _have_pyvrp() -> bool:
    try:
        return importlib.util.find_spec("pyvrp") is not None
    except (ImportError, ValueError):  # a broken or blocked installation
        return False


_LIMITS: tuple[tuple[Callable[[Problem], bool], str], ...] = (
    (
        lambda p: getattr(p, "objective", None) not in ("min_time", "max_utility"),
        "pyvrp solves the TSP ('min_time') and the OP ('max_utility') only",
    ),
    (lambda p: p.k != 1, "pyvrp is wrapped for one route (k = 1)"),
    (
        lambda p: p.window_open is not None or p.window_close is not None,
        "time windows are not supported by the pyvrp peer",
    ),
    (lambda p: p.budget is not None, "a cost budget is not supported by the pyvrp peer"),
    (
        lambda p: not np.all(np.isfinite(p.travel)),
        "pyvrp needs a finite travel time between every two nodes",
    ),
    (
        lambda p: p.objective == "max_utility" and not np.isfinite(p.deadline),
        "an orienteering problem needs a finite deadline (PyVRP's max_distance)",
    ),
)
"""What the peer does not model, as (test, reason) in the order they are reported."""


def supports(problem: Problem) -> str | None:
    """None when ``pyvrp`` handles ``problem``, else the reason (raised before running)."""
    if not _have_pyvrp():
        return PYVRP_MISSING
    objective = route_objective_reason(problem)  # outcome objectives: names their solvers
    if objective is not None:
        return objective
    return next((reason for failed, reason in _LIMITS if failed(problem)), None)


@dataclass(frozen=True)
class PyvrpParams:
    """Parameters of the ``pyvrp`` MTRCE solver."""

    digits: int | None = param(
        None, "decimal digits kept when scaling a non-integral matrix (None: as many as fit, <= 4)"
    )


SETUP_SECONDS_PER_PAIR = 4e-7
"""Seconds per node pair of what PyVRP does before its search starts (its data from the arc
matrix, neighbour lists, the first solution), on a free core: for 1,737 nodes the data took
0.42 s of wall time and ``pyvrp.solve`` with ``MaxRuntime(0.01)`` 1.51 s of wall and 0.76 s of
CPU at a load of 3.75 on 2 cores (PyVRP 0.14), about 1.1 s on a free core. ``MaxRuntime`` does
not cover it, so a run whose set-up would outlast the limit is not started."""


@register(
    "mtrce",
    "pyvrp",
    exact=False,
    description="PyVRP's iterated local search: TSP tours and orienteering routes (one route)",
    supports=supports,
    params=PyvrpParams,
    package="pyvrp",
)
def solve_pyvrp(problem: Problem, options: SolveOptions) -> Result:
    """A TSP tour or an orienteering route of ``problem`` by PyVRP (see the module docstring)."""
    params: PyvrpParams = options.params
    if params.digits is not None and not 0 <= params.digits <= 6:
        raise InputError("digits", params.digits, "must be between 0 and 6 (or None)")
    reason = infeasibility_reason(problem)
    if reason is not None:
        return make_result(
            problem, "pyvrp", None, Status.INFEASIBLE, message=f"infeasible: {reason}"
        )
    setup = SETUP_SECONDS_PER_PAIR * problem.n**2 * slowdown()
    if setup > options.remaining():
        message = (
            f"PyVRP's set-up on {problem.n} nodes takes about {setup:.1f} s at this load, more "
            f"than the {options.remaining():.1f} s left of the time limit; not started"
        )
        return make_result(problem, "pyvrp", None, Status.NO_SOLUTION, message=message)
    arcs, limit, scale = scaled_arcs(problem, params.digits)
    customers = [v for v in range(problem.n) if v not in (problem.start, problem.end)]
    order = _solve(problem, arcs, limit, customers, options)
    if order is None:
        message = "PyVRP found no feasible route within the time limit"
        return make_result(problem, "pyvrp", None, Status.NO_SOLUTION, message=message)
    route, dropped = repair([problem.start, *order, problem.end], problem)
    _, _, completion, ok = schedule(problem, route)
    elapsed = options.time_limit - options.remaining()
    stats = {"scale": scale, "dropped_in_repair": dropped, "max_distance": limit}
    if not ok:
        message = f"PyVRP's route completes at {completion:g}, after the deadline"
        return make_result(problem, "pyvrp", None, Status.NO_SOLUTION, stats=stats, message=message)
    notes = [] if scale == 1 else [f"distances scaled by {scale:g} and rounded"]
    if dropped:
        notes.append(f"{dropped} node(s) dropped: the scaled route broke the real deadline")
    return make_result(
        problem,
        "pyvrp",
        [route],
        Status.FEASIBLE,
        trace=[TracePoint(elapsed, objective(problem, [route]), None)],
        stats=stats,
        message="PyVRP; no bound" + (f" ({'; '.join(notes)})" if notes else ""),
    )


def scaled_arcs(problem: Problem, digits: int | None = None) -> tuple[np.ndarray, int, float]:
    """``(arcs, max_distance, scale)``: the integer arc matrix PyVRP gets and its length limit.

    ``arcs[i, j] = round(scale * (service[i] + travel[i, j]))``; ``max_distance`` is
    ``floor(scale * (deadline - service[end] - verify_time))`` (a large number when there is no
    deadline).
    """
    service = np.asarray(problem.service, dtype=float)
    real = np.asarray(problem.travel, dtype=float) + service[:, None]
    np.fill_diagonal(real, 0.0)
    room = problem.deadline - service[problem.end] - problem.verify_time
    span = float(real.max(initial=0.0)) * max(problem.n, 1)
    if np.isfinite(room):
        span = min(span, max(room, 0.0))
    top = max(span, 1.0)
    if digits is None:
        digits = 0 if np.array_equal(real, np.round(real)) else 4
        digits = max(0, min(digits, int(np.floor(np.log10(MAX_SCALED / top)))))
    scale = 10.0**digits
    arcs = np.round(real * scale).astype(np.int64)
    limit = int(np.floor(room * scale + 1e-9)) if np.isfinite(room) else MAX_SCALED
    return arcs, max(limit, 0), scale


def _solve(
    problem: Problem,
    arcs: np.ndarray,
    limit: int,
    customers: list[int],
    options: SolveOptions,
) -> list[int] | None:
    """The customers PyVRP's best route visits, in its order (None: no feasible solution)."""
    try:
        import pyvrp
        from pyvrp.stop import MaxRuntime
    except ImportError:  # pragma: no cover - depends on the environment
        raise InputError("solver", "pyvrp", PYVRP_MISSING) from None
    if not customers:
        return []
    model = pyvrp.Model()
    # locations in node order: location i is node i, so the arc matrix needs no reindexing
    locations = [model.add_location(0, 0, name=str(i)) for i in range(problem.n)]
    depots = [model.add_depot(locations[problem.start])]
    if problem.end != problem.start:
        depots.append(model.add_depot(locations[problem.end]))
    orienteering = problem.objective == "max_utility"
    mandatory = set(int(v) for v in problem.mandatory)
    prizes, weight = _prizes(problem, limit) if orienteering else (None, 0)
    for v in customers:
        required = not orienteering or v in mandatory
        prize = 0 if required else int(prizes[v]) * weight
        model.add_client(locations[v], prize=prize, required=required)
    model.add_vehicle_type(
        1, start_depot=depots[0], end_depot=depots[-1], max_distance=limit, unit_distance_cost=1
    )
    data = model.data().replace(distance_matrices=[arcs], duration_matrices=[np.zeros_like(arcs)])
    seconds = max(0.01, options.remaining() - 0.05 - 1e-6 * len(arcs) ** 2)
    result = pyvrp.solve(data, MaxRuntime(seconds), seed=options.seed, display=False)
    if not result.is_feasible():  # PyVRP returns its best solution even when it breaks limits
        return None
    routes = result.best.routes()
    if not routes:
        return []
    return [customers[a.idx] for a in routes[0] if a.is_client()]


def _prizes(problem: Problem, limit: int) -> tuple[np.ndarray, int]:
    """Integer prizes per node and the weight that makes one prize unit beat any length."""
    utility = np.asarray(problem.utility, dtype=float)
    if not np.array_equal(utility, np.round(utility)):
        utility = utility * 1000.0  # three decimals of a fractional utility
    return np.round(np.maximum(utility, 0.0)).astype(np.int64), int(limit) + 1


def repair(route: list[int], problem: Problem) -> tuple[list[int], int]:
    """Drop inner nodes of ``route`` until it meets the deadline in real arithmetic.

    The node removed first is the one losing least utility per unit of time saved (mandatory
    nodes stay). Returns the route and the number of nodes dropped.
    """
    dropped = 0
    mandatory = set(int(v) for v in problem.mandatory)
    while not schedule(problem, route)[3] and len(route) > 2:
        best, best_ratio = None, np.inf
        for pos in range(1, len(route) - 1):
            if route[pos] in mandatory:
                continue
            a, v, b = route[pos - 1], route[pos], route[pos + 1]
            t = problem.travel
            saved = t[a, v] + problem.service[v] + t[v, b] - t[a, b]
            ratio = problem.utility[v] / max(saved, 1e-12)
            if ratio < best_ratio:
                best, best_ratio = pos, ratio
        if best is None:
            break
        route = route[:best] + route[best + 1 :]
        dropped += 1
    return route, dropped
