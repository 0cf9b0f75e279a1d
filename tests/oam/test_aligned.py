"""OAM's time-to-target planner: estimates enter the outcome model, the scale stays, routes move."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from daitn_opt import mtrce
from daitn_opt.errors import InputError
from daitn_opt.mtrce.calibration import OutcomeModel, basis_of
from daitn_opt.mtrce.plan import Arrays, RouteTimes
from daitn_opt.mtrce.problem import EXPECTED_TIME
from daitn_opt.oam import (
    AlignedPlanner,
    estimated_basis,
    model_with_estimates,
    prior_estimates,
    run_oam,
)
from daitn_opt.registry import solve

torch.set_num_threads(1)
TASK = "breast-cancer"


@pytest.fixture(scope="module")
def model(healthcare_small) -> OutcomeModel:
    # hand parameters (no pilot replays): gamma 2, order-blind, acc = 0.6 + 0.35 C, target 0.9
    return OutcomeModel(basis_of(healthcare_small, "r1"), 0.1, 1.0, 2.0, 0.6, 0.35, 0.9)


def test_estimated_basis_changes_only_observed_rows(healthcare_small, model) -> None:
    est = prior_estimates(healthcare_small, "r1")
    b = model.basis
    same = estimated_basis(b, est, TASK)
    assert np.array_equal(same.counts, b.counts) and np.array_equal(same.quality, b.quality)
    k = b.index("h07")
    rep = est.get("h07", TASK)
    est.observe("h07", TASK, samples=rep.reported_samples / 2, quality=0.5)
    moved = estimated_basis(b, est, TASK)
    e = est.get("h07", TASK)
    assert np.allclose(moved.counts[k], b.counts[k] * e.samples / e.reported_samples)
    assert moved.quality[k] == pytest.approx(e.quality)
    others = np.arange(len(b.ids)) != k
    assert np.array_equal(moved.counts[others], b.counts[others])
    assert np.array_equal(moved.quality[others], b.quality[others])


def test_the_label_scale_is_the_reported_one(healthcare_small, model) -> None:
    est = prior_estimates(healthcare_small, "r1")
    est.observe("h07", TASK, quality=0.0)
    m = model_with_estimates(model, est, TASK)
    assert np.array_equal(m.scale(), model.scale())
    # the estimated basis alone would shrink the scale (h07's mass left the eligible total)
    assert (OutcomeModel(m.basis, 0.1, 1.0, 2.0, 0.6, 0.35, 0.9).scale() < model.scale()).any()
    k = model.basis.index("h07")
    assert m.predict([k]) < model.predict([k])


def test_the_planner_is_the_registered_anytime_solver(healthcare_small, model) -> None:
    planner = AlignedPlanner(model, time_limit=2)
    problem = mtrce.from_instance(healthcare_small, "r1")
    est = prior_estimates(healthcare_small, "r1")
    got = planner(est.apply(problem, TASK), est, TASK)
    direct = solve(model.apply(problem, EXPECTED_TIME), "anytime-ils", time_limit=2, seed=0)
    assert got.route == list(direct.solution["routes"][0])
    assert got.info["expected_time"] == pytest.approx(direct.objective)
    idx = [problem.ids.index(n) for n in got.route]
    assert RouteTimes(Arrays.of(problem), idx).feasible
    assert 1 <= got.info["prefix"] <= len(got.route) - 2


def test_a_measured_liar_leaves_the_plan(healthcare_small, model) -> None:
    planner = AlignedPlanner(model, time_limit=2)
    problem = mtrce.from_instance(healthcare_small, "r1")
    est = prior_estimates(healthcare_small, "r1")
    first = planner(est.apply(problem, TASK), est, TASK)
    liar = first.route[1]
    for _ in range(3):  # three measurements of random labels
        est.observe(liar, TASK, quality=0.5)
    again = planner(est.apply(problem, TASK), est, TASK)
    assert liar not in again.route[: again.info["prefix"] + 1]
    assert again.objective is not None and again.objective > 0


def test_planner_needs_a_target(healthcare_small, model) -> None:
    no_target = OutcomeModel(model.basis, 0.1, 1.0, 2.0, 0.6, 0.35)
    with pytest.raises(InputError, match="model"):
        AlignedPlanner(no_target)


def test_loop_with_the_planner_records_its_rounds(healthcare_small, model) -> None:
    planner = AlignedPlanner(model, time_limit=2)
    result = run_oam(healthcare_small, "r1", rounds=2, seed=1, planner=planner)
    assert [r.round for r in result.rounds] == [0, 1]
    for r in result.rounds:
        assert r.info["prefix"] >= 1 and r.route[0] == "owner" and r.route[-1] == "mpvu"
        assert r.to_dict()["planner"] == r.info
    visited = {h.node for r in result.rounds for h in r.hops}
    assert all(result.estimates.get(n, TASK).quality_count >= 1 for n in visited)


def test_extension_keeps_the_prefix_and_stays_feasible(healthcare_small, model) -> None:
    from daitn_opt.oam import extend_route

    problem = mtrce.from_instance(healthcare_small, "r1")
    prefix = [problem.start, problem.ids.index("h02"), problem.end]
    route = extend_route(problem, prefix, model)
    assert route[:2] == prefix[:2] and route[-1] == problem.end
    assert len(route) > len(prefix)
    assert RouteTimes(Arrays.of(problem), route).feasible
    trained = model.trained(problem, route)
    assert model.coverage(trained) > model.coverage(model.trained(problem, prefix))


def test_a_coverage_solver_plans_time_to_target_then_extends(healthcare_small, model) -> None:
    planner = AlignedPlanner(model, solver="coverage-greedy", time_limit=5)
    problem = mtrce.from_instance(healthcare_small, "r1")
    est = prior_estimates(healthcare_small, "r1")
    got = planner(est.apply(problem, TASK), est, TASK)
    assert not got.info["fallback"] and got.objective is not None
    assert len(got.route) - 2 >= got.info["prefix"] >= 1
    # a + b = 0.95 < 0.99: no route reaches the target in the model: the most accuracy
    high = OutcomeModel(model.basis, 0.1, 1.0, 2.0, 0.6, 0.35, 0.99)
    far = AlignedPlanner(high, solver="coverage-greedy", time_limit=5)(problem, est, TASK)
    assert far.info["fallback"] and far.objective is None and len(far.route) > 2
