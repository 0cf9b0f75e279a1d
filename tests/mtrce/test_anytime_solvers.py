"""``min_expected_time_to_target`` as a registered MTRCE objective: the Problem fields and their
validation, ``OutcomeModel.apply``, the solvers ``anytime-ils`` / ``anytime-bnb`` against
enumeration, the independent checker against the solver-side objective, ``supports``."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from daitn_opt.errors import InputError
from daitn_opt.mtrce import check, default_solver
from daitn_opt.mtrce.anytime import Objective, Spread, brute_force
from daitn_opt.mtrce.coverage_anytime import supports
from daitn_opt.mtrce.problem import EXPECTED_TIME
from daitn_opt.problems import check_result
from daitn_opt.registry import solve, solvers
from tests.conftest import run_cli
from tests.mtrce.test_coverage_anytime import _instance

SPREAD = Spread(0.04, 0.02)


def _expected(seed: int = 0, n: int = 7, spread: Spread = SPREAD):
    problem, model = _instance(n=n, seed=seed)
    return model.apply(problem, EXPECTED_TIME, spread=spread), problem, model


def _ids(problem, route):
    return {"routes": [[problem.ids[i] for i in route]]}


TERMS = Spread(0.05, 0.02, persistent=0.6, phi=0.7)
"""A spread whose checkpoint part persists (an AR(1) over checkpoints)."""


def _with_terms(problem, model, seed: int):
    """The model with a warm-up, a label skew and (seeded) node effects; an end that trains."""
    rng = np.random.default_rng(seed)
    problem = problem.replace(
        utility=np.where(np.arange(problem.n) == problem.n - 1, 1.0, problem.utility)
    )
    model = dataclasses.replace(
        model, warmup=0.8, skew=0.15, node_effect=rng.normal(0, 0.02, problem.n)
    )
    return problem, model


def test_apply_writes_every_field_and_the_problem_alone_gives_the_model_objective():
    q, problem, model = _expected()
    assert q.objective == EXPECTED_TIME and q.sense == "min"
    assert q.target_accuracy == 0.9 and (q.checkpoint_sd, q.shared_sd) == (0.04, 0.02)
    assert q.accuracy_slope == pytest.approx(0.45) and q.node_decay.shape == (problem.n,)
    alone, wrapped = Objective(q), Objective(problem, model, SPREAD)
    for route in ([0, 6], [0, 1, 2, 6], [0, 3, 5, 1, 6]):
        assert alone.value(route) == pytest.approx(wrapped.value(route), rel=1e-12)


def test_apply_needs_a_target_accuracy():
    problem, model = _instance()
    with pytest.raises(InputError, match="target_accuracy"):
        dataclasses.replace(model, target_accuracy=None).apply(problem, EXPECTED_TIME)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bnb_is_the_enumerated_optimum_and_ils_never_beats_it(seed):
    q, _, _ = _expected(seed=seed)
    _, optimum = brute_force(Objective(q))
    bnb = solve(q, "anytime-bnb", time_limit=20, seed=0)
    assert bnb.status.value == "optimal" and bnb.objective == pytest.approx(optimum, rel=1e-9)
    assert bnb.bound == pytest.approx(optimum, rel=1e-9)
    ils = solve(q, "anytime-ils", time_limit=10, seed=seed)
    assert ils.status.value == "feasible" and ils.bound is None
    assert ils.objective >= optimum - 1e-9 and ils.objective <= q.deadline
    for res in (bnb, ils):
        report = check_result(q, res)
        assert report.ok, report.violations
        assert report.objective == pytest.approx(res.objective, rel=1e-9)


def test_bnb_at_a_tiny_limit_is_feasible_with_a_valid_bound():
    q, _, _ = _expected(seed=1, n=12)
    res = solve(q, "anytime-bnb", time_limit=0.05, seed=0, warm_start=0)
    # the full search takes seconds (6631 nodes): stopped early, it reports the open bound
    assert res.status.value == "feasible" and res.stats["finished"] is False
    assert 0 < res.bound < res.objective


def test_solvers_are_deterministic():
    q, _, _ = _expected(seed=2)
    for name in ("anytime-ils", "anytime-bnb"):
        a, b = (solve(q, name, time_limit=10, seed=5) for _ in range(2))
        assert (a.status, a.objective, a.solution) == (b.status, b.objective, b.solution)


@pytest.mark.parametrize("seed", [0, 3])
def test_checker_recomputes_the_objective_on_any_route(seed):
    """Windows (waiting), an end that trains, node effects, both forms of spread: the checker's
    own loop equals the solver-side objective on every feasible route drawn."""
    problem, model = _instance(seed=seed)
    rng = np.random.default_rng(seed)
    problem = problem.replace(
        window_open=rng.uniform(0, 8, problem.n), window_close=np.full(problem.n, 30.0)
    )
    problem = problem.replace(utility=np.where(np.arange(problem.n) == 6, 1.0, problem.utility))
    model = dataclasses.replace(
        model, node_effect=rng.normal(0, 0.03, problem.n), forgetting="samples"
    )
    for spread in (Spread(0.05, 0.03), Spread(0.0, 0.04), Spread(0.0, 0.0)):
        q = model.apply(problem, EXPECTED_TIME, spread=spread)
        obj = Objective(q)
        seen = 0
        for _ in range(40):
            inner = rng.permutation(np.arange(1, 6))[: int(rng.integers(0, 6))].tolist()
            route = [0, *inner, 6]
            report = check(q, _ids(q, route))
            if not obj.feasible(route):
                assert not report.ok
                continue
            seen += 1
            assert report.ok and report.objective == pytest.approx(obj.value(route), rel=1e-9)
        assert seen >= 5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_terms_give_one_objective_to_the_model_the_problem_and_the_checker(seed):
    """Warm-up, label skew and a persistent checkpoint error all on (windows too): the problem
    ``apply`` writes, evaluated alone, equals ``Objective(problem, model, spread)``, and the
    checker's own loops equal both, on every feasible route drawn; each term moves the value."""
    problem, model = _instance(seed=seed)
    problem, model = _with_terms(problem, model, seed)
    rng = np.random.default_rng(seed)
    problem = problem.replace(
        window_open=rng.uniform(0, 6, problem.n), window_close=np.full(problem.n, 30.0)
    )
    q = model.apply(problem, EXPECTED_TIME, spread=TERMS)
    alone, wrapped = Objective(q), Objective(problem, model, TERMS)
    terms_off = {"warm_scale": 0.0, "skew": 0.0, "persistent": 0.0}
    moved = dict.fromkeys(terms_off, 0)
    seen = 0
    for _ in range(40):
        inner = rng.permutation(np.arange(1, 6))[: int(rng.integers(1, 6))].tolist()
        route = [0, *inner, 6]
        report = check(q, _ids(q, route))
        if not alone.feasible(route):
            assert not report.ok
            continue
        seen += 1
        value = alone.value(route)
        assert value == wrapped.value(route)
        assert report.ok and report.objective == pytest.approx(value, rel=1e-9, abs=1e-9)
        for name, zero in terms_off.items():
            other = Objective(q.replace(**{name: zero})).value(route)
            moved[name] += abs(other - value) > 1e-6
    assert seen >= 5 and all(moved.values()), moved


def test_terms_set_to_zero_are_the_plain_objective_bit_for_bit():
    """Explicit zeros (and steps with no warm-up) evaluate exactly as a problem without the
    fields: the terms are off by default."""
    q, problem, _ = _expected(seed=1)
    assert (q.warm_scale, q.skew, q.persistent, q.phi) == (0.0, 0.0, 0.0, 0.0)
    assert problem.node_steps is None and q.node_steps is not None
    bare = problem.replace(**{f: getattr(q, f) for f in _MODEL_ONLY})
    steps = q.replace(node_steps=np.arange(q.n, dtype=float), skew_prior=np.full(3, 1 / 3))
    for route in ([0, 6], [0, 1, 2, 6], [0, 3, 5, 1, 6]):
        value = Objective(q).value(route)
        assert Objective(bare).value(route) == value == Objective(steps).value(route)
        assert check(q, _ids(q, route)).objective == pytest.approx(value, rel=1e-12)


_MODEL_ONLY = (
    "objective",
    "label_mass",
    "coverage_scale",
    "label_weight",
    "node_decay",
    "node_effect",
    "accuracy_intercept",
    "accuracy_slope",
    "target_accuracy",
    "checkpoint_sd",
    "shared_sd",
)


@pytest.mark.parametrize("seed", [0, 2])
def test_bnb_with_the_terms_is_the_enumerated_optimum(seed):
    problem, model = _instance(n=6, seed=seed)
    problem, model = _with_terms(problem, model, seed)
    q = model.apply(problem, EXPECTED_TIME, spread=TERMS)
    _, optimum = brute_force(Objective(q))
    bnb = solve(q, "anytime-bnb", time_limit=30, seed=0)
    assert bnb.status.value == "optimal" and bnb.objective == pytest.approx(optimum, rel=1e-9)
    ils = solve(q, "anytime-ils", time_limit=10, seed=seed)
    assert ils.objective >= optimum - 1e-9
    for res in (bnb, ils):
        report = check_result(q, res)
        assert report.ok and report.objective == pytest.approx(res.objective, rel=1e-9)


def test_checker_names_missing_fields():
    problem, _ = _instance()
    bare = problem.replace(
        objective=EXPECTED_TIME, label_mass=np.ones((problem.n, 2)), coverage_scale=[1.0, 1.0]
    )
    report = check(bare, _ids(bare, [0, 1, 6]))
    assert not report.ok and "node_decay" in report.violations[-1]


def test_restrict_keeps_the_model_fields_aligned():
    problem, model = _with_terms(*_instance(), seed=0)
    q = model.apply(problem, EXPECTED_TIME, spread=TERMS)
    keep = [0, 2, 4, 5, 6]
    r = q.restrict(keep)
    for name in ("node_decay", "node_effect", "node_steps"):
        assert getattr(r, name).tolist() == getattr(q, name)[keep].tolist(), name
    assert r.skew_prior.tolist() == q.skew_prior.tolist()
    assert (r.warm_scale, r.skew, r.persistent, r.phi) == (q.warm_scale, q.skew, 0.6, 0.7)
    route_q, route_r = [0, 4, 2, 6], [0, 2, 1, 4]
    assert Objective(r).value(route_r) == pytest.approx(Objective(q).value(route_q), rel=1e-12)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("node_decay", np.ones(3)),
        ("node_decay", np.full(7, 1.5)),
        ("node_effect", np.full(7, np.nan)),
        ("accuracy_intercept", math.inf),
        ("accuracy_slope", -0.1),
        ("target_accuracy", 0.0),
        ("target_accuracy", 1.5),
        ("checkpoint_sd", -1.0),
        ("shared_sd", math.nan),
        ("quadrature_nodes", 0),
        ("node_steps", np.full(7, -1.0)),
        ("node_steps", np.ones(4)),
        ("warm_scale", -1.0),
        ("warm_scale", math.inf),
        ("skew", math.nan),
        ("skew_prior", np.ones(2)),
        ("skew_prior", np.full(3, -0.5)),
        ("persistent", 1.5),
        ("phi", -0.1),
        ("persistent_states", 0),
    ],
)
def test_bad_field_values_name_the_field(field, value):
    q, _, _ = _expected()
    with pytest.raises(InputError) as err:
        q.replace(**{field: value})
    assert err.value.field.startswith(field)


def test_supports_and_the_other_solvers_refuse_cleanly():
    q, problem, _ = _expected()
    assert supports(q) is None and default_solver(q) == "anytime-ils"
    assert "anytime-ils" in supports(q.replace(objective="min_time_to_target", target=0.1))
    bare = problem.replace(
        objective=EXPECTED_TIME, label_mass=np.ones((problem.n, 2)), coverage_scale=[1.0, 1.0]
    )
    assert "OutcomeModel.apply" in supports(bare)
    assert "deadline" in supports(q.replace(deadline=math.inf))
    assert "mandatory" in supports(q.replace(mandatory=[1]))
    specs = solvers("mtrce")["mtrce"]
    assert "anytime-ils" in specs["coverage-highs"].supports(q)
    for name, spec in specs.items():
        if name.startswith("anytime-"):
            continue
        assert spec.supports is not None and spec.supports(q), name


def test_bad_parameters_name_the_parameter():
    q, _, _ = _expected()
    with pytest.raises(InputError, match="warm_start"):
        solve(q, "anytime-bnb", time_limit=1, warm_start=1.5)
    with pytest.raises(InputError, match="kicks"):
        solve(q, "anytime-ils", time_limit=1, kicks=-1)


def test_solvers_command_lists_them():
    result = run_cli("solvers", "--problem", "mtrce", env={"COLUMNS": "300"})
    assert result.exit_code == 0
    assert "anytime-ils" in result.stdout and "anytime-bnb" in result.stdout


def test_a_skew_without_its_prior_is_refused():
    q, _, _ = _expected()
    with pytest.raises(InputError) as err:
        q.replace(skew=0.2, skew_prior=None)
    assert err.value.field == "skew_prior" and "skew = 0.2" in str(err.value)


@pytest.mark.parametrize(
    ("seed", "spread", "terms"),
    [(0, SPREAD, False), (1, Spread(0.0, 0.03), False), (2, Spread(0, 0), False), (3, TERMS, True)],
)
def test_prefix_bound_never_exceeds_any_extension(seed, spread, terms):
    """Every route of a 6-candidate view enumerated: the bound of each prefix is at most the
    objective of every feasible route that extends it (the end trains here, so the tail counts
    the end's checkpoint too)."""
    from itertools import permutations

    from daitn_opt.mtrce.anytime import PrefixBound

    problem, model = _instance(n=8, seed=seed)
    problem = problem.replace(utility=np.where(np.arange(8) == 7, 1.0, problem.utility))
    model = dataclasses.replace(model, node_effect=np.linspace(-0.03, 0.03, 8))
    if terms:
        model = dataclasses.replace(model, warmup=0.8, skew=0.15)
    q = model.apply(problem, EXPECTED_TIME, spread=spread)
    obj = Objective(q)
    pool = obj.candidates()
    bound = PrefixBound(obj, pool)
    best: dict[tuple[int, ...], float] = {}
    for r in range(len(pool) + 1):
        for perm in permutations(pool, r):
            value = obj.value([0, *perm, 7])
            for c in range(r + 1):
                key = (0, *perm[:c])
                best[key] = min(best.get(key, math.inf), value)
    finite = [key for key, v in best.items() if math.isfinite(v)]
    assert len(finite) > 20
    for key in finite:
        assert bound(list(key)) <= best[key] + 1e-9, key
