"""daitn_opt.adapters.federation: client selection from reported profiles, without a framework.

T-FAM admits only clients that are up, meet the quality threshold and fit the round's deadline;
MTRCE orders the eligible clients; the non-IID federation is seeded and reproducible.
"""

from __future__ import annotations

import numpy as np
import pytest

from daitn_opt.adapters.federation import (
    ClientProfile,
    RoundSpec,
    SoftmaxModel,
    client_seconds,
    instance_from_profiles,
    make_federation,
    round_seconds,
    select_clients,
    sequential_order,
)
from daitn_opt.errors import InputError

SPEC = RoundSpec(task="t", deadline=4.0, gflop_per_sample=0.5, min_quality=0.8)


def profile(name: str, samples=100, quality=1.0, gflops=50.0, up=True) -> ClientProfile:
    return ClientProfile(
        name, samples, {"0": samples // 2, "1": samples - samples // 2}, quality, gflops, up
    )


def test_a_profile_survives_the_flat_record_a_framework_carries():
    p = profile("p3", quality=0.91)
    assert ClientProfile.from_record(p.to_record()) == p
    broken = p.to_record()
    del broken["gflops"]
    with pytest.raises(InputError, match="lacks"):
        ClientProfile.from_record(broken)


def test_tfam_admits_the_eligible_clients_that_fit_the_deadline():
    clients = [
        profile("p0"),
        profile("p1", quality=0.5),  # noisy: below the threshold
        profile("p2", gflops=5.0),  # 100 * 0.5 / 5 = 10 s of training: misses the 4 s deadline
        profile("p3", up=False),  # reports being down
        profile("p4", samples=300),  # 3 s: fits
    ]
    assert client_seconds(clients[2], SPEC) > SPEC.deadline > client_seconds(clients[4], SPEC)
    for solver in ("ls", "highs"):
        assert sorted(select_clients(clients, SPEC, solver=solver)) == ["p0", "p4"]
    assert select_clients([profile("p1", quality=0.5)], SPEC) == []
    assert select_clients([profile("p0", up=False)], SPEC) == []


def test_mtrce_orders_the_eligible_clients_within_the_budget():
    clients = [profile(f"p{i}") for i in range(4)] + [profile("p4", quality=0.2)]
    order = sequential_order(clients, SPEC, budget=100.0, solver="highs")
    assert sorted(order) == ["p0", "p1", "p2", "p3"]
    short = sequential_order(clients, SPEC, budget=3.0, solver="highs")
    assert 1 <= len(short) < 4  # the budget cuts the pass
    assert sequential_order([profile("p4", quality=0.2)], SPEC, budget=100.0) == []


def test_round_time_is_the_slowest_client_or_the_deadline_when_one_is_down():
    fast, slow = profile("a", samples=10), profile("b", samples=200)
    assert round_seconds([fast, slow], SPEC) == pytest.approx(client_seconds(slow, SPEC))
    assert round_seconds([fast, profile("c", up=False)], SPEC) == SPEC.deadline
    assert round_seconds([], SPEC) == 0.0


def test_the_snapshot_of_the_profiles_is_a_star_around_the_server():
    inst = instance_from_profiles([profile("p0"), profile("p1")], SPEC)
    assert [n.id for n in inst.snapshot.nodes] == ["server", "p0", "p1"]
    assert {(lk.source, lk.target) for lk in inst.snapshot.links} == {
        ("server", "p0"),
        ("server", "p1"),
    }
    assert inst.requests[0].mode == "federated" and inst.requests[0].deadline == 4.0
    with pytest.raises(InputError, match="no client"):
        instance_from_profiles([], SPEC)


@pytest.mark.parametrize("task", ["breast-cancer", "digits"])
def test_the_federation_is_non_iid_noisy_and_reproducible(task):
    a, b = make_federation(task, 8, seed=3), make_federation(task, 8, seed=3)
    assert a.profiles == b.profiles
    assert all(np.array_equal(x, y) for x, y in zip(a.y, b.y, strict=True))
    assert sum(p.quality < 0.8 for p in a.profiles) == round(0.3 * 8)
    sizes = [p.samples for p in a.profiles]
    assert max(sizes) > 2 * min(sizes)  # quantity skew
    noisy = [i for i, p in enumerate(a.profiles) if p.quality < 0.8]
    assert all(len(a.y[i]) == a.profiles[i].samples for i in range(8))
    assert noisy and a.is_up(0, 1) == b.is_up(0, 1)
    a.down_rounds[2] = {5}
    assert not a.is_up(5, 2)


def test_the_softmax_model_learns_breast_cancer():
    fed = make_federation("breast-cancer", 4, seed=0, noisy=0.0)
    arrays = SoftmaxModel.init(30, 2)
    assert SoftmaxModel.accuracy(arrays, fed.x_test, fed.y_test) < 0.7
    for r in range(3):
        for i in range(4):
            arrays = SoftmaxModel.train(arrays, fed.x[i], fed.y[i], seed=r)
    assert SoftmaxModel.accuracy(arrays, fed.x_test, fed.y_test) > 0.9
