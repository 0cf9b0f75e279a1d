"""OAM: the update rule, the estimates store, apply(), and a short deterministic loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from daitn_opt import mtrce
from daitn_opt.errors import InputError
from daitn_opt.oam import (
    UtilityEstimates,
    misreport,
    prior_estimates,
    quality_from_agreement,
    quality_variance,
    run_oam,
    shrink,
)
from tests.oam.helpers import with_true_quality

torch.set_num_threads(1)
TASK = "breast-cancer"


def test_update_rule_on_hand_numbers() -> None:
    est = UtilityEstimates(prior_sd=1.0, floor_sd=0.0)
    e = est.ensure("h1", TASK, samples=40, quality=0.9, trust=0.96)
    # prior variance 1.0^2 * (1 - 0.96) = 0.04 (quality), (40 * 0.2)^2 = 64 (samples)
    assert e.quality_var == pytest.approx(0.04) and e.samples_var == pytest.approx(64.0)
    # a measurement of variance 0.01: gain 0.04 / 0.05 = 0.8
    e = est.observe("h1", TASK, quality=0.5, quality_var=0.01)
    assert e.quality == pytest.approx(0.9 - 0.8 * 0.4) and e.quality_var == pytest.approx(0.008)
    # a second one of variance 0.04 lands on the precision-weighted mean of all three
    e = est.observe("h1", TASK, quality=0.6, quality_var=0.04)
    mean = (0.9 / 0.04 + 0.5 / 0.01 + 0.6 / 0.04) / (1 / 0.04 + 1 / 0.01 + 1 / 0.04)
    assert e.quality == pytest.approx(mean)
    assert e.quality_var == pytest.approx(1 / (1 / 0.04 + 1 / 0.01 + 1 / 0.04))
    # an exact sample count replaces the report
    e = est.observe("h1", TASK, samples=20)
    assert e.samples == 20.0 and e.samples_var == 0.0
    assert (e.samples_count, e.quality_count) == (1, 2)
    assert e.utility == pytest.approx(20.0 * mean)
    # a trusted report moves less than a distrusted one under the same measurement
    est.ensure("h2", TASK, 40, 0.9, trust=0.99)
    est.ensure("h3", TASK, 40, 0.9, trust=0.5)
    low = est.observe("h2", TASK, quality=0.5, quality_var=0.02).quality
    high = est.observe("h3", TASK, quality=0.5, quality_var=0.02).quality
    assert 0.5 < high < low < 0.9
    assert shrink(1.0, 0.0, 0.0, 0.5) == (1.0, 0.0)  # a certain estimate does not move


def test_quality_variance_shrinks_with_samples() -> None:
    few = quality_variance(0.8, 4, 0.9, 0.1, 2)
    many = quality_variance(0.8, 40, 0.9, 0.1, 2)
    assert many < few
    # binomial part alone: g~ = (40 * 0.8 + 1) / 42, / (a - c)^2
    g = 33 / 42
    assert quality_variance(0.8, 40, 0.9, 0.1, 2, shift_sd=0.0) == pytest.approx(
        g * (1 - g) / 40 / 0.64
    )
    assert quality_variance(0.8, 40, 0.9, 0.1, 2, accuracy_var=0.001, shift_sd=0.0) > (
        g * (1 - g) / 40 / 0.64
    )
    assert math.isinf(quality_variance(0.8, 0, 0.9, 0.1, 2))


def test_quality_from_agreement() -> None:
    # binary, a = 0.9, c = 0.1: g = 0.1 + q * 0.8
    assert quality_from_agreement(0.1 + 0.6 * 0.8, 0.9, 2) == pytest.approx(0.6)
    assert quality_from_agreement(0.99, 0.9, 2) == 1.0
    assert quality_from_agreement(0.8, 0.6, 2, min_accuracy=0.7) is None


def test_bad_input_names_the_field() -> None:
    with pytest.raises(InputError, match="prior_sd"):
        UtilityEstimates(prior_sd=-1.0)
    est = UtilityEstimates()
    est.ensure("h1", TASK, 10, 0.9)
    with pytest.raises(InputError, match="quality"):
        est.observe("h1", TASK, quality=1.5)
    with pytest.raises(InputError, match="quality_var"):
        est.observe("h1", TASK, quality=0.5, quality_var=-1.0)
    with pytest.raises(InputError, match="trust"):
        est.ensure("h2", TASK, 10, 0.9, trust=1.5)
    with pytest.raises(InputError, match="node"):
        est.observe("h9", TASK, samples=3)
    with pytest.raises(InputError, match="format"):
        UtilityEstimates.from_json('{"format": "other"}')


def test_json_round_trip_is_exact_and_deterministic() -> None:
    est = UtilityEstimates(prior_sd=0.7, floor_sd=0.05)
    est.ensure("h2", TASK, 12, 0.8)
    est.ensure("h1", TASK, 40, 0.9, trust=0.9)
    est.observe("h1", TASK, samples=33, quality=0.123456789, quality_var=0.0123)
    text = est.to_json()
    back = UtilityEstimates.from_json(text)
    assert back.to_json() == text
    assert back.get("h1", TASK) == est.get("h1", TASK)
    assert math.isnan(back.get("h2", TASK).last_quality)
    assert [r["node"] for r in back.to_dict()["estimates"]] == ["h1", "h2"]


def test_apply_changes_only_utilities(healthcare_small) -> None:
    problem = mtrce.from_instance(healthcare_small, "r1")
    est = prior_estimates(healthcare_small, "r1")
    same = est.apply(problem, TASK)
    assert np.array_equal(same.utility, problem.utility)  # no observation: the report stands
    node = problem.ids[int(np.argmax(problem.utility))]
    k = problem.ids.index(node)
    est.observe(node, TASK, quality=0.5)
    reported = est.get(node, TASK)
    changed = est.apply(problem, TASK)
    assert changed.utility[k] < problem.utility[k]
    assert changed.utility[k] == pytest.approx(reported.reported_samples * 0.5)  # exact
    others = np.arange(problem.n) != k
    assert np.array_equal(changed.utility[others], problem.utility[others])
    assert changed.label_mass[k].sum() < problem.label_mass[k].sum()
    assert np.array_equal(changed.label_mass[others], problem.label_mass[others])
    for name in ("travel", "service", "coverage_scale"):
        assert np.array_equal(getattr(changed, name), getattr(problem, name))
    assert (changed.objective, changed.deadline, changed.ids) == (
        problem.objective,
        problem.deadline,
        problem.ids,
    )


def _liar_truth(instance, node: str):
    return with_true_quality(instance, node, 0.5, TASK)


@pytest.fixture(scope="module")
def loop_run(healthcare_small):
    # h11 reports quality 0.878 on 45 samples; in truth half its labels are flipped.
    truth = _liar_truth(healthcare_small, "h11")
    kwargs = dict(rounds=2, solver="coverage-greedy", seed=3, objective="max_coverage", truth=truth)
    return run_oam(healthcare_small, "r1", **kwargs), kwargs, truth


def test_loop_moves_an_over_reporter_down(loop_run) -> None:
    result, _, _ = loop_run
    assert len(result.rounds) == 2
    assert "h11" in result.rounds[0].route
    h11 = result.estimates.get("h11", TASK)
    assert h11.quality_count >= 1
    assert h11.quality < h11.reported_quality - 0.1
    honest = result.estimates.get("h07", TASK)
    assert abs(honest.quality - honest.reported_quality) < 0.1
    hop = next(h for h in result.rounds[0].hops if h.node == "h11")
    assert hop.samples == 45 and hop.oort_utility > 0 and math.isfinite(hop.loss_drop)
    assert 0 < hop.quality_sd < 0.5 and math.isfinite(hop.local_loss)
    assert h11.quality_var < UtilityEstimates().prior_variance(h11.trust)


def test_loop_is_deterministic(healthcare_small, loop_run) -> None:
    result, kwargs, _ = loop_run
    again = run_oam(healthcare_small, "r1", **kwargs)
    assert again.to_dict() == result.to_dict()


def test_misreport_is_seeded_and_only_lowers(healthcare_small) -> None:
    a, lies = misreport(healthcare_small.snapshot, TASK, 7, scale=3)
    b, again = misreport(healthcare_small.snapshot, TASK, 7, scale=3)
    assert lies == again and a == b and lies
    for lie in lies:
        assert lie.true_samples <= lie.reported_samples
        assert lie.true_quality <= lie.reported_quality + 1e-12
    with pytest.raises(InputError, match="scale"):
        misreport(healthcare_small.snapshot, TASK, 0, scale=-1)


def test_run_oam_rejects_bad_rounds(healthcare_small) -> None:
    with pytest.raises(InputError, match="rounds"):
        run_oam(healthcare_small, "r1", rounds=0)
    with pytest.raises(InputError, match="request"):
        run_oam(healthcare_small, "r2", rounds=1)


def test_measuring_does_not_change_the_replay(healthcare_small) -> None:
    from daitn_opt.executor import SequentialReplay
    from daitn_opt.oam import ObservedReplay

    route = ["owner", "h07", "h02", "h11", "mpvu"]
    plain = SequentialReplay(healthcare_small, "r1", seed=2).run({"routes": [route]})
    outcome, hops = ObservedReplay(healthcare_small, "r1", seed=2).measure(route)
    assert outcome.fingerprint() == plain.fingerprint()
    assert [h.node for h in hops] == ["h07", "h02", "h11"]
    trained = [s for s in plain.trace if s.action == "train"]
    assert [h.accuracy_after for h in hops] == [s.accuracy for s in trained]


def test_apply_drops_nodes_measured_below_a_quality(healthcare_small) -> None:
    problem = mtrce.from_instance(healthcare_small, "r1").replace(objective="max_coverage")
    est = prior_estimates(healthcare_small, "r1")
    est.observe("h11", TASK, quality=0.2)  # an exact measurement: the estimate is 0.2
    est.observe("h07", TASK, quality=0.9)
    kept = est.apply(problem, TASK, drop_below=0.69)
    assert "h11" not in kept.ids and "h07" in kept.ids
    assert kept.n == problem.n - 1
    assert kept.ids[kept.start] == problem.ids[problem.start]
    assert kept.ids[kept.end] == problem.ids[problem.end]
    i, j = kept.ids.index("h07"), kept.ids.index("h02")
    a, b = problem.ids.index("h07"), problem.ids.index("h02")
    assert kept.travel[i, j] == problem.travel[a, b]
    assert np.array_equal(kept.label_mass[j], problem.label_mass[b])
    assert est.apply(problem, TASK, drop_below=0.15).n == problem.n


def test_split_holdout_is_stratified_disjoint_and_seeded(healthcare_small) -> None:
    from daitn_opt.executor import build_network_data
    from daitn_opt.oam import split_holdout

    data = build_network_data(healthcare_small.snapshot, healthcare_small.request("r1"), seed=0)
    rest, (vx, vy) = split_holdout(data, 0.5, seed=4)
    assert len(vy) + len(rest.test_y) == len(data.test_y)
    assert abs(int(vy.sum()) - int(rest.test_y.sum())) <= 1  # label 1 split evenly
    both = torch.cat([vx, rest.test_x])
    assert torch.unique(both, dim=0).shape[0] == torch.unique(data.test_x, dim=0).shape[0]
    again = split_holdout(data, 0.5, seed=4)[1]
    assert torch.equal(again[1], vy) and torch.equal(again[0], vx)
    with pytest.raises(InputError, match="validation_share"):
        split_holdout(data, 1.0, seed=0)


def test_optimistic_estimates_raise_quality_by_their_uncertainty() -> None:
    est = UtilityEstimates(prior_sd=1.0, floor_sd=0.0)
    est.ensure("h1", TASK, 40, 0.8, trust=0.91)  # prior sd 0.3
    est.ensure("h2", TASK, 40, 0.8, trust=1.0)  # certain report
    est.ensure("h3", TASK, 40, 0.5, trust=0.0)  # sd 1: capped at 1
    up = est.optimistic(0.5)
    assert up.get("h1", TASK).quality == pytest.approx(0.95)
    assert up.get("h2", TASK).quality == 0.8 and up.get("h2", TASK).is_report
    assert up.get("h3", TASK).quality == 1.0
    assert est.get("h1", TASK).quality == 0.8  # the original is untouched
    assert est.optimistic(0.0).to_json() == est.to_json()


def test_loop_plans_on_the_requests_own_outcome_model() -> None:
    """A request carrying its fitted outcome model (``min_expected_time_to_target``) is planned
    with that model: the first round's planned value is the checked expected time of its route."""
    from pathlib import Path

    from daitn_opt.drrt.instance import load_instance
    from daitn_opt.drrt.view import view as build_request_view
    from daitn_opt.mtrce.problem import from_view

    path = Path(__file__).resolve().parents[2] / "instances" / "healthcare-small-outcome.json"
    inst = load_instance(path)
    result = run_oam(inst, "r1", 1, "anytime-ils", 0, time_limit=1.0)
    first = result.rounds[0]
    assert result.objective == "min_expected_time_to_target"
    problem = from_view(build_request_view(inst, "r1"), name=inst.name, request=inst.request("r1"))
    checked = mtrce.check(problem, {"routes": [first.route]})
    assert not checked.violations
    assert first.planned_objective == pytest.approx(checked.objective, rel=1e-9)
