"""The ``cpsat`` MTRCE solver: hand-checkable optima, brute force, classics, bad input.

The hand instances put every node on a line, so that travel times are ``|x_i - x_j|`` and each
optimum can be derived in a few lines (each builder's docstring does it). Every solution goes
through the independent checker.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from daitn_opt.mtrce import Problem, check
from daitn_opt.mtrce.solution import schedule
from daitn_opt.registry import solve
from daitn_opt.result import Status

BENCH = Path(__file__).resolve().parents[2] / "instances" / "classic"
"""The classic benchmark files shipped with the repository (instances/classic/README.md)."""


def line_problem(positions, utility, *, start=0, end=None, **kw) -> Problem:
    """Nodes on a line at ``positions``; travel = distance; ids ``n0, n1, ...``."""
    x = np.asarray(positions, dtype=np.float64)
    n = len(x)
    kw.setdefault("service", np.zeros(n))
    return Problem(
        ids=[f"n{i}" for i in range(n)],
        start=start,
        end=start if end is None else end,
        travel=np.abs(x[:, None] - x[None, :]),
        utility=np.asarray(utility, dtype=np.float64),
        **kw,
    )


def tsp5() -> tuple[Problem, float]:
    """TSP on 5 cities at 0, 1, 2, 3, 4: optimum 8.

    Any tour through 0 and 4 goes there and back, so it is at least 2 * 4 = 8, and
    0-1-2-3-4-0 has length 1 + 1 + 1 + 1 + 4 = 8.
    """
    p = line_problem([0, 3, 1, 4, 2], np.zeros(5), objective="min_time", mandatory=np.arange(1, 5))
    return p, 8.0


def op5() -> tuple[Problem, float]:
    """OP from s = 0 back to s, customers at -2 (u 5), 1 (u 2), 3 (u 4), 4 (u 3), deadline 10.

    A route covering the leftmost point L <= 0 and the rightmost R >= 0 has length 2(R - L).
    L = -2 leaves R <= 3: nodes -2, 1, 3 = 11 (length 10). L = 0 allows R = 4: 2 + 4 + 3 = 9.
    Optimum 11.
    """
    return line_problem([0, -2, 1, 3, 4], [0, 5, 2, 4, 3], deadline=10.0), 11.0


def optw5() -> tuple[Problem, float]:
    """OPTW: op5 with service 1 at each customer, windows [5, 6] at x = 1, [0, 2] at x = 3.

    x = 3 is 3 away but closes at 2: never visited. -2 then 1: arrive 2, serve to 3, arrive at 1
    at 6 (window ok), serve to 7, home at 8 <= 10: 5 + 2 = 7. Adding x = 4 after 1: 7 + 3 = 10,
    serve to 11 > 10. x = 4 alone: 3; 1 then 4: wait to 5, serve to 6, at 4 at 9, serve to 10,
    home 14 > 10. -2 with 4: 2 + 1 + 6 + 1 + 4 = 14 > 10. Optimum 7.
    """
    p, _ = op5()
    a = np.array([0, 0, 5, 0, 0], dtype=np.float64)
    b = np.array([np.inf, np.inf, 6, 2, np.inf])
    return p.replace(service=np.array([0, 1, 1, 1, 1.0]), window_open=a, window_close=b), 7.0


def top6(k: int = 2) -> tuple[Problem, float]:
    """TOP from s = 0 back to s, customers at -3 (u 4), -1 (u 1), 2 (u 3), 3 (u 5), 4 (u 6).

    Deadline 6 per route: a route to R and back needs 2R, so x = 4 (8) is out; one route takes
    {2, 3} (6: u 8) or {-3, -1} (6: u 5) or {-1, 2} (6: u 4). k = 1: 8; k = 2: 8 + 5 = 13.
    """
    p = line_problem([0, -3, -1, 2, 3, 4], [0, 4, 1, 3, 5, 6], deadline=6.0, k=k)
    return p, {1: 8.0, 2: 13.0}[k]


def op_path5() -> tuple[Problem, float]:
    """OP from s at 0 to e at 4, customers at 2 (u 1), 5 (u 5), -1 (u 3), deadline 6.

    s -> 2 -> 5 -> e = 2 + 3 + 1 = 6: u 6. s -> -1 -> 2 -> e = 1 + 3 + 2 = 6: u 4. Both -1 and 5
    need at least 1 + 6 + 1 = 8. Optimum 6.
    """
    return line_problem([0, 4, 2, 5, -1], [0, 0, 1, 5, 3], end=1, deadline=6.0), 6.0


HAND = {
    "tsp5": tsp5,
    "op5": op5,
    "optw5": optw5,
    "top6_k1": lambda: top6(1),
    "top6_k2": lambda: top6(2),
    "op_path5": op_path5,
}


def assert_valid(problem: Problem, result) -> None:
    """The result has a solution that the independent checker accepts, with its objective."""
    assert result.status.has_solution, result.message
    report = check(problem, result.solution).compare_objective(result.objective)
    assert report.ok, report.violations


@pytest.mark.parametrize("name", sorted(HAND))
def test_hand_instances_proved_optimal(name):
    """cpsat proves the derived optimum and the checker accepts the routes."""
    problem, optimum = HAND[name]()
    result = solve(problem, "cpsat", time_limit=20, workers=2)
    assert_valid(problem, result)
    assert result.status == Status.OPTIMAL
    assert result.objective == pytest.approx(optimum)
    assert result.bound == pytest.approx(optimum)
    assert result.gap == 0.0
    assert result.trace and result.trace[-1].incumbent == pytest.approx(optimum)


def brute_force(problem: Problem) -> float:
    """Best checker-valid objective over every set of at most k (<= 2) routes."""
    return brute_force_routes(problem)[0]


def random_problem(seed: int) -> Problem:
    """A random 6-node instance; seed picks k, windows, start != end, service and real times."""
    rng = np.random.default_rng(seed)
    n = 6
    xy = rng.uniform(0, 10, (n, 2))
    travel = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    if seed % 2:
        travel = np.round(travel)
    k = 1 + seed % 2 if seed % 3 else 2
    end = 0 if seed % 4 < 2 else 1
    kw = {}
    if seed % 5 in (1, 3):
        a = rng.uniform(0, 15, n)
        a[[0, end]] = 0
        kw = {"window_open": a, "window_close": a + rng.uniform(2, 8, n)}
        kw["window_close"][[0, end]] = np.inf
    return Problem(
        ids=[f"r{i}" for i in range(n)],
        start=0,
        end=end,
        travel=travel,
        service=np.round(rng.uniform(0, 2, n), 1) * (seed % 3 == 0),
        utility=rng.integers(1, 10, n).astype(np.float64),
        deadline=float(rng.uniform(15, 30)),
        k=k,
        **kw,
    )


@pytest.mark.parametrize("seed", range(12))
def test_matches_brute_force_on_random_tiny_instances(seed):
    """Optimal objective = exhaustive enumeration through the checker (k, windows, s != e)."""
    problem = random_problem(seed)
    result = solve(problem, "cpsat", time_limit=20, workers=2, warm_start_solver=None)
    assert_valid(problem, result)
    # real times are rounded down (a relaxation): its optimum, checked in real arithmetic, is
    # a proof for the problem
    assert result.stats["rounding"] == (
        "exact" if result.stats["exact_scaling"] else "down (relaxation)"
    )
    assert result.status == Status.OPTIMAL, result.summary()
    assert result.objective == pytest.approx(brute_force(problem))


def relaxation_problem(seed: int) -> Problem:
    """A random 6-node instance with real (non-integral) times on which times rounded down admit
    the best route although it is infeasible in real arithmetic.

    Built with loose limits first; the best route (brute force) is then made to miss a limit by
    1.5e-6 relative, beyond the checker's tolerance (1e-6) but within what the relaxation admits
    (2e-6, and times rounded down only shorten it): the deadline for ``max_utility``, the window
    of its last customer for ``min_time`` (where every tour is cut by a deadline below the best).
    The seed also picks windows, service times, ``k`` (1 or 2), ``start != end``, a budget with
    real costs and the ``min_time`` objective.
    """
    rng = np.random.default_rng(1000 + seed)
    n = 6
    xy = rng.uniform(0, 10, (n, 2))
    travel = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    end = 0 if seed % 4 < 2 else 1
    min_time = seed % 6 == 5
    k = 1 if min_time or seed % 3 == 0 else 2
    kw: dict = {}
    if seed % 5 in (1, 3) or min_time:
        a = rng.uniform(0, 12, n) * (not min_time)
        a[[0, end]] = 0
        kw = {"window_open": a, "window_close": a + rng.uniform(3, 9, n) + 40 * min_time}
        kw["window_close"][[0, end]] = np.inf
    if seed % 4 == 3:
        kw.update(
            budget=float(rng.uniform(10, 25)),
            visit_cost=rng.uniform(0, 3, n),
            travel_cost=travel * 0.7,
        )
    if min_time:
        kw.update(objective="min_time", mandatory=np.arange(1, n))
    problem = Problem(
        ids=[f"q{i}" for i in range(n)],
        start=0,
        end=end,
        travel=travel,
        service=rng.uniform(0, 1.5, n) * (seed % 3 == 1),
        utility=rng.integers(1, 10, n).astype(np.float64),
        deadline=float(rng.uniform(18, 30)) + 40 * min_time,
        k=k,
        **kw,
    )
    _, routes = brute_force_routes(problem)
    if routes is None:
        return problem
    position = {v: i for i, v in enumerate(problem.ids)}
    index = [[position[v] for v in r] for r in routes]

    def just_below(value: float) -> float:
        return value - 1.5e-6 * max(1.0, value)

    if not min_time:
        finish = max(schedule(problem, r)[2] for r in index)
        return problem.replace(deadline=just_below(finish))
    route = index[0]
    starts = schedule(problem, route)[1]
    close = problem.window_close.copy()
    close[route[-2]] = just_below(float(starts[-2]))
    return problem.replace(window_close=close)


def brute_force_routes(problem: Problem) -> tuple[float, list[list[str]] | None]:
    """Best checker-valid objective and its routes (every set of at most k <= 2 routes; a
    customer is labelled with its route, 0 = skipped, then every order on each route)."""
    customers = problem.customers.tolist()
    s, e = problem.start, problem.end
    best, best_routes = (-np.inf if problem.sense == "max" else np.inf), None
    for labels in itertools.product(range(problem.k + 1), repeat=len(customers)):
        groups = [
            [c for c, lab in zip(customers, labels, strict=True) if lab == r]
            for r in range(1, problem.k + 1)
        ]
        for orders in itertools.product(*[itertools.permutations(g) for g in groups]):
            routes = [[problem.ids[v] for v in (s, *o, e)] for o in orders if o]
            routes = routes or [[problem.ids[s], problem.ids[e]]]
            report = check(problem, {"routes": routes})
            if not report.ok:
                continue
            gain = report.objective - best if problem.sense == "max" else best - report.objective
            if gain > 1e-12:
                best, best_routes = report.objective, routes
    return best, best_routes


def assert_sound(problem: Problem, result, optimum: float) -> None:
    """Never a wrong claim: checked routes, never better than the optimum, the bound on the
    correct side of it, ``optimal`` only at it, ``infeasible`` only without any route."""
    where = result.summary()
    if not np.isfinite(optimum):
        assert not result.status.has_solution, where
        return
    assert result.status is not Status.INFEASIBLE, where
    if not result.status.has_solution:
        return
    assert_valid(problem, result)
    tol = 1e-6 * max(1.0, abs(optimum))
    if problem.sense == "max":
        assert result.objective <= optimum + tol, where
        assert result.bound is None or result.bound >= optimum - tol, where
    else:
        assert result.objective >= optimum - tol, where
        assert result.bound is None or result.bound <= optimum + tol, where
    if result.status is Status.OPTIMAL:
        assert result.objective == pytest.approx(optimum, rel=1e-6, abs=1e-6), where


@pytest.mark.parametrize("seed", range(24))
def test_relaxation_never_claims_a_wrong_optimum(seed):
    """Real times rounded down admit the best route although it misses the (tight) deadline:
    the run must cut it off and still prove the true optimum (exhaustive enumeration through
    the checker), with its bound on the correct side."""
    problem = relaxation_problem(seed)
    optimum, _ = brute_force_routes(problem)
    result = solve(problem, "cpsat", time_limit=20, workers=2, warm_start_solver=None)
    assert result.stats.get("rounding", "down (relaxation)") == "down (relaxation)"
    assert_sound(problem, result, optimum)
    if np.isfinite(optimum):
        assert result.status is Status.OPTIMAL, result.summary()


@pytest.mark.parametrize(("seed", "scale"), [(s, 10 ** (s % 3)) for s in range(12)])
def test_coarse_relaxation_stays_sound(seed, scale):
    """Times scaled by 1, 10 or 100 and rounded down: a loose relaxation that admits many
    routes infeasible in real arithmetic. Whatever the run ends with, it is never a wrong
    claim."""
    problem = relaxation_problem(seed)
    optimum, _ = brute_force_routes(problem)
    result = solve(
        problem, "cpsat", time_limit=20, workers=2, warm_start_solver=None, time_scale=scale
    )
    assert_sound(problem, result, optimum)
    if np.isfinite(optimum) and problem.objective == "max_utility":
        # utilities do not depend on times: the cut loop ends with the true optimum
        assert result.status is Status.OPTIMAL, result.summary()


def test_the_tight_deadline_makes_the_relaxation_cut():
    """The instances above do exercise the cut loop (else they would test nothing new)."""
    cuts = 0
    for seed in range(6):
        problem = relaxation_problem(seed)
        result = solve(problem, "cpsat", time_limit=20, workers=2, warm_start_solver=None)
        cuts += result.stats["relaxation"]["cuts"]
    assert cuts > 0


def test_without_any_feasible_route_the_restriction_gives_one():
    """Times in whole units (scale 1) rounded down: the relaxation's first solutions all fail in
    real arithmetic and there is no warm start, so the restriction (rounded up) is solved once
    for an incumbent; the runs above check that the result stays sound."""
    used = 0
    for seed in range(12):
        problem = relaxation_problem(seed)
        result = solve(
            problem, "cpsat", time_limit=20, workers=2, warm_start_solver=None, time_scale=1
        )
        used += bool(result.stats.get("restriction_solved"))
    assert used > 0


def test_budget_constraint_is_respected():
    """op5 with visit cost 1 per customer and travel cost = distance, budget 8.

    The 11-utility route costs 10 + 3 = 13. Budget 8: routes to R and back cost 2R + #nodes:
    {1, 3} costs 6 + 2 = 8 (u 6); {-2, 1} costs 6 + 2 = 8 (u 7); {-2} 4 + 1 (u 5); {1, 3, 4}
    costs 8 + 3 = 11. Optimum 7.
    """
    problem, _ = op5()
    problem = problem.replace(
        budget=8.0, visit_cost=np.array([0, 1, 1, 1, 1.0]), travel_cost=problem.travel.copy()
    )
    result = solve(problem, "cpsat", time_limit=20, workers=2)
    assert_valid(problem, result)
    assert result.status == Status.OPTIMAL
    assert result.objective == pytest.approx(7.0)


def test_deterministic_mode_same_seed_same_result():
    """With interleaved search, two runs with the same seed return the same routes and values."""
    rng = np.random.default_rng(7)
    n = 14
    xy = rng.uniform(0, 100, (n, 2))
    problem = Problem(
        ids=[f"d{i}" for i in range(n)],
        start=0,
        end=0,
        travel=np.round(np.linalg.norm(xy[:, None] - xy[None], axis=2)),
        service=np.zeros(n),
        utility=rng.integers(1, 20, n).astype(np.float64),
        deadline=200.0,
    )
    runs = [
        solve(
            problem,
            "cpsat",
            time_limit=60,
            seed=3,
            deterministic=True,
        )
        for _ in range(2)
    ]
    for r in runs:
        assert_valid(problem, r)
        assert r.stats["hint"] == "greedy"  # the deterministic warm start
    assert runs[0].solution["routes"] == runs[1].solution["routes"]
    assert runs[0].objective == runs[1].objective
    assert runs[0].bound == runs[1].bound


def test_infeasible_deadline_gives_status_and_reason():
    """A deadline shorter than the trip from start to end: status infeasible, one-line reason."""
    problem, _ = op_path5()
    result = solve(problem.replace(deadline=3.0), "cpsat", time_limit=10, workers=2)
    assert result.status == Status.INFEASIBLE
    assert "deadline" in result.message and "\n" not in result.message
    assert result.solution == {}


def test_unreachable_mandatory_node_is_infeasible():
    """Mandatory node at x = 4 needs 8 > deadline 6 (top6, k = 1): infeasible."""
    problem, _ = top6(1)
    result = solve(problem.replace(mandatory=np.array([5])), "cpsat", time_limit=10, workers=2)
    assert result.status == Status.INFEASIBLE
    assert "'n5'" in result.message


def test_infeasibility_proved_by_the_model():
    """Two mandatory nodes each reachable alone but not together: CP-SAT itself proves it."""
    problem, _ = top6(1)
    result = solve(problem.replace(mandatory=np.array([1, 4])), "cpsat", time_limit=10, workers=2)
    assert result.status == Status.INFEASIBLE
    assert "CP-SAT proved" in result.message


def test_warm_start_from_initial_is_used():
    """A user-given feasible initial solution becomes the hint."""
    problem, optimum = op5()
    initial = {"routes": [["n0", "n1", "n2", "n0"]]}
    result = solve(
        problem, "cpsat", time_limit=10, workers=2, warm_start_solver=None, initial=initial
    )
    assert result.stats["hint"] == "initial"
    assert result.stats["hint_objective"] == pytest.approx(7.0)
    assert result.objective == pytest.approx(optimum)


def test_real_times_are_rounded_up():
    """With real travel times the scale is a power of ten and the checker accepts the result."""
    problem = random_problem(4)
    result = solve(problem, "cpsat", time_limit=10, workers=2)
    assert not result.stats["exact_scaling"]
    assert result.stats["time_scale"] >= 1e4
    assert_valid(problem, result)


@pytest.mark.slow
def test_burma14_published_optimum():
    """burma14 (TSPLIB, GEO): the published optimum 3323, proved."""
    from daitn_opt.drrt.converters import convert
    from daitn_opt.mtrce import from_instance

    problem = from_instance(convert("tsplib", BENCH / "tsplib" / "burma14.tsp"))
    result = solve(problem, "cpsat", time_limit=60)
    assert_valid(problem, result)
    assert result.status == Status.OPTIMAL
    assert result.objective == 3323


@pytest.mark.slow
@pytest.mark.parametrize(("budget", "optimum"), [("15", 45), ("40", 155), ("85", 285)])
def test_tsiligirides_1_published_optimum(budget, optimum):
    """Tsiligirides set 1 (Chao, Golden and Wasil 1996 values, proved optimal): matched."""
    from daitn_opt.drrt.converters import convert
    from daitn_opt.mtrce import from_instance

    path = BENCH / "op" / "tsiligirides_1" / f"tsiligirides_problem_1_budget_{budget}.txt"
    problem = from_instance(convert("op", path))
    result = solve(problem, "cpsat", time_limit=60)
    assert_valid(problem, result)
    assert result.status == Status.OPTIMAL
    assert result.objective == optimum


@pytest.mark.slow
@pytest.mark.parametrize(("name", "optimum"), [("c101", 320), ("r101", 198)])
def test_solomon_optw_published_optimum(name, optimum):
    """OPTW on Solomon's c101/r101 (Righini and Salani 2009, proved): matched and proved."""
    from daitn_opt.drrt.converters import convert
    from daitn_opt.mtrce import from_instance

    problem = from_instance(convert("optw", BENCH / "optw" / "solomon_100" / f"{name}.txt"))
    result = solve(problem, "cpsat", time_limit=60)
    assert_valid(problem, result)
    assert result.stats["exact_scaling"]  # distances with one decimal: scale 10, exact
    assert result.status == Status.OPTIMAL
    assert result.objective == optimum


def test_short_limit_still_returns_a_valid_tour():
    """A 70-city TSP with 2 s: CP-SAT alone may find nothing, but the warm start is returned."""
    rng = np.random.default_rng(11)
    n = 70
    xy = rng.uniform(0, 1000, (n, 2))
    problem = Problem(
        ids=[f"c{i}" for i in range(n)],
        start=0,
        end=0,
        travel=np.round(np.linalg.norm(xy[:, None] - xy[None], axis=2)),
        service=np.zeros(n),
        utility=np.zeros(n),
        objective="min_time",
        mandatory=np.arange(1, n),
    )
    result = solve(problem, "cpsat", time_limit=2)
    assert_valid(problem, result)
    assert result.stats["hint"] == "ils"
    assert result.objective <= result.stats["hint_objective"] + 1e-9
    assert result.trace[0].incumbent == pytest.approx(result.stats["hint_objective"])


@pytest.mark.parametrize("seed", [5, 17])
def test_min_time_with_windows_refines_the_time_units_until_the_gap_closes(seed):
    """Completion times in units of 1/1000 leave the proved relaxation's optimum a gap above
    1e-6; the relaxation is solved again in finer units until the gap closes (brute force)."""
    problem = relaxation_problem(seed)
    assert problem.objective == "min_time" and problem.has_windows
    optimum, _ = brute_force_routes(problem)
    result = solve(
        problem, "cpsat", time_limit=20, workers=2, warm_start_solver=None, time_scale=1000
    )
    assert_sound(problem, result, optimum)
    assert result.stats["refined"] >= 1, result.summary()
    assert result.status is Status.OPTIMAL, result.summary()


def test_importing_the_package_does_not_load_or_tools():
    """OR-Tools takes most of a second to import: only the CP-SAT and routing solvers load it."""
    code = "import sys\nimport daitn_opt.mtrce\nprint('ortools' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_model_too_large_for_memory_returns_the_checked_warm_start(monkeypatch):
    """When the integer-time matrices would not fit in memory, the skeleton returns the warm
    start (checked) and the reason; no CP-SAT model is built."""
    from daitn_opt.mtrce import cpsat

    problem, optimum = op5()
    monkeypatch.setattr(cpsat, "MAX_DENSE_BYTES", 0.0)
    result = solve(problem, "cpsat", time_limit=10, workers=1)
    assert result.status == Status.FEASIBLE
    assert "stopped after the warm start" in result.message and "GB" in result.message
    assert result.stats["hint"] == "ils" and "arcs" not in result.stats
    assert check(problem, result.solution).ok and result.objective <= optimum
    none = solve(problem, "cpsat", time_limit=10, warm_start_solver=None)
    assert none.status == Status.NO_SOLUTION and "stopped after the warm start" in none.message


def test_optw_warm_start_gets_more_time():
    """The OPTW's warm start: min(5 s, 10%) of the limit; other problems keep min(1 s, 10%)."""
    from daitn_opt.mtrce.cpsat import _hint_seconds

    optw, _ = optw5()
    plain, _ = op5()
    assert _hint_seconds(optw, 60.0) == 5.0
    assert _hint_seconds(optw, 20.0) == 2.0
    assert _hint_seconds(plain, 60.0) == 1.0
