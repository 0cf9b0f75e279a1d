"""Congestion-aware QIRCE (``congestion="md1"``): model, solvers, checker, and the replay.

The queueing model (``formulations/qirce.md``, Congestion) is checked against the serving
replay on one deployment: Poisson arrivals at three loads, deterministic service with one
server (M/D/1), the replay's mean wait within 7% of the Pollaczek-Khinchine formula and its
SLO-violation rate within 0.07 of the model's probability ``V``.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from daitn_opt import qirce
from daitn_opt.drrt.instance import Instance
from daitn_opt.drrt.requests import InferenceModel
from daitn_opt.drrt.snapshot import Facility, Link, MDFPNode, QueryDemand, Snapshot, UserNode
from daitn_opt.errors import InputError
from daitn_opt.executor.serving import replay_serving
from daitn_opt.qirce.queueing import (
    expected_violations,
    linearised_violation,
    md1_mean_wait,
    violation_probability,
)
from daitn_opt.qirce.solution import arcs_from_solution, build_solution
from daitn_opt.registry import solve
from daitn_opt.result import Status
from tests.qirce import hand_instances as hand
from tests.qirce.registered import ALL, HEURISTICS, SPECS, handling


def _one(rate: float, service_ms: float, throughput: float, slo_ms: float) -> Instance:
    """One user 1 ms from one MDFP (2 ms round trip), one model."""
    return Instance(
        name="one",
        snapshot=Snapshot(
            nodes=[
                UserNode(
                    id="u", demands=[QueryDemand(model="m", rate=rate, slo_ms=slo_ms, value=1.0)]
                ),
                MDFPNode(
                    id="f", facility=Facility(memory_gb=8, throughput=throughput, cost_per_hour=1)
                ),
            ],
            links=[Link(source="u", target="f", latency=0.001)],
        ),
        models=[InferenceModel(id="m", memory_gb=1, service_ms=service_ms)],
    )


@pytest.mark.parametrize("rho", [0.2, 0.5, 0.8])
def test_replay_queueing_matches_the_md1_model(rho):
    """Service 20 ms, throughput 50 q/s (one server: round(50 * 0.02) = 1), rate rho / s;
    SLO = round trip + service + 10 ms, so a query violates exactly when it waits > 10 ms."""
    s, budget = 0.020, 0.010
    rate = rho / s
    horizon = 30_000 / (1.0 - rho) / rate  # 37,500 to 150,000 queries (slower mixing near 1)
    inst = _one(rate, 1000 * s, 50.0, 2.0 + 1000 * (s + budget))
    placement = {"routes": [{"demand": "u/m", "facility": "f", "fraction": 1.0}]}
    out = replay_serving(inst, placement, horizon=horizon, seed=3)
    assert out.facilities["f"]["servers"] == 1
    assert out.queries > 35_000
    wait_ms = out.models[0].mean_ms - 2.0 - 1000 * s
    formula_ms = 1000 * md1_mean_wait(rho, s)
    assert wait_ms == pytest.approx(formula_ms, rel=0.07)
    # The model's violation probability (the conditional-exponential tail) is close to the
    # measured one; it under-estimates it by a few points (M/D/1's wait is not exponential).
    model = float(violation_probability(rho, budget / s))
    assert abs(out.violation_rate - model) <= 0.07
    # The model the solvers see (tangent cuts) agrees with the same placement's prediction.
    problem = qirce.from_instance(inst).replace(single_source=True, congestion="md1")
    x = arcs_from_solution(problem, placement)
    predicted = expected_violations(problem, x).sum() / problem.rate.sum()
    assert predicted == pytest.approx(
        float(linearised_violation(rho, budget / s, problem.rho_max)), rel=1e-9
    )
    assert predicted <= model + 1e-12  # tangents under-estimate a convex function


def test_tangent_cuts_touch_the_curve_at_their_points():
    ratio = np.array([0.1, 0.5, 2.0])
    pts = np.linspace(0.0, 0.95, 12)
    for r in ratio:
        exact = violation_probability(pts, r)
        assert np.allclose(linearised_violation(pts, np.full(pts.size, r), 0.95), exact)
        mid = (pts[:-1] + pts[1:]) / 2
        lin = linearised_violation(mid, np.full(mid.size, r), 0.95)
        assert np.all(lin <= violation_probability(mid, r) + 1e-12)


def test_exact_and_heuristics_match_the_brute_force_optimum():
    problem = qirce.from_instance(hand.congested())
    assert problem.congestion == "md1" and problem.single_source
    best = hand.brute_force_checked(problem)
    res = solve(problem, "highs", time_limit=5, seed=0)
    assert res.status is Status.OPTIMAL
    assert res.objective == pytest.approx(best, rel=1e-9)
    report = qirce.check(problem, res.solution)
    assert report.ok and report.objective == pytest.approx(res.objective, rel=1e-9)
    found = {}
    for solver in handling(problem, HEURISTICS):
        out = found[solver] = solve(problem, solver, time_limit=1, seed=0)
        if not out.is_feasible():  # a heuristic may stop short (nearest ignores queueing)
            assert out.status is Status.NO_SOLUTION, solver
            continue
        check = qirce.check(problem, out.solution)
        assert check.ok, check.violations
        assert out.objective >= best - 1e-9
    # The default solver and the queueing-aware insertion of greedy find a solution.
    assert found[qirce.DEFAULT_SOLVER].is_feasible() and found["greedy"].is_feasible()


def test_admit_mode_matches_brute_force():
    problem = qirce.from_instance(hand.congested()).replace(mode="admit")
    best = hand.brute_force_checked(problem)
    res = solve(problem, "highs", time_limit=5, seed=0)
    assert res.status is Status.OPTIMAL
    assert res.objective == pytest.approx(best, abs=1e-6)


def test_solvers_without_the_congestion_model_say_so():
    """CP-SAT and Pyomo do not build the queueing terms; every solver that refuses the
    congested problem names congestion as the reason."""
    problem = qirce.from_instance(hand.congested())
    refusing = [n for n in ALL if n not in handling(problem)]
    assert {"cpsat", "pyomo"} <= set(refusing)
    for name in refusing:
        assert "congestion" in SPECS[name].supports(problem)


def test_checker_recomputes_the_queueing_terms():
    problem = qirce.from_instance(hand.congested())
    res = solve(problem, "highs", time_limit=5, seed=0)
    sol = dict(res.solution)
    # A wrong objective is caught by the recomputation.
    assert qirce.check(problem, sol).objective == pytest.approx(res.objective, rel=1e-9)
    # Everything at f1 with doubled rates: a (1 server, 50 ms) and b (2 servers) mix server
    # counts (memory would forbid it too: lifted here) and the work 1.54 exceeds rho_max.
    crowded = problem.replace(facility_memory=np.full(2, np.inf), rate=2 * problem.rate)
    x = np.zeros(crowded.num_arcs)
    for d in range(crowded.num_demands):
        arcs = np.flatnonzero((crowded.arc_demand == d) & (crowded.arc_facility == 0))
        x[arcs[0]] = 1.0
    report = qirce.check(crowded, build_solution(crowded, x))
    assert any("server counts" in v for v in report.violations)
    assert any("rho_max" in v for v in report.violations)


def test_options_from_instance_and_bad_input():
    problem = qirce.from_instance(
        hand.congested(congestion="md1", violation_weight=3.0, rho_max=0.8)
    )
    assert problem.violation_weight == 3.0 and problem.rho_max == 0.8
    with pytest.raises(InputError, match="congestion"):
        qirce.from_instance(hand.congested(congestion="mm1"))
    with pytest.raises(InputError, match="single_source"):
        qirce.from_instance(hand.congested(congestion="md1", single_source=False))
    with pytest.raises(InputError, match="rho_max"):
        qirce.from_instance(hand.congested(congestion="md1", rho_max=1.5))
    with pytest.raises(InputError, match="violation_weight"):
        qirce.from_instance(hand.congested(congestion="md1", violation_weight=-1))


def test_greedy_keeps_its_time_limit():
    from daitn_opt.qirce.synthetic import synthetic_instance

    problem = qirce.from_instance(synthetic_instance(users=2000, models=50, facilities=200, seed=0))
    t0 = time.perf_counter()
    res = solve(problem, "greedy", time_limit=0.2, seed=0)
    elapsed = time.perf_counter() - t0
    assert elapsed < 0.2 + 1.0
    assert res.status in (Status.NO_SOLUTION, Status.FEASIBLE, Status.OPTIMAL)
    if res.is_feasible():
        assert qirce.check(problem, res.solution).ok
