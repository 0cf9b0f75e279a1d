"""The fitted outcome model (``daitn_opt.mtrce.calibration``): recovery of known parameters on
synthetic measurements, determinism, the problem it writes, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from daitn_opt.errors import InputError
from daitn_opt.mtrce import Problem, coverage
from daitn_opt.mtrce.calibration import (
    KAPPA_GRID,
    Basis,
    Measurement,
    OutcomeModel,
    fit_measurements,
    prior_model,
)

TRUE = {"kappa": KAPPA_GRID[8], "recency": 0.6, "noise_exponent": 2.0, "a": 0.3, "b": 0.6}


def _basis(seed: int = 0, n: int = 10, labels: int = 3) -> Basis:
    """Ten nodes, three labels with skewed histograms, quality 0.55-1 (ids n0..n9; n0 is the
    start and n9 the end, both without data)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 60, size=(n, labels)).astype(float)
    counts[rng.random((n, labels)) < 0.4] = 0.0  # label skew
    counts[[0, n - 1]] = 0.0
    quality = rng.uniform(0.55, 1.0, n)
    eligible = counts.sum(axis=1) > 0
    return Basis(tuple(f"n{i}" for i in range(n)), counts, quality, np.ones(n), eligible)


def _unit_problem(basis: Basis, deadline: float) -> Problem:
    """A route problem on the basis's nodes: every hop and every visit takes 1, the first node
    is the start and the last the end (neither holds data)."""
    n = len(basis.ids)
    return Problem(
        ids=list(basis.ids),
        start=0,
        end=n - 1,
        travel=np.ones((n, n)) - np.eye(n),
        service=np.ones(n),
        utility=np.where(basis.eligible, 1.0, 0.0),
        deadline=deadline,
    )


def _synthetic(
    basis: Basis, seed: int, noise: float = 0.004, truth: OutcomeModel | None = None
) -> list[Measurement]:
    """Every prefix of 30 random orders of random node subsets, measured from the TRUE model
    (or ``truth``) plus Gaussian noise (seeded)."""
    rng = np.random.default_rng(seed)
    truth = truth or OutcomeModel(
        basis, TRUE["kappa"], TRUE["recency"], TRUE["noise_exponent"], TRUE["a"], TRUE["b"]
    )
    nodes = np.flatnonzero(basis.eligible)
    seen: dict[tuple[int, ...], float] = {(): truth.predict(())}
    for _ in range(30):
        order = rng.permutation(nodes)[: rng.integers(2, len(nodes) + 1)]
        for p in range(1, len(order) + 1):
            prefix = tuple(int(i) for i in order[:p])
            seen.setdefault(prefix, truth.predict(prefix))
    return [
        Measurement(p, float(np.clip(y + rng.normal(0, noise), 0, 1)), 5.0) for p, y in seen.items()
    ]


def test_fit_recovers_known_parameters():
    basis = _basis()
    model = fit_measurements(basis, _synthetic(basis, seed=1))
    assert model.recency == TRUE["recency"]
    assert model.noise_exponent == TRUE["noise_exponent"]
    k = KAPPA_GRID.index(model.kappa)
    assert abs(k - KAPPA_GRID.index(TRUE["kappa"])) <= 1
    assert model.intercept == pytest.approx(TRUE["a"], abs=0.02)
    assert model.slope == pytest.approx(TRUE["b"], abs=0.05)
    assert model.report is not None
    assert model.report.rmse < 0.01  # about the noise level
    assert model.report.rmse < model.report.prior_rmse
    assert model.report.rho > 0.95


def test_warmup_and_skew_enter_the_prediction_as_stated():
    """``a + b C h(S) - skew D``: ``S`` the optimisation steps (ceil(samples / 10) per node),
    ``h = 1 - exp(-S / (warmup * mean eligible steps))``, ``D`` the total-variation distance of
    the gathered mass's label shares from the eligible nodes' (computed here by hand)."""
    basis = _basis()
    model = OutcomeModel(basis, 0.3, 0.8, 1.0, 0.2, 0.7, warmup=1.5, skew=0.25)
    seq = [3, 1, 5]
    mass = basis.mass(1.0)
    X = np.zeros(basis.labels)
    for i in seq:
        X = 0.8 * X + mass[i]
    steps = np.ceil(basis.counts.sum(axis=1) / 10)
    h = 1 - math.exp(-steps[seq].sum() / (1.5 * steps[basis.eligible].mean()))
    prior = mass[basis.eligible].sum(axis=0) / mass[basis.eligible].sum()
    D = 0.5 * np.abs(X / X.sum() - prior).sum()
    want = 0.2 + 0.7 * model.coverage(seq) * h - 0.25 * D
    assert model.predict(seq) == pytest.approx(want, rel=1e-12)
    assert model.predict([]) == pytest.approx(0.2)  # the untrained model: the intercept alone
    plain = OutcomeModel(basis, 0.3, 0.8, 1.0, 0.2, 0.7)
    assert plain.predict(seq) == pytest.approx(0.2 + 0.7 * model.coverage(seq))


def test_fit_recovers_warmup_and_skew():
    """Measurements from a model with a warm-up and a skew penalty: the fit finds both grid
    values, and the fit without them explains the data far worse."""
    basis = _basis()
    truth = OutcomeModel(
        basis,
        TRUE["kappa"],
        TRUE["recency"],
        TRUE["noise_exponent"],
        TRUE["a"],
        TRUE["b"],
        warmup=2.0,
        skew=0.2,
    )
    data = _synthetic(basis, seed=3, truth=truth)
    model = fit_measurements(basis, data)
    assert (model.warmup, model.skew) == (2.0, 0.2)
    assert model.recency == TRUE["recency"]
    assert model.report is not None and model.report.rmse < 0.01
    plain = fit_measurements(basis, data, warmups=(0.0,), skews=(0.0,))
    assert plain.warmup == 0.0 and plain.skew == 0.0
    assert plain.report is not None and plain.report.rmse > 2 * model.report.rmse


def test_fit_keeps_the_plain_model_when_the_data_have_no_warmup_or_skew():
    basis = _basis()
    model = fit_measurements(basis, _synthetic(basis, seed=1))
    assert (model.warmup, model.skew) == (0.0, 0.0)


def test_fit_tells_order_apart():
    """A model fitted to order-blind outcomes keeps rho = 1; to forgetful ones, rho < 1."""
    basis = _basis(seed=3)
    blind = OutcomeModel(basis, 0.2, 1.0, 1.0, 0.2, 0.7)
    rng = np.random.default_rng(4)
    nodes = np.flatnonzero(basis.eligible)
    data = []
    for _ in range(25):
        order = tuple(int(i) for i in rng.permutation(nodes)[:4])
        for p in range(1, 5):
            data.append(Measurement(order[:p], blind.predict(order[:p])))
    assert fit_measurements(basis, data).recency == 1.0


def test_forgetting_by_samples_discounts_by_what_is_trained_after():
    """Under ``"samples"`` a node's mass is discounted by ``rho`` per average node's worth of
    samples trained after it: a small last node forgets less than a large one."""
    basis = _basis(seed=6)
    samples = basis.counts.sum(axis=1)
    ref = samples[basis.eligible].mean()
    d = basis.decay(0.5, "samples")
    assert d[basis.eligible] == pytest.approx(0.5 ** (samples[basis.eligible] / ref))
    assert basis.decay(0.5, "position") == pytest.approx(np.full(len(basis.ids), 0.5))
    model = OutcomeModel(basis, 0.2, 0.5, 1.0, 0.0, 1.0, forgetting="samples")
    nodes = [int(i) for i in np.flatnonzero(basis.eligible)]
    small, large = (
        sorted(nodes[1:], key=lambda i: samples[i])[0],
        max(nodes[1:], key=lambda i: samples[i]),
    )
    first = nodes[0]
    # the first node's share left after a small node exceeds what a large node leaves
    X_small = (model.mass()[first] * d[small] + model.mass()[small]) / model.scale()
    assert model.coverage([first, small]) == pytest.approx(
        float(
            np.interp(
                X_small, coverage.COVERAGE_BREAKS, 1 - np.exp(-coverage.COVERAGE_BREAKS)
            ).mean()
        )
    )
    assert d[small] > d[large]
    with pytest.raises(InputError, match="forgetting"):
        basis.decay(0.5, "minutes")


def test_fit_picks_forgetting_by_samples_when_the_data_do():
    basis = _basis(seed=7)
    truth = OutcomeModel(basis, KAPPA_GRID[8], 0.4, 1.0, 0.2, 0.7, forgetting="samples")
    rng = np.random.default_rng(8)
    nodes = np.flatnonzero(basis.eligible)
    data = {}
    for _ in range(40):
        order = tuple(int(i) for i in rng.permutation(nodes)[: rng.integers(2, len(nodes) + 1)])
        for p in range(1, len(order) + 1):
            data.setdefault(order[:p], truth.predict(order[:p]))
    fit = fit_measurements(basis, [Measurement(k, v) for k, v in data.items()])
    assert fit.forgetting == "samples" and fit.recency == 0.4
    only = fit_measurements(
        basis, [Measurement(k, v) for k, v in data.items()], forgetting=["position"]
    )
    assert only.forgetting == "position" and only.report.rmse > fit.report.rmse
    with pytest.raises(InputError, match="forgetting"):
        fit_measurements(basis, [Measurement(k, v) for k, v in data.items()], forgetting=["hops"])


def test_node_effects_shrink_toward_zero_by_evidence():
    """A node whose prefixes all measure 0.1 above the model gets most of 0.1 when many replays
    say so, less when few do; a node without pilot prefixes gets 0; a model with effects adds
    the last node's."""
    from daitn_opt.mtrce.calibration import node_effects

    basis = _basis(seed=9)
    model = OutcomeModel(basis, 0.2, 0.8, 1.0, 0.2, 0.7)
    nodes = [int(i) for i in np.flatnonzero(basis.eligible)]
    a, b, c, unseen = nodes[0], nodes[1], nodes[2], nodes[3]
    data = [Measurement((a,), model.predict((a,)) + 0.1, 50.0)]
    data += [Measurement((c,), model.predict((c,)) - 0.1, 50.0)]
    data += [Measurement((c, b), model.predict((c, b)) + 0.1, 2.0)]
    beta = node_effects(model, data, replay_var=0.05**2)
    assert 0.09 < beta[a] < 0.1 and -0.1 < beta[c] < -0.09
    assert 0 < beta[b] < beta[a]  # two replays: shrunk more
    assert beta[unseen] == 0.0
    with_effects = OutcomeModel(basis, 0.2, 0.8, 1.0, 0.2, 0.7, node_effect=beta)
    assert with_effects.predict((c, a)) == pytest.approx(model.predict((c, a)) + beta[a])
    assert with_effects.predict(()) == model.predict(())
    assert node_effects(model, data, replay_var=0.0).tolist() == [0.0] * len(basis.ids)


def test_fit_is_deterministic():
    basis = _basis(seed=2)
    a = fit_measurements(basis, _synthetic(basis, seed=5, noise=0.02))
    b = fit_measurements(basis, _synthetic(basis, seed=5, noise=0.02))
    assert a == b and a.report == b.report


def test_predict_with_prior_matches_coverage_module():
    """With recency, the model's coverage is the coverage module's recency coverage of the same
    route on the problem it writes (start and end hold no data)."""
    basis = _basis()
    model = OutcomeModel(basis, 0.25, 0.7, 1.0, 0.1, 0.8, target_accuracy=0.6)
    problem = _unit_problem(basis, deadline=100.0)
    n = len(basis.ids)
    applied = model.apply(problem, "max_recency_coverage")
    route = [0, *[int(i) for i in np.flatnonzero(basis.eligible)[:5]], n - 1]
    assert coverage.route_coverage(applied, route) == pytest.approx(
        model.coverage(route[1:-1]), rel=1e-9
    )
    plain = applied.replace(objective="max_coverage")
    assert coverage.route_coverage(plain, route) == pytest.approx(
        model.coverage(route[1:-1], order=False), rel=1e-9
    )
    ttt = model.apply(problem, "min_time_to_target")
    assert ttt.target == pytest.approx((0.6 - 0.1) / 0.8)
    assert applied.recency == 0.7
    # predicted time: the end of training at the first prefix reaching 0.6, or never
    t = model.predicted_time(problem, route)
    seq = model.trained(problem, route)
    hit = next((p for p in range(1, len(seq) + 1) if model.predict(seq[:p]) >= 0.6), None)
    # the start serves 1, then each customer is 1 away and serves 1: the p-th ends at 2 p + 1
    assert hit == 4 and t == pytest.approx(2.0 * hit + 1.0)
    assert model.predicted_time(problem, [*route[:3], n - 1]) == math.inf  # two nodes fall short


def test_prior_model_is_the_hand_priors():
    m = prior_model(_basis())
    assert (m.kappa, m.recency, m.noise_exponent) == (1 / 3, 0.95, 2.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kappas": [0.0]}, "kappas"),
        ({"recencies": [1.5]}, "recencies"),
        ({"noise_exponents": [-1.0]}, "noise_exponents"),
        ({"recencies": []}, "recencies"),
        ({"target_accuracy": 1.5}, "target_accuracy"),
    ],
)
def test_bad_grid_names_the_field(kwargs, field):
    basis = _basis()
    with pytest.raises(InputError) as err:
        fit_measurements(basis, _synthetic(basis, seed=1), **kwargs)
    assert err.value.field == field


def test_bad_measurements_name_the_field():
    basis = _basis()
    good = _synthetic(basis, seed=1)
    with pytest.raises(InputError) as err:
        fit_measurements(basis, good[:2])
    assert err.value.field == "measurements"
    with pytest.raises(InputError) as err:
        fit_measurements(basis, [*good, Measurement((99,), 0.5)])
    assert err.value.field.endswith(".nodes")
    with pytest.raises(InputError) as err:
        fit_measurements(basis, [*good, Measurement((1,), 1.5)])
    assert err.value.field.endswith(".accuracy")
    with pytest.raises(InputError) as err:
        fit_measurements(basis, [*good, Measurement((1,), 0.5, 0.0)])
    assert err.value.field.endswith(".weight")


def test_bad_basis_names_the_field():
    b = _basis()
    with pytest.raises(InputError) as err:
        Basis(b.ids, b.counts[:3], b.quality, b.age_weight, b.eligible)
    assert err.value.field == "counts"
    with pytest.raises(InputError) as err:
        Basis(b.ids, b.counts, b.quality + 1.0, b.age_weight, b.eligible)
    assert err.value.field == "quality"
    with pytest.raises(InputError) as err:
        OutcomeModel(b, 0.3, 1.0, 2.0, 0.0, 1.0).coverage_target()
    assert err.value.field == "target_accuracy"


def test_fit_outcome_model_bad_input_before_replays():
    from daitn_opt.drrt.generators import generate
    from daitn_opt.mtrce.calibration import fit_outcome_model

    inst = generate("healthcare", nodes=8, seed=1)
    req = inst.requests[0].id
    with pytest.raises(InputError) as err:
        fit_outcome_model(inst, req, pilot_seeds=[])
    assert err.value.field == "pilot_seeds"
    with pytest.raises(InputError) as err:
        fit_outcome_model(inst, req, pilot_routes=[["nowhere"]])
    assert err.value.field == "pilot_routes"
    with pytest.raises(InputError) as err:
        fit_outcome_model(inst, req, pilot_routes=0)
    assert err.value.field == "pilot_routes"
    with pytest.raises(InputError) as err:
        fit_outcome_model(inst, req, kappa=[1.0])
    assert err.value.field == "grid"


@pytest.mark.slow
def test_fit_on_real_replays_beats_priors():
    """Pilot replays of healthcare-small r1 (2 seeds, 4 routes and reversals): the fit explains
    the measured accuracies better than the hand priors (a, b refitted for both)."""
    from daitn_opt.drrt.instance import load_instance
    from daitn_opt.mtrce import from_instance
    from daitn_opt.mtrce.calibration import fit_outcome_model
    from tests.conftest import ROOT

    inst = load_instance(ROOT / "instances" / "healthcare-small.json")
    model = fit_outcome_model(
        inst, "r1", pilot_seeds=[100, 101], pilot_routes=4, target_accuracy=0.9
    )
    rep = model.report
    assert rep is not None and rep.pilot_routes >= 4 and rep.measurements >= 8
    assert rep.rmse <= rep.prior_rmse
    problem = model.apply(from_instance(inst, "r1"), "min_time_to_target")
    assert 0 < problem.target <= 1


def _line_problem(basis: Basis) -> Problem:
    """Start n0 and end n9 at x = 0, node i at x = i (travel |i - j|), service 1, deadline 60."""
    n = len(basis.ids)
    x = np.arange(n, dtype=float)
    x[-1] = 0.0
    return Problem(
        ids=list(basis.ids),
        start=0,
        end=n - 1,
        travel=np.abs(x[:, None] - x[None, :]),
        service=np.ones(n),
        utility=np.where(basis.eligible, 1.0, 0.0),
        deadline=60.0,
    )


@pytest.mark.slow
def test_plan_to_target_reaches_the_target_with_order_included():
    """Under strong forgetting the plain-coverage target is too low: the first route is predicted
    to miss the target accuracy once order counts, and a later round (raised target) reaches
    it."""
    from daitn_opt.mtrce.calibration import plan_to_target
    from daitn_opt.mtrce.check import check

    basis = _basis()
    problem = _line_problem(basis)
    every = list(np.flatnonzero(basis.eligible))
    bound = OutcomeModel(basis, 0.3, 1.0, 1.0, 0.2, 0.7).coverage(every, order=False)
    target = 0.2 + 0.7 * 0.7 * bound
    plain = OutcomeModel(basis, 0.3, 1.0, 1.0, 0.2, 0.7, target_accuracy=target)
    res, t, rounds = plan_to_target(problem, plain, time_limit=10)
    route = [problem.ids.index(n) for n in res.solution["routes"][0]]
    assert rounds == 1 and math.isfinite(t)
    assert t == pytest.approx(plain.predicted_time(problem, route))
    forgetful = OutcomeModel(basis, 0.3, 0.3, 1.0, 0.2, 0.7, target_accuracy=target)
    assert forgetful.predicted_time(problem, route) == math.inf  # the plain route misses
    res2, t2, rounds2 = plan_to_target(problem, forgetful, time_limit=10, rounds=4)
    route2 = [problem.ids.index(n) for n in res2.solution["routes"][0]]
    assert check(problem, {"routes": [res2.solution["routes"][0]]}).ok
    assert rounds2 >= 2 and math.isfinite(t2)
    assert t2 == pytest.approx(forgetful.predicted_time(problem, route2))


def test_plan_to_target_rejects_bad_rounds():
    from daitn_opt.mtrce.calibration import plan_to_target

    basis = _basis()
    model = OutcomeModel(basis, 0.3, 1.0, 1.0, 0.2, 0.7, target_accuracy=0.5)
    with pytest.raises(InputError) as err:
        plan_to_target(_line_problem(basis), model, rounds=0)
    assert err.value.field == "rounds"


def test_pilot_times_rejects_a_bad_target_before_replaying():
    from daitn_opt.drrt.generators import generate
    from daitn_opt.mtrce.calibration import pilot_times

    inst = generate("healthcare", nodes=8, seed=1)
    with pytest.raises(InputError) as err:
        pilot_times(inst, inst.requests[0].id, [], [100], 1.5)
    assert err.value.field == "target_accuracy"


def test_reach_effects_match_each_nodes_share_of_hits():
    """Two nodes predicted alike: one reaches the target on 18 of 20 pilot checkpoints, one on
    none. Their reach effects give those probabilities back (within the prior's pull); a node
    without pilot checkpoints gets 0."""
    from scipy.stats import norm

    from daitn_opt.mtrce.calibration import reach_effects

    basis = _basis(seed=9)
    model = OutcomeModel(basis, 0.2, 0.8, 1.0, 0.2, 0.7)
    nodes = [int(i) for i in np.flatnonzero(basis.eligible)]
    a, b, unseen = nodes[0], nodes[1], nodes[2]
    target = model.predict((a,))
    sd = 0.03
    runs = [[((), 0.1), ((a,), target + (0.01 if k < 18 else -0.01))] for k in range(20)]
    runs += [[((), 0.1), ((b,), target - 0.001)] for _ in range(20)]
    beta = reach_effects(model, runs, target, sd, prior_sd=1.0)
    p_a = norm.cdf((model.predict((a,)) + beta[a] - target) / sd)
    p_b = norm.cdf((model.predict((b,)) + beta[b] - target) / sd)
    assert p_a == pytest.approx(0.9, abs=0.01)
    assert p_b < 0.05 and beta[b] < 0 < beta[a]
    assert beta[unseen] == 0.0
    tight = reach_effects(model, runs, target, sd, prior_sd=1e-4)
    assert abs(tight[a]) < 1e-3  # a tight prior keeps the effect at 0
    with pytest.raises(InputError, match="sd"):
        reach_effects(model, runs, target, 0.0, 1.0)


@pytest.mark.parametrize("term", ["warmup", "skew", "persistent"])
def test_apply_writes_each_term_and_the_registered_solver_plans_with_it(term):
    """A model with a warm-up, a label-skew or a persistent checkpoint error, written by
    ``apply``: the registered ``anytime-ils`` reports for its route what
    ``Objective(problem, model, spread)`` evaluates (and the checker agrees), and the term
    changes that value (it is not dropped on the way)."""
    import dataclasses

    from daitn_opt.mtrce import check
    from daitn_opt.mtrce.anytime import Objective, Spread
    from daitn_opt.mtrce.problem import EXPECTED_TIME
    from daitn_opt.registry import solve

    basis = _basis()
    off = OutcomeModel(basis, 0.25, 0.7, 1.0, 0.1, 0.8, target_accuracy=0.6)
    plain = Spread(0.05, 0.02)
    model = dataclasses.replace(off, **{term: 0.5}) if term != "persistent" else off
    spread = Spread(0.05, 0.02, persistent=0.6, phi=0.8) if term == "persistent" else plain
    problem = _unit_problem(basis, deadline=12.0)
    q = model.apply(problem, EXPECTED_TIME, spread=spread)
    field = {"warmup": "warm_scale", "skew": "skew", "persistent": "persistent"}[term]
    assert getattr(q, field) > 0
    res = solve(q, "anytime-ils", time_limit=5, seed=0)
    route = [q.ids.index(v) for v in res.solution["routes"][0]]
    want = Objective(problem, model, spread).value(route)
    assert res.objective == pytest.approx(want, rel=1e-9)
    report = check(q, res.solution)
    assert report.ok and report.objective == pytest.approx(want, rel=1e-9)
    assert abs(Objective(problem, off, plain).value(route) - want) > 1e-6
