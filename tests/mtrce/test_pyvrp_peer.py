"""The ``pyvrp`` MTRCE peer: PyVRP on the TSP and the OP, routes checked by the MTRCE checker.

Small instances are compared with exact enumeration; the scaling, the repair of a route that
breaks the real deadline and the capability checks are tested directly (the latter two without
PyVRP installed).
"""

from __future__ import annotations

from itertools import combinations, permutations
from pathlib import Path

import numpy as np
import pytest

from daitn_opt.mtrce import Problem, check, from_instance
from daitn_opt.mtrce import pyvrp_peer as peer
from daitn_opt.mtrce.solution import schedule

CLASSIC = Path(__file__).resolve().parents[2] / "instances" / "classic"


def points(n: int, seed: int) -> np.ndarray:
    xy = np.random.default_rng(seed).uniform(0, 10, size=(n, 2))
    return np.linalg.norm(xy[:, None] - xy[None], axis=2)


def op(travel, deadline, utility, start=0, end=1) -> Problem:
    n = len(travel)
    return Problem(
        ids=[f"v{i}" for i in range(n)],
        start=start,
        end=end,
        travel=travel,
        service=np.zeros(n),
        utility=np.asarray(utility, dtype=float),
        deadline=deadline,
    )


def best_op(problem: Problem) -> float:
    """The OP optimum by enumeration of every ordered subset (tiny instances only)."""
    inner = [int(v) for v in problem.customers]
    ends = {problem.start, problem.end}
    best = sum(problem.utility[v] for v in ends)
    for size in range(1, len(inner) + 1):
        for subset in combinations(inner, size):
            value = sum(problem.utility[v] for v in subset) + sum(problem.utility[v] for v in ends)
            if value <= best:
                continue
            for order in permutations(subset):
                if schedule(problem, [problem.start, *order, problem.end])[3]:
                    best = value
                    break
    return best


def test_scaled_arcs_scale_real_distances_and_keep_integral_ones() -> None:
    real = op(points(5, 0), 12.34567, np.ones(5))
    arcs, limit, scale = peer.scaled_arcs(real)
    assert scale == 1e4 and limit == 123456
    assert arcs.dtype == np.int64 and np.abs(arcs / scale - real.travel).max() <= 0.5 / scale
    whole = op(np.round(points(5, 0)), 20.0, np.ones(5))
    assert peer.scaled_arcs(whole)[1:] == (20, 1.0)


def test_repair_drops_the_cheapest_node_until_the_route_fits() -> None:
    travel = np.array([[0, 1, 1, 1], [1, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 0]], dtype=float)
    problem = op(travel, 2.0, [0, 0, 5, 1])
    route, dropped = peer.repair([0, 2, 3, 1], problem)
    assert (route, dropped) == ([0, 2, 1], 1)  # node 3 (utility 1) goes, node 2 (5) stays
    assert peer.repair([0, 2, 1], problem) == ([0, 2, 1], 0)


def test_supports_names_what_is_missing(monkeypatch) -> None:
    problem = op(points(4, 1), 10.0, np.ones(4))
    monkeypatch.setattr(peer, "_have_pyvrp", lambda: False)
    assert peer.supports(problem) == peer.PYVRP_MISSING
    monkeypatch.setattr(peer, "_have_pyvrp", lambda: True)
    assert peer.supports(problem) is None
    assert "k = 1" in peer.supports(problem.replace(k=2))
    windows = problem.replace(window_open=np.zeros(4), window_close=np.full(4, 5.0))
    assert "windows" in peer.supports(windows)
    assert "deadline" in peer.supports(problem.replace(deadline=np.inf))


pyvrp_needed = pytest.mark.skipif(not peer._have_pyvrp(), reason="pyvrp is not installed")


@pyvrp_needed
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_op_matches_enumeration_on_tiny_instances(seed: int) -> None:
    from daitn_opt.registry import solve

    rng = np.random.default_rng(seed)
    travel = points(8, seed)
    problem = op(travel, float(travel[0, 1]) + 9.0, rng.integers(1, 10, size=8))
    result = solve(problem, "pyvrp", time_limit=0.5, seed=seed)
    assert check(problem, result.solution).ok
    assert result.objective == best_op(problem)


def test_a_set_up_longer_than_the_limit_is_not_started(monkeypatch) -> None:
    """PyVRP's set-up is outside its MaxRuntime: when it would outlast the time left, the run
    returns no solution at once, saying why, instead of overrunning the limit."""
    from daitn_opt.registry import solve
    from daitn_opt.result import Status

    monkeypatch.setattr(peer, "SETUP_SECONDS_PER_PAIR", 1.0)  # 64 s for 8 nodes
    travel = points(8, 0)
    problem = op(travel, float(travel[0, 1]) + 9.0, np.ones(8))
    result = solve(problem, "pyvrp", time_limit=1.0, seed=0)
    assert result.status is Status.NO_SOLUTION
    assert "not started" in result.message


@pyvrp_needed
def test_tsp_on_a_circle_is_the_polygon() -> None:
    from daitn_opt.registry import solve

    angle = np.random.default_rng(3).permutation(12) * (2 * np.pi / 12)
    xy = np.c_[np.cos(angle), np.sin(angle)]
    travel = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    problem = Problem(
        ids=[f"v{i}" for i in range(12)],
        start=0,
        end=0,
        travel=travel,
        service=np.zeros(12),
        utility=np.zeros(12),
        objective="min_time",
        mandatory=np.arange(1, 12),
    )
    result = solve(problem, "pyvrp", time_limit=0.5, seed=0)
    assert check(problem, result.solution).ok
    assert result.objective == pytest.approx(12 * 2 * np.sin(np.pi / 12), rel=1e-6)


@pyvrp_needed
def test_chao_instance_is_solved_within_the_real_budget() -> None:
    from daitn_opt.drrt.converters import convert
    from daitn_opt.registry import solve

    inst = convert("op", CLASSIC / "op" / "tsiligirides_2" / "tsiligirides_problem_2_budget_25.txt")
    problem = from_instance(inst)
    result = solve(problem, "pyvrp", time_limit=1.0, seed=0)
    assert check(problem, result.solution).ok
    assert result.objective <= inst.benchmark.best_known
    assert result.objective >= 0.9 * inst.benchmark.best_known
    assert "scaled by 10000" in result.message


@pyvrp_needed
def test_asymmetric_tsp_path_matches_enumeration() -> None:
    from daitn_opt.registry import solve

    travel = points(7, 5) + np.triu(np.full((7, 7), 0.7))  # asymmetric: up one way, not back
    np.fill_diagonal(travel, 0.0)
    problem = Problem(
        ids=[f"v{i}" for i in range(7)],
        start=2,
        end=5,
        travel=travel,
        service=np.full(7, 0.25),
        utility=np.zeros(7),
        objective="min_time",
        mandatory=np.array([0, 1, 3, 4, 6]),
    )
    best = min(schedule(problem, [2, *order, 5])[2] for order in permutations([0, 1, 3, 4, 6]))
    result = solve(problem, "pyvrp", time_limit=0.5, seed=0)
    assert check(problem, result.solution).ok
    assert result.objective == pytest.approx(best, rel=1e-6)
