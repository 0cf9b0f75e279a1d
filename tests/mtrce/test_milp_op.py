"""Orienteering proofs of the ``highs`` branch-and-cut: the path cuts, the covers, the optima.

The Chao (1996) values used here are proven optima (Fischetti, Salazar-Gonzalez and Toth 1998;
``instances/classic/README.md``).
"""

from __future__ import annotations

from pathlib import Path

import highspy
import numpy as np
import pytest

from daitn_opt.drrt.converters import convert
from daitn_opt.mtrce import Problem, check, from_instance
from daitn_opt.mtrce import milp_cuts as mc
from daitn_opt.mtrce.milp import HighsParams, build_model
from daitn_opt.mtrce.op_cuts import CoverCut, count_cuts, cover_cuts, most_visits
from daitn_opt.registry import SolveOptions, solve
from daitn_opt.result import Status

OP = Path(__file__).resolve().parents[2] / "instances" / "classic" / "op"


def _chao(s: str, budget: str, proven: bool = True) -> tuple[Problem, float]:
    instance = convert("op", OP / f"chao_set_{s}" / f"set_{s}_1_{budget}.txt")
    assert instance.benchmark.proven_optimal == proven
    return from_instance(instance), float(instance.benchmark.best_known)


def _root_bound(problem: Problem) -> float:
    """The bound of the root cutting-plane loop on the LP (no branching)."""
    model = build_model(problem)
    run = mc.CutRun(model, SolveOptions(time_limit=60.0, params=HighsParams()))
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    mc.pass_model(h, model)
    mc.lp_phase(h, run, 300)
    return run.bound


def test_a_path_gets_the_depot_logical_rows_and_a_tour_does_not():
    problem, _ = _chao("64", "15")
    assert problem.start != problem.end
    blocks = [b[0] for b in build_model(problem).blocks]
    assert "depot_logical" in blocks
    tour = problem.replace(end=problem.start)
    assert "depot_logical" not in [b[0] for b in build_model(tour).blocks]


def test_count_cuts_bound_the_far_customers_of_chao_66_budget_20():
    """Chao 66, budget 20: the LP's cycle of 36 border customers at y = 0.29 (sum 10.3) is cut:
    no route within the budget reaches more than a few of them."""
    problem, _ = _chao("66", "020", proven=False)
    model = build_model(problem)
    far = np.flatnonzero(
        np.minimum(model.shortest[problem.start], model.shortest[:, problem.end]) >= 6.0
    )
    far = far[np.isin(far, problem.customers)]
    most = most_visits(model, far)
    assert 1 <= most <= 5
    y = np.zeros(problem.n)
    y[far] = 0.29
    cuts = count_cuts(model, y)
    assert cuts and cuts[0].most < 0.29 * len(far)
    idx, val, lo, _ = cuts[0].row(model)
    assert list(idx) == list(model.y_col[list(cuts[0].nodes)])
    assert np.dot(val, y[list(cuts[0].nodes)]) < lo


def test_path_cuts_close_most_of_the_root_gap_of_chao_64_budget_15():
    """Merged start and end gave a root bound of 149.2 (158.6 without the depot rows); the
    unmerged cuts give 103.6 over the optimum 96."""
    problem, optimum = _chao("64", "15")
    bound = _root_bound(problem)
    assert optimum - 1e-6 <= bound <= 110.0


def test_cuts_with_the_end_inside_are_valid_for_the_optimal_route():
    """Every cut the LP loop added holds at the optimal route's columns."""
    problem, optimum = _chao("64", "15")
    model = build_model(problem)
    run = mc.CutRun(model, SolveOptions(time_limit=60.0, params=HighsParams()))
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    mc.pass_model(h, model)
    mc.lp_phase(h, run, 300)
    with_end = [k for k in run.cut_keys if isinstance(k[0], tuple) and problem.end in k[0]]
    assert with_end  # the unmerged separation did cut sets holding the end
    result = solve(problem, "highs", time_limit=60.0, seed=0)
    assert result.objective == pytest.approx(optimum)
    x = mc.column_values(model, [[problem.ids.index(i) for i in result.solution["routes"][0]]])
    start, index, value = model.csr()
    lhs = np.add.reduceat(value * x[index], start[:-1])
    assert np.all(lhs >= np.asarray(model.row_lower) - 1e-6)
    assert np.all(lhs <= np.asarray(model.row_upper) + 1e-6)


def test_cover_cuts_find_a_triple_no_route_can_visit_and_none_when_the_budget_allows():
    xs = np.array([0.0, 4.0, -4.0, 3.0])
    travel = np.abs(xs[:, None] - xs[None, :])
    kw = dict(ids=list("sabc"), travel=travel, utility=np.ones(4), service=np.zeros(4))
    tight = build_model(Problem(**kw, start=0, end=0, deadline=10.0))
    y = np.array([1.0, 0.9, 0.9, 0.9])
    assert cover_cuts(tight, y) == [CoverCut((1, 2, 3))]
    idx, val, lo, _ = CoverCut((1, 2, 3)).row(tight)
    assert list(idx) == list(tight.y_col[[1, 2, 3]])
    assert np.dot(val, y[[1, 2, 3]]) < lo  # the point violates the row
    loose = build_model(Problem(**kw, start=0, end=0, deadline=16.0))
    assert cover_cuts(loose, y) == []
    assert cover_cuts(tight, np.array([1.0, 0.6, 0.6, 0.6])) == []  # sum 1.8 <= 2


@pytest.mark.parametrize(
    ("s", "budget"),
    [pytest.param("64", "15", marks=pytest.mark.slow), ("64", "80"), ("66", "010")],
)
def test_chao_instances_are_proved_at_the_published_optimum(s, budget):
    problem, optimum = _chao(s, budget)
    result = solve(problem, "highs", time_limit=60.0, seed=0)
    assert check(problem, result.solution).ok
    assert result.status == Status.OPTIMAL
    assert result.objective == pytest.approx(optimum, abs=1e-9)
    assert result.bound == pytest.approx(optimum, abs=1e-6)


def _renumbered(problem: Problem, seed: int) -> Problem:
    """The same problem with its nodes in a seeded random order."""
    order = np.random.default_rng(seed).permutation(problem.n)
    where = np.argsort(order)  # old index -> new index
    return Problem(
        ids=[problem.ids[i] for i in order],
        travel=problem.travel[np.ix_(order, order)],
        utility=problem.utility[order],
        service=problem.service[order],
        start=int(where[problem.start]),
        end=int(where[problem.end]),
        deadline=problem.deadline,
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_a_renumbered_copy_has_the_same_proved_optimum(seed):
    """Tsiligirides set 1, budget 15 (optimum 45) with its nodes shuffled."""
    instance = convert("op", OP / "tsiligirides_1" / "tsiligirides_problem_1_budget_15.txt")
    problem = _renumbered(from_instance(instance), seed)
    result = solve(problem, "highs", time_limit=60.0, seed=0)
    assert check(problem, result.solution).ok
    assert result.status == Status.OPTIMAL
    assert result.objective == pytest.approx(45.0)
