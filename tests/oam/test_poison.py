"""OAM against label-flipping poisoners: the ``flip`` misreport, the mixture update rule, the
planner's harm rule, and a loop that learns a poisoner is bad and stops routing to it."""

from __future__ import annotations

import math

import pytest
import torch

from daitn_opt import mtrce
from daitn_opt.errors import InputError
from daitn_opt.mtrce.calibration import OutcomeModel, basis_of
from daitn_opt.oam import (
    AlignedPlanner,
    UtilityEstimates,
    estimated_basis,
    misreport,
    mixture_posterior,
    prior_estimates,
    run_oam,
    without_harmful,
)
from tests.oam.helpers import with_true_quality

torch.set_num_threads(1)
TASK = "breast-cancer"


# -- the flip misreport -------------------------------------------------------------------------


def test_flip_liars_are_seeded_and_invert_most_labels(healthcare_small) -> None:
    snap = healthcare_small.snapshot
    a, lies = misreport(snap, TASK, 11, scale=4, kinds=("flip",), flip_range=(0.05, 0.15))
    b, again = misreport(snap, TASK, 11, scale=4, kinds=("flip",), flip_range=(0.05, 0.15))
    assert lies and lies == again and a == b
    for lie in lies:
        assert lie.kind == "flip"
        assert 0.05 - 1e-12 <= lie.true_quality <= 0.15 + 1e-12
        assert lie.true_samples == lie.reported_samples  # the data is all there, mislabelled
    other = misreport(snap, TASK, 12, scale=4, kinds=("flip",))[1]
    assert [m.node for m in other] != [m.node for m in lies]


def test_the_default_lies_are_unchanged_by_the_new_kind(healthcare_small) -> None:
    snap = healthcare_small.snapshot
    default = misreport(snap, TASK, 5, scale=4)
    explicit = misreport(
        snap, TASK, 5, scale=4, kinds=("quality", "samples"), quality_range=(0.5, 0.6)
    )
    assert default == explicit
    assert {m.kind for m in default[1]} <= {"quality", "samples"}
    # the same nodes lie in both settings: only what a label lie does differs
    poison = misreport(snap, TASK, 5, scale=4, kinds=("flip", "samples"))[1]
    assert [m.node for m in poison] == [m.node for m in default[1]]
    assert [m.kind == "samples" for m in poison] == [m.kind == "samples" for m in default[1]]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"flip_range": (0.3, 0.1)}, "flip_range"),
        ({"flip_range": (-0.1, 0.2)}, "flip_range"),
        ({"flip_range": (0.0, math.nan)}, "flip_range"),
        ({"flip_range": (0.1,)}, "flip_range"),
        ({"quality_range": (0.5, 1.5)}, "quality_range"),
        ({"kinds": ("flip", "lies")}, "kinds"),
        ({"kinds": ()}, "kinds"),
    ],
)
def test_bad_misreport_settings_name_the_field(healthcare_small, kwargs, field) -> None:
    with pytest.raises(InputError, match=field):
        misreport(healthcare_small.snapshot, TASK, 0, **kwargs)


# -- the mixture rule ---------------------------------------------------------------------------


def test_mixture_keeps_an_imprecise_honest_node_and_moves_a_clear_liar() -> None:
    # report 0.9 at trust 0.9 (prior lie probability 0.1)
    honest_mean, _, honest_lie = mixture_posterior(0.9, 0.9, 0.6, 0.3**2, 0.02)
    assert honest_lie < 0.2 and abs(honest_mean - 0.9) < 0.06
    liar_mean, _, liar_lie = mixture_posterior(0.9, 0.9, 0.1, 0.1**2, 0.02)
    assert liar_lie > 0.99 and liar_mean < 0.2
    # the Gaussian rule moves the honest node much further on the same measurement
    g = UtilityEstimates()
    g.ensure("h", TASK, 10, 0.9, trust=0.9)
    assert g.observe("h", TASK, quality=0.6, quality_var=0.09).quality < honest_mean - 0.05


def test_mixture_rule_is_order_free_and_round_trips() -> None:
    a, b = UtilityEstimates(rule="mixture"), UtilityEstimates(rule="mixture")
    for est in (a, b):
        est.ensure("h1", TASK, 20, 0.9, trust=0.8)
    obs = [(0.2, 0.04), (0.4, 0.09), (0.1, 0.02)]
    for q, v in obs:
        a.observe("h1", TASK, quality=q, quality_var=v)
    for q, v in reversed(obs):
        b.observe("h1", TASK, quality=q, quality_var=v)
    ea, eb = a.get("h1", TASK), b.get("h1", TASK)
    assert ea.quality == pytest.approx(eb.quality) and ea.lie_probability > 0.95
    assert ea.quality < 0.35
    back = UtilityEstimates.from_json(a.to_json())
    assert back.rule == "mixture" and back.to_json() == a.to_json()
    with pytest.raises(InputError, match="rule"):
        UtilityEstimates(rule="median")


def test_rows_written_before_the_mixture_rule_still_load() -> None:
    est = UtilityEstimates()
    est.ensure("h1", TASK, 20, 0.9, trust=0.8)
    doc = est.to_dict()
    del doc["rule"]
    for row in doc["estimates"]:
        for name in ("quality_precision", "quality_weighted", "lie_probability"):
            del row[name]
    back = UtilityEstimates.from_dict(doc)
    assert back.rule == "gaussian" and back.get("h1", TASK) == est.get("h1", TASK)


# -- the planner's harm rule and the loop -------------------------------------------------------


@pytest.fixture(scope="module")
def model(healthcare_small) -> OutcomeModel:
    # hand parameters (no pilot replays): gamma 2, order-blind, acc = 0.6 + 0.35 C, target 0.94
    # (a route of three hospitals)
    return OutcomeModel(basis_of(healthcare_small, "r1"), 0.1, 1.0, 2.0, 0.6, 0.35, 0.94)


def test_nodes_believed_below_chance_leave_the_problem(healthcare_small, model) -> None:
    problem = mtrce.from_instance(healthcare_small, "r1")
    est = prior_estimates(healthcare_small, "r1")
    assert without_harmful(problem, estimated_basis(model.basis, est, TASK)) == (problem, [])
    est.observe("h07", TASK, quality=0.45)  # exact: more labels wrong than right
    est.observe("h02", TASK, quality=0.55)
    kept, dropped = without_harmful(problem, estimated_basis(model.basis, est, TASK))
    assert dropped == ["h07"] and "h02" in kept.ids and kept.n == problem.n - 1
    assert kept.ids[kept.start] == problem.ids[problem.start]
    assert kept.ids[kept.end] == problem.ids[problem.end]


def _poisoned(instance, node: str):
    return with_true_quality(instance, node, 0.0, TASK)


@pytest.mark.slow
@pytest.mark.parametrize(("rule", "mix"), [("mixture", "clean"), ("gaussian", "observed")])
def test_the_loop_learns_a_poisoner_is_bad_and_stops_routing_to_it(
    healthcare_small, model, rule, mix
) -> None:
    planner = AlignedPlanner(model, time_limit=2, exclude_harmful=True)
    problem = mtrce.from_instance(healthcare_small, "r1")
    est = prior_estimates(healthcare_small, "r1")
    first = planner(est.apply(problem, TASK), est, TASK)
    assert len(first.route) >= 5
    # poison the route's last hospital: the model arriving there has trained on the others
    poisoner = first.route[-2]
    result = run_oam(
        healthcare_small,
        "r1",
        rounds=2,
        seed=3,
        planner=planner,
        truth=_poisoned(healthcare_small, poisoner),
        estimates=UtilityEstimates(rule=rule),
        label_mix=mix,
    )
    assert result.rounds[0].route == first.route  # round 0 plans on the reports
    hop = next(h for h in result.rounds[0].hops if h.node == poisoner)
    assert hop.quality is not None and hop.quality < 0.3 and hop.accuracy_gain < -0.2
    learned = result.rounds[0].estimates.get(poisoner, TASK)
    assert learned.quality < 0.4  # well below chance (0.5) and the report (0.85)
    assert poisoner not in result.rounds[1].route
    assert poisoner in result.rounds[1].info["excluded"]
    assert result.rounds[1].outcome.summary.final_accuracy > (
        result.rounds[0].outcome.summary.final_accuracy + 0.2
    )


@pytest.mark.slow
def test_a_first_hop_poisoner_is_caught_only_on_the_clean_mix(healthcare_small, model) -> None:
    """The untrained first-hop model predicts one class; on the poisoner's inverted histogram the
    observed-mix reference calls it clean, the clean-mix one sends the final model to count."""
    planner = AlignedPlanner(model, time_limit=2, exclude_harmful=True)
    problem = mtrce.from_instance(healthcare_small, "r1")
    est = prior_estimates(healthcare_small, "r1")
    poisoner = planner(est.apply(problem, TASK), est, TASK).route[1]
    truth = _poisoned(healthcare_small, poisoner)
    got = {}
    for mix in ("observed", "clean"):
        res = run_oam(healthcare_small, "r1", rounds=1, seed=3, planner=planner, truth=truth,
                      label_mix=mix)  # fmt: skip
        got[mix] = res.rounds[0].hops[0]
    assert got["observed"].quality is not None and got["observed"].quality > 0.6
    assert got["clean"].quality is not None and got["clean"].quality < 0.2
    with pytest.raises(InputError, match="label_mix"):
        run_oam(healthcare_small, "r1", rounds=1, label_mix="noisy")
