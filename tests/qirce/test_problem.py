"""The QIRCE problem built from instances: QRRT latencies, eligibility, hand-checked optima,
Q-FAM admission, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from daitn_opt.drrt.instance import parse_instance
from daitn_opt.drrt.qrrt import build_qrrt
from daitn_opt.errors import InputError
from daitn_opt.qirce import check, from_instance
from daitn_opt.registry import solve

from .hand_instances import brute_force_single_source, tiny
from .registered import ALL, EXACT, PROVEN, handles, handling


def _with(inst, **changes):
    """A copy of ``inst`` whose user ``u2``'s demand and model ``b`` take ``changes``."""
    doc = inst.model_dump(mode="json")
    for node in doc["snapshot"]["nodes"]:
        if node["id"] == "u2" and "u2_rate" in changes:
            node["demands"][0]["rate"] = changes["u2_rate"]
        if node["id"] == "u2" and "u2_slo" in changes:
            node["demands"][0]["slo_ms"] = changes["u2_slo"]
    for model in doc["models"]:
        if model["id"] == "b" and "b_memory" in changes:
            model["memory_gb"] = changes["b_memory"]
    if "qirce" in changes:
        doc["metadata"] = {"qirce": changes["qirce"]}
    return parse_instance(doc)


def test_qrrt_round_trips_follow_shortest_paths():
    """Round trips are twice the one-way shortest path, in milliseconds."""
    v = build_qrrt(tiny())
    assert v.users == ["u1", "u2"] and v.facilities == ["f1", "f2"]
    np.testing.assert_allclose(v.rtt_ms, [[2.0, 22.0], [22.0, 2.0]])
    assert v.demand_ids == ["u1/a", "u1/b", "u2/a"]


def test_down_node_forwards_nothing():
    """With f1 down, u1 reaches nothing (its only link goes through f1) and f1 is excluded."""
    doc = tiny().model_dump(mode="json")
    doc["snapshot"]["nodes"][2]["up"] = False
    v = build_qrrt(parse_instance(doc))
    assert v.facilities == ["f2"] and v.excluded == {"f1": "MDFP down"}
    assert np.isinf(v.rtt_ms[0, 0]) and v.rtt_ms[1, 0] == pytest.approx(2.0)


def test_arcs_latency_cost_and_load():
    """Arc latency = round trip + service; cost = weight x rate x latency; load = rate."""
    p = from_instance(tiny())
    assert p.num_arcs == 6 and not p.blocked
    a = int(np.flatnonzero((p.arc_demand == 2) & (p.arc_facility == 0))[0])  # u2/a at f1
    assert p.arc_latency[a] == pytest.approx(25.0)
    assert p.arc_cost[a] == pytest.approx(1e-3 * 5.0 * 25.0)
    assert p.arc_load[a] == 5.0
    np.testing.assert_allclose(p.capacity, [10.0, 10.0])
    assert p.memory_binding


@pytest.mark.parametrize("solver", EXACT)
@pytest.mark.parametrize("single", [False, True])
def test_tiny_optimum_by_hand(solver, single):
    """Memory forces a and b onto different facilities; b at f1 and a at f2 costs 6 + 0.146."""
    p = from_instance(tiny()).replace(single_source=single)
    if not handles(solver, p):
        pytest.skip(f"{solver} does not support this variant")
    r = solve(p, solver, time_limit=20)
    assert r.status.value == "optimal"
    assert r.objective == pytest.approx(6.146, abs=1e-9)
    assert check(p, r.solution).compare_objective(r.objective).ok
    assert brute_force_single_source(p) == pytest.approx(6.146)
    assert {(d["model"], d["facility"]) for d in r.solution["deployments"]} == {
        ("b", "f1"),
        ("a", "f2"),
    }


def test_admit_mode_serves_most_value():
    """u2 wants 8 q/s of a: not all a fits. Splittable admission serves b (6) and 10 q/s of a
    (16); single-source can serve b and one a demand of 8 q/s (14)."""
    inst = _with(tiny(), u2_rate=8.0)
    serve = from_instance(inst)
    r = solve(serve, "highs", time_limit=20)
    assert r.status.value == "infeasible"
    p = serve.replace(mode="admit")
    r = solve(p, "highs", time_limit=20)
    assert r.status.value == "optimal" and r.objective == pytest.approx(16.0)
    rep = check(p, r.solution).compare_objective(r.objective)
    assert rep.ok, rep.violations
    refused = r.solution["refused"]
    rate = dict(zip(p.demand_ids, p.rate, strict=True))
    assert sum(x["fraction"] * rate[x["demand"]] for x in refused) == pytest.approx(2.0)
    assert all(x["reason"].startswith("capacity") for x in refused)
    ss = p.replace(single_source=True)
    for solver in handling(ss, PROVEN):
        r = solve(ss, solver, time_limit=20)
        assert r.objective == pytest.approx(14.0), solver
        assert check(ss, r.solution).compare_objective(r.objective).ok
    assert brute_force_single_source(ss) == pytest.approx(14.0)


def test_slo_below_any_latency_is_named():
    """An SLO of 4 ms for u2/a, whose fastest route takes 5 ms, makes serve-all infeasible with
    a message naming the demand and the reason; admit mode refuses it with that reason."""
    inst = _with(tiny(), u2_slo=4.0)
    p = from_instance(inst)
    assert p.blocked == {2: "SLO 4 ms is below the lowest possible latency 5 ms"}
    for solver in ALL:
        q = p if handles(solver, p) else p.replace(single_source=True)
        r = solve(q, solver, time_limit=5)
        assert r.status.value == "infeasible", solver
        assert "u2/a" in r.message and "SLO 4 ms" in r.message
    r = solve(p.replace(mode="admit"), "highs", time_limit=5)
    assert r.solution["refused"] == [
        {
            "demand": "u2/a",
            "fraction": 1.0,
            "reason": "SLO 4 ms is below the lowest possible latency 5 ms",
        }
    ]


def test_model_no_facility_can_hold_is_named():
    """A 20 GB model b does not fit any 12 GB facility: blocked with that reason."""
    p = from_instance(_with(tiny(), b_memory=20.0))
    assert p.blocked == {1: "no facility can hold model 'b' (20 GB > largest facility 12 GB)"}
    r = solve(p, "highs", time_limit=5)
    assert r.status.value == "infeasible" and "u1/b" in r.message


def test_capacity_shortfall_is_named():
    """u2 asking 50 q/s of a exceeds both facilities together (20 q/s)."""
    p = from_instance(_with(tiny(), u2_rate=50.0))
    assert 2 in p.unservable() and p.unservable()[2].startswith("capacity")
    r = solve(p, "highs", time_limit=5)
    assert r.status.value == "infeasible" and "u2/a" in r.message


def test_negative_demand_is_an_input_error():
    """A negative rate in the file is rejected naming the field; in arrays, naming the demand."""
    doc = tiny().model_dump(mode="json")
    doc["snapshot"]["nodes"][1]["demands"][0]["rate"] = -1.0
    with pytest.raises(InputError, match=r"rate"):
        parse_instance(doc)
    p = from_instance(tiny())
    with pytest.raises(InputError, match=r"demand 'u1/b' rate"):
        p.replace(rate=np.array([4.0, -3.0, 5.0]))


def test_unknown_model_and_options_are_input_errors():
    """A demand for a model the instance does not describe, and an unknown option."""
    doc = tiny().model_dump(mode="json")
    doc["models"] = []
    with pytest.raises(InputError, match="not among the instance's models"):
        from_instance(parse_instance(doc))
    with pytest.raises(InputError, match=r"metadata.qirce.colour"):
        from_instance(tiny(colour="red"))
    with pytest.raises(InputError, match="request"):
        from_instance(tiny(), request_id="zzz")


def test_metadata_options_and_model_filter():
    """Options from metadata (admit, single source) and ``request_id`` as a model filter."""
    p = from_instance(tiny(mode="admit", single_source=True))
    assert p.mode == "admit" and p.single_source and p.sense == "max"
    only_a = from_instance(tiny(), request_id="a")
    assert only_a.demand_ids == ["u1/a", "u2/a"] and only_a.request_id == "a"
    r = solve(only_a, "highs", time_limit=5)
    assert check(only_a, r.solution).compare_objective(r.objective).ok


def test_sense_is_the_reported_direction_and_cost_sense_the_costs():
    """``sense`` (the problem contract) is what results report: ``max`` in admit mode whatever
    the costs' direction, ``cost_sense`` in serve-all mode; it is derived, not replaceable."""
    from daitn_opt.kinds import ProblemContract

    p = from_instance(tiny())
    assert isinstance(p, ProblemContract)
    assert (p.cost_sense, p.sense) == ("min", "min")
    admit = p.replace(mode="admit")
    assert (admit.cost_sense, admit.sense) == ("min", "max")
    profits = p.replace(cost_sense="max")
    assert profits.sense == "max" and profits.reported(-3.0) == 3.0
    assert solve(admit, "highs", time_limit=5).sense == "max"
    with pytest.raises(InputError, match="derived from cost_sense and mode"):
        p.replace(sense="max")
    with pytest.raises(InputError, match="cost_sense"):
        p.replace(cost_sense="up")


@pytest.mark.parametrize("solver", ALL)
def test_nothing_eligible_or_nothing_demanded(solver):
    """Admit mode with every SLO impossible refuses everything (objective 0, each refusal with
    its reason); an instance without demand is solved trivially."""
    doc = tiny().model_dump(mode="json")
    for node in doc["snapshot"]["nodes"]:
        for dem in node.get("demands") or []:
            dem["slo_ms"] = 1.0
    p = from_instance(parse_instance(doc)).replace(mode="admit", single_source=True)
    r = solve(p, solver, time_limit=5)
    assert r.status.has_solution and r.objective == 0.0
    assert check(p, r.solution).compare_objective(r.objective).ok
    assert all("SLO 1 ms" in x["reason"] for x in r.solution["refused"])
    for node in doc["snapshot"]["nodes"]:
        if "demands" in node:
            node["demands"] = []
    empty = from_instance(parse_instance(doc)).replace(single_source=True)
    r = solve(empty, solver, time_limit=5)
    assert r.status.has_solution and r.objective == 0.0
