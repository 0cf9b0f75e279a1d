"""The independent checker catches every kind of violation and recomputes the objective."""

from __future__ import annotations

import copy

import pytest

from daitn_opt.qirce import check, from_instance
from daitn_opt.registry import solve

from .hand_instances import tiny


@pytest.fixture(scope="module")
def solved():
    p = from_instance(tiny())
    r = solve(p, "highs", time_limit=20)
    assert check(p, r.solution).ok
    return p, r


def _violations(p, sol):
    return check(p, sol).violations


def test_valid_solution_and_objective(solved):
    """The optimum checks out and its objective is recomputed (6 open + 0.146 routing)."""
    p, r = solved
    rep = check(p, r.solution)
    assert rep.ok and rep.objective == pytest.approx(6.146)
    assert rep.compare_objective(r.objective).ok
    assert not check(p, r.solution).compare_objective(r.objective + 1).ok


def test_capacity_violation(solved):
    """Sending u1/b to f2 too (with b deployed there) overloads nothing, but f2 holding a and b
    breaks its memory; sending u2/a's whole rate twice breaks throughput and served-once."""
    p, r = solved
    sol = copy.deepcopy(r.solution)
    sol["deployments"].append({"model": "b", "facility": "f2"})
    assert any("memory of 'f2'" in v for v in _violations(p, sol))
    sol = copy.deepcopy(r.solution)
    sol["routes"].append({"demand": "u1/b", "facility": "f1", "fraction": 1.0})
    v = _violations(p, sol)
    assert any("served 2 + refused 0 != 1" in x for x in v)


def test_throughput_violation(solved):
    """All three demands on f2: 12 q/s > 10 q/s (and b not deployed there)."""
    p, _ = solved
    sol = {
        "routes": [
            {"demand": d, "facility": "f2", "fraction": 1.0} for d in ("u1/a", "u1/b", "u2/a")
        ],
        "deployments": [{"model": "a", "facility": "f2"}],
        "open": ["f2"],
        "refused": [],
    }
    v = _violations(p, sol)
    assert any("throughput of 'f2'" in x for x in v)
    assert any("model 'b' is not deployed there" in x for x in v)


def test_ineligible_route_and_closed_facility(solved):
    """A route to a pair outside the SLO is rejected; deploying on a facility not open too."""
    p, r = solved
    tight = p.replace(slo_ms=p.slo_ms.copy())
    sol = copy.deepcopy(r.solution)
    sol["open"] = ["f2"]
    assert any("which is not open" in v for v in _violations(p, sol))
    # Drop the arc u2/a -> f1 from the problem: routing there is no longer eligible.
    keep = ~((tight.arc_demand == 2) & (tight.arc_facility == 0))
    cut = tight.replace(
        arc_demand=tight.arc_demand[keep],
        arc_facility=tight.arc_facility[keep],
        arc_cost=tight.arc_cost[keep],
        arc_load=tight.arc_load[keep],
        arc_latency=tight.arc_latency[keep],
    )
    sol = {
        "routes": [
            {"demand": "u2/a", "facility": "f1", "fraction": 1.0},
            {"demand": "u1/a", "facility": "f1", "fraction": 1.0},
            {"demand": "u1/b", "facility": "f2", "fraction": 1.0},
        ],
        "deployments": [{"model": "a", "facility": "f1"}, {"model": "b", "facility": "f2"}],
        "open": ["f1", "f2"],
        "refused": [],
    }
    assert check(p, sol).ok
    assert any("not an eligible pair" in v for v in _violations(cut, sol))


def test_slo_recomputed_on_used_arcs(solved):
    """An arc whose latency exceeds the SLO (a corrupted arc list) is caught."""
    p, r = solved
    bad = p.replace(arc_latency=p.arc_latency + 100.0)
    assert any("> SLO" in v for v in _violations(bad, r.solution))


def test_refusal_rules(solved):
    """Serve-all forbids refusals; a refusal needs a reason; fractions must add up to one."""
    p, r = solved
    sol = copy.deepcopy(r.solution)
    sol["routes"] = [x for x in sol["routes"] if x["demand"] != "u2/a"]
    sol["refused"] = [{"demand": "u2/a", "fraction": 1.0, "reason": ""}]
    v = _violations(p, sol)
    assert any("all demand must be served" in x for x in v)
    assert any("carries no reason" in x for x in v)
    admit = p.replace(mode="admit")
    sol["refused"][0]["reason"] = "capacity"
    rep = check(admit, sol)
    assert rep.ok and rep.objective == pytest.approx(4 * 1.0 + 3 * 2.0)
    sol["routes"] = sol["routes"][:1]
    assert any("!= 1" in x for x in _violations(admit, sol))


def test_single_source_split_rejected(solved):
    """Splitting a demand is a violation with single-source routing."""
    p, _ = solved
    ss = p.replace(single_source=True)
    sol = {
        "routes": [
            {"demand": "u1/a", "facility": "f1", "fraction": 0.5},
            {"demand": "u1/a", "facility": "f2", "fraction": 0.5},
            {"demand": "u2/a", "facility": "f2", "fraction": 1.0},
            {"demand": "u1/b", "facility": "f1", "fraction": 1.0},
        ],
        "deployments": [{"model": "a", "facility": "f2"}, {"model": "a", "facility": "f1"}],
        "open": ["f1", "f2"],
        "refused": [],
    }
    v = _violations(ss, sol)
    assert any("with single-source routing" in x for x in v)
    assert any("split over 2 facilities" in x for x in v)


def test_garbage_solution():
    """A non-object solution and unknown ids are reported, not raised."""
    p = from_instance(tiny())
    assert not check(p, []).ok
    v = _violations(p, {"routes": [{"demand": "zz", "facility": "f1"}], "open": ["f9"]})
    assert any("unknown demand or facility" in x for x in v)
    assert any("unknown facility 'f9'" in x for x in v)
