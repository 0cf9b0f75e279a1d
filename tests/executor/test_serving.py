"""Serving replay: the queue matches queueing theory; optimized vs naive placements."""

from __future__ import annotations

import pytest

from daitn_opt import qirce
from daitn_opt.drrt.instance import Instance
from daitn_opt.drrt.qrrt import build_qrrt
from daitn_opt.drrt.requests import InferenceModel
from daitn_opt.drrt.snapshot import Facility, Link, MDFPNode, QueryDemand, Snapshot, UserNode
from daitn_opt.errors import InputError
from daitn_opt.executor import nearest_placement, replay_serving
from daitn_opt.registry import solve


def one_queue(rate: float, service_ms: float, throughput: float) -> Instance:
    snap = Snapshot(
        nodes=[
            UserNode(id="u", demands=[QueryDemand(model="m", rate=rate, slo_ms=40.0)]),
            MDFPNode(id="f", facility=Facility(memory_gb=8, throughput=throughput)),
        ],
        links=[Link(source="u", target="f", latency=0.002)],
    )
    return Instance(
        name="one-queue",
        snapshot=snap,
        models=[InferenceModel(id="m", memory_gb=1, service_ms=service_ms)],
    )


def test_single_server_queue_matches_pollaczek_khinchine():
    """M/D/1 at load 0.5: mean wait = rho * s / (2 (1 - rho)) = 5 ms; latency = 4 + 5 + 10 ms."""
    inst = one_queue(rate=50.0, service_ms=10.0, throughput=100.0)
    out = replay_serving(
        inst,
        {"routes": [{"demand": "u/m", "facility": "f", "fraction": 1.0}]},
        horizon=2000,
        seed=3,
    )
    (m,) = out.models
    assert out.facilities["f"]["servers"] == 1
    assert m.queries == pytest.approx(100_000, rel=0.02)
    assert m.mean_ms == pytest.approx(4.0 + 5.0 + 10.0, rel=0.03)
    assert out.facilities["f"]["utilisation"] == pytest.approx(0.5, rel=0.02)


def test_overload_shows_in_percentiles_and_violations():
    calm = one_queue(rate=30.0, service_ms=10.0, throughput=100.0)
    busy = one_queue(rate=98.0, service_ms=10.0, throughput=100.0)
    route = {"routes": [{"demand": "u/m", "facility": "f", "fraction": 1.0}]}
    a = replay_serving(calm, route, horizon=300, seed=0).models[0]
    b = replay_serving(busy, route, horizon=300, seed=0).models[0]
    assert b.p99_ms > 3 * a.p99_ms and b.violation_rate > a.violation_rate + 0.1


def test_optimized_placement_beats_capacity_blind_nearest(healthcare_small):
    """QIRCE's optimum respects throughput, the capacity-blind nearest placement overloads a
    facility: measured when written, 3.0% vs 18.5% of queries over their SLO (60 s, seed 0)."""
    result = solve(qirce.from_instance(healthcare_small), "highs", time_limit=20)
    assert qirce.check(qirce.from_instance(healthcare_small), result.solution).ok
    opt = replay_serving(healthcare_small, result, seed=0, label="optimal")
    naive = replay_serving(
        healthcare_small, nearest_placement(build_qrrt(healthcare_small)), seed=0
    )
    assert opt.violation_rate + 0.05 < naive.violation_rate
    assert any("exceeds its capacity" in n for n in naive.notes) and not opt.notes


def test_bad_placements(healthcare_small):
    with pytest.raises(InputError, match="is not a demand"):
        replay_serving(healthcare_small, {"routes": [{"demand": "x/y", "facility": "f1"}]})
    q = build_qrrt(healthcare_small)
    d = q.demand_ids[0]
    with pytest.raises(InputError, match="is not an MDFP"):
        replay_serving(healthcare_small, {"routes": [{"demand": d, "facility": "h02"}]})
    two = [{"demand": d, "facility": f, "fraction": 0.8} for f in q.facilities[:2]]
    with pytest.raises(InputError, match=r"fractions sum to 1\.6"):
        replay_serving(healthcare_small, {"routes": two})


def test_replay_document_serving_mode(healthcare_small):
    from daitn_opt.executor.replay import replay_document

    placement = nearest_placement(build_qrrt(healthcare_small))
    out = replay_document(healthcare_small, placement, mode="serving", seed=1)
    assert out.queries > 0 and {m.model for m in out.models} == {
        m.id for m in healthcare_small.models
    }
    mtrce_doc = {
        "problem": "mtrce",
        "solver": "x",
        "status": "feasible",
        "solution": {"routes": []},
    }
    with pytest.raises(InputError, match="serving replays a qirce placement"):
        replay_document(healthcare_small, mtrce_doc, mode="serving")
