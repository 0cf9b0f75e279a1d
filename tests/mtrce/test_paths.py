"""Zero-time legs are arcs: shortest paths and the bounds built on them keep them (issue 10)."""

from __future__ import annotations

import numpy as np

from daitn_opt import mtrce
from daitn_opt.mtrce.paths import shortest_paths
from daitn_opt.registry import solve
from daitn_opt.result import Status

INF = np.inf


def test_a_zero_weight_arc_is_an_arc():
    w = np.array([[0.0, 0.0, 5.0], [INF, 0.0, 1.0], [INF, INF, 0.0]])
    np.testing.assert_array_equal(shortest_paths(w), [[0, 0, 1], [INF, 0, 1], [INF, INF, 0]])
    np.testing.assert_array_equal(shortest_paths(w, indices=0), [0, 0, 1])


def zero_leg_problem(objective: str) -> mtrce.Problem:
    """h1 sits at the start's site (0 s away); everything else is 10 s from the start, so with a
    3.5 s deadline the only route that trains anywhere is start -> h1 -> end."""
    t = np.array(
        [
            [0.0, 0.0, 10.0, 10.0],
            [1.0, 0.0, 1.0, 1.0],
            [10.0, 1.0, 0.0, 1.0],
            [10.0, 1.0, 1.0, 0.0],
        ]
    )
    mass = np.array([[0.0, 0.0], [8.0, 4.0], [8.0, 8.0], [0.0, 0.0]])
    p = mtrce.Problem(
        ids=["s", "h1", "h2", "e"],
        start=0,
        end=3,
        travel=t,
        service=np.array([0.0, 1.0, 1.0, 0.0]),
        utility=np.array([0.0, 12.0, 16.0, 0.0]),
        deadline=3.5,
    )
    return p.replace(
        objective=objective,
        label_mass=mass,
        coverage_scale=np.array([4.0, 4.0]),
        label_weight=np.array([0.5, 0.5]),
    )


def test_exact_solvers_use_a_zero_time_leg_from_the_start():
    for objective, solver in (
        ("max_utility", "highs"),
        ("max_coverage", "coverage-highs"),
        ("max_coverage", "coverage-cpsat"),
    ):
        problem = zero_leg_problem(objective)
        result = solve(problem, solver, time_limit=10)
        assert result.status is Status.OPTIMAL, (solver, result.summary())
        assert result.solution["routes"][0] == ["s", "h1", "e"], (solver, result.solution)
        assert mtrce.check(problem, result.solution).ok
