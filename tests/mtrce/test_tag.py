"""TAG: local epochs per node chosen jointly with the route.

Hand-checked trade-off (more epochs at one node vs another node), the exact solver against
brute-force enumeration of routes x epochs on seeded random instances (utility and coverage
values, with and without windows), the independent checker on every solver's output, input
validation, the sequential replay honouring per-node epochs, and the paradigm predictor.
"""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest

from daitn_opt.errors import InputError, UnsupportedError
from daitn_opt.mtrce import Problem, tag
from daitn_opt.mtrce.tag_check import check
from daitn_opt.registry import solve
from daitn_opt.result import Status

from .registered import solvers_for


def line(deadline: float, **changes) -> tag.TagProblem:
    """Start 0, end 3, customers 1 (u = 10) and 2 (u = 6), one epoch 10 s each, legs 0 s except
    2 -> anything and anything -> 2 taking 15 s (node 2 is far)."""
    n = 4
    travel = np.zeros((n, n))
    travel[2, :] = travel[:, 2] = 15.0
    travel[2, 2] = 0.0
    base = Problem(
        ids=["s", "near", "far", "e"],
        start=0,
        end=3,
        travel=travel,
        service=np.array([0.0, 30.0, 30.0, 0.0]),
        utility=np.array([0.0, 10.0, 6.0, 0.0]),
        deadline=deadline,
    )
    fields = dict(base=base, epoch_time=base.service / 3, max_epochs=3, tau=2.0, request_epochs=3)
    fields.update(changes)
    return tag.TagProblem(**fields)


SOLVERS = solvers_for(line(100.0))
"""The registered solvers that take a TAG problem (tag-highs, tag-greedy, tag-ils)."""


def test_the_tag_solvers_are_registered():
    assert {"tag-highs", "tag-greedy", "tag-ils"} <= set(SOLVERS)
    assert set(solvers_for(line(100.0), exact=False)) >= {"tag-greedy", "tag-ils"}


def test_epochs_trade_off_against_a_far_node():
    """Deadline 40: near x3 (10 f(3) = 19.9 in 30 s) beats near x1 + far x1 (16 in 40 s)."""
    f = tag.epoch_factor([1, 2, 3], 2.0)
    assert f[0] == pytest.approx(1.0)
    p = line(40.0)
    best = max(10 * f[2], 10 + 6)
    assert best == pytest.approx(10 * f[2])
    for name in SOLVERS:
        res = solve(p, name, time_limit=10)
        assert res.objective == pytest.approx(best, abs=1e-9), name
        assert res.solution["routes"][0] == ["s", "near", "e"]
        assert res.solution["epochs"] == {"near": 3}
        report = check(p, res.solution)
        assert report.ok and report.objective == pytest.approx(best, abs=1e-9)
    # 80 s: near x3 (30 s) + far x2 (15 + 20 + 15 s) = 80 s beats near x2 + far x3 (also 80 s)
    res = solve(line(80.0), "tag-highs", time_limit=10)
    assert res.status == Status.OPTIMAL
    assert res.objective == pytest.approx(10 * f[2] + 6 * f[1], abs=1e-9)
    assert res.solution["epochs"] == {"near": 3, "far": 2}


def random_tag(seed: int, windows: bool, value: str) -> tag.TagProblem:
    rng = np.random.default_rng(seed)
    n = 6  # start, end and 4 customers
    xy = rng.uniform(0, 10, size=(n, 2))
    travel = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    epoch = np.r_[0.0, rng.uniform(1.0, 6.0, n - 2), 0.0]
    fields = dict(
        ids=[f"v{i}" for i in range(n)],
        start=0,
        end=n - 1,
        travel=travel,
        service=epoch * 2,
        utility=np.r_[0.0, rng.integers(1, 10, n - 2).astype(float), 0.0],
        deadline=float(rng.uniform(25, 45)),
        objective="max_utility" if value == "utility" else "max_coverage",
    )
    if windows:
        open_ = np.r_[0.0, rng.uniform(0, 15, n - 2), 0.0]
        fields.update(window_open=open_, window_close=open_ + rng.uniform(5, 20, n))
    if value == "coverage":
        mass = rng.integers(0, 8, size=(n, 3)).astype(float)
        mass[[0, n - 1]] = 0.0
        fields.update(label_mass=mass, coverage_scale=np.maximum(mass.sum(0) / 3, 1.0))
    base = Problem(**fields)
    return tag.from_problem(base, 2, max_epochs=3, tau=1.5)


def brute_force(p: tag.TagProblem) -> float | None:
    """Best checked objective over every ordered subset of customers and every epochs choice."""
    cust = p.base.customers.tolist()
    best = None
    for k in range(len(cust) + 1):
        for order in itertools.permutations(cust, k):
            route = [p.ids[i] for i in (p.start, *order, p.end)]
            for eps in itertools.product(range(1, p.max_epochs + 1), repeat=k):
                sol = {"routes": [route], "epochs": dict(zip(route[1:-1], eps, strict=True))}
                report = check(p, sol)
                if report.ok and (best is None or report.objective > best):
                    best = report.objective
    return best


@pytest.mark.parametrize("value", ["utility", "coverage"])
@pytest.mark.parametrize("windows", [False, True])
@pytest.mark.parametrize("seed", [1, 2])
def test_exact_solver_agrees_with_brute_force(seed, windows, value):
    p = random_tag(seed, windows, value)
    best = brute_force(p)
    res = solve(p, "tag-highs", time_limit=20, seed=0)
    if best is None:
        assert res.status in (Status.INFEASIBLE, Status.NO_SOLUTION)
        return
    assert res.status == Status.OPTIMAL, res.message
    assert res.gap is not None and res.gap <= 1e-6
    assert res.bound >= res.objective - 1e-9
    assert res.objective == pytest.approx(best, abs=1e-6)
    report = check(p, res.solution)
    assert report.ok, report.violations
    assert report.objective == pytest.approx(res.objective, abs=1e-9)
    for name in solvers_for(p, exact=False):
        h = solve(p, name, time_limit=5, seed=0)
        assert h.status == Status.FEASIBLE
        hr = check(p, h.solution)
        assert hr.ok and hr.objective == pytest.approx(h.objective, abs=1e-9)
        assert h.objective <= best + 1e-9


def test_checker_refuses_bad_epochs_and_late_routes():
    p = line(40.0)
    assert not check(p, {"routes": [["s", "near", "e"]], "epochs": {"near": 4}}).ok
    assert not check(p, {"routes": [["s", "near", "e"]], "epochs": {"far": 1}}).ok
    assert not check(p, {"routes": [["s", "near", "e"]], "epochs": {}}).ok
    late = check(p, {"routes": [["s", "near", "far", "e"]], "epochs": {"near": 1, "far": 1}})
    assert not late.ok  # 10 + 15 + 10 + 15 = 50 > 40
    assert not check(p, {"routes": [["s", "near", "e"]]}).ok


def test_ils_is_deterministic_for_a_seed():
    p = random_tag(3, True, "coverage")
    a = solve(p, "tag-ils", time_limit=5, seed=7)
    b = solve(p, "tag-ils", time_limit=5, seed=7)
    assert a.solution["routes"] == b.solution["routes"]
    assert a.solution["epochs"] == b.solution["epochs"]


def test_validation_names_the_field():
    base = line(40.0).base
    with pytest.raises(InputError, match="max_epochs"):
        tag.TagProblem(base=base, epoch_time=base.service, max_epochs=0)
    with pytest.raises(InputError, match="epoch_time"):
        tag.TagProblem(base=base, epoch_time=np.ones(2))
    with pytest.raises(InputError, match="tau"):
        tag.TagProblem(base=base, epoch_time=base.service, tau=-1.0)
    with pytest.raises(InputError, match=r"base\.objective"):
        tag.TagProblem(base=base.replace(objective="min_time"), epoch_time=base.service)
    with pytest.raises(InputError, match="request_epochs"):
        tag.from_problem(base, 0)
    with pytest.raises(UnsupportedError, match="tag-highs"):
        solve(base, "tag-highs", time_limit=1)


def test_infeasible_deadline_is_reported():
    p = line(40.0).replace(base=line(40.0).base.replace(deadline=-1.0))
    for name in SOLVERS:
        assert solve(p, name, time_limit=5).status == Status.INFEASIBLE


def test_predictors():
    v = SimpleNamespace(
        ids=["s", "a", "b", "e"],
        start=0,
        end=3,
        transfer=np.array([[0, 1, 1, 1], [1, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 0]], float),
        window_open=np.zeros(4),
        train_time=np.array([0.0, 10.0, 20.0, 0.0]),
        samples=np.array([0.0, 100.0, 100.0, 0.0]),
        verify_time=0.0,
        deadline=100.0,
    )
    # sequential: a (2 epochs, 20 s) reaches 200 sample-epochs at t = 1 + 20
    ttt, got = tag.predict_sequential(v, ["s", "a", "b", "e"], {"a": 2}, 1, 200.0)
    assert ttt == pytest.approx(21.0) and got == pytest.approx(300.0)
    assert math.isinf(tag.predict_sequential(v, ["s", "a", "e"], {}, 1, 200.0)[0])
    # federated: round = max(1 + 10 + 1, 1 + 20 + 1) = 22 s, 100 sample-epochs per round
    ttt, rt, per, rounds = tag.predict_federated(v, ["a", "b"], 1, 200.0)
    assert (rt, per, rounds) == (22.0, 100.0, 2) and ttt == pytest.approx(44.0)


def test_epochs_of_reads_and_validates_the_epochs():
    from daitn_opt.executor.sequential import epochs_of

    routes = [["s", "a", "e"]]
    assert epochs_of({"routes": routes}, routes) == {}
    assert epochs_of({"routes": routes, "epochs": {"a": 2}}, routes) == {"a": 2}
    for bad in ({"a": 0}, {"a": 1.5}, {"a": True}, {"b": 1}):
        with pytest.raises(InputError, match=r"solution\.epochs\["):
            epochs_of({"routes": routes, "epochs": bad}, routes)
    with pytest.raises(InputError, match=r"solution\.epochs"):
        epochs_of({"routes": routes, "epochs": [1]}, routes)


@pytest.mark.slow
def test_sequential_replay_honours_per_node_epochs():
    from daitn_opt.drrt.instance import load_instance
    from daitn_opt.executor import SequentialReplay
    from tests.conftest import INSTANCES

    inst = load_instance(INSTANCES / "healthcare-small.json")
    p = tag.from_instance(inst, "r3")  # the request trains 1 epoch per node
    route = [p.ids[p.start], p.ids[p.base.customers[0]], p.ids[p.end]]
    node = route[1]
    rep = SequentialReplay(inst, "r3", seed=0)
    one = rep.run({"routes": [route]})
    three = rep.run({"routes": [route], "epochs": {node: 3}})
    train = next(s for s in three.trace if s.action == "train")
    assert train.samples == 3 * next(s for s in one.trace if s.action == "train").samples
    grow = three.summary.finish_time - one.summary.finish_time
    assert grow == pytest.approx(2 * float(p.epoch_time[p.ids.index(node)]), rel=1e-9)
    with pytest.raises(InputError, match=r"solution\.epochs"):
        rep.run({"routes": [route], "epochs": {node: 0}})


def test_choose_paradigm_with_a_given_samples_to_target():
    from daitn_opt.drrt.instance import load_instance
    from daitn_opt.drrt.view import view
    from tests.conftest import INSTANCES

    inst = load_instance(INSTANCES / "healthcare-small.json")
    d = tag.choose_paradigm(inst, "r1", samples_to_target=300.0, time_limit=2.0)
    assert d.paradigm in ("sequential", "federated") and d.reason
    v = view(inst, "r1")
    seq = tag.predict_sequential(v, d.route, d.epochs, inst.request("r1").epochs, 300.0)
    assert d.sequential_time == seq[0]
    fed = tag.predict_federated(v, d.clients, inst.request("r1").epochs, 300.0)
    assert d.federated_time == fed[0]
    faster = "sequential" if d.sequential_time <= d.federated_time else "federated"
    assert d.paradigm == faster
    assert d.to_dict()["request"] == "r1"
    with pytest.raises(InputError, match="samples_to_target"):
        tag.choose_paradigm(inst, "r1", samples_to_target=0.0)


def test_tag_problem_keeps_the_problem_contract():
    from daitn_opt.kinds import ProblemContract

    p = random_tag(3, windows=True, value="utility")
    assert isinstance(p, ProblemContract)
    assert (p.kind, p.sense, p.size) == ("mtrce", "max", p.base.n)
    p.validate()
    q = p.replace(max_epochs=2)
    assert q.max_epochs == 2 and q.base is p.base
    with pytest.raises(InputError) as exc:
        p.replace(tau=0.0)
    assert exc.value.field == "tau"


def test_tag_restrict_slices_the_base_and_the_epoch_times():
    p = random_tag(4, windows=False, value="coverage")
    keep = [p.start, *p.base.customers[:3].tolist()]
    if p.end != p.start:
        keep.append(p.end)
    q = p.restrict(keep)
    assert q.ids == [p.ids[i] for i in keep]
    np.testing.assert_array_equal(q.epoch_time, p.epoch_time[keep])
    np.testing.assert_array_equal(q.base.label_mass, p.base.label_mass[keep])
    result = solve(q, "tag-greedy", time_limit=5, seed=0)
    assert result.status.has_solution and check(q, result.solution).ok
