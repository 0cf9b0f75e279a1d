"""Outcome-aligned MTRCE objectives: coverage, recency coverage and time to target.

Hand-checked instances where the coverage optimum differs from the utility optimum, exact
solvers against brute-force enumeration on seeded random instances, the independent checker on
every solver's output, bounds on the correct side, determinism and infeasible targets.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from daitn_opt.errors import InputError, UnsupportedError
from daitn_opt.mtrce import Problem, coverage
from daitn_opt.mtrce.coverage_check import check
from daitn_opt.registry import solve

from .registered import solvers_for

OBJECTIVES = ("max_coverage", "max_recency_coverage", "min_time_to_target")


def g(z: float) -> float:
    """The default PWL coverage curve in units of the scale (interpolated 1 - exp(-z))."""
    breaks = np.array([0.0, 0.125, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])
    return float(np.interp(z, breaks, 1.0 - np.exp(-breaks)))


def two_labels(**changes) -> Problem:
    """Start 0, end 4; customers 1 and 2 hold 10 samples of label A, 3 holds 8 of label B.

    Every leg takes 10 and the deadline 35 admits two customers (three legs = 30). Utility picks
    {1, 2} (20 > 18); coverage prefers a new label: {1, 3} or {2, 3}.
    """
    n = 5
    travel = np.full((n, n), 10.0)
    np.fill_diagonal(travel, 0.0)
    fields = dict(
        ids=["s", "a1", "a2", "b", "e"],
        start=0,
        end=4,
        travel=travel,
        service=np.zeros(n),
        utility=np.array([0.0, 10.0, 10.0, 8.0, 0.0]),
        deadline=35.0,
        label_mass=np.array([[0, 0], [10, 0], [10, 0], [0, 8], [0, 0]], dtype=float),
        coverage_scale=np.array([5.0, 5.0]),
        label_weight=np.array([0.5, 0.5]),
        objective="max_coverage",
    )
    fields.update(changes)
    return Problem(**fields)


EXACT = solvers_for(two_labels(), exact=True)
"""The registered exact solvers of the coverage objectives (coverage-highs, coverage-cpsat)."""
HEURISTIC = solvers_for(two_labels(), exact=False)
"""The registered coverage heuristics (coverage-greedy, coverage-ils)."""


def test_the_coverage_solvers_are_registered():
    assert {"coverage-highs", "coverage-cpsat"} <= set(EXACT)
    assert {"coverage-greedy", "coverage-ils"} <= set(HEURISTIC)
    for objective in OBJECTIVES[1:]:
        assert set(solvers_for(two_labels(objective=objective, target=0.5))) == {*EXACT, *HEURISTIC}


def test_coverage_prefers_a_new_label_over_more_of_the_same():
    """Utility optimum {a1, a2} = 20; coverage optimum takes b: 0.5 g(2) + 0.5 g(1.6)."""
    p = two_labels()
    old = solve(p.replace(objective="max_utility"), "highs", time_limit=10)
    assert set(old.solution["routes"][0][1:-1]) == {"a1", "a2"}
    expected = 0.5 * g(10 / 5) + 0.5 * g(8 / 5)
    same = 0.5 * g(20 / 5)
    assert expected > same
    for name in EXACT + HEURISTIC:
        res = solve(p, name, time_limit=10)
        assert "b" in res.solution["routes"][0], name
        assert res.objective == pytest.approx(expected, abs=1e-9), name
        report = check(p, res.solution)
        assert report.ok and report.objective == pytest.approx(expected, abs=1e-9)


def test_recency_weights_the_last_node_most():
    """With recency 0.5 the route ends on the node whose mass is worth most at full weight."""
    p = two_labels(objective="max_recency_coverage", recency=0.5)
    # [a1, b]: A counts 0.5 * 10, B 8; [b, a1]: A 10, B 0.5 * 8.
    a_then_b = 0.5 * g(5 / 5) + 0.5 * g(8 / 5)
    b_then_a = 0.5 * g(10 / 5) + 0.5 * g(4 / 5)
    best = max(a_then_b, b_then_a)
    assert coverage.route_coverage(p, [0, 1, 3, 4]) == pytest.approx(a_then_b)
    assert coverage.route_coverage(p, [0, 3, 1, 4]) == pytest.approx(b_then_a)
    for name in EXACT + HEURISTIC:
        res = solve(p, name, time_limit=10)
        assert res.objective == pytest.approx(best, abs=1e-9), name
        assert check(p, res.solution).ok


def test_time_to_target_takes_the_fastest_route_that_reaches_it():
    """Target 0.6 needs b and one A node: two customers, completion 30; one node never suffices."""
    p = two_labels(objective="min_time_to_target", target=0.6, deadline=100.0)
    assert 0.5 * g(2.0) < 0.6 < 0.5 * g(2.0) + 0.5 * g(1.6)
    for name in EXACT + HEURISTIC:
        res = solve(p, name, time_limit=10)
        assert res.objective == pytest.approx(30.0), name
        assert check(p, res.solution).ok, name
        if name in EXACT:
            assert res.status.value == "optimal", name


@pytest.mark.parametrize("name", EXACT + HEURISTIC)
def test_infeasible_target(name):
    """A target above every node's coverage is infeasible for everyone; one that only misses
    the deadline is proved infeasible by the exact solvers."""
    p = two_labels(objective="min_time_to_target", target=0.99)
    res = solve(p, name, time_limit=10)
    assert res.status.value == "infeasible"
    assert "target" in res.message
    tight = two_labels(objective="min_time_to_target", target=0.6, deadline=25.0)
    res = solve(tight, name, time_limit=10)
    assert res.status.value == ("infeasible" if name in EXACT else "no_solution")


# -- brute force on random instances ------------------------------------------------------------
def random_problem(seed: int, objective: str, windows: bool) -> Problem:
    rng = np.random.default_rng(seed)
    n = 7
    xy = rng.integers(0, 20, size=(n, 2))
    travel = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    service = rng.integers(1, 5, size=n).astype(float)
    service[[0, n - 1]] = 0.0
    mass = rng.integers(0, 12, size=(n, 3)).astype(float)
    mass[[0, n - 1]] = 0.0
    mass[rng.random((n, 3)) < 0.4] = 0.0
    extra: dict = {}
    if windows:
        opens = rng.integers(0, 20, size=n).astype(float)
        opens[[0, n - 1]] = 0.0
        extra = dict(window_open=opens, window_close=opens + rng.integers(10, 40, size=n))
        extra["window_close"][[0, n - 1]] = 1000.0
    p = Problem(
        ids=[f"v{i}" for i in range(n)],
        start=0,
        end=n - 1,
        travel=travel,
        service=service,
        utility=mass.sum(axis=1),
        deadline=float(rng.integers(45, 75)),
        label_mass=mass,
        coverage_scale=np.maximum(mass.sum(axis=0) / 3.0, 1.0),
        recency=0.7,
        objective="max_coverage",
        **extra,
    )
    if objective == "min_time_to_target":
        best = brute_force(p)[0]
        return p.replace(objective=objective, target=0.8 * best)
    return p.replace(objective=objective)


def brute_force(p: Problem) -> tuple[float, int]:
    """Best objective over every ordered subset of customers (checked routes only)."""
    cust = p.customers.tolist()
    best = math.inf if p.sense == "min" else -math.inf
    count = 0
    for k in range(len(cust) + 1):
        for perm in itertools.permutations(cust, k):
            route = {"routes": [[p.ids[v] for v in (p.start, *perm, p.end)]]}
            report = check(p, route)
            if not report.ok:
                continue
            count += 1
            value = report.objective
            best = min(best, value) if p.sense == "min" else max(best, value)
    return best, count


CASES = [(seed, obj, seed % 2 == 1) for seed in range(4) for obj in OBJECTIVES]


@pytest.mark.parametrize(("seed", "objective", "windows"), CASES)
def test_exact_solvers_match_brute_force(seed, objective, windows):
    """Both exact solvers prove the enumerated optimum; bounds lie on the correct side."""
    p = random_problem(seed, objective, windows)
    best, count = brute_force(p)
    assert count > 1
    for name in EXACT:
        res = solve(p, name, time_limit=20, seed=seed)
        assert res.status.value == "optimal", (name, res.message)
        assert res.objective == pytest.approx(best, abs=1e-6), name
        assert res.gap is not None and res.gap <= 1e-6
        if p.sense == "max":
            assert res.bound >= res.objective - 1e-9
        else:
            assert res.bound <= res.objective + 1e-9
        report = check(p, res.solution)
        assert report.ok, (name, report.violations)
        assert report.objective == pytest.approx(res.objective, abs=1e-9)
    for name in HEURISTIC:
        res = solve(p, name, time_limit=5, seed=seed)
        assert res.status.value == "feasible", name
        assert check(p, res.solution).ok, name
        assert res.objective == pytest.approx(check(p, res.solution).objective, abs=1e-9)
        if p.sense == "max":
            assert res.objective <= best + 1e-9
        else:
            assert res.objective >= best - 1e-9


def test_same_seed_same_route():
    p = random_problem(3, "max_recency_coverage", windows=True)
    runs = [solve(p, "coverage-ils", time_limit=5, seed=7).solution["routes"] for _ in range(2)]
    assert runs[0] == runs[1]


# -- fields, validation and support --------------------------------------------------------------
def test_from_view_sets_the_coverage_fields():
    """Mass = counts x (2q - 1)^2 x 0.5^(age / 365) for two labels; scale a third of the total."""
    from pathlib import Path

    from daitn_opt.drrt.instance import load_instance
    from daitn_opt.drrt.view import view
    from daitn_opt.mtrce import from_view

    inst = load_instance(Path(__file__).parents[2] / "instances" / "healthcare-small.json")
    v = view(inst, "r1")
    p = from_view(v)
    q = np.divide(v.utility, v.samples, out=np.zeros(v.n), where=v.samples > 0)
    factor = (2 * q - 1) ** 2 * 0.5 ** (v.age_days / 365.0)
    np.testing.assert_allclose(p.label_mass, v.label_counts * factor[:, None])
    np.testing.assert_allclose(p.coverage_scale, p.label_mass.sum(axis=0) / 3.0)
    assert p.target == pytest.approx(0.75 * coverage.max_coverage_bound(p))
    assert coverage.quality_weight(np.array([0.5, 1.0]), 3).tolist() == [0.0625, 1.0]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (dict(label_mass=np.zeros((4, 2))), "label_mass"),
        (dict(label_mass=-np.ones((5, 2))), "label_mass"),
        (dict(coverage_scale=np.array([5.0, 0.0])), "coverage_scale"),
        (dict(coverage_scale=np.array([5.0])), "coverage_scale"),
        (dict(recency=0.0), "recency"),
        (dict(coverage_breaks=np.array([0.0, 2.0, 1.0])), "coverage_breaks"),
        (dict(objective="min_time_to_target", target=None), "target"),
        (dict(label_mass=None), "label_mass"),
        (dict(objective="max_happiness"), "objective"),
    ],
)
def test_bad_fields_are_rejected(changes, field):
    with pytest.raises(InputError) as err:
        two_labels(**changes)
    assert err.value.field == field


def test_old_objectives_are_not_supported():
    with pytest.raises(UnsupportedError, match="not a coverage objective"):
        solve(two_labels(objective="max_utility"), "coverage-highs")


def test_the_package_checker_dispatches_on_the_objective():
    """``daitn_opt.mtrce.check`` recomputes coverage for coverage objectives, utility otherwise."""
    from daitn_opt.mtrce import check as package_check

    route = {"routes": [["s", "a1", "b", "e"]]}
    p = two_labels()
    assert package_check(p, route).objective == pytest.approx(0.5 * g(2.0) + 0.5 * g(1.6))
    assert package_check(p.replace(objective="max_utility"), route).objective == 18.0
