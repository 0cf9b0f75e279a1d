"""Expected time to target (``daitn_opt.mtrce.anytime``): the objective on hand numbers, the
exact search against enumeration, the heuristic never below the optimum, the spread estimate,
bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from daitn_opt.errors import InputError
from daitn_opt.mtrce import Problem
from daitn_opt.mtrce.anytime import Objective, Spread, brute_force, plan_anytime, solve_exact
from daitn_opt.mtrce.calibration import Basis, OutcomeModel, spread_of


def _instance(n: int = 7, seed: int = 0, deadline: float = 40.0):
    """Start n0 and end n{n-1} at the origin, customers at random points with one or two of
    three labels, quality 0.7-1; a model whose slope makes the best routes cross 0.9."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 10, size=(n, 2))
    xy[0] = xy[-1] = 0.0
    counts = np.zeros((n, 3))
    for i in range(1, n - 1):
        for lab in rng.choice(3, size=int(rng.integers(1, 3)), replace=False):
            counts[i, lab] = float(rng.integers(10, 60))
    basis = Basis(
        tuple(f"n{i}" for i in range(n)),
        counts,
        rng.uniform(0.7, 1.0, n),
        np.ones(n),
        counts.sum(axis=1) > 0,
    )
    problem = Problem(
        ids=list(basis.ids),
        start=0,
        end=n - 1,
        travel=np.linalg.norm(xy[:, None] - xy[None], axis=2),
        service=np.full(n, 2.0),
        utility=np.where(basis.eligible, 1.0, 0.0),
        deadline=deadline,
    )
    model = OutcomeModel(basis, 0.3, 0.8, 1.0, 0.5, 0.45, target_accuracy=0.9)
    return problem, model


def test_objective_without_spread_is_the_first_crossing_or_the_deadline():
    problem, model = _instance()
    obj = Objective(problem, model, Spread(0.0, 0.0))
    for route in ([0, 1, 2, 6], [0, 3, 6], [0, 6], [0, 5, 4, 1, 6]):
        if not obj.feasible(route):
            continue
        t, p = obj.checkpoints(route)
        hit = [k for k in range(len(p)) if p[k] >= 0.9]
        want = t[hit[0]] if hit else problem.deadline
        assert obj.value(route) == pytest.approx(want)
    assert obj.value([0, 6]) == problem.deadline  # the untrained model never reaches 0.9


def test_objective_with_spread_matches_hand_formula():
    """No shared part: checkpoints are independent draws, E = sum t_k q_k prod(1 - q_j) + H
    prod(1 - q_k)."""
    problem, model = _instance()
    obj = Objective(problem, model, Spread(0.05, 0.0))
    route = [0, 1, 2, 3, 6]
    t, p = obj.checkpoints(route)
    q = norm.cdf((p - 0.9) / 0.05)
    want, alive = 0.0, 1.0
    for tk, qk in zip(t, q, strict=True):
        want += tk * qk * alive
        alive *= 1 - qk
    want += problem.deadline * alive
    assert obj.value(route) == pytest.approx(want, rel=1e-9)
    assert obj.reach_probability(route) == pytest.approx(1 - alive, rel=1e-9)


@pytest.mark.parametrize("forgetting", ["position", "samples"])
def test_checkpoints_follow_the_model_in_order(forgetting):
    """The objective's own prefix recursion equals the model's predictions, forgetting and the
    last node's effect included."""
    import dataclasses

    problem, model = _instance()
    effect = np.random.default_rng(1).normal(0, 0.05, len(problem.ids))
    model = dataclasses.replace(model, forgetting=forgetting, node_effect=effect)
    obj = Objective(problem, model, Spread(0.0, 0.0))
    route = [0, 2, 4, 1, 6]
    _, p = obj.checkpoints(route)
    seq = [model.basis.index(problem.ids[i]) for i in route[1:-1]]
    assert p == pytest.approx([model.predict(seq[:k]) for k in range(len(seq) + 1)])
    assert p[-1] != pytest.approx(dataclasses.replace(model, node_effect=None).predict(seq))


def test_checkpoints_follow_a_model_with_warmup_and_skew():
    """The objective's prefix recursion carries the optimisation steps and the label skew: its
    checkpoints equal the model's predictions, which differ from the plain model's."""
    import dataclasses

    problem, model = _instance()
    model = dataclasses.replace(model, warmup=2.0, skew=0.3)
    obj = Objective(problem, model, Spread(0.0, 0.0))
    route = [0, 2, 4, 1, 6]
    _, p = obj.checkpoints(route)
    seq = [model.basis.index(problem.ids[i]) for i in route[1:-1]]
    assert p == pytest.approx([model.predict(seq[:k]) for k in range(len(seq) + 1)])
    plain = dataclasses.replace(model, warmup=0.0, skew=0.0)
    assert p[1] < plain.predict(seq[:1]) - 1e-3


@pytest.mark.parametrize("seed", [0, 1])
def test_exact_with_warmup_and_skew_matches_enumeration(seed):
    """The prefix bound stays valid with the two terms (it reads ``a + b C``, an upper bound of
    every prediction): branch and bound equals enumeration."""
    import dataclasses

    problem, model = _instance(seed=seed)
    model = dataclasses.replace(model, warmup=1.0, skew=0.2, slope=0.6)
    obj = Objective(problem, model, Spread(0.04, 0.02))
    _route, value = brute_force(obj)
    exact = solve_exact(obj, time_limit=30)
    assert exact.optimal and exact.value == pytest.approx(value, rel=1e-9)


def test_persistent_checkpoint_error_matches_simulation():
    """A persistent (AR(1)) part of the checkpoint error: the objective (Rouwenhorst chain, 15
    states) agrees with a seeded Monte Carlo of the continuous model within 1%; persistence
    makes later checkpoints fewer fresh chances, so the expected time is longer than with
    independent checkpoints, and a reach probability lower."""
    problem, model = _instance(deadline=200.0)
    route = [0, 1, 2, 3, 4, 5, 6]
    sd, shared, a2, phi = 0.06, 0.02, 0.6, 0.8
    obj = Objective(problem, model, Spread(sd, shared, persistent=a2, phi=phi))
    assert obj.feasible(route)
    t, p = obj.checkpoints(route)
    rng = np.random.default_rng(0)
    n = 200_000
    z = rng.standard_normal(n)
    u = rng.standard_normal(n)
    hit_at = np.full(n, problem.deadline)
    done = np.zeros(n, dtype=bool)
    for k in range(len(p)):
        if k:
            u = phi * u + math.sqrt(1 - phi**2) * rng.standard_normal(n)
        acc = (
            p[k]
            + shared * z
            + sd * (math.sqrt(a2) * u + math.sqrt(1 - a2) * rng.standard_normal(n))
        )
        new = ~done & (acc >= 0.9)
        hit_at[new] = min(t[k], problem.deadline)
        done |= new
    assert obj.value(route) == pytest.approx(hit_at.mean(), rel=0.01)
    assert obj.reach_probability(route) == pytest.approx(done.mean(), abs=0.01)
    fresh = Objective(problem, model, Spread(sd, shared))
    assert obj.value(route) > fresh.value(route)
    assert obj.reach_probability(route) < fresh.reach_probability(route)


@pytest.mark.parametrize("seed", [0, 1])
def test_exact_with_persistent_error_matches_enumeration(seed):
    """The prefix bound under a persistent error (each later checkpoint bounded at the chain's
    highest state) still never cuts the optimum: branch and bound equals enumeration."""
    problem, model = _instance(seed=seed)
    obj = Objective(problem, model, Spread(0.05, 0.02, persistent=0.7, phi=0.7))
    _route, value = brute_force(obj)
    exact = solve_exact(obj, time_limit=30)
    assert exact.optimal and exact.value == pytest.approx(value, rel=1e-9)


def test_persistence_of_recovers_an_ar1_error():
    """Replays whose residuals are a shared part plus an AR(1) persistent part plus fresh
    noise: the moment estimates come back near the truth; independent noise gives none."""
    from daitn_opt.mtrce.calibration import persistence_of

    problem, model = _instance()
    rng = np.random.default_rng(4)
    seq = [model.basis.index(problem.ids[i]) for i in (1, 2, 3, 4, 5)] * 4
    pred = [model.predict(seq[:k]) for k in range(1, len(seq) + 1)]
    sd, shared, a2, phi = 0.05, 0.02, 0.6, 0.7

    def runs(alpha2: float):
        out = []
        for _ in range(600):
            z, u = rng.standard_normal(), rng.standard_normal()
            run = [((), model.predict([]))]
            for k in range(len(seq)):
                if k:
                    u = phi * u + math.sqrt(1 - phi**2) * rng.standard_normal()
                e = sd * (math.sqrt(alpha2) * u + math.sqrt(1 - alpha2) * rng.standard_normal())
                run.append((tuple(seq[: k + 1]), pred[k] + shared * z + e))
            out.append(run)
        return out

    got_a2, got_phi = persistence_of(model, runs(a2), sd, shared)
    assert got_a2 == pytest.approx(a2, abs=0.1)
    assert got_phi == pytest.approx(phi, abs=0.1)
    assert persistence_of(model, runs(0.0), sd, shared)[0] < 0.1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_matches_enumeration_and_heuristic_is_never_better(seed):
    problem, model = _instance(seed=seed)
    obj = Objective(problem, model, Spread(0.04, 0.02))
    _route, value = brute_force(obj)
    exact = solve_exact(obj, time_limit=30)
    assert exact.optimal and exact.bound == pytest.approx(exact.value)
    assert exact.value == pytest.approx(value, rel=1e-9)
    assert obj.value(exact.route) == pytest.approx(exact.value)
    heur, hval = plan_anytime(obj, time_limit=10, seed=seed)
    assert obj.feasible(heur) and hval == pytest.approx(obj.value(heur))
    assert hval >= value - 1e-9
    assert hval <= problem.deadline


def test_spread_makes_the_route_go_on_after_the_mean_crosses():
    """Without spread the best route can stop at the first predicted crossing; with spread a
    later checkpoint is another chance, so the optimum trains on at least as many nodes and its
    probability of reaching the target is higher."""
    problem, model = _instance(seed=1)
    flat = solve_exact(Objective(problem, model, Spread(0.0, 0.0)), time_limit=30)
    noisy_obj = Objective(problem, model, Spread(0.05, 0.0))
    noisy = solve_exact(noisy_obj, time_limit=30)
    assert noisy.optimal and flat.optimal
    assert len(noisy.route) >= len(flat.route)
    assert noisy_obj.reach_probability(noisy.route) >= noisy_obj.reach_probability(flat.route)


def test_heuristic_is_seeded():
    problem, model = _instance(seed=2)
    obj = Objective(problem, model, Spread(0.04, 0.02))
    assert plan_anytime(obj, time_limit=10, seed=3) == plan_anytime(obj, time_limit=10, seed=3)


def test_spread_of_separates_shared_and_checkpoint_parts():
    """Residuals +0.1 on every checkpoint of one run and -0.1 on every one of another: all of it
    shared. Alternating +-0.1 within a run: the products average to -0.01, clipped to 0 shared."""
    _problem, model = _instance()
    seqs = [(1,), (1, 2), (1, 2, 3)]
    runs_shared = [
        [((), 0.5), *[(s, model.predict(list(s)) + d) for s in seqs]] for d in (0.1, -0.1)
    ]
    ck, sh = spread_of(model, runs_shared)
    assert sh == pytest.approx(0.1) and ck == pytest.approx(0.0, abs=1e-9)
    alt = [[(s, model.predict(list(s)) + d) for s, d in zip(seqs, (0.1, -0.1, 0.1), strict=True)]]
    ck2, sh2 = spread_of(model, alt)
    assert sh2 == 0.0 and ck2 == pytest.approx(0.1)
    assert spread_of(model, [[((), 0.5)]]) == (0.0, 0.0)


def test_bad_input_names_the_field():
    problem, model = _instance()
    with pytest.raises(InputError, match="checkpoint"):
        Spread(-0.1, 0.0)
    with pytest.raises(InputError, match="nodes"):
        Spread(0.1, 0.1, nodes=0)
    with pytest.raises(InputError, match="target_accuracy"):
        Objective(problem, model, Spread(0, 0), target_accuracy=1.5)
    with pytest.raises(InputError, match="horizon"):
        Objective(problem.replace(deadline=math.inf), model, Spread(0, 0))
    with pytest.raises(InputError, match="time_limit"):
        plan_anytime(Objective(problem, model, Spread(0, 0)), time_limit=0)
    big, bmodel = _instance(n=12)
    with pytest.raises(InputError, match="candidates"):
        brute_force(Objective(big, bmodel, Spread(0, 0)), max_nodes=5)


def test_plan_anytime_is_never_worse_than_a_start_route():
    """Seeded with every feasible route of a view and a tiny budget (no kicks), the heuristic
    returns a route at least as good as the best start, the optimum by enumeration; an
    infeasible start is ignored."""
    problem, model = _instance(n=7, seed=3, deadline=40.0)
    obj = Objective(problem, model, Spread(0.04, 0.02))
    best_route, best = brute_force(obj)
    bad = [0, 1, 2, 3, 4, 5, 6]
    assert not obj.feasible(bad) or obj.value(bad) >= best
    route, value = plan_anytime(obj, time_limit=5.0, seed=0, kicks=0, starts=[bad, best_route])
    assert value == pytest.approx(best) and obj.value(route) == pytest.approx(best)
    fresh = Objective(problem, model, Spread(0.04, 0.02))
    worst_start = [0, 6]
    _r2, v2 = plan_anytime(fresh, time_limit=5.0, seed=0, kicks=0, starts=[worst_start])
    assert v2 <= fresh.value(worst_start) + 1e-12
