"""``optw-dp`` (exact OPTW by DSSR dynamic programming): its optimum equals an enumeration of
every elementary route on small random instances (seeded), every route passes the independent
checker, and it refuses the variants it does not model."""

from __future__ import annotations

import numpy as np
import pytest

from daitn_opt.mtrce import check
from daitn_opt.mtrce.problem import Problem
from daitn_opt.registry import solve, solvers
from daitn_opt.result import Status
from tests.mtrce import hand_instances as hand


def _random_optw(
    seed: int,
    customers: int = 8,
    *,
    split_end: bool = False,
    asymmetric: bool = False,
    real_scores: bool = False,
    zero_service: bool = False,
) -> Problem:
    """Solomon-like: points in a 50 x 50 square, distances truncated to one decimal (so the
    triangle inequality may fail), service 0-10, windows of random width, integer scores."""
    rng = np.random.default_rng(seed)
    n = customers + (2 if split_end else 1)
    xy = rng.uniform(0, 50, size=(n, 2))
    travel = np.floor(10 * np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))) / 10
    if asymmetric:
        travel = travel * rng.uniform(0.8, 1.2, size=(n, n))
        np.fill_diagonal(travel, 0.0)
    service = np.zeros(n) if zero_service else rng.integers(0, 11, size=n).astype(float)
    service[0] = 0.0
    horizon = 200.0
    opens = rng.uniform(0, 120, size=n)
    widths = rng.choice([10.0, 30.0, 80.0, 200.0], size=n)
    a, b = opens, np.minimum(opens + widths, horizon)
    a[0], b[0] = 0.0, horizon
    if split_end:
        a[-1], b[-1] = 0.0, horizon
    utility = (
        rng.uniform(1, 20, size=n).round(3) if real_scores else rng.integers(1, 21, n).astype(float)
    )
    utility[0] = 0.0
    return Problem(
        ids=[f"v{i}" for i in range(n)],
        start=0,
        end=n - 1 if split_end else 0,
        travel=travel,
        service=service,
        utility=utility,
        window_open=a,
        window_close=b,
        deadline=horizon,
    )


def _enumerate(problem: Problem) -> float:
    """The best score over every elementary route (depth-first, windows checked on the way)."""
    t, d, u = problem.travel, problem.service, problem.utility
    a, b = problem.window_open, problem.window_close
    s, e = problem.start, problem.end
    customers = [v for v in range(problem.n) if v not in (s, e)]
    base = u[s] + (u[e] if e != s else 0.0)
    best = -np.inf

    def finish(node: int, start: float) -> bool:
        arrival = start + d[node] + t[node, e]
        begin = max(arrival, a[e])
        return (
            begin <= b[e] + 1e-6 and begin + d[e] + problem.verify_time <= problem.deadline + 1e-6
        )

    def dfs(node: int, start: float, score: float, seen: frozenset) -> None:
        nonlocal best
        if finish(node, start):
            best = max(best, score)
        for j in customers:
            if j in seen:
                continue
            begin = max(start + d[node] + t[node, j], a[j])
            if begin <= b[j] + 1e-6:
                dfs(j, begin, score + u[j], seen | {j})

    dfs(s, max(0.0, a[s]), base, frozenset())
    return best


CASES = [
    pytest.param(seed, kw, id=f"{seed}-{'-'.join(kw) or 'plain'}")
    for seed, kw in [
        (1, {}),
        (2, {}),
        (3, {"split_end": True}),
        (4, {"asymmetric": True}),
        (5, {"real_scores": True}),
        (6, {"zero_service": True}),
        (7, {"split_end": True, "asymmetric": True}),
        (8, {}),
    ]
]


@pytest.mark.parametrize(("seed", "kw"), CASES)
@pytest.mark.parametrize("warm", ["ils", None])
def test_optimum_equals_enumeration(seed, kw, warm):
    problem = _random_optw(seed, **{k: True for k in kw})
    expected = _enumerate(problem)
    result = solve(problem, "optw-dp", time_limit=20.0, seed=0, warm_start_solver=warm)
    assert result.status is Status.OPTIMAL, result.summary()
    assert result.objective == pytest.approx(expected), result.summary()
    assert check(problem, result.solution).ok


def test_search_alone_finds_the_optimum_of_the_hand_optw():
    problem, optimum = hand.optw5()
    result = solve(problem, "optw-dp", time_limit=10.0, warm_start_solver=None)
    assert result.status is Status.OPTIMAL
    assert result.objective == optimum
    assert check(problem, result.solution).ok


def test_dssr_grows_the_critical_set_when_the_relaxation_repeats_customers():
    """Zero service and long windows let the relaxed route go back and forth: DSSR must add
    critical customers and still end at the enumerated optimum."""
    problem = _random_optw(11, customers=9, zero_service=True)
    result = solve(problem, "optw-dp", time_limit=20.0, seed=0, warm_start_solver=None)
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(_enumerate(problem))
    assert result.stats["theta"] >= 0


@pytest.mark.parametrize(
    ("case", "words"),
    [
        (hand.top6, "routes"),
        (hand.budget4, "budget"),
        (hand.mandatory5, "mandatory"),
        (hand.tsp5, "min_time"),
    ],
)
def test_refuses_what_it_does_not_model(case, words):
    problem = case()[0]
    spec = solvers("mtrce")["mtrce"]["optw-dp"]
    reason = spec.supports(problem)
    assert reason is not None and words in reason
