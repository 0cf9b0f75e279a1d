"""Tests of the ``highs`` MTRCE solver (daitn_opt/mtrce/milp.py) and its cut separation.

Every solution goes through the independent checker. Hand instances are in the plane (their
optimum is derived in each docstring); the line instances of ``hand_instances`` are shared with
the all-solvers test and reused here for the model variants (edge vs arc model, Pyomo).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from daitn_opt.drrt.converters import convert
from daitn_opt.mtrce import Problem, check, from_instance
from daitn_opt.mtrce.milp import build_model
from daitn_opt.registry import solve
from daitn_opt.result import Status
from tests.mtrce.hand_instances import SOLVABLE

CLASSIC = Path(__file__).resolve().parents[2] / "instances" / "classic"
TSPLIB = CLASSIC / "tsplib"
OP = CLASSIC / "op"


def plane(points, utility, **kw) -> Problem:
    """Nodes at ``points`` (x, y) with Euclidean travel; ids ``p0, p1, ...``."""
    xy = np.asarray(points, dtype=np.float64)
    n = len(xy)
    kw.setdefault("service", np.zeros(n))
    kw.setdefault("start", 0)
    kw.setdefault("end", kw["start"])
    travel = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    return Problem(
        ids=[f"p{i}" for i in range(n)], travel=travel, utility=np.asarray(utility, float), **kw
    )


def solve_checked(problem: Problem, time_limit: float = 20.0, **params):
    result = solve(problem, "highs", time_limit=time_limit, seed=0, **params)
    if result.is_feasible():
        report = check(problem, result.solution)
        assert report.ok, report.violations
        assert result.objective == pytest.approx(report.objective, abs=1e-6)
    return result


def tsp_rectangle() -> tuple[Problem, float]:
    """TSP on the corners of a 3 x 4 rectangle plus the midpoint (1.5, 0) of a side: optimum 14.

    All five points lie on the boundary of their convex hull, so the hull order is an optimal
    tour (any tour is at least the hull's perimeter); the perimeter is 2 (3 + 4) = 14.
    """
    pts = [(0, 0), (3, 4), (0, 4), (1.5, 0), (3, 0)]
    return plane(pts, np.zeros(5), objective="min_time", mandatory=np.arange(1, 5)), 14.0


def op_plane() -> tuple[Problem, float]:
    """OP from the depot (0, 0): A (1, 0) u 5, B (0, 2) u 6, C (3, 0) u 4; deadline 6.

    s-A-B-s = 1 + sqrt 5 + 2 = 5.24 (u 11); s-A-C-s = 6 (u 9); s-B-C-s = 2 + sqrt 13 + 3 = 8.6;
    all three need at least s-B-A-C-s = 2 + sqrt 5 + 2 + 3 = 9.2. Optimum 11.
    """
    return plane([(0, 0), (1, 0), (0, 2), (3, 0)], [0, 5, 6, 4], deadline=6.0), 11.0


def optw_plane() -> tuple[Problem, float, list[str]]:
    """The OP above with deadline 8, service 1 at B, windows A [5, 5.5], B [0, 3]: optimum 11.

    Without windows {A, B} (11) is best for deadline 8 (every tour through C and another node
    takes at least 2 + sqrt 5 + 2 + 3 > 8, s-A-C-s gives 9). With windows, s-A-B: start at A at 5,
    reach B at 7.24 > 3: no. s-B-A-s: B at 2 (leave 3), A at 5.24 in [5, 5.5], home 6.24 <= 8.
    The only optimal route is s, B, A, s.
    """
    p, _ = op_plane()
    p = p.replace(
        deadline=8.0,
        service=np.array([0, 0, 1.0, 0]),
        window_open=np.array([0, 5, 0, 0.0]),
        window_close=np.array([np.inf, 5.5, 3, np.inf]),
    )
    return p, 11.0, ["p0", "p2", "p1", "p0"]


def top_plane() -> tuple[Problem, float]:
    """k = 2 from (0, 0): (2, 0) u 5, (-2, 0) u 5, (0, 2.5) u 4; deadline 4.5 per route.

    (0, 2.5) alone takes 5 > 4.5; (2, 0) and (-2, 0) alone take 4 each, together 8. One route
    collects 5; two routes collect 10 (optimum).
    """
    return plane([(0, 0), (2, 0), (-2, 0), (0, 2.5)], [0, 5, 5, 4], deadline=4.5, k=2), 10.0


def tsptw_line() -> tuple[Problem, float]:
    """min_time with windows on a line: depot 0, customers at 2 and 4, service 1, window [6, 10] at 4.

    0 -> 2 (leave 3) -> 4 (arrive 5, wait to 6, leave 7) -> 0 at 11; 0 -> 4 (wait to 6, leave 7)
    -> 2 (leave 10) -> 0 at 12. Optimum 11 (the waiting is part of the completion time).
    """
    x = np.array([0.0, 2.0, 4.0])
    return Problem(
        ids=["d", "a", "b"],
        start=0,
        end=0,
        travel=np.abs(x[:, None] - x[None, :]),
        service=np.array([0, 1, 1.0]),
        utility=np.zeros(3),
        window_open=np.array([0, 0, 6.0]),
        window_close=np.array([np.inf, np.inf, 10.0]),
        objective="min_time",
        mandatory=np.array([1, 2]),
    ), 11.0


@pytest.mark.parametrize(
    "build", [tsp_rectangle, op_plane, top_plane, tsptw_line], ids=lambda f: f.__name__
)
def test_hand_instances_are_solved_to_their_optimum(build):
    """Each hand instance is proved optimal at the value its docstring derives."""
    problem, optimum = build()
    result = solve_checked(problem)
    assert result.status == Status.OPTIMAL
    assert result.objective == pytest.approx(optimum, abs=1e-6)
    assert result.bound == pytest.approx(optimum, abs=1e-6)
    assert result.gap == pytest.approx(0.0, abs=1e-9)
    assert len(result.solution["routes"]) == problem.k


def test_windows_force_the_only_feasible_order():
    """OPTW: the windows make s, B, A, s the only optimal route."""
    problem, optimum, route = optw_plane()
    result = solve_checked(problem)
    assert result.status == Status.OPTIMAL
    assert result.objective == pytest.approx(optimum)
    assert result.solution["routes"] == [route]


def test_one_route_instead_of_two_halves_the_top_value():
    """With k = 1 the TOP instance collects only 5 (one of the two side nodes)."""
    problem, _ = top_plane()
    result = solve_checked(problem.replace(k=1))
    assert result.status == Status.OPTIMAL
    assert result.objective == pytest.approx(5.0)


@pytest.mark.parametrize("name", sorted(SOLVABLE))
@pytest.mark.parametrize("undirected", [None, False])
def test_edge_and_arc_models_agree_on_the_shared_hand_instances(name, undirected):
    """The arc model (forced) proves the same optima as the default model choice."""
    problem, optimum = SOLVABLE[name]()
    result = solve_checked(problem, undirected=undirected)
    assert result.status == Status.OPTIMAL
    assert result.objective == pytest.approx(optimum, abs=1e-6)


def test_asymmetric_travel_uses_the_arc_model():
    """ATSP on 4 nodes: clockwise costs 1 per arc, counter-clockwise 10: optimum 4.

    Any tour of 4 nodes uses 4 arcs; only the cycle 0-1-2-3-0 uses cheap arcs only.
    """
    t = np.full((4, 4), 10.0)
    np.fill_diagonal(t, 0.0)
    for i in range(4):
        t[i, (i + 1) % 4] = 1.0
    problem = Problem(
        ids=list("abcd"), start=0, end=0, travel=t, service=np.zeros(4), utility=np.zeros(4),
        objective="min_time", mandatory=np.arange(1, 4),
    )  # fmt: skip
    assert build_model(problem).directed
    result = solve_checked(problem)
    assert result.status == Status.OPTIMAL
    assert result.objective == 4.0
    assert result.solution["routes"] == [["a", "b", "c", "d", "a"]]


def test_deadline_shorter_than_the_trip_is_infeasible_with_a_reason():
    """s and e 10 apart, deadline 5: status infeasible, one line naming the deadline."""
    problem = plane([(0, 0), (10, 0), (5, 1)], [0, 0, 3], end=1, deadline=5.0)
    result = solve(problem, "highs", time_limit=5)
    assert result.status == Status.INFEASIBLE
    assert "deadline" in result.message and "\n" not in result.message
    assert result.solution == {}


def test_unreachable_mandatory_node_is_infeasible_with_a_reason():
    """A mandatory node 10 away from the depot with deadline 12 (round trip 20)."""
    problem = plane([(0, 0), (10, 0), (1, 0)], [0, 1, 1], deadline=12.0, mandatory=np.array([1]))
    result = solve(problem, "highs", time_limit=5)
    assert result.status == Status.INFEASIBLE
    assert "p1" in result.message


def test_stats_and_trace_are_filled():
    """The result reports build time, cut rounds and an anytime trace ending at the optimum."""
    problem, optimum = op_plane()
    result = solve_checked(problem)
    for key in ("build_seconds", "lp_rounds", "mip_rounds", "cuts", "lp_seconds", "mip_seconds"):
        assert key in result.stats
    assert result.trace and result.trace[-1].incumbent == pytest.approx(optimum)
    assert result.trace[-1].bound == pytest.approx(optimum)
    times = [p.time for p in result.trace]
    assert times == sorted(times)


def _tsplib(name: str) -> tuple[Problem, float]:
    instance = convert("tsplib", TSPLIB / f"{name}.tsp")
    return from_instance(instance), float(instance.benchmark.best_known)


@pytest.mark.parametrize("name", ["burma14", "ulysses16", "gr17", "bays29", "berlin52"])
def test_tsplib_instances_reproduce_the_published_optimum(name):
    """TSPLIB (GEO, EXPLICIT, EUC_2D) tours of exactly the published optimal length."""
    problem, optimum = _tsplib(name)
    result = solve_checked(problem, time_limit=60.0)
    assert result.status == Status.OPTIMAL
    assert result.objective == optimum
    tour = result.solution["routes"][0]
    assert tour[0] == tour[-1] and len(set(tour)) == problem.n


def test_tsiligirides_op_reproduces_the_optimum():
    """Tsiligirides set 1, budget 15: 45 (Chao et al. 1996, re-proved optimal; benchmarks README)."""
    instance = convert("op", OP / "tsiligirides_1" / "tsiligirides_problem_1_budget_15.txt")
    problem = from_instance(instance)
    result = solve_checked(problem, time_limit=60.0)
    assert result.status == Status.OPTIMAL
    assert result.objective == pytest.approx(45.0)


def test_time_limit_is_respected_and_the_bound_stays_valid():
    """kroA150 in 3 s: returns well within a generous margin; bound <= 26524 <= objective."""
    problem, optimum = _tsplib("kroA150")
    result = solve_checked(problem, time_limit=3.0, warm_start_solver=None)
    assert result.runtime < 3.0 + 20.0  # behavioural: the limit is honoured, not a benchmark
    assert result.status in (Status.OPTIMAL, Status.FEASIBLE, Status.NO_SOLUTION)
    if result.bound is not None:
        assert result.bound <= optimum + 1e-6
    if result.objective is not None:
        assert result.objective >= optimum - 1e-6


def test_tour_repair_patches_cycles_into_one_tour_at_the_exchange_cost():
    """Two unit squares side by side: patching pays exactly the exchange delta; 2-opt keeps a tour.

    Cycles 0-1-2-3 (square at x in [0, 1]) and 4-5-6-7 (x in [2, 3]) have length 4 each. The
    cheapest exchange removes the facing sides 1-2 and 4-7 (1 each) and adds the bridges 1-4 and
    2-7 (1 each): the merged tour has length 4 + 4 + 0 = 8, the perimeter of the 3 x 1 hull, so
    it is optimal.
    """
    from daitn_opt.mtrce import tour_repair

    pts = np.array([(0, 0), (1, 0), (1, 1), (0, 1), (2, 0), (3, 0), (3, 1), (2, 1)], float)
    t = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
    tour = tour_repair.patch(t, [[0, 1, 2, 3], [4, 5, 6, 7]])
    assert sorted(tour) == list(range(8))
    length = sum(t[tour[i], tour[(i + 1) % 8]] for i in range(8))
    assert length == pytest.approx(8.0)
    better = tour_repair.two_opt(t, tour)
    assert sorted(better) == list(range(8))
    assert sum(t[better[i], better[(i + 1) % 8]] for i in range(8)) <= length + 1e-9
