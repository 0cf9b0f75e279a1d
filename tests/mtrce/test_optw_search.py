"""The OPTW search (:mod:`daitn_opt.mtrce.optw_search`) and ``ils``'s dispatch to it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from daitn_opt.drrt.converters import convert
from daitn_opt.mtrce import from_instance, optw_search
from daitn_opt.mtrce.check import check
from daitn_opt.mtrce.heuristics import eligible
from daitn_opt.mtrce.plan import Arrays, RouteTimes
from daitn_opt.registry import solve

from .hand_instances import op5, optw5

OPTW = Path(__file__).resolve().parents[2] / "instances" / "classic" / "optw"


def solomon(name: str):
    return from_instance(convert("optw", OPTW / "solomon_100" / f"{name}.txt"))


def run_search(problem, seed: int, iterations: int, **kwargs) -> tuple[list[int], dict]:
    arr = Arrays.of(problem)
    search = optw_search.OptwSearch(
        arr, eligible(arr), np.random.default_rng(seed), lambda: False, **kwargs
    )
    return search.run(iterations, patience=50), search.stats


def assert_checked(problem, result) -> None:
    assert result.status.has_solution, result.message
    report = check(problem, result.solution).compare_objective(result.objective)
    assert report.ok, report.violations


def test_applies_only_to_one_windowed_route():
    problem, _ = optw5()
    assert optw_search.applies(problem, Arrays.of(problem))
    plain, _ = op5()
    assert not optw_search.applies(plain, Arrays.of(plain))  # no windows: op_search's case
    two = solomon("c101").replace(k=2)
    assert not optw_search.applies(two, Arrays.of(two))


def test_hand_optw_optimum_found_and_checked():
    """optw5's optimum (8, derived by hand in hand_instances) through ``ils``."""
    problem, optimum = optw5()
    result = solve(problem, "ils", time_limit=5, seed=0, iterations=20)
    assert_checked(problem, result)
    assert result.objective == pytest.approx(optimum)


@pytest.mark.parametrize(("name", "optimum"), [("c101", 320), ("r101", 198)])
def test_solomon_optimum_reached_and_route_schedule_feasible(name, optimum):
    """Righini and Salani's proved optima, reached within 60 kicks; the windows hold."""
    problem = solomon(name)
    route, stats = run_search(problem, seed=1, iterations=60)
    arr = Arrays.of(problem)
    times = RouteTimes(arr, route)
    assert times.feasible
    assert np.all(times.start[1:-1] >= arr.a[route[1:-1]] - 1e-9)
    assert np.all(times.start[1:-1] <= arr.b[route[1:-1]] + 1e-6)
    assert float(arr.u[route].sum()) == optimum
    assert stats["iterations"] == 60


def test_ils_dispatches_to_the_optw_search_and_the_checker_accepts():
    problem = solomon("rc101")
    result = solve(problem, "ils", time_limit=30, seed=0, iterations=40)
    assert_checked(problem, result)
    assert "accepted_worse" in result.stats  # the OPTW search ran, not the general one
    assert result.objective == 219  # proved by Righini and Salani


def test_same_seed_same_run():
    """Kick-counted stopping: the same seed repeats the run (route and counters)."""
    problem = solomon("r105")
    first, stats = run_search(problem, seed=3, iterations=15)
    again, stats_again = run_search(problem, seed=3, iterations=15)
    assert first == again
    assert stats == stats_again


def test_replace_swaps_in_a_better_node():
    """A route through a low-score node whose place a high-score one can take."""
    problem, _ = optw5()
    arr = Arrays.of(problem)
    search = optw_search.OptwSearch(arr, eligible(arr), np.random.default_rng(0), lambda: False)
    sol = optw_search.OptwRoute(arr, [arr.s, 4, arr.e])  # x = 4 (u 3) where -2 then 1 fit
    before = sol.score
    search.local_search(sol)
    assert sol.score > before
    assert RouteTimes(arr, sol.route).feasible


def test_optw_false_runs_the_general_search():
    problem = solomon("c101")
    result = solve(problem, "ils", time_limit=30, seed=0, iterations=5, optw=False)
    assert_checked(problem, result)
    assert "accepted_worse" not in result.stats
