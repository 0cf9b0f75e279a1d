"""Reduced-cost fixing of ``highs`` (:func:`daitn_opt.mtrce.milp_cuts.reduced_cost_fixing`)
never cuts off an optimum: from a weaker incumbent, no column of a better (optimal) route is
fixed, and the solver with fixing proves the same optimum as without, on Chao, Tsiligirides and
random orienteering instances (every route through the checker)."""

from __future__ import annotations

from pathlib import Path

import highspy
import numpy as np
import pytest

from daitn_opt.drrt.converters import convert
from daitn_opt.mtrce import Problem, check, from_instance
from daitn_opt.mtrce import milp_cuts as mc
from daitn_opt.mtrce.milp import HighsParams, build_model
from daitn_opt.mtrce.milp_columns import column_values
from daitn_opt.registry import SolveOptions, solve
from daitn_opt.result import Status

OP = Path(__file__).resolve().parents[2] / "instances" / "classic" / "op"


def _random_op(seed: int, n: int = 18, path: bool = False) -> Problem:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (n, 2))
    travel = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    utility = rng.integers(1, 10, n).astype(float)
    utility[0] = 0.0
    end = n - 1 if path else 0
    utility[end] = 0.0
    return Problem(
        ids=[f"p{i}" for i in range(n)],
        travel=travel,
        utility=utility,
        service=np.zeros(n),
        start=0,
        end=end,
        deadline=float(travel[0, end] + 160.0),
    )


def _tsiligirides(budget: int) -> Problem:
    path = OP / "tsiligirides_1" / f"tsiligirides_problem_1_budget_{budget:02d}.txt"
    return from_instance(convert("op", path))


def _chao64(budget: str) -> Problem:
    return from_instance(convert("op", OP / "chao_set_64" / f"set_64_1_{budget}.txt"))


def root_loop(problem: Problem, routes=None, claim=None):
    """The root cutting-plane loop (with reduced-cost fixing) on a fresh HiGHS: ``routes`` are
    offered as the incumbent first, ``claim`` then replaces its value. Returns
    ``(h, run, model)``."""
    model = build_model(problem)
    run = mc.CutRun(model, SolveOptions(time_limit=60.0, params=HighsParams(rc_fixing=True)))
    if routes is not None:
        assert run.offer(routes)
    if claim is not None:
        run.best_value = claim
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    mc.pass_model(h, model)
    mc.lp_phase(h, run, 300)
    return h, run, model


def _plain(problem: Problem):
    result = solve(problem, "highs", time_limit=60, seed=0, rc_fixing=False)
    assert result.status == Status.OPTIMAL and check(problem, result.solution).ok
    return result


def _index_routes(problem: Problem, result) -> list[list[int]]:
    ids = {v: i for i, v in enumerate(problem.ids)}
    return [[ids[v] for v in r] for r in result.solution["routes"]]


def _weak_route(problem: Problem) -> list[int]:
    """A feasible route of few customers: the nearest customer alone (or the empty route)."""
    s, e = problem.start, problem.end
    best = None
    for i in problem.customers[np.argsort(problem.travel[s, problem.customers])]:
        if problem.travel[s, i] + problem.travel[i, e] <= problem.deadline:
            best = [s, int(i), e]
            break
    return best or [s, e]


CASES = [
    pytest.param(lambda: _chao64("15"), id="chao64-15", marks=pytest.mark.slow),
    pytest.param(lambda: _tsiligirides(15), id="tsiligirides1-15"),
    *(pytest.param(lambda s=s: _random_op(s, path=s % 2 == 1), id=f"random-{s}") for s in range(6)),
]


@pytest.mark.parametrize("make", CASES)
def test_fixing_from_a_weak_incumbent_keeps_every_column_of_the_optimum(make):
    problem = make()
    optimum = _plain(problem)
    # the tightest claim the fixing may act on: "a route one objective step (1, or the gcd of
    # the scores) below the optimum is known"; every column of the optimal route must survive it
    step = build_model(problem).objective_step
    _, _, model = root_loop(problem, [_weak_route(problem)], optimum.objective - step)
    best = column_values(model, _index_routes(problem, optimum))
    used = np.flatnonzero(best[: model.num_arc + int((model.y_col >= 0).sum())] > 0.5)
    assert np.all(model.upper[used] > 0.5)


@pytest.mark.parametrize("make", CASES)
def test_the_solver_with_fixing_proves_the_same_optimum(make):
    problem = make()
    plain = _plain(problem)
    fixed = solve(problem, "highs", time_limit=60, seed=0, rc_fixing=True)
    assert fixed.status == Status.OPTIMAL and check(problem, fixed.solution).ok
    assert fixed.objective == pytest.approx(plain.objective)


@pytest.mark.slow
def test_fixing_fixes_columns_once_the_incumbent_is_optimal():
    """With the optimum as the incumbent the LP's reduced costs exclude many edges (Chao 64,
    budget 15, optimum 96)."""
    problem = _chao64("15")
    optimum = _plain(problem)
    _, run, model = root_loop(problem, _index_routes(problem, optimum))
    assert run.stats.get("rc_fixed", 0) > model.num_arc // 2
    assert run.bound >= optimum.objective
